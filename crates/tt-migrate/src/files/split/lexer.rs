//! The byte-level state machine behind the splitter: quotes, comments, terminators, positions.
//!
//! [`Lexer::feed`] takes whatever slice the reader's buffer holds, walks it once and stops
//! after the first piece it completes. Only the current statement (or command line) is
//! copied; everything a construct needs to survive a buffer boundary lives in [`State`].

use memchr::{memchr, memchr_iter, memchr2, memchr3, memrchr};
use tt_schema::Backend;

use super::block::{Block, Kw, Pos};
use super::{Construct, Piece, SplitError, Statement};

// Byte classes, one table per dialect.
const OTHER: u8 = 0;
const WORD: u8 = 1;
const SPACE: u8 = 2;
const SINGLE: u8 = 3;
const DOUBLE: u8 = 4;
const BACKTICK: u8 = 5;
const BRACKET: u8 = 6;
const DASH: u8 = 7;
const SLASH: u8 = 8;
const HASH: u8 = 9;
const SEMICOLON: u8 = 10;
const OPEN: u8 = 11;
const CLOSE: u8 = 12;
const BACKSLASH: u8 = 13;

const fn classes(dialect: Backend) -> [u8; 256] {
    let mut table = [OTHER; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            WORD
        } else {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => SPACE,
                b'\'' => SINGLE,
                b'"' => DOUBLE,
                b'-' => DASH,
                b'/' => SLASH,
                b';' => SEMICOLON,
                b'(' => OPEN,
                b')' => CLOSE,
                b'\\' => BACKSLASH,
                _ => OTHER,
            }
        };
        i += 1;
    }
    match dialect {
        Backend::Postgres => {}
        Backend::Mysql => {
            table[b'`' as usize] = BACKTICK;
            table[b'#' as usize] = HASH;
        }
        Backend::Sqlite => {
            table[b'`' as usize] = BACKTICK;
            table[b'[' as usize] = BRACKET;
        }
    }
    table
}

static POSTGRES: [u8; 256] = classes(Backend::Postgres);
static MYSQL: [u8; 256] = classes(Backend::Mysql);
static SQLITE: [u8; 256] = classes(Backend::Sqlite);

fn class_table(dialect: Backend) -> &'static [u8; 256] {
    match dialect {
        Backend::Postgres => &POSTGRES,
        Backend::Mysql => &MYSQL,
        Backend::Sqlite => &SQLITE,
    }
}

/// Whether `b` belongs to a word (keyword, name, number) of `dialect`.
pub(super) fn is_word_byte(dialect: Backend, b: u8) -> bool {
    class_table(dialect)[usize::from(b)] == WORD
}

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// `delimiter_last` when the delimiter is the default `;`: no byte equals it.
const DEFAULT_DELIMITER: u16 = 0x100;

/// Bigger statement buffers are dropped after use, so one huge statement does not pin memory.
const KEEP_CAPACITY: usize = 1 << 20;

/// Room for the longest keyword, for words that straddle two buffers.
const WORD_ROOM: usize = 16;

pub(super) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The number of UTF-8 characters in `bytes` (continuation bytes do not count).
fn chars(bytes: &[u8]) -> u32 {
    let n = bytes
        .iter()
        .filter(|&&b| !(0x80..0xC0).contains(&b))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A quoted construct and how it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// `'…'` with `''` escapes.
    Single,
    /// `'…'` that also takes backslash escapes (MySQL, PostgreSQL `E'…'`).
    SingleBackslash,
    /// `"…"` identifier with `""` escapes.
    Double,
    /// `"…"` string with backslash escapes (MySQL).
    DoubleBackslash,
    /// `` `…` `` identifier with doubled escapes.
    Backtick,
    /// `[…]` identifier (SQLite), no escapes.
    Bracket,
}

impl Quote {
    fn close(self) -> u8 {
        match self {
            Self::Single | Self::SingleBackslash => b'\'',
            Self::Double | Self::DoubleBackslash => b'"',
            Self::Backtick => b'`',
            Self::Bracket => b']',
        }
    }

    fn backslash(self) -> bool {
        matches!(self, Self::SingleBackslash | Self::DoubleBackslash)
    }

    /// The token kind of the whole construct.
    fn kind(self) -> Kind {
        match self.construct() {
            Construct::String => Kind::String,
            _ => Kind::QuotedIdentifier,
        }
    }

    fn construct(self) -> Construct {
        match self {
            Self::Single | Self::SingleBackslash | Self::DoubleBackslash => Construct::String,
            Self::Double | Self::Backtick | Self::Bracket => Construct::QuotedIdentifier,
        }
    }
}

