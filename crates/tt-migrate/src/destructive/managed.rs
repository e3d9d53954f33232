//! Managed tables: the tables tt's migrations create, found by reading the migration files.
//!
//! tt never keeps a list by hand. It reads each migration's up file for the backend in version
//! order and follows the table DDL in it: `CREATE TABLE` adds a table, `DROP TABLE` removes it,
//! `ALTER TABLE … RENAME TO` and MySQL's `RENAME TABLE` move it, and TOML migrations add the tables
//! they define. What is left after the last migration is the set of managed tables; `drop`
//! intersects it with the live database, so another application's tables are never touched.
//! Temporary tables are ignored, and so are tables qualified with another PostgreSQL schema or
//! MySQL database. Table DDL built at run time (`EXECUTE 'CREATE TABLE ' || name`) cannot be seen:
//! such a table is not managed, and `drop` refuses while it references a managed one.

use std::collections::BTreeSet;

use tt_schema::Backend;

use crate::backend::database::Database;
use crate::backend::dialect;
use crate::backend::object::ObjectKind;
use crate::error::Error;
use crate::files::error::FileError;
use crate::files::migration::{FileKind, Migration};
use crate::files::split::tokens::Kind;
use crate::files::split::{self, Piece, Splitter};

/// An object the migrations create: its kind, and its name, with the schema when that is one
/// the migrations created themselves (`None`: tt's own schema).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ManagedObject {
    /// What it is, as the files name it (`CREATE DOMAIN` and `CREATE TYPE` are both types).
    pub(crate) kind: ObjectKind,
    /// A schema the migrations created, for an object qualified with it.
    pub(crate) schema: Option<String>,
    /// Its name, folded as the backend folds it.
    pub(crate) name: String,
}

/// What one statement does to the set of managed objects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    Created(ObjectKind, Name),
    Dropped(ObjectKind, Name),
    Renamed(ObjectKind, Name, Name),
}

/// A name as a statement writes it: `schema` is set only for a schema the migrations created.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    schema: Option<String>,
    name: String,
}

/// Where names are resolved: tt's schema (`None`: any) and the schemas created so far.
struct Scope<'a> {
    own: Option<&'a str>,
    created: Vec<String>,
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
    Ok(managed_objects(migrations, backend, schema)?
        .into_iter()
        .filter(|o| o.kind == ObjectKind::Table && o.schema.is_none())
        .map(|o| o.name)
        .collect())
}

/// Every object `migrations` create and do not drop again on `backend`: tables, views,
/// materialized views, sequences, routines, types, triggers and schemas, and what the
/// migrations create in a schema they created.
///
/// # Errors
/// When a file cannot be read, split or parsed.
pub(crate) fn managed_objects(
    migrations: &[Migration],
    backend: Backend,
    schema: Option<&str>,
) -> Result<BTreeSet<ManagedObject>, Error> {
    let mut scope = Scope {
        own: dialect(backend).working_schema(schema),
        created: Vec::new(),
    };
    let mut objects = BTreeSet::new();
    for migration in migrations {
        let Some(file) = migration.up_for(backend) else {
            continue;
        };
        let path = file.path().to_path_buf();
        let reader = file.open().map_err(|source| {
            Error::File(FileError::Io {
                path: path.clone(),
                source,
            })
        })?;
        match file.kind {
            FileKind::Toml => {
                let text = std::io::read_to_string(reader).map_err(|source| {
                    Error::File(FileError::Io {
                        path: path.clone(),
                        source,
                    })
                })?;
                let label = path.display().to_string();
                // References to tables of earlier migrations are not this function's concern.
                let names = match tt_schema::parse_definitions(&label, &text) {
                    Ok(defined) => defined.table_names().map(str::to_string).collect(),
                    Err(error) => {
                        table_headers(&text).ok_or(Error::File(FileError::Definitions(error)))?
                    }
                };
                for name in names {
                    let effect = Effect::Created(ObjectKind::Table, Name { schema: None, name });
                    apply(&mut objects, effect, backend);
                }
            }
            FileKind::Sql => {
                for piece in Splitter::new(reader, backend) {
                    let piece = piece.map_err(|source| {
                        Error::File(FileError::Split {
                            path: path.clone(),
                            source,
                        })
                    })?;
                    if let Piece::Statement(statement) = piece {
                        for effect in effects(&statement.sql, backend, &scope) {
                            apply(&mut objects, effect, backend);
                        }
                        scope.created = objects
                            .iter()
                            .filter(|o| o.kind == ObjectKind::Schema)
                            .map(|o| o.name.clone())
                            .collect();
                    }
                }
            }
        }
    }
    Ok(objects)
}

