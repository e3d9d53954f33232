//! SQL tokens for code that reads or rewrites statements rather than splitting them.
//!
//! Built on the splitter's [`Lexer`], so quotes, dollar quotes, E-strings, nested comments and
//! quoted identifiers are known in one place: the lexer marks where each construct opens and
//! closes, and this module only cuts the code between them into words, spaces and punctuation.
//! The tokens cover the text exactly: their texts, concatenated, are the input.

use std::collections::VecDeque;

use tt_schema::Backend;

pub(crate) use super::lexer::Kind;
use super::lexer::{Lexer, Mark, is_space, is_word_byte};

/// How much text the lexer reads at a time, so a caller that stops early reads little; tiny
/// in tests, so constructs there straddle chunks.
const CHUNK: usize = if cfg!(test) { 7 } else { 64 * 1024 };

/// One token: its kind, its text and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) kind: Kind,
    pub(crate) text: &'a str,
    /// The byte offset of the token in the scanned text.
    pub(crate) start: usize,
}

impl<'a> Token<'a> {
    /// The byte offset just after the token.
    pub(crate) fn end(&self) -> usize {
        self.start + self.text.len()
    }

    /// Whether the token is the word `word`, ignoring ASCII case.
    pub(crate) fn is_word(&self, word: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(word)
    }

    /// Whether the token is the punctuation character `punct`.
    pub(crate) fn is_punct(&self, punct: char) -> bool {
        self.kind == Kind::Punct && self.text.starts_with(punct)
    }

    /// The name a word or quoted identifier stands for: quotes removed, doubled ones undone.
    pub(crate) fn identifier(&self) -> String {
        if self.kind != Kind::QuotedIdentifier {
            return self.text.to_string();
        }
        let mut chars = self.text.chars();
        let close = match chars.next() {
            Some('[') => ']',
            Some(quote) => quote,
            None => return String::new(),
        };
        let inner = chars.as_str();
        let inner = inner.strip_suffix(close).unwrap_or(inner);
        if close == ']' {
            inner.to_string()
        } else {
            inner.replace(&format!("{close}{close}"), &close.to_string())
        }
    }

    /// The body of a closed dollar-quoted string, without its tags.
    pub(crate) fn dollar_body(&self) -> Option<&'a str> {
        if self.kind != Kind::DollarQuote {
            return None;
        }
        let tag_len = self.text[1..].find('$')? + 2;
        let tag = &self.text[..tag_len];
        let rest = &self.text[tag_len..];
        rest.strip_suffix(tag)
    }
}

/// The tokens of `sql` read as `dialect`, in order.
///
/// Never fails: an unterminated construct runs to the end of the text, and what the splitter
/// would refuse (a psql meta-command, a bad `DELIMITER`) is read as code.
pub(crate) fn tokens(sql: &str, dialect: Backend) -> Tokens<'_> {
    Tokens {
        sql,
        dialect,
        lexer: Lexer::marking(dialect),
        fed: 0,
        marks: VecDeque::new(),
        pos: 0,
    }
}

/// The iterator [`tokens`] returns.
#[derive(Debug)]
pub(crate) struct Tokens<'a> {
    sql: &'a str,
    dialect: Backend,
    lexer: Lexer,
    /// How many bytes of `sql` the lexer has read.
    fed: usize,
    /// Marks read but not yet used.
    marks: VecDeque<Mark>,
    /// Where the next token starts.
    pos: usize,
}

