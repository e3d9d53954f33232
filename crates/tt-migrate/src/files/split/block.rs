//! Block bodies: which `;` end a statement inside `CREATE TRIGGER … BEGIN … END` and kin.
//!
//! The lexer hands every unquoted word of a statement to [`Block`]; it decides whether the
//! statement is a routine (trigger, procedure, function, event) whose `BEGIN … END` body may
//! hold `;`, and tracks how deep inside such bodies the lexer is.

use tt_schema::Backend;

/// A line and a 1-based column in characters.
pub(super) type Pos = (u32, u32);

/// The words that matter for block tracking; everything else is [`Kw::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kw {
    Create,
    Trigger,
    Procedure,
    Function,
    Event,
    Begin,
    End,
    Case,
    Atomic,
    Not,
    If,
    Loop,
    While,
    Repeat,
    CurrentUser,
    Delimiter,
    /// A word after CREATE that names an object kind without a body (TABLE, INDEX, …).
    Plain,
    Other,
}

impl Kw {
    /// The keyword `word` spells (ASCII case-insensitive), if it is one we track.
    pub(super) fn of(word: &[u8]) -> Kw {
        const LONGEST: usize = 12; // CURRENT_USER
        if word.len() > LONGEST {
            return Kw::Other;
        }
        let mut upper = [0u8; LONGEST];
        for (to, from) in upper.iter_mut().zip(word) {
            *to = from.to_ascii_uppercase();
        }
        match &upper[..word.len()] {
            b"CREATE" => Kw::Create,
            b"TRIGGER" => Kw::Trigger,
            b"PROCEDURE" => Kw::Procedure,
            b"FUNCTION" => Kw::Function,
            b"EVENT" => Kw::Event,
            b"BEGIN" => Kw::Begin,
            b"END" => Kw::End,
            b"CASE" => Kw::Case,
            b"ATOMIC" => Kw::Atomic,
            b"NOT" => Kw::Not,
            b"IF" => Kw::If,
            b"LOOP" => Kw::Loop,
            b"WHILE" => Kw::While,
            b"REPEAT" => Kw::Repeat,
            b"CURRENT_USER" => Kw::CurrentUser,
            b"DELIMITER" => Kw::Delimiter,
            b"TABLE" | b"VIEW" | b"INDEX" | b"SEQUENCE" | b"TYPE" | b"SCHEMA" | b"DATABASE"
            | b"DOMAIN" | b"EXTENSION" | b"ROLE" | b"USER" => Kw::Plain,
            _ => Kw::Other,
        }
    }
}

/// What the header of the statement says about a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `CREATE …` whose object kind has not been named yet.
    Undecided,
    /// A routine: `BEGIN … END` bodies are tracked.
    Routine,
    /// Anything else: `;` always ends the statement.
    Other,
}

/// A word seen but not yet settled, because the next word decides what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    /// `END` on MySQL: `END IF`, `END LOOP`, … close blocks that were never counted.
    End,
    /// `BEGIN` on PostgreSQL: only `BEGIN ATOMIC` opens a body.
    Begin(Pos),
}

/// Block-body tracking for one statement.
#[derive(Debug)]
pub(super) struct Block {
    dialect: Backend,
    words: u32,
    first: Kw,
    last: Kw,
    kind: Kind,
    depth: u32,
    pending: Pending,
    start: Pos,
    opened_at: Pos,
}

impl Block {
    pub(super) fn new(dialect: Backend) -> Self {
        Self {
            dialect,
            words: 0,
            first: Kw::Other,
            last: Kw::Other,
            kind: Kind::Other,
            depth: 0,
            pending: Pending::None,
            start: (1, 1),
            opened_at: (1, 1),
        }
    }

    /// Forgets the previous statement; the next one begins at `start`.
    pub(super) fn reset(&mut self, start: Pos) {
        *self = Self {
            start,
            ..Self::new(self.dialect)
        };
    }