/// Where the lexer is; every state survives a buffer boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of the file, this many bytes of a BOM seen.
    Bom(u8),
    /// Between statements: whitespace and comments are skipped.
    Between,
    /// In a statement, outside quotes and comments.
    Normal,
    /// Saw `-`.
    Dash,
    /// Saw `--` on MySQL, which needs whitespace after it to open a comment.
    DashDash,
    /// Saw `/`.
    Slash,
    /// Saw `/*` at the start of a statement on MySQL: `/*!` is code and starts a statement.
    SlashStar,
    LineComment,
    BlockComment,
    /// Saw `*` in a block comment.
    BlockStar,
    /// Saw `/` in a block comment (PostgreSQL nests).
    BlockSlash,
    Quoted(Quote),
    /// Saw the closing quote; a second one is an escaped quote.
    QuoteEnd(Quote),
    /// Saw a backslash in a string that takes backslash escapes.
    QuoteEscape(Quote),
    /// Saw `$` at the start of a word on PostgreSQL, reading a tag into `tag`.
    DollarTag,
    /// In a dollar-quoted string.
    Dollar,
    /// In a dollar-quoted string, this many bytes of the closing tag matched after `$`.
    DollarClose(usize),
    /// Reading a psql backslash command up to the end of its line.
    MetaLine,
    /// Reading the argument of MySQL's `DELIMITER` up to the end of its line.
    DelimiterLine,
}

/// What a token is (the lexer marks quoted constructs and comments with theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Letters, digits, `_`, `$` and non-ASCII characters: a keyword, a name, a number.
    Word,
    /// Whitespace.
    Space,
    /// One other character outside quotes and comments: `(`, `,`, `.`, `?`, …
    Punct,
    /// `'…'`, PostgreSQL's `E'…'`, MySQL's `"…"`.
    String,
    /// PostgreSQL's `$$…$$` or `$tag$…$tag$`.
    DollarQuote,
    /// `"…"`, `` `…` `` (MySQL, SQLite) or `[…]` (SQLite).
    QuotedIdentifier,
    /// `-- …` (without its newline), `# …` (MySQL) or `/* … */` (nested on PostgreSQL).
    Comment,
}

/// Where a quoted construct or a comment opens or closes, as a byte offset from the start of
/// the input: what [`super::tokens`] is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    /// The first byte of the construct (the `E` of `E'…'`, the first `$` of `$tag$`).
    Open(usize, Kind),
    /// Just after its last byte; a comment closes before the newline that ends it.
    Close(usize),
}

/// How far a scan got, and the piece it completed there, if any.
type Step = (usize, Option<Result<Piece, SplitError>>);

/// How a word ended, as far as the character after it cares.
enum WordEnd {
    Plain,
    /// The word was `E` on PostgreSQL: a quote right after it opens an escape string.
    EscapePrefix,
    /// The word was `DELIMITER` at the start of a statement on MySQL.
    Delimiter,
}

/// The splitter's state machine; see the module docs.
#[derive(Debug)]
pub(super) struct Lexer {
    dialect: Backend,
    class: &'static [u8; 256],
    state: State,

    /// In a statement rather than between statements.
    in_statement: bool,
    /// The statement began with `-` or `/`, which may yet open a comment instead.
    tentative: bool,
    /// Bytes of the current buffer from `span` on belong to `text`.
    capturing: bool,
    span: usize,
    /// The current statement or command line.
    text: Vec<u8>,
    start: Pos,
    number: u32,
    command_line: u32,

    in_word: bool,
    word_start: usize,
    /// The current word began in an earlier buffer; its first bytes are in `word`.
    word_carried: bool,
    word_len: usize,
    word: [u8; WORD_ROOM],
    block: Block,
    /// Parenthesis depth on PostgreSQL, where (like psql) `;` inside parentheses does not end.
    parens: u32,

    /// Where the open quote, comment or dollar quote began.
    opened: Pos,
    /// The same, not yet turned into a position: index in the buffer and columns to go back.
    open_mark: Option<(usize, u32)>,
    comment_depth: u32,
    tag: Vec<u8>,

    /// MySQL's custom delimiter; empty for the default `;`.
    delimiter: Vec<u8>,
    delimiter_last: u16,

    /// Marks of the constructs seen, kept only when a token scan asks for them.
    marks: Option<Vec<Mark>>,
    /// Bytes consumed before the current buffer, so marks count from the start of the input.
    consumed: usize,

    /// Position tracking: `line` and `column` (characters before) at `cursor` in the buffer.
    cursor: usize,
    line: u32,
    column: u32,
}