impl Tokens<'_> {
    /// The next mark, reading on until there is one or the text is read.
    fn next_mark(&mut self) -> Option<Mark> {
        while self.marks.is_empty() && self.fed < self.sql.len() {
            self.read();
        }
        self.marks.front().copied()
    }

    fn read(&mut self) {
        let bytes = self.sql.as_bytes();
        let end = (self.fed + CHUNK).min(bytes.len());
        // The lexer stops after each statement, and may stop before the first byte when a
        // word from the previous chunk ends in an error: a second call always moves on.
        for _ in 0..2 {
            let (used, _piece) = self.lexer.feed(&bytes[self.fed..end]);
            self.fed += used;
            if used > 0 {
                break;
            }
        }
        self.marks.extend(self.lexer.take_marks());
    }

    /// The code token starting at `pos`, which ends at `limit` at the latest.
    fn code(&self, limit: usize) -> (Kind, usize) {
        let bytes = &self.sql.as_bytes()[..limit];
        let first = bytes[self.pos];
        let run = |pred: &dyn Fn(u8) -> bool| {
            bytes[self.pos..]
                .iter()
                .position(|&b| !pred(b))
                .map_or(limit, |n| self.pos + n)
        };
        if is_word_byte(self.dialect, first) {
            (Kind::Word, run(&|b| is_word_byte(self.dialect, b)))
        } else if is_space(first) {
            (Kind::Space, run(&is_space))
        } else {
            // Non-ASCII bytes belong to words, so a punctuation character is one byte.
            (Kind::Punct, self.pos + 1)
        }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let len = self.sql.len();
        if self.pos >= len {
            return None;
        }
        let (kind, end) = loop {
            match self.next_mark() {
                Some(Mark::Open(at, kind)) if at <= self.pos => {
                    self.marks.pop_front();
                    let end = match self.next_mark() {
                        Some(Mark::Close(end)) => {
                            self.marks.pop_front();
                            end
                        }
                        // Unterminated: the construct runs to the end.
                        _ => len,
                    };
                    break (kind, end.clamp(self.pos + 1, len));
                }
                Some(Mark::Open(at, _)) => break self.code(at.min(len)),
                // A close without an open cannot happen; skipping it keeps the cover exact.
                Some(Mark::Close(_)) => {
                    self.marks.pop_front();
                }
                None => break self.code(len),
            }
        };
        let token = Token {
            kind,
            text: &self.sql[self.pos..end],
            start: self.pos,
        };
        self.pos = end;
        Some(token)
    }
}

impl std::iter::FusedIterator for Tokens<'_> {}

#[cfg(test)]
pub(super) mod tests {
    use proptest::prelude::*;
    use tt_schema::Backend::{self, Mysql, Postgres, Sqlite};

    use super::{Kind, tokens};

    /// Renders the tokens of `sql` as `Kind:text`, one per token.
    #[track_caller]
    fn check(dialect: Backend, sql: &str, expected: &[&str]) {
        let found: Vec<String> = tokens(sql, dialect)
            .map(|t| format!("{:?}:{}", t.kind, t.text))
            .collect();
        assert_eq!(found, expected, "{sql}");
    }

    #[test]
    fn code_is_cut_into_words_spaces_and_punctuation() {
        check(
            Postgres,
            "SELECT a.b,?",
            &[
                "Word:SELECT",
                "Space: ",
                "Word:a",
                "Punct:.",
                "Word:b",
                "Punct:,",
                "Punct:?",
            ],
        );
        check(Postgres, "Ärger $1", &["Word:Ärger", "Space: ", "Word:$1"]);
        check(Sqlite, "", &[]);
    }