/// The managed tables of `migrations` in the schema (PostgreSQL) or database (MySQL) `db` is
/// connected to.
///
/// # Errors
/// When the files cannot be read.
pub(crate) async fn managed_tables_of(
    db: &mut Database,
    migrations: &[Migration],
) -> Result<BTreeSet<String>, Error> {
    // The schema found at connect: a migration's `SET search_path` or `USE` must not move it.
    managed_tables(migrations, db.backend(), db.home_schema())
}

/// [`managed_objects`] in the schema (PostgreSQL) or database (MySQL) `db` is connected to.
///
/// # Errors
/// When the files cannot be read.
pub(crate) async fn managed_objects_of(
    db: &mut Database,
    migrations: &[Migration],
) -> Result<BTreeSet<ManagedObject>, Error> {
    managed_objects(migrations, db.backend(), db.home_schema())
}

/// Table names of a TOML file whose definitions only fail on references outside it.
fn table_headers(text: &str) -> Option<Vec<String>> {
    let value: toml::Table = text.parse().ok()?;
    let tables = value.get("tables")?.as_table()?;
    Some(tables.keys().cloned().collect())
}

fn apply(objects: &mut BTreeSet<ManagedObject>, effect: Effect, backend: Backend) {
    // `ALTER TABLE … RENAME` also renames a view or a sequence on PostgreSQL.
    let family = |kind: ObjectKind| -> Vec<ObjectKind> {
        if kind == ObjectKind::Table {
            ObjectKind::RELATIONS.to_vec()
        } else {
            vec![kind]
        }
    };
    let find = |objects: &BTreeSet<ManagedObject>, kinds: &[ObjectKind], name: &Name| {
        objects
            .iter()
            .find(|o| {
                kinds.contains(&o.kind)
                    && same_schema(o.schema.as_deref(), name.schema.as_deref(), backend)
                    && same_name(&o.name, &name.name, backend)
            })
            .cloned()
    };
    match effect {
        Effect::Created(kind, name) => {
            if find(objects, &[kind], &name).is_none() {
                objects.insert(ManagedObject {
                    kind,
                    schema: name.schema,
                    name: name.name,
                });
            }
        }
        Effect::Dropped(kind, name) => {
            if let Some(existing) = find(objects, &[kind], &name) {
                objects.remove(&existing);
                if kind == ObjectKind::Schema {
                    // What was in it went with it (`CASCADE`), or it was empty.
                    objects.retain(|o| {
                        !o.schema
                            .as_deref()
                            .is_some_and(|s| same_name(s, &existing.name, backend))
                    });
                }
            }
        }
        Effect::Renamed(kind, from, to) => {
            if let Some(existing) = find(objects, &family(kind), &from) {
                objects.remove(&existing);
                objects.insert(ManagedObject {
                    kind: existing.kind,
                    schema: to.schema,
                    name: to.name,
                });
            }
        }
    }
}

fn same_schema(a: Option<&str>, b: Option<&str>, backend: Backend) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => same_name(a, b, backend),
        _ => false,
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

/// The effects of one statement on the managed objects.
fn effects(sql: &str, backend: Backend, scope: &Scope<'_>) -> Vec<Effect> {
    let head = tokens(sql, backend, 64);
    // DO blocks run their body: look for DDL anywhere inside it.
    if head.first().is_some_and(|t| t.is_word("do")) {
        let mut out = Vec::new();
        for body in dollar_bodies(sql) {
            let all = tokens(body, backend, usize::MAX);
            for start in 0..all.len() {
                out.extend(effects_of(&all[start..], backend, scope));
            }
        }
        return out;
    }
    effects_of(&head, backend, scope)
}

/// The object kind a statement names at `tokens[i]` (`TABLE`, `MATERIALIZED VIEW`, …), and
/// the index after it.
fn kind_at(tokens: &[Token], i: usize) -> Option<(ObjectKind, usize)> {
    let word = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is_word(w));
    let kind = if word(i, "materialized") && word(i + 1, "view") {
        return Some((ObjectKind::MaterializedView, i + 2));
    } else if word(i, "table") {
        ObjectKind::Table
    } else if word(i, "view") {
        ObjectKind::View
    } else if word(i, "sequence") {
        ObjectKind::Sequence
    } else if word(i, "function") || word(i, "procedure") {
        ObjectKind::Routine
    } else if word(i, "type") || word(i, "domain") {
        ObjectKind::Type
    } else if word(i, "trigger") {
        ObjectKind::Trigger
    } else if word(i, "schema") {
        ObjectKind::Schema
    } else {
        return None;
    };
    Some((kind, i + 1))
}

