//! Managed tables: the tables tt's migrations create, found by reading the migration files.
//!
//! tt never keeps a list by hand. It reads each migration's up file for the backend in version
//! order and follows the table DDL in it: `CREATE TABLE` adds a table, `DROP TABLE` removes it,
//! `ALTER TABLE … RENAME TO` and MySQL's `RENAME TABLE` move it, and TOML migrations add the
//! tables they define. What is left after the last migration is the set of managed tables;
//! `drop` intersects it with the live database, so another application's tables are never
//! touched. Temporary tables are ignored, and so are tables qualified with another
//! PostgreSQL schema or MySQL database. Table DDL built at run time (`EXECUTE 'CREATE TABLE ' || name`) cannot be
//! seen: such a table is not managed, and `drop` refuses while it references a managed one.

use std::collections::BTreeSet;

use tt_schema::Backend;

use crate::backend::database::Database;
use crate::backend::dialect;
use crate::error::Error;
use crate::files::migration::{FileKind, Migration};
use crate::files::split::{Piece, Splitter};

/// What one statement does to the set of tables.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    Created(String),
    Dropped(String),
    Renamed(String, String),
}

/// The managed tables of `migrations` on `backend`, sorted.
///
/// `schema` is the PostgreSQL schema or the MySQL database tt works in; a name qualified with
/// another one is not managed. `None` means `public` on PostgreSQL; on MySQL it counts every
/// qualified name as managed, the database being unknown.
///
/// # Errors
/// When a file cannot be read, split or parsed.
pub(crate) fn managed_tables(
    migrations: &[Migration],
    backend: Backend,
    schema: Option<&str>,
) -> Result<BTreeSet<String>, Error> {
    let schema = dialect(backend).working_schema(schema);
    let mut tables = BTreeSet::new();
    for migration in migrations {
        let Some(file) = migration.up_for(backend) else {
            continue;
        };
        let path = file.path().to_path_buf();
        let reader = file.open().map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        match file.kind {
            FileKind::Toml => {
                let text = std::io::read_to_string(reader).map_err(|source| Error::Io {
                    path: path.clone(),
                    source,
                })?;
                let label = path.display().to_string();
                // References to tables of earlier migrations are not this function's concern.
                let names = match tt_schema::parse_definitions(&label, &text) {
                    Ok(defined) => defined.table_names().map(str::to_string).collect(),
                    Err(error) => table_headers(&text).ok_or(Error::Definitions(error))?,
                };
                tables.extend(names);
            }
            FileKind::Sql => {
                for piece in Splitter::new(reader, backend) {
                    let piece = piece.map_err(|source| Error::Split {
                        path: path.clone(),
                        source,
                    })?;
                    if let Piece::Statement(statement) = piece {
                        for effect in effects(&statement.sql, backend, schema) {
                            apply(&mut tables, effect, backend);
                        }
                    }
                }
            }
        }
    }
    Ok(tables)
}

/// The managed tables of `migrations` in the schema (PostgreSQL) or database (MySQL) `db` is
/// connected to.
///
/// # Errors
/// When the files cannot be read or the current schema cannot be queried.
pub(crate) async fn managed_tables_of(
    db: &mut Database,
    migrations: &[Migration],
) -> Result<BTreeSet<String>, Error> {
    let backend = db.backend();
    let Some(sql) = db.dialect().current_schema_sql() else {
        return managed_tables(migrations, backend, None);
    };
    let schema = db
        .query_text_rows(sql, &[])
        .await
        .map_err(Error::query("reading the current schema"))?
        .into_iter()
        .next()
        .and_then(|row| row.into_iter().next().flatten());
    managed_tables(migrations, backend, schema.as_deref())
}

/// Table names of a TOML file whose definitions only fail on references outside it.
fn table_headers(text: &str) -> Option<Vec<String>> {
    let value: toml::Table = text.parse().ok()?;
    let tables = value.get("tables")?.as_table()?;
    Some(tables.keys().cloned().collect())
}

