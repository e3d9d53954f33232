//! Turning a server error into a located, explained [`StatementFailure`].

use std::path::Path;

use tt_schema::Backend;

use crate::error::{FailureOutcome, StatementFailure};
use crate::files::migration::Migration;
use crate::files::source::Layout;
use crate::files::split::Statement;

/// Builds the failure report for a batch that failed after `completed` of its `statements`,
/// which are never empty (only a batch with a statement is sent, so indexing them is safe).
pub(crate) fn locate(
    backend: Backend,
    layout: Layout,
    migration: &Migration,
    path: &Path,
    statements: &[(usize, Statement)],
    completed: usize,
    error: &sqlx::Error,
) -> StatementFailure {
    let database_error = error.as_database_error();
    let message = database_error.map_or_else(|| error.to_string(), |e| e.message().to_string());
    let code = database_error.and_then(|e| error_code(backend, e));
    let server_position = database_error.and_then(|e| {
        e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
            .and_then(|pg| match pg.position() {
                Some(sqlx::postgres::PgErrorPosition::Original(position)) => Some(position),
                _ => None,
            })
    });
    // The server's position points into the batch: find the statement it falls in.
    let (statement, offset) = match server_position {
        Some(position) => {
            let at = position.saturating_sub(1);
            let index = statements
                .iter()
                .rposition(|(start, _)| *start <= at)
                .unwrap_or(0);
            let (start, statement) = &statements[index];
            (statement, Some(at - start))
        }
        None => {
            let index = completed.min(statements.len().saturating_sub(1));
            let (_, statement) = &statements[index];
            (statement, near_offset(backend, &statement.sql, &message))
        }
    };
    let (line, column) = offset.map_or((statement.line, statement.column), |offset| {
        position_of(statement, offset)
    });
    let excerpt = statement
        .sql
        .lines()
        .nth((line - statement.line) as usize)
        .unwrap_or_default();
    // The statement's first line starts at its column: pad so the caret lines up.
    let pad = if line == statement.line {
        statement.column.saturating_sub(1) as usize
    } else {
        0
    };
    StatementFailure {
        version: migration.version.clone(),
        path: path.to_path_buf(),
        statement_number: statement.number,
        line,
        column,
        code: code.clone(),
        message: message.clone(),
        excerpt: format!("{}{excerpt}", " ".repeat(pad)),
        hint: hint(backend, layout, code.as_deref(), &message),
        outcome: FailureOutcome::RolledBack,
    }
}

fn error_code(backend: Backend, error: &dyn sqlx::error::DatabaseError) -> Option<String> {
    if backend == Backend::Mysql
        && let Some(mysql) = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
    {
        return Some(match mysql.code() {
            Some(state) => format!("{} ({state})", mysql.number()),
            None => mysql.number().to_string(),
        });
    }
    error.code().map(|code| code.into_owned())
}