impl Lexer {
    pub(super) fn new(dialect: Backend) -> Self {
        Self {
            dialect,
            class: class_table(dialect),
            state: State::Bom(0),
            in_statement: false,
            tentative: false,
            capturing: false,
            span: 0,
            text: Vec::new(),
            start: (1, 1),
            number: 0,
            command_line: 0,
            in_word: false,
            word_start: 0,
            word_carried: false,
            word_len: 0,
            word: [0; WORD_ROOM],
            block: Block::new(dialect),
            parens: 0,
            opened: (1, 1),
            open_mark: None,
            comment_depth: 0,
            tag: Vec::new(),
            delimiter: Vec::new(),
            delimiter_last: DEFAULT_DELIMITER,
            marks: None,
            consumed: 0,
            cursor: 0,
            line: 1,
            column: 0,
        }
    }

    /// A lexer that also keeps a [`Mark`] for each quoted construct and comment it passes.
    pub(super) fn marking(dialect: Backend) -> Self {
        Self {
            marks: Some(Vec::new()),
            ..Self::new(dialect)
        }
    }

    /// The marks kept since the last call, in input order.
    pub(super) fn take_marks(&mut self) -> Vec<Mark> {
        self.marks.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Keeps a mark for a construct of `kind` that opened `back` bytes before `buf[i]` (they
    /// may lie in an earlier buffer), if marks are kept.
    #[inline]
    fn mark_open(&mut self, i: usize, back: usize, kind: Kind) {
        if let Some(marks) = &mut self.marks {
            marks.push(Mark::Open(self.consumed + i - back, kind));
        }
    }

    /// Keeps a mark for the construct closing just before `buf[i]`, if marks are kept.
    #[inline]
    fn mark_close(&mut self, i: usize) {
        if let Some(marks) = &mut self.marks {
            marks.push(Mark::Close(self.consumed + i));
        }
    }

    /// Scans `buf` up to the end of the first piece it completes.
    ///
    /// Returns how many bytes were used (the caller consumes them) and the piece, if any.
    pub(super) fn feed(&mut self, buf: &[u8]) -> (usize, Option<Result<Piece, SplitError>>) {
        let (used, piece) = self.scan(buf);
        self.leave(buf, used);
        (used, piece)
    }

    /// At the end of input: the last piece, or the error for what is still open.
    pub(super) fn finish(&mut self) -> Option<Result<Piece, SplitError>> {
        let unterminated =
            |what, (line, column): Pos| Some(Err(SplitError::Unterminated { what, line, column }));
        match self.state {
            State::Bom(0) | State::Between => None,
            State::Bom(_) => Some(Err(SplitError::InvalidUtf8 { line: 1 })),
            State::LineComment | State::DashDash if !self.in_statement || self.tentative => None,
            State::Normal
            | State::Dash
            | State::DashDash
            | State::Slash
            | State::LineComment
            | State::QuoteEnd(_)
            | State::DollarTag => self.finish_statement(),
            State::SlashStar | State::BlockComment | State::BlockStar | State::BlockSlash => {
                unterminated(Construct::BlockComment, self.opened)
            }
            State::Quoted(quote) | State::QuoteEscape(quote) => {
                unterminated(quote.construct(), self.opened)
            }
            State::Dollar | State::DollarClose(_) => {
                unterminated(Construct::DollarQuote, self.opened)
            }
            State::MetaLine | State::DelimiterLine => self.end_command(),
        }
    }

    /// Scans `buf` from the current state, one method per state; each runs as far as its
    /// state lasts (often far: they skip with `memchr`).
    fn scan(&mut self, buf: &[u8]) -> Step {
        let mut i = 0;
        while i < buf.len() {
            let (next, piece) = match self.state {
                State::Bom(matched) => (self.bom(buf, i, matched), None),
                State::Between => (self.between(buf, i), None),
                State::Normal => self.normal(buf, i),
                State::Dash => (self.dash(buf, i), None),
                State::DashDash => (self.dash_dash(buf, i), None),
                State::Slash => (self.slash(buf, i), None),
                State::SlashStar => (self.slash_star(buf, i), None),
                State::LineComment => self.in_line_comment(buf, i),
                State::BlockComment => self.block_comment(buf, i),
                State::BlockStar => (self.block_star(buf, i), None),
                State::BlockSlash => (self.block_slash(buf, i), None),
                State::Quoted(quote) => (self.quoted(buf, i, quote), None),
                State::QuoteEnd(quote) => (self.quote_end(buf, i, quote), None),
                State::QuoteEscape(quote) => (self.quote_escape(i, quote), None),
                State::DollarTag => (self.dollar_tag(buf, i), None),
                State::Dollar => (self.dollar(buf, i), None),
                State::DollarClose(matched) => (self.dollar_close(buf, i, matched), None),
                State::MetaLine | State::DelimiterLine => self.in_command_line(buf, i),
            };
            i = next;
            if piece.is_some() {
                return (i, piece);
            }
        }
        (buf.len(), None)
    }

    /// At the start of the file: a byte order mark is skipped.
    fn bom(&mut self, buf: &[u8], mut i: usize, matched: u8) -> usize {
        if buf[i] == BOM[usize::from(matched)] {
            i += 1;
            if usize::from(matched) + 1 == BOM.len() {
                self.state = State::Between;
                self.position(buf, i);
                self.column = 0;
            } else {
                self.state = State::Bom(matched + 1);
            }
        } else if matched == 0 {
            self.state = State::Between;
        } else {
            // Not a BOM after all: the bytes start a statement (not UTF-8 either).
            self.begin_statement(buf, i, false);
            self.start = (1, 1);
            self.text.extend_from_slice(&BOM[..usize::from(matched)]);
            self.state = State::Normal;
        }
        i
    }

    /// Between statements: whitespace is skipped; anything else starts a statement, a comment
    /// or a command line.
    fn between(&mut self, buf: &[u8], mut i: usize) -> usize {
        let len = buf.len();
        while i < len {
            match self.class[usize::from(buf[i])] {
                SPACE => i += 1,
                DASH => {
                    self.begin_statement(buf, i, true);
                    self.state = State::Dash;
                    i += 1;
                    break;
                }
                SLASH => {
                    self.begin_statement(buf, i, true);
                    self.state = State::Slash;
                    i += 1;
                    break;
                }
                HASH => {
                    self.mark_open(i, 0, Kind::Comment);
                    self.state = State::LineComment;
                    i += 1;
                    break;
                }
                BACKSLASH => {
                    self.command_line = self.position(buf, i).0;
                    self.text.clear();
                    self.capturing = true;
                    self.span = i;
                    self.state = State::MetaLine;
                    i += 1;
                    break;
                }
                _ => {
                    self.begin_statement(buf, i, false);
                    self.state = State::Normal;
                    break;
                }
            }
        }
        i
    }

    /// In a statement: words, terminators and the openers of quotes and comments.
    fn normal(&mut self, buf: &[u8], mut i: usize) -> Step {
        let len = buf.len();
        let postgres = self.dialect == Backend::Postgres;
        let mysql = self.dialect == Backend::Mysql;
        let class = self.class;
        let delimiter_last = self.delimiter_last;
        while i < len {
            let b = buf[i];
            if b == 0 {
                return (i, Some(Err(self.nul(buf, i))));
            }
            if u16::from(b) == delimiter_last && self.delimiter_ends(buf, i) {
                let piece = self.end_statement();
                i += 1;
                if piece.is_some() {
                    return (i, piece);
                }
                break;
            }
            let c = class[usize::from(b)];
            if c == WORD {
                if !self.in_word {
                    if b == b'$' && postgres {
                        self.block.token();
                        self.open_mark = Some((i, 0));
                        self.tag.clear();
                        self.state = State::DollarTag;
                        i += 1;
                        break;
                    }
                    self.in_word = true;
                    self.word_start = i;
                }
                i += 1;
                // The rest of the word, up to where a custom delimiter may end.
                while i < len
                    && class[usize::from(buf[i])] == WORD
                    && u16::from(buf[i]) != delimiter_last
                {
                    i += 1;
                }
                continue;
            }
            let mut escape_prefix = false;
            if self.in_word && !self.word_matters(c) {
                self.in_word = false;
            } else if self.in_word {
                match self.end_word(buf, i, b) {
                    Ok(WordEnd::Plain) => {}
                    Ok(WordEnd::EscapePrefix) => escape_prefix = true,
                    Ok(WordEnd::Delimiter) => {
                        // The rest of the line is the delimiter, not SQL.
                        self.command_line = self.start.0;
                        self.text.clear();
                        self.span = i;
                        self.in_statement = false;
                        self.state = State::DelimiterLine;
                        break;
                    }
                    Err(error) => return (i, Some(Err(error))),
                }
            }
            let quote = match c {
                SPACE => {
                    i += 1;
                    continue;
                }
                SINGLE if escape_prefix || mysql => Quote::SingleBackslash,
                SINGLE => Quote::Single,
                DOUBLE if mysql => Quote::DoubleBackslash,
                DOUBLE => Quote::Double,
                BACKTICK => Quote::Backtick,
                BRACKET => Quote::Bracket,
                DASH => {
                    self.block.token();
                    self.state = State::Dash;
                    i += 1;
                    break;
                }
                SLASH => {
                    self.block.token();
                    self.state = State::Slash;
                    i += 1;
                    break;
                }
                HASH => {
                    self.mark_open(i, 0, Kind::Comment);
                    self.state = State::LineComment;
                    i += 1;
                    break;
                }
                SEMICOLON => {
                    let ends = self.block.semicolon_ends() && self.parens == 0;
                    i += 1;
                    if ends && delimiter_last == DEFAULT_DELIMITER {
                        self.text.extend_from_slice(&buf[self.span..i - 1]);
                        let piece = self.end_statement();
                        if piece.is_some() {
                            return (i, piece);
                        }
                        break;
                    }
                    continue;
                }
                OPEN => {
                    self.block.open_paren();
                    if postgres {
                        self.parens += 1;
                    }
                    i += 1;
                    continue;
                }
                CLOSE => {
                    self.block.token();
                    self.parens = self.parens.saturating_sub(1);
                    i += 1;
                    continue;
                }
                _ => {
                    self.block.token();
                    i += 1;
                    continue;
                }
            };
            self.block.token();
            self.open_mark = Some((i, u32::from(escape_prefix)));
            self.mark_open(i, usize::from(escape_prefix), quote.kind());
            self.state = State::Quoted(quote);
            i += 1;
            break;
        }
        (i, None)
    }

    /// After `-`: a second one opens a line comment.
    fn dash(&mut self, buf: &[u8], mut i: usize) -> usize {
        let mysql = self.dialect == Backend::Mysql;
        if buf[i] == b'-' {
            i += 1;
            if mysql {
                self.state = State::DashDash;
            } else {
                self.line_comment(i);
            }
        } else {
            self.tentative = false;
            self.state = State::Normal;
        }
        i
    }

    /// After `--` on MySQL: whitespace or a control character opens a line comment.
    fn dash_dash(&mut self, buf: &[u8], i: usize) -> usize {
        // MySQL: `--` opens a comment only when whitespace or a control follows;
        // that byte is left for the comment, as it may be the newline ending it.
        if buf[i] <= b' ' {
            self.line_comment(i);
        } else {
            self.tentative = false;
            self.state = State::Normal;
        }
        i
    }

    /// After `/`: `*` opens a block comment.
    fn slash(&mut self, buf: &[u8], mut i: usize) -> usize {
        let mysql = self.dialect == Backend::Mysql;
        if buf[i] == b'*' {
            self.open_mark = Some((i, 1));
            self.mark_open(i, 1, Kind::Comment);
            self.comment_depth = 1;
            i += 1;
            if self.tentative && mysql {
                self.state = State::SlashStar;
            } else {
                if self.tentative {
                    self.cancel_statement();
                }
                self.state = State::BlockComment;
            }
        } else {
            self.tentative = false;
            self.state = State::Normal;
        }
        i
    }

    /// After `/*` at the start of a statement on MySQL: `!` makes it code.
    fn slash_star(&mut self, buf: &[u8], i: usize) -> usize {
        // `/*!…*/` is a MySQL executable comment: code, so it starts a statement.
        if buf[i] == b'!' {
            self.tentative = false;
        } else {
            self.cancel_statement();
        }
        self.state = State::BlockComment;
        i
    }

    /// In a line comment: it ends with its line.
    fn in_line_comment(&mut self, buf: &[u8], mut i: usize) -> Step {
        let len = buf.len();
        match memchr2(b'\n', 0, &buf[i..]) {
            Some(at) if buf[i + at] == 0 => {
                return (i + at, Some(Err(self.nul(buf, i + at))));
            }
            Some(at) => {
                self.mark_close(i + at);
                i += at + 1;
                self.state = self.resume();
            }
            None => i = len,
        }
        (i, None)
    }

    /// In a block comment: looking for `*` (and `/` where comments nest).
    fn block_comment(&mut self, buf: &[u8], mut i: usize) -> Step {
        let len = buf.len();
        let postgres = self.dialect == Backend::Postgres;
        let rest = &buf[i..];
        let found = if postgres {
            memchr3(b'*', b'/', 0, rest)
        } else {
            memchr2(b'*', 0, rest)
        };
        match found {
            Some(at) if rest[at] == 0 => {
                return (i + at, Some(Err(self.nul(buf, i + at))));
            }
            Some(at) => {
                i += at;
                self.state = if buf[i] == b'*' {
                    State::BlockStar
                } else {
                    State::BlockSlash
                };
                i += 1;
            }
            None => i = len,
        }
        (i, None)
    }

    /// After `*` in a block comment: `/` closes one level.
    fn block_star(&mut self, buf: &[u8], mut i: usize) -> usize {
        match buf[i] {
            b'/' => {
                i += 1;
                self.comment_depth -= 1;
                self.state = if self.comment_depth == 0 {
                    self.mark_close(i);
                    self.resume()
                } else {
                    State::BlockComment
                };
            }
            b'*' => i += 1,
            _ => self.state = State::BlockComment,
        }
        i
    }

    /// After `/` in a block comment on PostgreSQL: `*` opens a nested one.
    fn block_slash(&mut self, buf: &[u8], mut i: usize) -> usize {
        if buf[i] == b'*' {
            i += 1;
            self.comment_depth += 1;
        }
        self.state = State::BlockComment;
        i
    }

    /// In a quoted construct: looking for its close (or a backslash escape).
    fn quoted(&mut self, buf: &[u8], mut i: usize, quote: Quote) -> usize {
        let len = buf.len();
        let rest = &buf[i..];
        let found = if quote.backslash() {
            memchr2(quote.close(), b'\\', rest)
        } else {
            memchr(quote.close(), rest)
        };
        match found {
            Some(at) => {
                i += at;
                self.state = if buf[i] == b'\\' {
                    State::QuoteEscape(quote)
                } else if quote == Quote::Bracket {
                    self.open_mark = None;
                    self.mark_close(i + 1);
                    State::Normal
                } else {
                    State::QuoteEnd(quote)
                };
                i += 1;
            }
            None => i = len,
        }
        i
    }

    /// After a closing quote: a second one is an escaped quote.
    fn quote_end(&mut self, buf: &[u8], mut i: usize, quote: Quote) -> usize {
        if buf[i] == quote.close() {
            i += 1;
            self.state = State::Quoted(quote);
        } else {
            // Closed: where it began no longer needs working out.
            self.open_mark = None;
            self.mark_close(i);
            self.state = State::Normal;
        }
        i
    }

    /// After a backslash in a quoted construct: the next byte is taken as it is.
    fn quote_escape(&mut self, i: usize, quote: Quote) -> usize {
        self.state = State::Quoted(quote);
        i + 1
    }

    /// After `$` on PostgreSQL: a tag and a second `$` open a dollar quote.
    fn dollar_tag(&mut self, buf: &[u8], mut i: usize) -> usize {
        let b = buf[i];
        if b == b'$' {
            self.mark_open(i, self.tag.len() + 1, Kind::DollarQuote);
            i += 1;
            self.state = State::Dollar;
        } else if b == b'_'
            || b.is_ascii_alphabetic()
            || b >= 0x80
            || (b.is_ascii_digit() && !self.tag.is_empty())
        {
            self.tag.push(b);
            i += 1;
        } else {
            // `$1`, a lone `$`: not a dollar quote.
            self.state = State::Normal;
        }
        i
    }

    /// In a dollar-quoted string: looking for `$`.
    fn dollar(&mut self, buf: &[u8], mut i: usize) -> usize {
        let len = buf.len();
        match memchr(b'$', &buf[i..]) {
            Some(at) => {
                i += at + 1;
                self.state = State::DollarClose(0);
            }
            None => i = len,
        }
        i
    }

    /// After `$` in a dollar-quoted string, `matched` bytes of the tag matched.
    fn dollar_close(&mut self, buf: &[u8], mut i: usize, matched: usize) -> usize {
        let b = buf[i];
        i += 1;
        self.state = match self.tag.get(matched).copied() {
            Some(expected) if b == expected => State::DollarClose(matched + 1),
            None if b == b'$' => {
                self.open_mark = None;
                self.mark_close(i);
                State::Normal
            }
            _ if b == b'$' => State::DollarClose(0),
            _ => State::Dollar,
        };
        i
    }

    /// Reading a command line to its end.
    fn in_command_line(&mut self, buf: &[u8], mut i: usize) -> Step {
        let len = buf.len();
        match memchr(b'\n', &buf[i..]) {
            Some(at) => {
                self.text.extend_from_slice(&buf[self.span..i + at]);
                i += at + 1;
                let piece = self.end_command();
                if piece.is_some() {
                    return (i, piece);
                }
            }
            None => i = len,
        }
        (i, None)
    }

    /// Book-keeping before the caller consumes `used` bytes of `buf`.
    fn leave(&mut self, buf: &[u8], used: usize) {
        if self.capturing {
            self.text.extend_from_slice(&buf[self.span..used]);
        }
        if self.in_word {
            if !self.word_carried {
                self.word_carried = true;
                self.word_len = 0;
            }
            self.carry(&buf[self.word_start..used]);
        }
        self.position(buf, used);
        self.consumed += used;
        // Indices into the next buffer (or the empty one at the end) start over.
        self.span = 0;
        self.word_start = 0;
        self.cursor = 0;
    }

    /// A NUL byte outside a string literal: SQLite reads it as the end of the SQL (and sqlx
    /// then spins preparing nothing, forever), so it is refused as bad input here.
    fn nul(&mut self, buf: &[u8], i: usize) -> SplitError {
        let (line, column) = self.position(buf, i);
        SplitError::Nul { line, column }
    }

    /// The line and column of `buf[i]`; calls must come with growing `i` within a buffer.
    fn position(&mut self, buf: &[u8], i: usize) -> Pos {
        if let Some((at, back)) = self.open_mark.take() {
            let (line, column) = self.advance(buf, at);
            self.opened = (line, column.saturating_sub(back));
        }
        self.advance(buf, i)
    }

    fn advance(&mut self, buf: &[u8], i: usize) -> Pos {
        let seg = &buf[self.cursor..i];
        match memrchr(b'\n', seg) {
            Some(last) => {
                let newlines = u32::try_from(memchr_iter(b'\n', seg).count()).unwrap_or(u32::MAX);
                self.line = self.line.saturating_add(newlines);
                self.column = chars(&seg[last + 1..]);
            }
            None => self.column = self.column.saturating_add(chars(seg)),
        }
        self.cursor = i;
        (self.line, self.column + 1)
    }

    fn carry(&mut self, part: &[u8]) {
        let from = self.word_len.min(WORD_ROOM);
        let n = part.len().min(WORD_ROOM - from);
        self.word[from..from + n].copy_from_slice(&part[..n]);
        self.word_len += part.len();
    }

    /// Whether the word ending before a byte of class `c` needs looking at: most do not.
    #[inline]
    fn word_matters(&self, c: u8) -> bool {
        self.word_carried
            || self.block.wants_words()
            || (c == SINGLE && self.dialect == Backend::Postgres)
    }

    /// Ends the word before `buf[i]`; `next` is the byte after it.
    fn end_word(&mut self, buf: &[u8], i: usize, next: u8) -> Result<WordEnd, SplitError> {
        self.in_word = false;
        let (len, first, kw) = {
            let carried = std::mem::take(&mut self.word_carried);
            let word = if carried {
                self.carry(&buf[..i]);
                &self.word[..self.word_len.min(WORD_ROOM)]
            } else {
                &buf[self.word_start..i]
            };
            let len = if carried { self.word_len } else { word.len() };
            let kw = if self.block.wants_words() && len <= WORD_ROOM {
                Some(Kw::of(word))
            } else {
                None
            };
            (len, word.first().copied().unwrap_or(0), kw)
        };
        if let Some(kw) = kw {
            let at = if kw == Kw::Begin {
                let (line, column) = self.position(buf, i);
                (line, column.saturating_sub(5))
            } else {
                self.start
            };
            self.block.word(kw, at);
            if kw == Kw::Delimiter
                && self.dialect == Backend::Mysql
                && self.block.words() == 1
                && self.delimiter_is_command(next)?
            {
                return Ok(WordEnd::Delimiter);
            }
        }
        // `E'…'`: only a quote right after a lone E makes it a prefix, not `E"…"`.
        let escape_prefix = self.dialect == Backend::Postgres
            && next == b'\''
            && len == 1
            && (first | 0x20) == b'e';
        Ok(if escape_prefix {
            WordEnd::EscapePrefix
        } else {
            WordEnd::Plain
        })
    }

    /// Whether `DELIMITER` followed by `next` is the mysql client command.
    fn delimiter_is_command(&self, next: u8) -> Result<bool, SplitError> {
        match next {
            b' ' | b'\t' => Ok(true),
            b'\n' | b'\r' => Err(SplitError::MissingDelimiter { line: self.start.0 }),
            _ => Ok(false),
        }
    }

    /// Takes `buf[i]`, the last byte of the custom delimiter, and says whether the delimiter
    /// ends here; if so the text holds the statement without it.
    fn delimiter_ends(&mut self, buf: &[u8], i: usize) -> bool {
        self.text.extend_from_slice(&buf[self.span..=i]);
        self.span = i + 1;
        if self.text.ends_with(&self.delimiter) {
            self.text.truncate(self.text.len() - self.delimiter.len());
            true
        } else {
            false
        }
    }

    fn resume(&self) -> State {
        if self.in_statement {
            State::Normal
        } else {
            State::Between
        }
    }

    /// `--` just before `buf[i]` opened a line comment.
    fn line_comment(&mut self, i: usize) {
        self.mark_open(i, 2, Kind::Comment);
        if self.tentative {
            self.cancel_statement();
        }
        self.state = State::LineComment;
    }

    fn begin_statement(&mut self, buf: &[u8], i: usize, tentative: bool) {
        self.start = self.position(buf, i);
        self.block.reset(self.start);
        self.parens = 0;
        self.in_statement = true;
        self.tentative = tentative;
        self.capturing = true;
        self.span = i;
        self.text.clear();
    }

    /// The `-` or `/` that began the statement opened a comment after all.
    fn cancel_statement(&mut self) {
        self.in_statement = false;
        self.tentative = false;
        self.capturing = false;
        self.text.clear();
    }

    /// At the end of input inside a statement.
    fn finish_statement(&mut self) -> Option<Result<Piece, SplitError>> {
        if self.in_word {
            if let Err(error) = self.end_word(&[], 0, b'\n') {
                return Some(Err(error));
            }
        }
        if self.delimiter_last == DEFAULT_DELIMITER {
            if let Some((line, column)) = self.block.unclosed() {
                let what = Construct::BlockBody;
                return Some(Err(SplitError::Unterminated { what, line, column }));
            }
        }
        self.end_statement()
    }

    /// The statement in `text` is complete: yields it unless it is empty.
    fn end_statement(&mut self) -> Option<Result<Piece, SplitError>> {
        self.in_statement = false;
        self.tentative = false;
        self.capturing = false;
        self.in_word = false;
        self.word_carried = false;
        self.state = State::Between;
        let end = self
            .text
            .iter()
            .rposition(|&b| !is_space(b))
            .map_or(0, |last| last + 1);
        let piece = (end > 0).then(|| match std::str::from_utf8(&self.text[..end]) {
            Ok(sql) => {
                self.number += 1;
                Ok(Piece::Statement(Statement {
                    sql: sql.to_owned(),
                    line: self.start.0,
                    column: self.start.1,
                    number: self.number,
                }))
            }
            Err(error) => {
                let before = &self.text[..error.valid_up_to()];
                let newlines = u32::try_from(memchr_iter(b'\n', before).count());
                let line = self.start.0.saturating_add(newlines.unwrap_or(u32::MAX));
                Err(SplitError::InvalidUtf8 { line })
            }
        });
        if self.text.capacity() > KEEP_CAPACITY {
            self.text = Vec::new();
        } else {
            self.text.clear();
        }
        piece
    }

    /// The command line in `text` (a psql meta-command or MySQL's `DELIMITER`) is complete.
    fn end_command(&mut self) -> Option<Result<Piece, SplitError>> {
        let line = self.command_line;
        let delimiter = self.state == State::DelimiterLine;
        self.capturing = false;
        self.state = State::Between;
        let text = std::mem::take(&mut self.text);
        let piece = match std::str::from_utf8(&text) {
            Err(_) => Some(Err(SplitError::InvalidUtf8 { line })),
            Ok(command) if delimiter => self.set_delimiter(command, line).err().map(Err),
            Ok(command) => meta_command(command.trim(), line),
        };
        self.text = text;
        self.text.clear();
        piece
    }

    fn set_delimiter(&mut self, argument: &str, line: u32) -> Result<(), SplitError> {
        let delimiter = argument
            .split_whitespace()
            .next()
            .ok_or(SplitError::MissingDelimiter { line })?;
        if delimiter == ";" {
            self.delimiter.clear();
            self.delimiter_last = DEFAULT_DELIMITER;
        } else {
            self.delimiter = delimiter.as_bytes().to_vec();
            self.delimiter_last = self
                .delimiter
                .last()
                .map_or(DEFAULT_DELIMITER, |&b| u16::from(b));
        }
        Ok(())
    }
}

/// A psql backslash command: `\echo` yields its text, `\set ON_ERROR_STOP on` nothing (tt
/// always stops at the first error), anything else is refused.
fn meta_command(command: &str, line: u32) -> Option<Result<Piece, SplitError>> {
    let body = command.strip_prefix('\\').unwrap_or(command);
    let (name, arguments) = body
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((body, ""));
    let arguments = arguments.trim();
    match name {
        "echo" => Some(Ok(Piece::Echo {
            text: unquote(arguments),
            line,
        })),
        "set" if stops_on_error(arguments) => None,
        _ => Some(Err(SplitError::UnsupportedMetaCommand {
            command: command.to_owned(),
            line,
        })),
    }
}

/// Whether `\set` arguments turn ON_ERROR_STOP on (the variable name is case-sensitive in psql).
fn stops_on_error(arguments: &str) -> bool {
    let mut words = arguments.split_whitespace();
    words.next() == Some("ON_ERROR_STOP")
        && words.next().is_some_and(|value| {
            ["on", "true", "1", "yes"]
                .iter()
                .any(|on| value.eq_ignore_ascii_case(on))
        })
        && words.next().is_none()
}

/// `'it''s'` → `it's`, as psql reads a quoted `\echo` argument; other text as it is.
fn unquote(text: &str) -> String {
    match text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        Some(inner) => inner.replace("''", "'"),
        None => text.to_owned(),
    }
}
