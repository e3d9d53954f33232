//! What each migration file touches (the tables, indexes, views, sequences, types, functions
//! and schemas it creates, alters, drops, writes or reads), read from the splitter's tokens, so
//! that files touching nothing in common may run at the same time (`tt migrate --jobs N`).
//!
//! The analysis only ever over-approximates: every name a statement mentions counts as read,
//! and whatever tt cannot follow with certainty (a `DO` block, `SET`, `GRANT`, a trigger, a
//! call of a function whose body it has not seen, unknown syntax) makes the file a barrier.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;

use tt_schema::Backend;

use crate::backend::dialect;
use crate::error::Error;
use crate::files::error::FileError;
use crate::files::migration::{FileKind, MigrationFile};
use crate::files::split::tokens::{Kind, Token, tokens};
use crate::files::split::{Piece, Statement};
use crate::files::statements;

/// A named database object, as the backend compares names: unquoted names folded to lower
/// case, quoted ones kept on PostgreSQL. Tables, views, sequences, indexes, types and
/// functions share one namespace here, which can only add conflicts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Object {
    /// The schema (or MySQL database) written before the name, if any.
    pub(crate) schema: Option<String>,
    /// The object's own name.
    pub(crate) name: String,
}

impl Object {
    /// An object without a schema.
    pub(crate) fn plain(name: &str) -> Self {
        Self {
            schema: None,
            name: name.to_string(),
        }
    }

