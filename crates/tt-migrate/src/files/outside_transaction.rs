//! Statements the backend refuses inside a transaction (PostgreSQL's `CREATE INDEX
//! CONCURRENTLY`, `VACUUM`, …): a file holding one runs without a transaction, as Flyway
//! decides for itself.

use tt_schema::Backend;

use crate::backend::dialect;
use crate::files::words::leading_words;

/// What in `sql` (one statement, as the splitter yields it) cannot run inside a transaction on
/// `backend` at `server_version` (`server_version_num`, where known), named for messages
/// (`CREATE INDEX CONCURRENTLY`); `None` when it can.
///
/// The statement's leading words are read past whitespace and comments; quoted names and
/// parenthesised options are skipped, so `REINDEX (VERBOSE) TABLE CONCURRENTLY t` is found.
pub(crate) fn refused_in_transaction(
    backend: Backend,
    sql: &str,
    server_version: Option<u32>,
) -> Option<&'static str> {
    dialect(backend).refused_in_transaction(&leading_words(sql, backend, 12), server_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(backend: Backend, sql: &str, expected: Option<&str>) {
        assert_eq!(
            refused_in_transaction(backend, sql, None),
            expected,
            "{sql}"
        );
    }

    #[test]
    fn alter_type_add_value_is_refused_before_postgres_12_only() {
        let at = |version: Option<u32>, sql: &str| {
            refused_in_transaction(Backend::Postgres, sql, version)
        };
        let add = "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'sad' AFTER 'ok'";
        let refused = Some("ALTER TYPE … ADD VALUE (before PostgreSQL 12)");
        assert_eq!(at(Some(90624), add), refused);
        assert_eq!(at(Some(110022), add), refused);
        assert_eq!(at(Some(120000), add), None);
        assert_eq!(at(Some(150020), add), None);
        assert_eq!(at(None, add), None, "unknown: taken as current");
        assert_eq!(
            at(Some(110022), "ALTER TYPE mood RENAME VALUE 'a' TO 'b'"),
            None
        );
        assert_eq!(
            at(Some(110022), "ALTER TYPE pair ADD ATTRIBUTE value int"),
            None
        );
        assert_eq!(
            at(Some(110022), "alter type \"Mood\" add value 'x'"),
            refused
        );
        assert_eq!(
            refused_in_transaction(Backend::Mysql, add, Some(110022)),
            None
        );
    }

    #[test]
    fn postgres_statements_that_refuse_a_transaction() {
        let pg = |sql, expected| check(Backend::Postgres, sql, expected);
        pg(
            "CREATE INDEX CONCURRENTLY items_name ON items (name)",
            Some("CREATE INDEX CONCURRENTLY"),
        );
        pg(
            "create unique index concurrently if not exists \"i\" on t (a)",
            Some("CREATE INDEX CONCURRENTLY"),
        );
        pg(
            "CREATE /* why */ INDEX -- note\n CONCURRENTLY i ON t (a)",
            Some("CREATE INDEX CONCURRENTLY"),
        );
        pg(
            "DROP INDEX CONCURRENTLY IF EXISTS i",
            Some("DROP INDEX CONCURRENTLY"),
        );
        pg(
            "REINDEX (VERBOSE) TABLE CONCURRENTLY items",
            Some("REINDEX … CONCURRENTLY"),
        );
        pg(
            "REINDEX DATABASE app",
            Some("REINDEX SCHEMA/DATABASE/SYSTEM"),
        );
        pg("VACUUM (ANALYZE) items", Some("VACUUM"));
        pg("CREATE DATABASE other", Some("CREATE DATABASE"));
        pg("DROP DATABASE IF EXISTS other", Some("DROP DATABASE"));
        pg("ALTER SYSTEM SET work_mem = '64MB'", Some("ALTER SYSTEM"));
        pg(
            "CREATE TABLESPACE fast LOCATION '/ssd'",
            Some("CREATE TABLESPACE"),
        );
        pg(
            "ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY",
            Some("ALTER TABLE … DETACH PARTITION … CONCURRENTLY"),
        );
        // Words in names, strings, comments and parentheses do not count.
        pg("CREATE INDEX \"concurrently\" ON t (a)", None);
        pg("CREATE INDEX i ON t (concurrently)", None);
        pg("INSERT INTO log VALUES ('VACUUM')", None);
        pg("-- VACUUM\nSELECT 1", None);
        pg("CREATE INDEX i ON t (a)", None);
        pg("DROP INDEX i", None);
        pg("REINDEX TABLE items", None);
        pg("CREATE TABLE vacuum_log (id int)", None);
        pg("ALTER TABLE t ADD COLUMN concurrently int", None);
    }

    #[test]
    fn sqlite_and_mysql() {
        check(Backend::Sqlite, "VACUUM", Some("VACUUM"));
        check(Backend::Sqlite, "CREATE INDEX i ON t (a)", None);
        check(Backend::Mysql, "CREATE INDEX i ON t (a)", None);
        check(Backend::Mysql, "VACUUM", None);
    }
}