/// The effects of a statement starting at `tokens[0]`.
fn effects_of(tokens: &[Token], backend: Backend, scope: &Scope<'_>) -> Vec<Effect> {
    let mut out = Vec::new();
    let word = |i: usize, w: &str| tokens.get(i).is_some_and(|t| t.is_word(w));
    let mut i;
    if word(0, "create") {
        i = 1;
        if word(i, "or") && word(i + 1, "replace") {
            i += 2;
        }
        // MySQL's view, routine and trigger options come before the kind.
        loop {
            if word(i, "algorithm") || (word(i, "sql") && word(i + 1, "security")) {
                i += 3;
            } else if word(i, "definer") {
                i += 1;
                let limit = tokens.len().min(i + 8);
                while i < limit && kind_at(tokens, i).is_none() {
                    i += 1;
                }
            } else {
                break;
            }
        }
        if word(i, "global") || word(i, "local") {
            i += 1;
        }
        if word(i, "temporary") || word(i, "temp") {
            return out;
        }
        if word(i, "unlogged") || word(i, "recursive") || word(i, "constraint") {
            i += 1;
        }
        let Some((kind, after)) = kind_at(tokens, i) else {
            return out;
        };
        i = after;
        if word(i, "if") && word(i + 1, "not") && word(i + 2, "exists") {
            i += 3;
        }
        if kind == ObjectKind::Schema && word(i, "authorization") {
            // `CREATE SCHEMA AUTHORIZATION role` names the schema after the role.
            i += 1;
        }
        if let Some((name, _)) = name_at(tokens, i, backend, scope) {
            out.push(Effect::Created(kind, name));
        }
    } else if word(0, "drop") {
        let Some((kind, after)) = kind_at(tokens, 1) else {
            return out;
        };
        i = after;
        if word(i, "if") && word(i + 1, "exists") {
            i += 2;
        }
        while let Some((name, next)) = name_at(tokens, i, backend, scope).map_or_else(
            // A name in another schema: skip it but keep reading the list.
            || skip_name(tokens, i).map(|next| (None, next)),
            |(name, next)| Some((Some(name), next)),
        ) {
            if let Some(name) = name {
                out.push(Effect::Dropped(kind, name));
            }
            // A routine's argument list.
            let next = skip_parens(tokens, next);
            if tokens.get(next) == Some(&Token::Punct(',')) {
                i = next + 1;
            } else {
                break;
            }
        }
    } else if word(0, "alter") {
        let Some((kind, after)) = kind_at(tokens, 1) else {
            return out;
        };
        i = after;
        if word(i, "if") && word(i + 1, "exists") {
            i += 2;
        }
        if word(i, "only") {
            i += 1;
        }
        if let Some((from, next)) = name_at(tokens, i, backend, scope) {
            let next = skip_parens(tokens, next);
            if !word(next, "rename") {
                return out;
            }
            // `RENAME TO b`; MySQL also takes `RENAME AS b` and `RENAME b`, but not a column,
            // index or key.
            let new_name = if word(next + 1, "to") {
                Some(next + 2)
            } else if kind != ObjectKind::Table || !dialect(backend).renames_without_to() {
                None
            } else if word(next + 1, "as") {
                Some(next + 2)
            } else if ["column", "index", "key"].iter().any(|w| word(next + 1, w)) {
                None
            } else {
                Some(next + 1)
            };
            if let Some((to, _)) = new_name.and_then(|at| name_at(tokens, at, backend, scope)) {
                // The new name is in the old one's schema.
                let to = Name {
                    schema: from.schema.clone(),
                    name: to.name,
                };
                out.push(Effect::Renamed(kind, from, to));
            }
        }
    } else if word(0, "rename") && word(1, "table") {
        i = 2;
        while let Some((from, next)) = name_at(tokens, i, backend, scope) {
            if !word(next, "to") {
                break;
            }
            let Some((to, after)) = name_at(tokens, next + 1, backend, scope) else {
                break;
            };
            out.push(Effect::Renamed(ObjectKind::Table, from, to));
            if tokens.get(after) == Some(&Token::Punct(',')) {
                i = after + 1;
            } else {
                break;
            }
        }
    }
    out
}