    /// Whether the two names may be the same object: an unqualified name may resolve to any
    /// schema on the search path.
    pub(crate) fn may_be(&self, other: &Object) -> bool {
        self.name == other.name
            && (self.schema.is_none() || other.schema.is_none() || self.schema == other.schema)
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(schema) => write!(f, "{schema}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Why a file cannot run beside others: the statement tt could not analyse with certainty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reason {
    /// The 1-based line of the statement in its file.
    pub(crate) line: u32,
    /// What it is, in a few words (`SET`, `DO block`, `calls refresh_totals()`).
    pub(crate) what: String,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// What a function created by a pending file does when it runs.
#[derive(Debug, Clone, Default)]
struct Body {
    /// Every name in its body, counted as written by a caller.
    touches: BTreeSet<Object>,
    /// Functions its body calls.
    calls: BTreeSet<Object>,
    /// Why the body cannot be followed (dynamic SQL), if so.
    opaque: Option<String>,
}

/// What one migration file touches.
#[derive(Debug, Clone, Default)]
pub(crate) struct Footprint {
    /// Objects it creates, alters, drops or changes rows of.
    pub(crate) writes: BTreeSet<Object>,
    /// Objects it names otherwise.
    pub(crate) reads: BTreeSet<Object>,
    /// The first statement that makes the file a barrier.
    pub(crate) barrier: Option<Reason>,
    /// The first statement that changes the session (`SET`, `USE`, a temporary table), whose
    /// effect later files of a serial run would see on the same connection.
    pub(crate) session: Option<Reason>,
    /// Foreign keys it declares: (child table, parent table).
    pub(crate) foreign_keys: Vec<(Object, Object)>,
    /// Functions it calls where the call runs, with the line, resolved across files.
    calls: Vec<(Object, u32)>,
    /// Functions it creates.
    functions: BTreeMap<Object, Body>,
    /// Indexes it creates, with their tables.
    indexes: BTreeMap<Object, Object>,
    /// Indexes it drops or alters without naming their table, with the line.
    index_uses: Vec<(Object, u32)>,
}

impl Footprint {
    fn write(&mut self, object: Object) {
        self.writes.insert(object);
    }

    fn barrier(&mut self, line: u32, what: impl Into<String>) {
        if self.barrier.is_none() {
            self.barrier = Some(Reason {
                line,
                what: what.into(),
            });
        }
    }

    fn session(&mut self, line: u32, what: impl Into<String>) {
        let what = what.into();
        self.barrier(line, what.clone());
        if self.session.is_none() {
            self.session = Some(Reason { line, what });
        }
    }

    /// What the file touches in common with `earlier`, which then must commit first: the
    /// object and how each touches it, or `None` when they may run at the same time.
    pub(crate) fn conflict(&self, earlier: &Footprint) -> Option<Conflict> {
        let find = |mine: &BTreeSet<Object>, theirs: &BTreeSet<Object>| {
            mine.iter()
                .find_map(|a| theirs.iter().find(|b| a.may_be(b)).map(|_| a.clone()))
        };
        if let Some(object) = find(&self.writes, &earlier.writes) {
            return Some(Conflict::BothWrite(object));
        }
        if let Some(object) = find(&self.reads, &earlier.writes) {
            return Some(Conflict::ReadsWritten(object));
        }
        find(&self.writes, &earlier.reads).map(Conflict::WritesRead)
    }
}

/// Why a file waits for an earlier one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Conflict {
    /// Both write the object.
    BothWrite(Object),
    /// The later file reads what the earlier writes.
    ReadsWritten(Object),
    /// The later file writes what the earlier reads.
    WritesRead(Object),
}

/// The footprints of `files` (pending, in the order they would run), each file read and split
/// once; calls of functions and uses of indexes created by other files among them resolved.
///
/// # Errors
/// When a file cannot be read, split or parsed (as running it would fail).
pub(crate) fn footprints(
    files: &[&MigrationFile],
    backend: Backend,
) -> Result<Vec<Footprint>, Error> {
    let mut prints = files
        .iter()
        .map(|file| footprint(file, backend))
        .collect::<Result<Vec<_>, _>>()?;
    resolve(&mut prints);
    Ok(prints)
}

/// The footprint of one file, before resolving calls and index uses across files.
fn footprint(file: &MigrationFile, backend: Backend) -> Result<Footprint, Error> {
    let mut print = Footprint::default();
    if file.no_transaction {
        print.barrier(1, "runs without a transaction");
    }
    if file.kind == FileKind::Toml {
        let mut text = String::new();
        file.open()
            .and_then(|mut reader| reader.read_to_string(&mut text))
            .map_err(|source| {
                Error::File(FileError::Io {
                    path: file.path().to_path_buf(),
                    source,
                })
            })?;
        toml_footprint(&text, &mut print);
        return Ok(print);
    }
    delimiter_lines(file, &mut print)?;
    for piece in statements::pieces(file, backend, None)? {
        match piece? {
            Piece::Statement(Statement { sql, line, .. }) => {
                statement(&sql, line, backend, &mut print);
            }
            Piece::Echo { line, .. } => print.barrier(line, "psql meta-command \\echo"),
        }
    }
    Ok(print)
}

/// Marks a MySQL file that changes its `DELIMITER` a barrier: its blocks are routines and
/// triggers whose bodies run later.
fn delimiter_lines(file: &MigrationFile, print: &mut Footprint) -> Result<(), Error> {
    let mut text = String::new();
    file.open()
        .and_then(|mut reader| reader.read_to_string(&mut text))
        .map_err(|source| {
            Error::File(FileError::Io {
                path: file.path().to_path_buf(),
                source,
            })
        })?;
    for (number, line) in text.lines().enumerate() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.eq_ignore_ascii_case("DELIMITER") {
            print.barrier(number as u32 + 1, "DELIMITER block");
            break;
        }
    }
    Ok(())
}

/// A TOML migration writes the tables and indexes it declares and reads the tables its
/// foreign keys reference. A file that does not parse is a barrier (running it reports why).
fn toml_footprint(text: &str, print: &mut Footprint) {
    let Ok(value) = text.parse::<toml::Table>() else {
        print.barrier(1, "TOML that does not parse");
        return;
    };
    let Some(tables) = value.get("tables").and_then(toml::Value::as_table) else {
        return;
    };
    let lower = |s: &str| Object::plain(&s.to_lowercase());
    let name = |value: Option<&toml::Value>| value.and_then(toml::Value::as_str).map(lower);
    for (table, definition) in tables {
        let child = lower(table);
        print.write(child.clone());
        let list = |key: &str| {
            definition
                .get(key)
                .and_then(toml::Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        for column in list("columns") {
            if let Some(target) = name(column.get("references")) {
                let parent = Object::plain(target.name.split('.').next().unwrap_or_default());
                print.reads.insert(parent.clone());
                print.foreign_keys.push((child.clone(), parent));
            }
        }
        for key in list("foreign_keys") {
            if let Some(parent) = name(key.get("ref_table")) {
                print.reads.insert(parent.clone());
                print.foreign_keys.push((child.clone(), parent));
            }
        }
        for index in list("indexes") {
            if let Some(index) = name(index.get("name")) {
                print.indexes.insert(index.clone(), child.clone());
                print.write(index);
            }
        }
    }
}

/// Follows calls of functions created by pending files (their bodies count as written by the
/// caller) and uses of indexes they create; what stays unknown makes the file a barrier.
fn resolve(prints: &mut [Footprint]) {
    let mut functions: BTreeMap<Object, Body> = BTreeMap::new();
    let mut indexes: BTreeMap<Object, Object> = BTreeMap::new();
    for print in prints.iter() {
        functions.extend(print.functions.clone());
        indexes.extend(print.indexes.clone());
    }
    let find_function = |name: &Object| functions.iter().find(|(f, _)| f.may_be(name));
    for print in prints.iter_mut() {
        for (call, line) in std::mem::take(&mut print.calls) {
            let mut seen = BTreeSet::new();
            let mut queue = vec![call.clone()];
            while let Some(name) = queue.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                match find_function(&name) {
                    Some((function, body)) => {
                        print.reads.insert(function.clone());
                        print.writes.extend(body.touches.iter().cloned());
                        if let Some(why) = &body.opaque {
                            print.barrier(line, format!("calls {name}(), which {why}"));
                        }
                        queue.extend(body.calls.iter().cloned());
                    }
                    None if name == call => {
                        print.barrier(line, format!("calls {name}(), whose body tt cannot see"));
                    }
                    None => print.barrier(
                        line,
                        format!("calls {call}(), which calls {name}(), whose body tt cannot see"),
                    ),
                }
            }
        }
        for (index, line) in std::mem::take(&mut print.index_uses) {
            match indexes.iter().find(|(i, _)| i.may_be(&index)) {
                Some((_, table)) => print.write(table.clone()),
                None => print.barrier(
                    line,
                    format!("changes index {index}, whose table tt does not know"),
                ),
            }
        }
    }
}

/// Words that may stand before `(` without being a call: keywords, type names, index
/// methods, and built-in functions that read no table and change nothing.
#[rustfmt::skip]
const NOT_CALLS: &[&str] = &[
    // keywords
    "add", "all", "and", "any", "array", "as", "between", "by", "case", "check", "column",
    "constraint", "cube", "default", "distinct", "else", "except", "exists", "filter", "for",
    "foreign", "from", "group", "grouping", "identity", "in", "include", "index", "intersect",
    "into", "is", "join", "key", "lateral", "like", "limit", "list", "modify", "not", "of",
    "offset", "on", "or", "over", "partition", "primary", "range", "recursive", "references",
    "returning", "returns", "rollup", "row", "rows", "select", "set", "sets", "some", "spatial",
    "fulltext", "table", "then", "to", "union", "unique", "using", "values", "when", "where",
    "window", "with", "within",
    // types
    "bigint", "binary", "bit", "blob", "char", "character", "date", "datetime", "dec",
    "decimal", "double", "enum", "float", "int", "integer", "interval", "mediumint", "numeric",
    "precision", "real", "smallint", "text", "time", "timestamp", "timestamptz", "timetz",
    "tinyint", "varbinary", "varchar", "varying", "year",
    // index methods
    "btree", "brin", "gin", "gist", "hash", "spgist",
    // built-in functions without side effects on tables
    "abs", "age", "array_agg", "ascii", "avg", "bool_and", "bool_or", "cast", "ceil", "ceiling",
    "char_length", "character_length", "chr", "coalesce", "concat", "concat_ws", "convert",
    "count", "current_date", "current_time", "current_timestamp", "date_add", "date_format",
    "date_part", "date_sub", "date_trunc", "dense_rank", "every", "exp", "extract",
    "first_value", "floor", "format", "from_unixtime", "gen_random_uuid", "generate_series",
    "greatest", "hex", "if", "ifnull", "isnull", "json_agg", "json_build_array",
    "json_build_object", "json_object", "jsonb_agg", "jsonb_build_array", "jsonb_build_object",
    "lag", "last_value", "lead", "least", "left", "length", "ln", "localtimestamp", "log",
    "lower", "lpad", "ltrim", "max", "md5", "min", "mod", "now", "nullif", "octet_length",
    "pg_sleep", "position", "power", "rand", "random", "rank", "repeat", "replace", "reverse",
    "right", "round", "row_number", "rpad", "rtrim", "sha1", "sha2", "sign", "sleep",
    "split_part", "sqrt",
    "string_agg", "strpos", "substr", "substring", "sum", "to_char", "to_date", "to_number",
    "to_timestamp", "trim", "trunc", "truncate", "unhex", "unix_timestamp", "upper",
    "utc_timestamp", "uuid",
];

/// Reserved words, which unquoted are never names of objects.
#[rustfmt::skip]
const KEYWORDS: &[&str] = &[
    "add", "all", "alter", "and", "any", "as", "asc", "begin", "between", "both", "by",
    "cascade", "case", "cast", "check", "collate", "column", "commit", "constraint", "create",
    "cross", "current_date", "current_time", "current_timestamp", "default", "deferrable",
    "delete", "desc", "distinct", "do", "drop", "each", "else", "end", "except", "exists",
    "false", "fetch", "for", "foreign", "from", "full", "grant", "group", "having", "if",
    "ilike", "in", "index", "initially", "inner", "insert", "intersect", "into", "is", "join",
    "key", "lateral", "leading", "left", "like", "limit", "not", "null", "nulls", "offset",
    "on", "only", "or", "order", "outer", "primary", "references", "rename", "replace",
    "restrict", "returning", "right", "select", "set", "some", "table", "then", "to",
    "trailing", "true", "union", "unique", "update", "using", "values", "view", "when", "where",
    "with",
];

/// Statements that change the session a serial run shares between files.
const SESSION_HEADS: &[&str] = &["set", "use", "reset", "discard", "prepare", "deallocate"];

/// One statement's tokens without spaces and comments, and how it is to be read.
struct Reader<'a> {
    tokens: Vec<Token<'a>>,
    keep_case: bool,
}

impl<'a> Reader<'a> {
    fn new(sql: &'a str, backend: Backend) -> Self {
        Self {
            tokens: tokens(sql, backend)
                .filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
                .collect(),
            keep_case: dialect(backend).quoted_names_keep_case(),
        }
    }