fn apply(tables: &mut BTreeSet<String>, effect: Effect, backend: Backend) {
    let find = |tables: &BTreeSet<String>, name: &str| -> Option<String> {
        tables.iter().find(|t| same_name(t, name, backend)).cloned()
    };
    match effect {
        Effect::Created(name) => {
            if find(tables, &name).is_none() {
                tables.insert(name);
            }
        }
        Effect::Dropped(name) => {
            if let Some(existing) = find(tables, &name) {
                tables.remove(&existing);
            }
        }
        Effect::Renamed(from, to) => {
            if let Some(existing) = find(tables, &from) {
                tables.remove(&existing);
                tables.insert(to);
            }
        }
    }
}

/// Whether two table names denote the same table on `backend` (SQLite ignores ASCII case).
pub(crate) fn same_name(a: &str, b: &str, backend: Backend) -> bool {
    dialect(backend).same_name(a, b)
}

/// Whether `sql` (a view definition) names `table` as a word or quoted identifier.
pub(crate) fn mentions_table(sql: &str, table: &str, backend: Backend) -> bool {
    tokens(sql, backend, usize::MAX)
        .iter()
        .any(|token| match token {
            Token::Word(word) | Token::Quoted(word) => same_name(word, table, backend),
            Token::Punct(_) => false,
        })
}

/// A word or a quoted identifier of a statement, or one punctuation character.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

impl Token {
    fn is_word(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }
}

/// The table effects of one statement.
fn effects(sql: &str, backend: Backend, schema: Option<&str>) -> Vec<Effect> {
    let head = tokens(sql, backend, 64);
    // DO blocks run their body: look for table DDL anywhere inside it.
    if head.first().is_some_and(|t| t.is_word("do")) {
        let mut out = Vec::new();
        for body in dollar_bodies(sql) {
            let all = tokens(body, backend, usize::MAX);
            for start in 0..all.len() {
                out.extend(effects_of(&all[start..], backend, schema));
            }
        }
        return out;
    }
    effects_of(&head, backend, schema)
}

/// The table effects of a statement starting at `tokens[0]`.
fn effects_of(tokens: &[Token], backend: Backend, schema: Option<&str>) -> Vec<Effect> {
    let mut out = Vec::new();
    let word = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is_word(w));
    let mut i;
    if word(0, "create") {
        i = 1;
        if word(i, "or") && word(i + 1, "replace") {
            i += 2;
        }
        if word(i, "global") || word(i, "local") {
            i += 1;
        }
        if word(i, "temporary") || word(i, "temp") {
            return out;
        }
        if word(i, "unlogged") {
            i += 1;
        }
        if !word(i, "table") {
            return out;
        }
        i += 1;
        if word(i, "if") && word(i + 1, "not") && word(i + 2, "exists") {
            i += 3;
        }
        if let Some((name, _)) = name_at(tokens, i, backend, schema) {
            out.push(Effect::Created(name));
        }
    } else if word(0, "drop") && word(1, "table") {
        i = 2;
        if word(i, "if") && word(i + 1, "exists") {
            i += 2;
        }
        while let Some((name, next)) = name_at(tokens, i, backend, schema).or_else(|| {
            // A name in another schema: skip it but keep reading the list.
            skip_name(tokens, i).map(|next| (String::new(), next))
        }) {
            if !name.is_empty() {
                out.push(Effect::Dropped(name));
            }
            if tokens.get(next) == Some(&Token::Punct(',')) {
                i = next + 1;
            } else {
                break;
            }
        }
    } else if word(0, "alter") && word(1, "table") {
        i = 2;
        if word(i, "if") && word(i + 1, "exists") {
            i += 2;
        }
        if word(i, "only") {
            i += 1;
        }
        if let Some((from, next)) = name_at(tokens, i, backend, schema)
            && word(next, "rename")
        {
            // `RENAME TO b`; MySQL also takes `RENAME AS b` and `RENAME b`, but not a column,
            // index or key.
            let new_name = if word(next + 1, "to") {
                Some(next + 2)
            } else if !dialect(backend).renames_without_to() {
                None
            } else if word(next + 1, "as") {
                Some(next + 2)
            } else if ["column", "index", "key"].iter().any(|w| word(next + 1, w)) {
                None
            } else {
                Some(next + 1)
            };
            if let Some((to, _)) = new_name.and_then(|at| name_at(tokens, at, backend, schema)) {
                out.push(Effect::Renamed(from, to));
            }
        }
    } else if word(0, "rename") && word(1, "table") {
        i = 2;
        while let Some((from, next)) = name_at(tokens, i, backend, schema) {
            if !word(next, "to") {
                break;
            }
            let Some((to, after)) = name_at(tokens, next + 1, backend, schema) else {
                break;
            };
            out.push(Effect::Renamed(from, to));
            if tokens.get(after) == Some(&Token::Punct(',')) {
                i = after + 1;
            } else {
                break;
            }
        }
    }
    out
}