/// The index after the parenthesised list at `tokens[i]`, or `i` when there is none.
fn skip_parens(tokens: &[Token], i: usize) -> usize {
    if tokens.get(i) != Some(&Token::Punct('(')) {
        return i;
    }
    let mut depth = 0usize;
    for (at, token) in tokens.iter().enumerate().skip(i) {
        match token {
            Token::Punct('(') => depth += 1,
            Token::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return at + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The (possibly qualified) name starting at token `i`, if it is in tt's schema (`None`:
/// any) or in a schema the migrations created, and the index after it.
fn name_at(
    tokens: &[Token],
    i: usize,
    backend: Backend,
    scope: &Scope<'_>,
) -> Option<(Name, usize)> {
    let part = |t: &Token| match t {
        Token::Word(w) => Some(dialect(backend).fold_unquoted(w)),
        Token::Quoted(q) => Some(q.clone()),
        Token::Punct(_) => None,
    };
    let first = part(tokens.get(i)?)?;
    if tokens.get(i + 1) == Some(&Token::Punct('.')) {
        let second = part(tokens.get(i + 2)?)?;
        if dialect(backend).is_own_qualifier(&first, scope.own) {
            return Some((
                Name {
                    schema: None,
                    name: second,
                },
                i + 3,
            ));
        }
        let created = scope.created.iter().any(|s| same_name(s, &first, backend));
        return created.then_some((
            Name {
                schema: Some(first),
                name: second,
            },
            i + 3,
        ));
    }
    Some((
        Name {
            schema: None,
            name: first,
        },
        i + 1,
    ))
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
    // A statement's head is in its first few thousand characters, whatever its length.
    let sql = match sql.char_indices().nth(4096) {
        Some((end, _)) if limit != usize::MAX => &sql[..end],
        _ => sql,
    };
    split::tokens::tokens(sql, backend)
        .filter_map(|token| match token.kind {
            Kind::Word => Some(Token::Word(token.text.to_string())),
            Kind::QuotedIdentifier => Some(Token::Quoted(token.identifier())),
            Kind::Punct => token.text.chars().next().map(Token::Punct),
            _ => None,
        })
        .take(limit)
        .collect()
}

/// The bodies of dollar-quoted strings in `sql` (`$$ … $$`, `$tag$ … $tag$`).
fn dollar_bodies(sql: &str) -> Vec<&str> {
    split::tokens::tokens(sql, Backend::Postgres)
        .filter_map(|token| token.dollar_body())
        .collect()
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
        let scope = Scope {
            own: schema,
            created: vec!["audit".to_string()],
        };
        let name = |n: Name| match n.schema {
            Some(s) => format!("{s}.{}", n.name),
            None => n.name,
        };
        let kind = |k: ObjectKind| match k {
            ObjectKind::Table => String::new(),
            other => format!("{other:?} "),
        };
        let found: Vec<String> = effects(sql, backend, &scope)
            .into_iter()
            .map(|e| match e {
                Effect::Created(k, t) => format!("+{}{}", kind(k), name(t)),
                Effect::Dropped(k, t) => format!("-{}{}", kind(k), name(t)),
                Effect::Renamed(k, a, b) => format!("{}{}>{}", kind(k), name(a), name(b)),
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
    fn a_nested_comment_does_not_end_at_its_inner_close() {
        check(
            Backend::Postgres,
            "CREATE /* a /* b */ TABLE c */ TABLE t (x int)",
            &["+t"],
        );
    }

    #[test]
    fn an_escaped_quote_in_an_e_string_does_not_hide_ddl_in_a_do_block() {
        check(
            Backend::Postgres,
            r"DO $$ BEGIN RAISE NOTICE E'it\'s'; CREATE TABLE made (x int); END $$",
            &["+made"],
        );
    }

    #[test]
    fn a_dollar_quote_inside_a_string_is_not_a_do_body() {
        check(
            Backend::Postgres,
            "DO $body$ BEGIN PERFORM '$$'; CREATE TABLE made (x int); END $body$",
            &["+made"],
        );
    }

    #[test]
    fn other_objects_are_followed_like_tables() {
        use Backend::*;
        check(Postgres, "CREATE VIEW v AS SELECT 1", &["+View v"]);
        check(
            Postgres,
            "CREATE OR REPLACE RECURSIVE VIEW public.v (n) AS SELECT 1",
            &["+View v"],
        );
        check(
            Postgres,
            "CREATE MATERIALIZED VIEW IF NOT EXISTS counts AS SELECT 1",
            &["+MaterializedView counts"],
        );
        check(Postgres, "CREATE TEMP VIEW v AS SELECT 1", &[]);
        check(Postgres, "CREATE SEQUENCE seq START 5", &["+Sequence seq"]);
        check(
            Postgres,
            "CREATE OR REPLACE FUNCTION touch() RETURNS trigger AS $$ BEGIN CREATE TABLE x (); END $$ LANGUAGE plpgsql",
            &["+Routine touch"],
        );
        check(
            Postgres,
            "CREATE PROCEDURE p() AS 'SELECT 1' LANGUAGE sql",
            &["+Routine p"],
        );
        check(Postgres, "CREATE TYPE mood AS ENUM ('ok')", &["+Type mood"]);
        check(
            Postgres,
            "CREATE DOMAIN price AS numeric CHECK (VALUE > 0)",
            &["+Type price"],
        );
        check(
            Postgres,
            "CREATE CONSTRAINT TRIGGER t AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION f()",
            &["+Trigger t"],
        );
        check(
            Postgres,
            "CREATE SCHEMA IF NOT EXISTS audit",
            &["+Schema audit"],
        );
        check(
            Postgres,
            "CREATE SCHEMA AUTHORIZATION joe",
            &["+Schema joe"],
        );
        check(Postgres, "CREATE TABLE audit.log (x int)", &["+audit.log"]);
        check(Postgres, "CREATE TABLE elsewhere.log (x int)", &[]);
        check(
            Postgres,
            "DROP FUNCTION IF EXISTS f(int, text), public.g(), other.h() CASCADE",
            &["-Routine f", "-Routine g"],
        );
        check(Postgres, "DROP TRIGGER t ON items", &["-Trigger t"]);
        check(
            Postgres,
            "DROP MATERIALIZED VIEW counts",
            &["-MaterializedView counts"],
        );
        check(Postgres, "DROP DOMAIN price", &["-Type price"]);
        check(
            Postgres,
            "ALTER TYPE mood RENAME TO feeling",
            &["Type mood>feeling"],
        );
        check(Postgres, "ALTER TYPE mood ADD VALUE 'sad'", &[]);
        check(
            Postgres,
            "ALTER FUNCTION f(int) RENAME TO g",
            &["Routine f>g"],
        );
        check(
            Postgres,
            "ALTER TABLE audit.log RENAME TO logs",
            &["audit.log>audit.logs"],
        );
        check(Postgres, "CREATE INDEX i ON items (x)", &[]);
        check(Postgres, "CREATE EXTENSION pgcrypto", &[]);
        check(
            Mysql,
            "CREATE ALGORITHM=MERGE DEFINER=`root`@`localhost` SQL SECURITY INVOKER VIEW v AS SELECT 1",
            &["+View v"],
        );
        check(
            Mysql,
            "CREATE DEFINER=CURRENT_USER TRIGGER t BEFORE INSERT ON items FOR EACH ROW SET NEW.x = 1",
            &["+Trigger t"],
        );
        check(
            Mysql,
            "CREATE FUNCTION IF NOT EXISTS f() RETURNS INT RETURN 1",
            &["+Routine f"],
        );
        check(Mysql, "DROP PROCEDURE IF EXISTS app.p", &["-Routine p"]);
        check(
            Sqlite,
            "CREATE TRIGGER IF NOT EXISTS t AFTER INSERT ON items BEGIN SELECT 1; END",
            &["+Trigger t"],
        );
        check(
            Sqlite,
            "CREATE TEMP TRIGGER t AFTER INSERT ON items BEGIN SELECT 1; END",
            &[],
        );
    }

    #[test]
    fn effects_follow_version_order() {
        let mut objects = BTreeSet::new();
        let name = |n: &str| Name {
            schema: None,
            name: n.to_string(),
        };
        let audit = |n: &str| Name {
            schema: Some("audit".to_string()),
            name: n.to_string(),
        };
        use ObjectKind::*;
        for effect in [
            Effect::Created(Table, name("a")),
            Effect::Created(Table, name("b")),
            Effect::Renamed(Table, name("b"), name("c")),
            Effect::Dropped(Table, name("a")),
            Effect::Created(Table, name("A")),
            Effect::Created(View, name("v")),
            // `ALTER TABLE v RENAME TO w` renames the view.
            Effect::Renamed(Table, name("v"), name("w")),
            // Not a view: nothing happens.
            Effect::Dropped(View, name("c")),
            Effect::Created(Schema, name("audit")),
            Effect::Created(Table, audit("log")),
            Effect::Created(Schema, name("gone")),
            Effect::Created(
                Table,
                Name {
                    schema: Some("gone".into()),
                    name: "x".into(),
                },
            ),
            Effect::Dropped(Schema, name("gone")),
        ] {
            apply(&mut objects, effect, Backend::Sqlite);
        }
        let found: Vec<String> = objects
            .into_iter()
            .map(|o| {
                format!(
                    "{:?} {}{}",
                    o.kind,
                    o.schema.map(|s| s + ".").unwrap_or_default(),
                    o.name
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                "Table A",
                "Table c",
                "Table audit.log",
                "View w",
                "Schema audit"
            ]
        );
    }
}