/// Line and column in the file of the character `offset` characters into `statement`.
fn position_of(statement: &Statement, offset: usize) -> (u32, u32) {
    let mut line = statement.line;
    let mut column = statement.column;
    for ch in statement.sql.chars().take(offset) {
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// The character offset in `sql` of the text a MySQL (`near '…' at line N`) or SQLite
/// (`near "…": syntax error`) message quotes.
fn near_offset(backend: Backend, sql: &str, message: &str) -> Option<usize> {
    let (quoted, line) = match backend {
        Backend::Mysql => {
            let start = message.find("near '")? + "near '".len();
            let end = message.rfind("' at line ")?;
            let line: usize = message[end + "' at line ".len()..].trim().parse().ok()?;
            (&message[start..end.max(start)], line)
        }
        Backend::Sqlite => {
            let start = message.find("near \"")? + "near \"".len();
            let end = start + message[start..].find("\": ")?;
            (&message[start..end], 1)
        }
        Backend::Postgres => return None,
    };
    // MySQL quotes at most 80 characters and the rest of the statement; the first line is
    // enough to find it.
    let needle = quoted.lines().next().unwrap_or_default();
    if needle.is_empty() {
        return None;
    }
    let line_start: usize = sql
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let byte = sql
        .get(line_start..)?
        .find(needle)
        .map(|i| i + line_start)
        .or_else(|| sql.find(needle))?;
    Some(sql[..byte].chars().count())
}

/// Whether MySQL commits implicitly before or after `sql` (DDL and a few others), so that
/// rolling back cannot undo it.
pub(crate) fn commits_implicitly(backend: Backend, sql: &str) -> bool {
    if backend != Backend::Mysql {
        return false;
    }
    let first = skip_leading_comments(sql)
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase();
    matches!(
        first.as_str(),
        "create"
            | "alter"
            | "drop"
            | "rename"
            | "truncate"
            | "grant"
            | "revoke"
            | "lock"
            | "unlock"
            | "analyze"
            | "optimize"
            | "repair"
            | "install"
            | "uninstall"
            | "flush"
    )
}

/// `sql` without the comments and whitespace before its first word.
fn skip_leading_comments(mut sql: &str) -> &str {
    loop {
        sql = sql.trim_start();
        if let Some(rest) = sql.strip_prefix("--").or_else(|| sql.strip_prefix('#')) {
            sql = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = sql.strip_prefix("/*") {
            sql = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return sql;
        }
    }
}

/// PostgreSQL's lock table is full: one transaction touched more tables than
/// `max_locks_per_transaction × max_connections` allows.
pub(crate) const TOO_MANY_LOCKS: &str = "one transaction locks more objects than the server \
     allows: split the migration into smaller files, or raise max_locks_per_transaction (ALTER \
     SYSTEM SET max_locks_per_transaction = 512, then restart PostgreSQL)";

/// A likely cause and next step for common errors.
fn hint(backend: Backend, layout: Layout, code: Option<&str>, message: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let code = code.unwrap_or_default();
    let is = |postgres: &[&str], mysql: &[&str], sqlite_text: &[&str]| match backend {
        Backend::Postgres => postgres.contains(&code),
        Backend::Mysql => mysql.iter().any(|n| code.starts_with(&format!("{n} "))),
        Backend::Sqlite => sqlite_text.iter().any(|t| lower.contains(t)),
    };
    let text = if is(
        &["42P01", "42883", "3F000"],
        &["1146", "1305"],
        &["no such table", "no such function"],
    ) {
        "the object does not exist yet: an earlier migration that creates it may be missing, \
         or the files are out of order (check the versions with `tt status`)"
    } else if is(&["42703"], &["1054"], &["no such column", "has no column"]) {
        "the column does not exist: an earlier migration that adds it may be missing or out of \
         order, or it was renamed"
    } else if is(
        &["42501"],
        &["1044", "1045", "1142", "1227"],
        &["readonly", "permission"],
    ) {
        "permission denied: grant the privilege to this user, or connect as the schema's owner"
    } else if is(
        &["55P03", "40P01", "57014"],
        &["1205", "1213"],
        &["database is locked", "busy"],
    ) {
        "another session holds a lock on this object: retry when it finishes, or raise \
         --lock-timeout"
    } else if is(
        &["42P07", "42710"],
        &["1050", "1061", "1826"],
        &["already exists"],
    ) {
        "the object already exists: the database was changed outside tt, or an earlier \
         migration already creates it (use IF NOT EXISTS, or `tt baseline` for a database \
         that already has this schema)"
    } else if is(&["42601"], &["1064"], &["syntax error"]) {
        match (backend, layout) {
            (Backend::Postgres, _) => "syntax error: check the statement near the caret",
            (Backend::Mysql | Backend::Sqlite, Layout::Native) => {
                "syntax error: if this is SQL of another dialect, put this backend's version in \
                 a variant file (NNN_name.<backend>.sql)"
            }
            // Other tools' folders have no per-backend files: their SQL is for one backend.
            (Backend::Mysql | Backend::Sqlite, _) => {
                "syntax error: if this is SQL of another dialect, the folder was written for \
                 another database (this layout has no per-backend files): connect to the \
                 database it was written for"
            }
        }
    } else if is(&["23505"], &["1062"], &["unique constraint failed"]) {
        "duplicate key: the data already holds this value (use ON CONFLICT DO NOTHING or \
         INSERT IGNORE for seed rows)"
    } else if is(
        &["23503"],
        &["1451", "1452"],
        &["foreign key constraint failed"],
    ) {
        "foreign key violation: insert the referenced rows first, or in a later migration"
    } else if is(&["53200"], &[], &[]) {
        TOO_MANY_LOCKS
    } else if is(&["25001"], &[], &["within a transaction"]) {
        "this statement cannot run inside a transaction, and tt did not recognise it: put \
         `-- tt:no-transaction` among the file's leading comments to run it outside one"
    } else {
        return None;
    };
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(sql: &str, line: u32, column: u32) -> Statement {
        Statement {
            sql: sql.to_string(),
            line,
            column,
            number: 1,
        }
    }

    #[test]
    fn positions_count_lines_from_the_statement_start() {
        let s = statement("SELECT\n  1 +\n  nope", 10, 5);
        assert_eq!(position_of(&s, 0), (10, 5));
        assert_eq!(position_of(&s, 3), (10, 8));
        assert_eq!(position_of(&s, 15), (12, 3));
    }

    #[test]
    fn near_text_of_mysql_and_sqlite_messages_is_found() {
        let sql = "CREATE TABLE t (\n  id INT,\n  oops oops\n)";
        let mysql = "You have an error in your SQL syntax; check the manual that corresponds to \
                     your MariaDB server version for the right syntax to use near 'oops\n)' at line 3";
        assert_eq!(near_offset(Backend::Mysql, sql, mysql), Some(29));
        let sqlite = "near \"oops\": syntax error";
        assert_eq!(near_offset(Backend::Sqlite, sql, sqlite), Some(29));
        assert_eq!(near_offset(Backend::Postgres, sql, sqlite), None);
    }

    #[test]
    fn implicit_commits_are_mysql_ddl_only() {
        assert!(commits_implicitly(Backend::Mysql, "CREATE TABLE t (x INT)"));
        assert!(commits_implicitly(
            Backend::Mysql,
            "/* c */ alter table t add y int"
        ));
        assert!(!commits_implicitly(
            Backend::Mysql,
            "INSERT INTO t VALUES (1)"
        ));
        assert!(!commits_implicitly(
            Backend::Postgres,
            "CREATE TABLE t (x INT)"
        ));
    }

    #[test]
    fn the_syntax_error_hint_gives_each_layouts_own_advice() {
        let syntax = |backend, layout| {
            let code = match backend {
                Backend::Mysql => "1064 (42000)",
                _ => "1",
            };
            hint(
                backend,
                layout,
                Some(code),
                "near \"CONSTRAINT\": syntax error",
            )
            .unwrap()
        };
        for backend in [Backend::Mysql, Backend::Sqlite] {
            assert!(syntax(backend, Layout::Native).contains("NNN_name.<backend>.sql"));
            for layout in Layout::ALL.into_iter().skip(1) {
                let hint = syntax(backend, layout);
                assert!(!hint.contains("NNN_name"), "{layout}: {hint}");
                assert!(hint.contains("no per-backend files"), "{layout}: {hint}");
            }
        }
    }

    #[test]
    fn hints_cover_common_causes() {
        let check = |backend, code: Option<&str>, message: &str, expected: &str| {
            let hint = hint(backend, Layout::Native, code, message).unwrap_or_default();
            assert!(hint.starts_with(expected), "{backend} {code:?}: {hint}");
        };
        check(
            Backend::Postgres,
            Some("25001"),
            "ALTER TYPE ... ADD cannot run inside a transaction block",
            "this statement cannot run inside a transaction, and tt did not recognise it: put \
             `-- tt:no-transaction`",
        );
        check(
            Backend::Sqlite,
            Some("1"),
            "cannot VACUUM from within a transaction",
            "this statement cannot run inside a transaction",
        );
        check(
            Backend::Postgres,
            Some("42P01"),
            "relation \"x\" does not exist",
            "the object does not exist",
        );
        check(
            Backend::Mysql,
            Some("1146 (42S02)"),
            "Table 'test.x' doesn't exist",
            "the object does not exist",
        );
        check(
            Backend::Sqlite,
            Some("1"),
            "no such table: x",
            "the object does not exist",
        );
        check(
            Backend::Postgres,
            Some("42501"),
            "permission denied for table x",
            "permission denied",
        );
        check(
            Backend::Postgres,
            Some("55P03"),
            "canceling statement due to lock timeout",
            "another session",
        );
        check(
            Backend::Mysql,
            Some("1064 (42000)"),
            "You have an error",
            "syntax error",
        );
        assert_eq!(
            hint(Backend::Postgres, Layout::Native, Some("XX000"), "internal"),
            None
        );
    }
}