/// The (possibly qualified) table name starting at token `i`, if it is in tt's schema
/// (`None`: any), and the index after it.
fn name_at(
    tokens: &[Token],
    i: usize,
    backend: Backend,
    schema: Option<&str>,
) -> Option<(String, usize)> {
    let part = |t: &Token| match t {
        Token::Word(w) => Some(dialect(backend).fold_unquoted(w)),
        Token::Quoted(q) => Some(q.clone()),
        Token::Punct(_) => None,
    };
    let first = part(tokens.get(i)?)?;
    if tokens.get(i + 1) == Some(&Token::Punct('.')) {
        let second = part(tokens.get(i + 2)?)?;
        let ours = dialect(backend).is_own_qualifier(&first, schema);
        return ours.then_some((second, i + 3));
    }
    Some((first, i + 1))
}

fn skip_name(tokens: &[Token], i: usize) -> Option<usize> {
    match tokens.get(i)? {
        Token::Punct(_) => None,
        _ if tokens.get(i + 1) == Some(&Token::Punct('.')) => Some(i + 3),
        _ => Some(i + 1),
    }
}

/// The first `limit` words, quoted identifiers and punctuation of `sql`; strings and comments
/// are skipped. Only the start of a statement matters, so callers ask for few.
fn tokens(sql: &str, backend: Backend, limit: usize) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<char> = if limit == usize::MAX {
        sql.chars().collect()
    } else {
        sql.chars().take(4096).collect()
    };
    let mut i = 0;
    while i < chars.len() && out.len() < limit {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            _ if c.is_whitespace() => i += 1,
            '-' if next == Some('-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '#' if backend == Backend::Mysql => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            '\'' => {
                i += 1;
                while i < chars.len() {
                    if chars[i] == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    if chars[i] == '\\' && backend == Backend::Mysql {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '"' | '`' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut name = String::new();
                i += 1;
                while i < chars.len() {
                    if chars[i] == close {
                        if chars.get(i + 1) == Some(&close) && close != ']' {
                            name.push(close);
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    name.push(chars[i]);
                    i += 1;
                }
                i += 1;
                out.push(Token::Quoted(name));
            }
            _ if c.is_alphanumeric() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
                {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            _ => {
                out.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    out
}

/// The bodies of dollar-quoted strings in `sql` (`$$ … $$`, `$tag$ … $tag$`).
fn dollar_bodies(sql: &str) -> Vec<&str> {
    let mut bodies = Vec::new();
    let mut rest = sql;
    while let Some(start) = rest.find('$') {
        let after = &rest[start + 1..];
        let Some(end_of_tag) = after.find('$') else {
            break;
        };
        let tag = &after[..end_of_tag];
        if !tag.chars().all(|c| c.is_alphanumeric() || c == '_') {
            rest = after;
            continue;
        }
        let delimiter = format!("${tag}$");
        let body_start = &after[end_of_tag + 1..];
        match body_start.find(&delimiter) {
            Some(end) => {
                bodies.push(&body_start[..end]);
                rest = &body_start[end + delimiter.len()..];
            }
            None => break,
        }
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The effects of `sql` for tt working in schema `public` (PostgreSQL), database `app`
    /// (MySQL).
    #[track_caller]
    fn check(backend: Backend, sql: &str, expected: &[&str]) {
        let schema = match backend {
            Backend::Postgres => Some("public"),
            Backend::Mysql => Some("app"),
            Backend::Sqlite => None,
        };
        let found: Vec<String> = effects(sql, backend, schema)
            .into_iter()
            .map(|e| match e {
                Effect::Created(t) => format!("+{t}"),
                Effect::Dropped(t) => format!("-{t}"),
                Effect::Renamed(a, b) => format!("{a}>{b}"),
            })
            .collect();
        assert_eq!(found, expected, "{sql}");
    }

    #[test]
    fn table_ddl_is_recognised() {
        use Backend::*;
        check(Postgres, "CREATE TABLE items (id SERIAL)", &["+items"]);
        check(
            Postgres,
            "create table if not exists Items (id serial)",
            &["+items"],
        );
        check(
            Postgres,
            "CREATE TABLE \"Mixed Case\" (x int)",
            &["+Mixed Case"],
        );
        check(Postgres, "CREATE TABLE Ärger (x int)", &["+Ärger"]);
        check(
            Postgres,
            "CREATE UNLOGGED TABLE public.cache (k text)",
            &["+cache"],
        );
        check(Postgres, "CREATE TABLE other.items (x int)", &[]);
        check(Postgres, "CREATE TEMP TABLE scratch (x int)", &[]);
        check(
            Postgres,
            "CREATE TABLE copy AS SELECT * FROM items",
            &["+copy"],
        );
        check(Postgres, "-- note\nCREATE /* c */ TABLE t (x int)", &["+t"]);
        check(
            Postgres,
            "DROP TABLE IF EXISTS a, public.b, other.c, d CASCADE",
            &["-a", "-b", "-d"],
        );
        check(
            Postgres,
            "ALTER TABLE IF EXISTS ONLY old RENAME TO new",
            &["old>new"],
        );
        check(Postgres, "ALTER TABLE items RENAME COLUMN a TO b", &[]);
        check(
            Postgres,
            "ALTER TABLE items ADD COLUMN is_perk BOOLEAN",
            &[],
        );
        check(Mysql, "RENAME TABLE a TO b, `c` TO `d`", &["a>b", "c>d"]);
        check(Mysql, "ALTER TABLE a RENAME AS b", &["a>b"]);
        check(Mysql, "ALTER TABLE a RENAME `b`", &["a>b"]);
        check(Mysql, "ALTER TABLE a RENAME TO b", &["a>b"]);
        check(Mysql, "ALTER TABLE a RENAME COLUMN x TO y", &[]);
        check(Mysql, "ALTER TABLE a RENAME INDEX i TO j", &[]);
        check(Mysql, "ALTER TABLE a RENAME KEY i TO j", &[]);
        check(Postgres, "ALTER TABLE a RENAME x TO y", &[]);
        check(Sqlite, "ALTER TABLE a RENAME TO b", &["a>b"]);
        check(Mysql, "CREATE TABLE `Items` (id INT)", &["+Items"]);
        check(Mysql, "CREATE TABLE app.items (id INT)", &["+items"]);
        check(Mysql, "CREATE TABLE other.audit (id INT)", &[]);
        check(Mysql, "DROP TABLE other.audit, `app`.`old`", &["-old"]);
        check(Sqlite, "CREATE TABLE main.items (id INT)", &["+items"]);
        check(Sqlite, "CREATE TABLE temp.scratch (id INT)", &[]);
        check(Sqlite, "CREATE TABLE [odd name] (x)", &["+odd name"]);
        check(Sqlite, "CREATE TEMPORARY TABLE t (x)", &[]);
        check(Postgres, "CREATE INDEX idx ON items (name)", &[]);
        check(
            Postgres,
            "INSERT INTO t VALUES ('CREATE TABLE x (y int)')",
            &[],
        );
        check(
            Postgres,
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN CREATE TABLE made_in_do (x int); END IF; END $$",
            &["+made_in_do"],
        );
    }

    #[test]
    fn effects_follow_version_order() {
        let mut tables = BTreeSet::new();
        for effect in [
            Effect::Created("a".into()),
            Effect::Created("b".into()),
            Effect::Renamed("b".into(), "c".into()),
            Effect::Dropped("a".into()),
            Effect::Created("A".into()),
        ] {
            apply(&mut tables, effect, Backend::Sqlite);
        }
        assert_eq!(tables.into_iter().collect::<Vec<_>>(), ["A", "c"]);
    }
}