    fn word(&self, at: usize) -> Option<String> {
        self.tokens
            .get(at)
            .filter(|t| t.kind == Kind::Word)
            .map(|t| t.text.to_ascii_lowercase())
    }

    fn is_word(&self, at: usize, word: &str) -> bool {
        self.tokens.get(at).is_some_and(|t| t.is_word(word))
    }

    fn is_punct(&self, at: usize, punct: char) -> bool {
        self.tokens.get(at).is_some_and(|t| t.is_punct(punct))
    }

    /// Whether the token at `at` can be (part of) a name: a quoted identifier, or a word that
    /// is not a number or a placeholder.
    fn is_name(&self, at: usize) -> bool {
        self.tokens.get(at).is_some_and(|t| match t.kind {
            Kind::QuotedIdentifier => true,
            Kind::Word => {
                !t.text.starts_with(|c: char| c.is_ascii_digit() || c == '$')
                    && !KEYWORDS.contains(&t.text.to_ascii_lowercase().as_str())
            }
            _ => false,
        })
    }

    fn part(&self, token: &Token<'_>) -> String {
        match token.kind {
            Kind::QuotedIdentifier if self.keep_case => token.identifier(),
            Kind::QuotedIdentifier => token.identifier().to_lowercase(),
            _ => token.text.to_lowercase(),
        }
    }

    /// The (possibly qualified) name starting at `at`, and the index after it.
    fn name(&self, at: usize) -> Option<(Object, usize)> {
        if !self.is_name(at) {
            return None;
        }
        let mut parts = vec![self.part(&self.tokens[at])];
        let mut next = at + 1;
        while self.is_punct(next, '.') && self.is_name(next + 1) {
            parts.push(self.part(&self.tokens[next + 1]));
            next += 2;
        }
        let name = parts.pop().unwrap_or_default();
        Some((
            Object {
                schema: parts.pop(),
                name,
            },
            next,
        ))
    }