    /// Whether the next word can matter; lets the lexer skip classifying most words.
    #[inline]
    pub(super) fn wants_words(&self) -> bool {
        // The first word always; the second after BEGIN (MariaDB's BEGIN NOT ATOMIC).
        self.words == 0 || self.kind != Kind::Other || (self.words == 1 && self.first == Kw::Begin)
    }

    /// How many words have been handed over (only counted while [`Self::wants_words`]).
    pub(super) fn words(&self) -> u32 {
        self.words
    }

    /// Takes the next unquoted word of the statement, which begins at `at`.
    pub(super) fn word(&mut self, kw: Kw, at: Pos) {
        self.words += 1;
        if !self.settle(kw) {
            self.take(kw, at);
        }
        self.last = kw;
    }

    /// Settles a pending `END` or `BEGIN` with the word after it; true if that used the word up.
    fn settle(&mut self, kw: Kw) -> bool {
        match std::mem::replace(&mut self.pending, Pending::None) {
            Pending::None => false,
            Pending::End => match kw {
                Kw::If | Kw::Loop | Kw::While | Kw::Repeat => true,
                Kw::Case => {
                    self.close();
                    true
                }
                _ => {
                    self.close();
                    false
                }
            },
            Pending::Begin(begin) if kw == Kw::Atomic => {
                self.open(begin);
                true
            }
            Pending::Begin(_) => false,
        }
    }

    fn take(&mut self, kw: Kw, at: Pos) {
        let mysql = self.dialect == Backend::Mysql;
        if self.words == 1 {
            self.first = kw;
            if kw == Kw::Create {
                self.kind = Kind::Undecided;
            }
        } else if self.words == 2 && mysql && self.first == Kw::Begin && kw == Kw::Not {
            // MariaDB's anonymous `BEGIN NOT ATOMIC … END`.
            self.kind = Kind::Routine;
            self.open(self.start);
        }
        match self.kind {
            Kind::Undecided => {
                self.kind = match (kw, self.dialect) {
                    (Kw::Trigger, _)
                    | (Kw::Procedure | Kw::Function, Backend::Postgres | Backend::Mysql)
                    | (Kw::Event, Backend::Mysql) => Kind::Routine,
                    (Kw::Plain, _) => Kind::Other,
                    _ => Kind::Undecided,
                };
            }
            Kind::Routine => match kw {
                // PostgreSQL: only `BEGIN ATOMIC` opens a body; `BEGIN` may name a function.
                Kw::Begin if self.dialect == Backend::Postgres => {
                    self.pending = Pending::Begin(at);
                }
                Kw::Begin => self.open(at),
                Kw::Case if self.depth > 0 => self.depth += 1,
                Kw::End if self.depth > 0 && mysql => self.pending = Pending::End,
                Kw::End => self.close(),
                _ => {}
            },
            Kind::Other => {}
        }
    }

    /// Takes a significant character that is not part of a word.
    #[inline]
    pub(super) fn token(&mut self) {
        if self.pending != Pending::None {
            if self.pending == Pending::End {
                self.close();
            }
            self.pending = Pending::None;
        }
    }

    /// Takes `(`: the header of a CREATE statement is over unless it is `CURRENT_USER()`.
    pub(super) fn open_paren(&mut self) {
        self.token();
        if self.kind == Kind::Undecided && self.last != Kw::CurrentUser {
            self.kind = Kind::Other;
        }
    }

    /// Takes `;` and says whether it ends the statement (it does outside bodies).
    #[inline]
    pub(super) fn semicolon_ends(&mut self) -> bool {
        self.token();
        self.depth == 0
    }

    /// At the end of input: where an unclosed body began, if one is open.
    pub(super) fn unclosed(&mut self) -> Option<Pos> {
        self.token();
        (self.depth > 0).then_some(self.opened_at)
    }

    fn open(&mut self, at: Pos) {
        if self.depth == 0 {
            self.opened_at = at;
        }
        self.depth += 1;
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}