    #[test]
    fn quoted_constructs_are_one_token_each() {
        check(Postgres, "'a''b'", &["String:'a''b'"]);
        check(Postgres, r"E'it\'s'", &[r"String:E'it\'s'"]);
        check(Postgres, r"x'a\'", &["Word:x", r"String:'a\'"]);
        check(Postgres, "$$a$b$$", &["DollarQuote:$$a$b$$"]);
        check(Postgres, "$q$ $$ $q$", &["DollarQuote:$q$ $$ $q$"]);
        check(Postgres, "\"a\"\"b\"", &["QuotedIdentifier:\"a\"\"b\""]);
        check(Mysql, r#""a\"b""#, &[r#"String:"a\"b""#]);
        check(Mysql, "`a``b`", &["QuotedIdentifier:`a``b`"]);
        check(Sqlite, "[a]]", &["QuotedIdentifier:[a]", "Punct:]"]);
        check(
            Postgres,
            "/* a /* b */ c */x",
            &["Comment:/* a /* b */ c */", "Word:x"],
        );
        check(Mysql, "/* a /* b */x", &["Comment:/* a /* b */", "Word:x"]);
        check(Postgres, "-- c\nx", &["Comment:-- c", "Space:\n", "Word:x"]);
        check(Mysql, "# c\nx", &["Comment:# c", "Space:\n", "Word:x"]);
        check(Mysql, "1--1", &["Word:1", "Punct:-", "Punct:-", "Word:1"]);
        check(Postgres, "#a", &["Punct:#", "Word:a"]);
    }

    #[test]
    fn unterminated_constructs_run_to_the_end() {
        check(Postgres, "a 'b", &["Word:a", "Space: ", "String:'b"]);
        check(Postgres, "$$b", &["DollarQuote:$$b"]);
        check(Postgres, "/* /* */", &["Comment:/* /* */"]);
    }

    #[test]
    fn statements_after_the_first_are_read_too() {
        check(
            Postgres,
            "a; 'b'",
            &["Word:a", "Punct:;", "Space: ", "String:'b'"],
        );
    }

    #[test]
    fn identifiers_and_dollar_bodies() {
        let first = |dialect, sql| tokens(sql, dialect).next().expect("a token");
        assert_eq!(first(Postgres, "\"a\"\"b\"").identifier(), "a\"b");
        assert_eq!(first(Sqlite, "[a\"b]").identifier(), "a\"b");
        assert_eq!(first(Mysql, "`a``b`").identifier(), "a`b");
        assert_eq!(first(Postgres, "abc").identifier(), "abc");
        assert_eq!(first(Postgres, "$q$ x $q$").dollar_body(), Some(" x "));
        assert_eq!(first(Postgres, "$$$$").dollar_body(), Some(""));
        assert_eq!(first(Postgres, "$$ x").dollar_body(), None);
    }

    /// A piece of generated SQL: code (words, spaces, punctuation with `?`) or one quoted
    /// construct or comment of the given kind.
    #[derive(Debug, Clone)]
    pub(in crate::files::split) enum Fragment {
        Code(String),
        Quoted(Kind, String),
    }

    fn quoted(kind: Kind, pattern: &str) -> BoxedStrategy<Fragment> {
        proptest::string::string_regex(pattern)
            .expect("a valid pattern")
            .prop_map(move |text| Fragment::Quoted(kind, text))
            .boxed()
    }

    /// The quoted constructs and comments of `dialect`, holding `?`, quotes of other kinds,
    /// `;`, `$` and comment openers that must not count inside them.
    fn construct(dialect: Backend) -> BoxedStrategy<Fragment> {
        // Bytes that are inert in every construct below.
        const INERT: &str = "a-d?;,( ";
        let comment_line = format!("--[{INERT}'\"$*/`\\[]*");
        let block = format!("/\\*([{INERT}'\"$`]|/\\*[{INERT}]*\\*/)*\\*/");
        match dialect {
            Postgres => prop_oneof![
                quoted(Kind::String, &format!("'([{INERT}\"$*/\\\\-]|'')*'")),
                quoted(
                    Kind::String,
                    &format!("E'([{INERT}\"$*/-]|''|\\\\[{INERT}'\\\\])*'")
                ),
                quoted(Kind::DollarQuote, &format!("\\$\\$[{INERT}'\"*/-]*\\$\\$")),
                quoted(
                    Kind::DollarQuote,
                    &format!("\\$q\\$([{INERT}'\"*/-]|\\$a?\\$)*\\$q\\$")
                ),
                quoted(
                    Kind::QuotedIdentifier,
                    &format!("\"([{INERT}'$*/-]|\"\")*\"")
                ),
                quoted(Kind::Comment, &comment_line),
                quoted(Kind::Comment, &block),
            ]
            .boxed(),
            Mysql => prop_oneof![
                quoted(
                    Kind::String,
                    &format!("'([{INERT}\"$*/#-]|''|\\\\[{INERT}'\"\\\\])*'")
                ),
                quoted(
                    Kind::String,
                    &format!("\"([{INERT}'$*/#-]|\"\"|\\\\[{INERT}'\"\\\\])*\"")
                ),
                quoted(
                    Kind::QuotedIdentifier,
                    &format!("`([{INERT}'\"$*/#-]|``)*`")
                ),
                quoted(Kind::Comment, &format!("-- [{INERT}'\"$*/`#]*")),
                quoted(Kind::Comment, &format!("#[{INERT}'\"$*/`-]*")),
                quoted(Kind::Comment, &format!("/\\*[{INERT}'\"$`#/-]*\\*/")),
            ]
            .boxed(),
            Sqlite => prop_oneof![
                quoted(Kind::String, &format!("'([{INERT}\"$*/`\\[-]|'')*'")),
                quoted(
                    Kind::QuotedIdentifier,
                    &format!("\"([{INERT}'$*/`-]|\"\")*\"")
                ),
                quoted(Kind::QuotedIdentifier, &format!("`([{INERT}'\"$*/-]|``)*`")),
                quoted(Kind::QuotedIdentifier, &format!("\\[[{INERT}'\"$*/`-]*\\]")),
                quoted(Kind::Comment, &comment_line),
                quoted(Kind::Comment, &format!("/\\*[{INERT}'\"$`/-]*\\*/")),
            ]
            .boxed(),
        }
    }

    /// Generated SQL of `dialect` as fragments; joined with [`join`] they read as written.
    pub(in crate::files::split) fn fragments(
        dialect: Backend,
    ) -> impl Strategy<Value = Vec<Fragment>> {
        let code = proptest::string::string_regex("[a-d0-9?,()=+<> ]{0,8}")
            .expect("a valid pattern")
            .prop_map(Fragment::Code);
        prop::collection::vec(prop_oneof![code, construct(dialect)], 0..12)
    }

    /// The fragments as one text: a newline after each, which ends a line comment and keeps
    /// a word from running into a quote (`e'…'`, `a$$`).
    pub(in crate::files::split) fn join(fragments: &[Fragment]) -> String {
        fragments
            .iter()
            .map(|f| match f {
                Fragment::Code(text) | Fragment::Quoted(_, text) => format!("{text}\n"),
            })
            .collect()
    }

    fn dialect() -> impl Strategy<Value = Backend> {
        prop_oneof![Just(Postgres), Just(Mysql), Just(Sqlite)]
    }

    proptest! {
        #[test]
        fn tokens_cover_any_text_exactly(
            dialect in dialect(),
            sql in "[a-eE$?'\"`\\[\\]/*#\\\\ \n;-]{0,40}|\\PC{0,20}",
        ) {
            let mut at = 0;
            let mut rebuilt = String::new();
            for token in tokens(&sql, dialect) {
                prop_assert_eq!(token.start, at);
                prop_assert!(!token.text.is_empty());
                at = token.end();
                rebuilt.push_str(token.text);
            }
            prop_assert_eq!(rebuilt, sql);
        }

        #[test]
        fn each_quoted_construct_is_one_token(
            (dialect, fragments) in dialect().prop_flat_map(|d| (Just(d), fragments(d))),
        ) {
            let sql = join(&fragments);
            let expected: Vec<(Kind, String)> = fragments
                .iter()
                .filter_map(|f| match f {
                    Fragment::Quoted(kind, text) => Some((*kind, text.clone())),
                    Fragment::Code(_) => None,
                })
                .collect();
            let found: Vec<(Kind, String)> = tokens(&sql, dialect)
                .filter(|t| !matches!(t.kind, Kind::Word | Kind::Space | Kind::Punct))
                .map(|t| (t.kind, t.text.to_string()))
                .collect();
            prop_assert_eq!(found, expected, "{}", sql);
        }
    }
}