    /// Skips the words `words` in order where present (`IF NOT EXISTS`), returning the index
    /// after them.
    fn skip(&self, mut at: usize, words: &[&str]) -> usize {
        for word in words {
            if self.is_word(at, word) {
                at += 1;
            }
        }
        at
    }

    /// Skips any of `words`, in any order and number.
    fn skip_any(&self, mut at: usize, words: &[&str]) -> usize {
        while words.iter().any(|w| self.is_word(at, w)) {
            at += 1;
        }
        at
    }

    /// Every name from `from` on, with its schema as an object of its own.
    fn names(&self, from: usize) -> Vec<(Object, usize)> {
        let mut found = Vec::new();
        let mut at = from;
        while at < self.tokens.len() {
            match self.name(at) {
                Some((object, next)) => {
                    if let Some(schema) = &object.schema {
                        found.push((Object::plain(schema), at));
                    }
                    found.push((object, at));
                    at = next;
                }
                None => at += 1,
            }
        }
        found
    }

    /// The names from `from` on that are followed by `(` and are not keywords, types or
    /// harmless built-ins: function calls. `except` holds positions that are names of objects
    /// (`INSERT INTO t (a)`).
    fn calls(&self, from: usize, except: &BTreeSet<usize>) -> Vec<Object> {
        let mut found = Vec::new();
        let mut at = from;
        while at < self.tokens.len() {
            let Some((object, next)) = self.name(at) else {
                at += 1;
                continue;
            };
            let after_name_keyword = at > 0
                && [
                    "references",
                    "into",
                    "table",
                    "index",
                    "key",
                    "constraint",
                    "unique",
                ]
                .iter()
                .any(|w| self.is_word(at - 1, w));
            let harmless = object.schema.is_none() && NOT_CALLS.contains(&object.name.as_str());
            if self.is_punct(next, '(') && !except.contains(&at) && !after_name_keyword && !harmless
            {
                found.push(object);
            }
            at = next;
        }
        found
    }

    /// The identifiers inside the string and dollar-quoted bodies from `from` on, read as SQL.
    fn bodies(&self, from: usize) -> Vec<String> {
        self.tokens[from.min(self.tokens.len())..]
            .iter()
            .filter_map(|t| match t.kind {
                Kind::DollarQuote => t.dollar_body().map(str::to_string),
                Kind::String => {
                    let inner = t.text.get(1..t.text.len().saturating_sub(1))?;
                    Some(inner.replace("''", "'"))
                }
                _ => None,
            })
            .collect()
    }
}

/// Adds what one statement touches to `print`.
pub(crate) fn statement(sql: &str, line: u32, backend: Backend, print: &mut Footprint) {
    let r = Reader::new(sql, backend);
    let Some(head) = r.word(0) else {
        if !r.tokens.is_empty() {
            print.barrier(line, "a statement tt cannot read");
        }
        return;
    };
    let named = r.names(0);
    let named_len = named.len();
    let mut all: Vec<Object> = named.iter().map(|(o, _)| o.clone()).collect();
    // Positions of column names in a new table's definition, which are no objects.
    let mut columns = BTreeSet::new();
    let mut targets = BTreeSet::new();
    // Calls that run now (on existing rows); in a new table's defaults or a view they do not.
    let mut calls_run = true;
    match head.as_str() {
        "begin" | "start" | "commit" | "end" if r.tokens.len() <= 2 => return,
        "insert" | "replace" => {
            let at = r.skip_any(
                1,
                &["ignore", "low_priority", "delayed", "high_priority", "into"],
            );
            match r.name(at) {
                Some((table, _)) => {
                    targets.insert(at);
                    print.write(table);
                }
                None => {
                    return print.barrier(line, format!("{} without a table", head.to_uppercase()));
                }
            }
        }
        "update" | "delete" | "truncate" => {
            if head != "truncate" {
                let at = r.skip_any(1, &["low_priority", "quick", "ignore", "from", "only"]);
                let single = r.name(at).and_then(|(table, next)| {
                    // An alias, then what ends the table list of one table.
                    let next = r.skip(next, &["as"]);
                    let next = if r.is_name(next) { next + 1 } else { next };
                    let ends = ["set", "where", "order", "limit", "returning"];
                    let one = if head == "update" {
                        r.is_word(next, "set")
                    } else {
                        r.is_word(1, "from")
                            && (next >= r.tokens.len() || ends.iter().any(|w| r.is_word(next, w)))
                    };
                    one.then_some((table, at))
                });
                match single {
                    Some((table, at)) => {
                        targets.insert(at);
                        print.write(table);
                    }
                    // MySQL's multi-table forms change rows of every table they name, and
                    // `DELETE … USING` may cascade: every name counts as written.
                    None => print.writes.extend(all.iter().cloned()),
                }
            } else {
                let at = r.skip_any(
                    1,
                    &["from", "only", "table", "low_priority", "quick", "ignore"],
                );
                let Some((table, mut next)) = r.name(at) else {
                    return print.barrier(line, format!("{} without a table", head.to_uppercase()));
                };
                targets.insert(at);
                print.write(table);
                while head == "truncate" && r.is_punct(next, ',') {
                    let Some((table, after)) = r.name(next + 1) else {
                        break;
                    };
                    print.write(table);
                    next = after;
                }
                if head == "truncate" && r.is_word(next, "cascade") {
                    return print.barrier(line, "TRUNCATE … CASCADE");
                }
            }
        }
        "select" | "with" => {
            if head == "with"
                && r.tokens.iter().any(|t| {
                    t.is_word("insert")
                        || t.is_word("update")
                        || t.is_word("delete")
                        || t.is_word("merge")
                })
            {
                return print.barrier(line, "WITH … writing rows");
            }
            if r.tokens.iter().any(|t| t.is_word("into")) {
                return print.barrier(line, "SELECT … INTO");
            }
        }
        "create" => {
            calls_run = false;
            if !create(
                &r,
                line,
                backend,
                print,
                &mut targets,
                &mut calls_run,
                &mut columns,
            ) {
                return;
            }
        }
        "alter" => {
            if !alter(&r, line, print, &mut targets) {
                return;
            }
        }
        "drop" => {
            drop(&r, line, print);
            return;
        }
        "comment" => {
            // `COMMENT ON COLUMN t.c`: every part of every name counts as written.
            for object in &all {
                print.write(Object::plain(&object.name));
            }
        }
        "rename" => {
            // MySQL `RENAME TABLE a TO b, c TO d`.
            print.writes.extend(all.iter().cloned());
        }
        "set" if r.is_word(1, "local") || r.is_word(1, "transaction") => {
            return print.barrier(line, "SET");
        }
        word if SESSION_HEADS.contains(&word) => {
            return print.session(line, word.to_uppercase());
        }
        "do" => return print.barrier(line, "DO block"),
        word => return print.barrier(line, word.to_uppercase()),
    }
    // Foreign keys: `REFERENCES parent`.
    let child = print.writes.iter().next().cloned();
    for at in 0..r.tokens.len() {
        if r.is_word(at, "references")
            && let Some((parent, _)) = r.name(at + 1)
        {
            targets.insert(at + 1);
            if let Some(child) = &child {
                print.foreign_keys.push((child.clone(), parent.clone()));
            }
        }
    }
    for call in r.calls(0, &targets) {
        if ["set_config", "pg_advisory_lock", "get_lock"].contains(&call.name.as_str()) {
            return print.session(line, format!("calls {call}()"));
        }
        if calls_run {
            print.calls.push((call, line));
        } else {
            all.push(call);
        }
    }
    if !columns.is_empty() {
        all = named
            .into_iter()
            .filter(|(_, at)| !columns.contains(at))
            .map(|(o, _)| o)
            .chain(all.into_iter().skip(named_len))
            .collect();
    }
    print.reads.extend(all);
}

/// `CREATE …`; false when the statement made the file a barrier.
fn create(
    r: &Reader<'_>,
    line: u32,
    backend: Backend,
    print: &mut Footprint,
    targets: &mut BTreeSet<usize>,
    calls_run: &mut bool,
    columns: &mut BTreeSet<usize>,
) -> bool {
    let at = r.skip(1, &["or", "replace"]);
    if r.is_word(at, "temp") || r.is_word(at, "temporary") {
        print.session(line, "temporary table");
        return false;
    }
    let at = r.skip_any(
        at,
        &[
            "global",
            "local",
            "unlogged",
            "unique",
            "definer",
            "algorithm",
            "sql",
            "security",
        ],
    );
    let Some(kind) = r.word(at) else {
        print.barrier(line, "CREATE of something tt does not know");
        return false;
    };
    let object_at = |from: usize| r.skip(from, &["if", "not", "exists"]);
    match kind.as_str() {
        "table" | "view" | "sequence" | "type" | "domain" | "schema" | "materialized" => {
            let at = object_at(at + if kind == "materialized" { 2 } else { 1 });
            let Some((object, next)) = r.name(at) else {
                print.barrier(line, format!("CREATE {}", kind.to_uppercase()));
                return false;
            };
            targets.insert(at);
            print.write(object);
            if kind == "table" && r.is_punct(next, '(') {
                let mut depth = 0;
                for i in next..r.tokens.len() {
                    if r.is_punct(i, '(') {
                        depth += 1;
                    } else if r.is_punct(i, ')') {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    } else if depth == 1 && (r.is_punct(i - 1, '(') || r.is_punct(i - 1, ',')) {
                        columns.insert(i);
                    }
                }
            }
            // `CREATE TABLE … AS SELECT`, `CREATE MATERIALIZED VIEW`: the query runs now.
            let query = (next..r.tokens.len()).any(|i| r.is_word(i, "select"));
            *calls_run = query && (kind == "table" || kind == "materialized");
        }
        "index" => {
            let mut at = r.skip(object_at(r.skip(at + 1, &["concurrently"])), &[]);
            let mut index = None;
            if !r.is_word(at, "on")
                && let Some((name, next)) = r.name(at)
            {
                targets.insert(at);
                index = Some(name);
                at = next;
            }
            if !r.is_word(at, "on") {
                print.barrier(line, "CREATE INDEX tt cannot read");
                return false;
            }
            let at = r.skip(at + 1, &["only"]);
            let Some((table, _)) = r.name(at) else {
                print.barrier(line, "CREATE INDEX tt cannot read");
                return false;
            };
            targets.insert(at);
            if let Some(index) = index {
                // On PostgreSQL an index lives in its table's schema.
                let index = Object {
                    schema: index.schema.or_else(|| table.schema.clone()),
                    ..index
                };
                print.indexes.insert(index.clone(), table.clone());
                print.write(index);
            }
            print.write(table);
            *calls_run = true;
        }
        "function" | "procedure" => {
            let at = object_at(at + 1);
            let Some((function, next)) = r.name(at) else {
                print.barrier(line, format!("CREATE {}", kind.to_uppercase()));
                return false;
            };
            targets.insert(at);
            let mut body = Body::default();
            let names = r.names(next);
            let mut inner: Vec<(Object, Vec<Object>)> = Vec::new();
            for text in r.bodies(next) {
                let body_reader = Reader::new(&text, backend);
                let names = body_reader.names(0).into_iter().map(|(o, _)| o).collect();
                let calls = body_reader.calls(0, &BTreeSet::new());
                inner.push((Object::plain(""), names));
                body.calls.extend(calls);
                if body_reader.tokens.iter().any(|t| t.is_word("execute")) {
                    body.opaque = Some("runs dynamic SQL".to_string());
                }
            }
            body.touches.extend(names.into_iter().map(|(o, _)| o));
            body.touches.extend(inner.into_iter().flat_map(|(_, n)| n));
            body.calls.extend(r.calls(next, targets));
            body.touches.remove(&function);
            body.calls.remove(&function);
            // Creating it runs nothing, but PostgreSQL checks a SQL body's names.
            print.reads.extend(body.touches.iter().cloned());
            print.functions.insert(function.clone(), body);
            print.write(function);
        }
        "trigger" | "rule" | "policy" | "event" => {
            print.barrier(line, format!("CREATE {}", kind.to_uppercase()));
            return false;
        }
        other => {
            print.barrier(line, format!("CREATE {}", other.to_uppercase()));
            return false;
        }
    }
    true
}

/// `ALTER …`; false when the statement made the file a barrier.
fn alter(r: &Reader<'_>, line: u32, print: &mut Footprint, targets: &mut BTreeSet<usize>) -> bool {
    let Some(kind) = r.word(1) else {
        print.barrier(line, "ALTER tt cannot read");
        return false;
    };
    let (at, index) = match kind.as_str() {
        "table" | "view" | "sequence" | "type" | "domain" | "function" | "procedure" => (1, false),
        "materialized" => (2, false),
        "index" => (1, true),
        other => {
            print.barrier(line, format!("ALTER {}", other.to_uppercase()));
            return false;
        }
    };
    let at = r.skip_any(at + 1, &["if", "exists", "only", "ignore", "online"]);
    let Some((object, next)) = r.name(at) else {
        print.barrier(line, format!("ALTER {}", kind.to_uppercase()));
        return false;
    };
    targets.insert(at);
    if index {
        print.index_uses.push((object.clone(), line));
    }
    print.write(object.clone());
    // `RENAME TO new` (and MySQL's `RENAME AS`): the new name is written too.
    for i in next..r.tokens.len() {
        if r.is_word(i, "rename")
            && (r.is_word(i + 1, "to") || r.is_word(i + 1, "as"))
            && let Some((new, _)) = r.name(i + 2)
        {
            targets.insert(i + 2);
            print.write(Object {
                schema: new.schema.or(object.schema.clone()),
                name: new.name,
            });
        }
        if r.is_word(i, "set") && r.is_word(i + 1, "schema") {
            print.barrier(line, "ALTER … SET SCHEMA");
            return false;
        }
    }
    true
}

/// `DROP …`: writes what it drops; `CASCADE` drops what tt cannot see.
fn drop(r: &Reader<'_>, line: u32, print: &mut Footprint) {
    let Some(kind) = r.word(1) else {
        return print.barrier(line, "DROP tt cannot read");
    };
    let at = match kind.as_str() {
        "table" | "view" | "sequence" | "type" | "domain" | "function" | "procedure" | "index" => 2,
        "materialized" => 3,
        other => return print.barrier(line, format!("DROP {}", other.to_uppercase())),
    };
    if r.tokens.iter().any(|t| t.is_word("cascade")) {
        return print.barrier(line, format!("DROP {} … CASCADE", kind.to_uppercase()));
    }
    let mut at = r.skip_any(at, &["temporary", "concurrently", "if", "exists"]);
    loop {
        let Some((object, mut next)) = r.name(at) else {
            return print.barrier(line, format!("DROP {} tt cannot read", kind.to_uppercase()));
        };
        if r.is_punct(next, '(') {
            // `DROP FUNCTION f(int)`: skip the argument types.
            while next < r.tokens.len() && !r.is_punct(next, ')') {
                next += 1;
            }
            next += 1;
        }
        if kind == "index" {
            if r.is_word(next, "on") {
                if let Some((table, after)) = r.name(next + 1) {
                    print.write(table);
                    next = after;
                }
            } else {
                print.index_uses.push((object.clone(), line));
            }
        }
        print.write(object);
        if !r.is_punct(next, ',') {
            break;
        }
        at = next + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The footprints of files given as SQL texts, resolved across them.
    fn analyse(backend: Backend, files: &[&str]) -> Vec<Footprint> {
        let mut prints: Vec<Footprint> = files
            .iter()
            .map(|sql| {
                let mut print = Footprint::default();
                for piece in crate::files::split::Splitter::new(sql.as_bytes(), backend) {
                    match piece.expect("splits") {
                        Piece::Statement(s) => statement(&s.sql, s.line, backend, &mut print),
                        Piece::Echo { line, .. } => print.barrier(line, "\\echo"),
                    }
                }
                print
            })
            .collect();
        resolve(&mut prints);
        prints
    }

    fn names(set: &BTreeSet<Object>) -> Vec<String> {
        set.iter().map(ToString::to_string).collect()
    }

    /// The conflict of the last file with each earlier one, as text (`-` for none).
    #[track_caller]
    fn check(backend: Backend, files: &[&str], expected: &[&str]) {
        let prints = analyse(backend, files);
        let (last, earlier) = prints.split_last().expect("files");
        let found: Vec<String> = earlier
            .iter()
            .map(|e| match last.conflict(e) {
                Some(Conflict::BothWrite(o)) => format!("both write {o}"),
                Some(Conflict::ReadsWritten(o)) => format!("reads {o}"),
                Some(Conflict::WritesRead(o)) => format!("writes {o}"),
                None => "-".to_string(),
            })
            .collect();
        assert_eq!(found, expected, "{files:?}");
        for print in &prints {
            assert_eq!(print.barrier, None, "{files:?}");
        }
    }

    #[track_caller]
    fn barrier(backend: Backend, sql: &str, what: &str) {
        let prints = analyse(backend, &[sql]);
        let reason = prints[0]
            .barrier
            .as_ref()
            .unwrap_or_else(|| panic!("no barrier: {sql}"));
        assert_eq!(reason.what, what, "{sql}");
    }

    use Backend::{Mysql, Postgres};

    #[test]
    fn independent_tables_do_not_conflict() {
        check(
            Postgres,
            &[
                "CREATE TABLE a (id int PRIMARY KEY);\nINSERT INTO a SELECT g FROM generate_series(1, 10) g;",
                "CREATE TABLE b (id int PRIMARY KEY, note text DEFAULT 'a');\nCREATE INDEX b_note ON b (note);",
            ],
            &["-"],
        );
    }

    #[test]
    fn a_view_over_two_tables_waits_for_both() {
        check(
            Postgres,
            &[
                "CREATE TABLE items (id int, name text)",
                "CREATE TABLE owners (id int)",
                "CREATE TABLE other (id int)",
                "CREATE VIEW item_owners AS SELECT i.name FROM items i JOIN owners o ON o.id = i.id",
            ],
            &["reads items", "reads owners", "-"],
        );
    }

    #[test]
    fn a_foreign_key_to_a_table_two_files_earlier() {
        let files = [
            "CREATE TABLE parents (id int PRIMARY KEY)",
            "CREATE TABLE unrelated (id int)",
            "CREATE TABLE children (id int, parent_id int REFERENCES parents (id))",
        ];
        check(Postgres, &files, &["reads parents", "-"]);
        let prints = analyse(Postgres, &files);
        assert_eq!(
            prints[2].foreign_keys,
            [(Object::plain("children"), Object::plain("parents"))]
        );
        check(
            Mysql,
            &[
                "CREATE TABLE parents (id int PRIMARY KEY)",
                "ALTER TABLE `kids` ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES `Parents` (id)",
            ],
            &["reads parents"],
        );
    }

    #[test]
    fn a_sleep_reads_and_writes_no_table() {
        check(
            Postgres,
            &[
                "INSERT INTO a VALUES (1);\nSELECT pg_sleep(1)",
                "INSERT INTO b VALUES (1);\nSELECT pg_sleep((SELECT count(*) FROM go))",
            ],
            &["-"],
        );
        check(
            Mysql,
            &[
                "INSERT INTO a VALUES (1);\nSELECT SLEEP(1)",
                "INSERT INTO b VALUES (1);\nSELECT SLEEP(IF((SELECT COUNT(*) FROM go) = 0, 60, 0))",
            ],
            &["-"],
        );
    }

    #[test]
    fn calls_of_functions_follow_their_bodies() {
        let files = [
            "CREATE TABLE totals (n int)",
            "CREATE TABLE log (n int)",
            "CREATE FUNCTION bump() RETURNS void LANGUAGE sql AS $$ UPDATE totals SET n = n + 1 $$",
            "SELECT bump()",
        ];
        check(Postgres, &files, &["both write totals", "-", "reads bump"]);
        let prints = analyse(Postgres, &files);
        assert_eq!(names(&prints[2].writes), ["bump"]);
        assert!(prints[2].reads.contains(&Object::plain("totals")));
        barrier(
            Postgres,
            "SELECT refresh_everything()",
            "calls refresh_everything(), whose body tt cannot see",
        );
        barrier(
            Postgres,
            "UPDATE t SET a = my_fn(a)",
            "calls my_fn(), whose body tt cannot see",
        );
        let dynamic = analyse(
            Postgres,
            &[
                "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'DROP TABLE x'; END $$",
                "SELECT f()",
            ],
        );
        assert_eq!(dynamic[0].barrier, None);
        assert_eq!(
            dynamic[1].barrier.as_ref().map(|r| r.what.as_str()),
            Some("calls f(), which runs dynamic SQL")
        );
    }

    #[test]
    fn defaults_and_view_calls_do_not_run() {
        let prints = analyse(
            Postgres,
            &[
                "CREATE TABLE t (id int DEFAULT next_id(), CHECK (valid(id)));\nCREATE VIEW v AS SELECT f(id) FROM t",
            ],
        );
        assert_eq!(prints[0].barrier, None);
        assert!(prints[0].reads.contains(&Object::plain("next_id")));
    }

    #[test]
    fn updates_write_their_table_and_multi_table_forms_everything() {
        check(
            Postgres,
            &[
                "CREATE TABLE p1 (id int, a int)",
                "UPDATE p0 SET c = a * 2 WHERE id > 1",
            ],
            &["-"],
        );
        check(
            Postgres,
            &["SELECT a FROM p1", "DELETE FROM p0 AS x WHERE x.a = 1"],
            &["-"],
        );
        check(
            Mysql,
            &[
                "SELECT 1 FROM p1",
                "UPDATE p0 JOIN p1 ON p1.id = p0.id SET p1.a = 1",
            ],
            &["writes p1"],
        );
        check(
            Mysql,
            &["SELECT 1 FROM p1", "DELETE p0, p1 FROM p0 JOIN p1"],
            &["writes p1"],
        );
        check(
            Postgres,
            &["SELECT 1 FROM u", "DELETE FROM t USING u WHERE t.id = u.id"],
            &["writes u"],
        );
    }

    #[test]
    fn a_rename_writes_both_names() {
        check(
            Postgres,
            &[
                "CREATE TABLE new_items (id int)",
                "ALTER TABLE items RENAME TO new_items",
            ],
            &["both write new_items"],
        );
        check(
            Mysql,
            &["SELECT * FROM b", "RENAME TABLE a TO b"],
            &["writes b"],
        );
        check(
            Postgres,
            &[
                "CREATE INDEX i_b ON items (b)",
                "ALTER INDEX i_b RENAME TO i_c",
            ],
            &["both write i_b"],
        );
        let renamed = analyse(
            Postgres,
            &[
                "CREATE INDEX i_b ON items (b)",
                "ALTER INDEX i_b RENAME TO i_c",
            ],
        );
        assert!(renamed[1].writes.contains(&Object::plain("items")));
    }

    #[test]
    fn quoted_and_qualified_names_follow_the_backend() {
        // PostgreSQL folds unquoted names; a quoted name keeps its case.
        check(
            Postgres,
            &[
                "CREATE TABLE \"Items\" (id int)",
                "INSERT INTO items VALUES (1)",
            ],
            &["-"],
        );
        check(
            Postgres,
            &[
                "CREATE TABLE \"items\" (id int)",
                "INSERT INTO ITEMS VALUES (1)",
            ],
            &["both write items"],
        );
        // MySQL and SQLite compare names ignoring case.
        check(
            Mysql,
            &[
                "CREATE TABLE `Items` (id int)",
                "INSERT INTO items VALUES (1)",
            ],
            &["both write items"],
        );
        check(
            Backend::Sqlite,
            &[
                "CREATE TABLE [Items] (id int)",
                "INSERT INTO \"ITEMS\" VALUES (1)",
            ],
            &["both write items"],
        );
        // Two schemas named outright are two objects; an unqualified name may be either.
        check(
            Postgres,
            &[
                "CREATE TABLE a.items (id int)",
                "CREATE TABLE b.items (id int)",
                "INSERT INTO items VALUES (1)",
            ],
            &["both write items", "both write items"],
        );
        check(
            Postgres,
            &[
                "CREATE TABLE a.items (id int)",
                "CREATE TABLE b.items (id int)",
            ],
            &["-"],
        );
        check(
            Postgres,
            &[
                "CREATE SCHEMA sales",
                "CREATE TABLE \"sales\".\"Orders\" (id int)",
            ],
            &["reads sales"],
        );
    }

    #[test]
    fn readers_of_the_same_table_run_together() {
        check(
            Postgres,
            &[
                "CREATE TABLE t (a int)",
                "CREATE TABLE x AS SELECT a FROM t",
                "CREATE TABLE y AS SELECT a FROM t",
            ],
            &["reads t", "-"],
        );
    }

    #[test]
    fn unknown_statements_are_barriers() {
        barrier(Postgres, "DO $$ BEGIN PERFORM 1; END $$", "DO block");
        barrier(Postgres, "GRANT SELECT ON t TO bob", "GRANT");
        barrier(Postgres, "CREATE EXTENSION pgcrypto", "CREATE EXTENSION");
        barrier(Postgres, "SET LOCAL statement_timeout = 0", "SET");
        barrier(Postgres, "VACUUM t", "VACUUM");
        barrier(
            Postgres,
            "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
            "CREATE TRIGGER",
        );
        barrier(Postgres, "DROP TABLE t CASCADE", "DROP TABLE … CASCADE");
        barrier(
            Postgres,
            "DROP INDEX i",
            "changes index i, whose table tt does not know",
        );
        barrier(
            Postgres,
            "WITH d AS (DELETE FROM t RETURNING *) SELECT 1",
            "WITH … writing rows",
        );
        barrier(Postgres, "\\echo hello\nSELECT 1", "\\echo");
        barrier(Postgres, "ALTER SCHEMA s RENAME TO t", "ALTER SCHEMA");
        barrier(Postgres, "frobnicate the database", "FROBNICATE");
        barrier(Mysql, "CALL p()", "CALL");
        barrier(Mysql, "LOCK TABLES t WRITE", "LOCK");
    }

    #[test]
    fn session_statements_are_noted() {
        for (sql, what) in [
            ("SET search_path = s", "SET"),
            ("CREATE TEMP TABLE t (a int)", "temporary table"),
            ("SELECT set_config('a.b', 'c', false)", "calls set_config()"),
        ] {
            let found = analyse(Postgres, &[sql]);
            assert_eq!(
                found[0].session.as_ref().map(|r| r.what.as_str()),
                Some(what),
                "{sql}"
            );
        }
        let mysql = analyse(Mysql, &["SET FOREIGN_KEY_CHECKS = 0", "USE other"]);
        assert!(mysql.iter().all(|p| p.session.is_some()));
    }

    #[test]
    fn toml_definitions_write_their_tables_and_read_their_references() {
        let mut print = Footprint::default();
        toml_footprint(
            r#"
[tables.items]
columns = [
  { name = "id", type = "serial", primary_key = true },
  { name = "owner_id", type = "integer", references = "owners.id" },
]
indexes = [{ name = "idx_items_owner", columns = ["owner_id"] }]
foreign_keys = [{ columns = ["id"], ref_table = "Things", ref_columns = ["id"] }]
"#,
            &mut print,
        );
        assert_eq!(names(&print.writes), ["idx_items_owner", "items"]);
        assert_eq!(names(&print.reads), ["owners", "things"]);
        assert_eq!(print.barrier, None);
    }
}
