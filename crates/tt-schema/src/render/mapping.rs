//! The type mapping: how each portable column type is declared and stored on each backend.
//!
//! This table is the single source of truth shared by the DDL renderer and by `as_stored`;
//! docs/ddl-rendering.md repeats it for readers.

use crate::{Backend, Column, ColumnType, Table};

/// How one column is declared on one backend, and what introspection reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Native {
    /// The type as written in DDL (`VARCHAR(20)`, `INTEGER[]`, `DATETIME(6)`).
    pub(crate) sql: String,
    /// The portable type the backend reports back for `sql`.
    pub(crate) stored: ColumnType,
    /// Whether the column gets the backend's auto-increment (`AUTO_INCREMENT`,
    /// `INTEGER PRIMARY KEY AUTOINCREMENT`; PostgreSQL's `SERIAL` carries its own sequence).
    pub(crate) auto_increment: bool,
    /// How the backend can index values of this type.
    pub(crate) class: Class,
}

/// How a backend can index a column, which matters on MySQL only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Indexable as it is.
    Plain,
    /// A large object (MySQL `LONGTEXT`, `LONGBLOB`): indexable only by a prefix.
    Lob,
    /// A JSON document (MySQL `JSON`): not indexable at all.
    Json,
}

/// Prefix length (characters, or bytes for blobs) of a plain MySQL index over a large object.
pub(crate) const MYSQL_PREFIX: u32 = 255;

/// The declaration of `column` of `table` on `backend`.
pub(crate) fn column_native(table: &Table, column: &Column, backend: Backend) -> Native {
    native(&column.ty, backend, serial_is_key(table, &column.name))
}

/// Whether `column` is the whole primary key of `table`, the only place MySQL and SQLite can
/// auto-increment it.
fn serial_is_key(table: &Table, column: &str) -> bool {
    table
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.columns.len() == 1 && pk.columns[0] == column)
}

/// The declaration of a portable type on `backend`; `single_key` says whether the column is
/// the table's whole primary key (it decides whether a serial auto-increments).
pub(crate) fn native(ty: &ColumnType, backend: Backend, single_key: bool) -> Native {
    match backend {
        Backend::Postgres => postgres(ty),
        Backend::Mysql => mysql(ty, single_key),
        Backend::Sqlite => sqlite(ty, single_key),
    }
}

fn plain(sql: impl Into<String>, stored: ColumnType) -> Native {
    Native {
        sql: sql.into(),
        stored,
        auto_increment: false,
        class: Class::Plain,
    }
}

fn postgres(ty: &ColumnType) -> Native {
    use ColumnType as T;
    let same = |sql: &str| plain(sql, ty.clone());
    match ty {
        T::SmallInt => same("SMALLINT"),
        T::Integer => same("INTEGER"),
        T::BigInt => same("BIGINT"),
        T::Serial => same("SERIAL"),
        T::BigSerial => same("BIGSERIAL"),
        T::Boolean => same("BOOLEAN"),
        T::Real => same("REAL"),
        T::Double => same("DOUBLE PRECISION"),
        T::Decimal(None) => same("NUMERIC"),
        T::Decimal(Some((p, s))) => same(&format!("NUMERIC({p},{s})")),
        T::Varchar(None) => same("VARCHAR"),
        T::Varchar(Some(n)) => same(&format!("VARCHAR({n})")),
        T::Char(n) => same(&format!("CHAR({n})")),
        T::Text => same("TEXT"),
        T::Date => same("DATE"),
        T::Time => same("TIME"),
        T::Timestamp => same("TIMESTAMP"),
        T::TimestampTz => same("TIMESTAMPTZ"),
        T::Json => same("JSON"),
        T::Jsonb => same("JSONB"),
        T::Uuid => same("UUID"),
        T::Bytes => same("BYTEA"),
        T::Array(inner) => {
            // PostgreSQL has no serial arrays and does not record array dimensions: an
            // `integer[][]` column reads back as `integer[]`.
            let element = match &**inner {
                T::Serial => T::Integer,
                T::BigSerial => T::BigInt,
                other => other.clone(),
            };
            let element = postgres(&element);
            let stored = match element.stored {
                T::Array(base) => *base,
                base => base,
            };
            plain(format!("{}[]", element.sql), T::Array(Box::new(stored)))
        }
        T::Custom(name) => same(name),
    }
}

fn mysql(ty: &ColumnType, single_key: bool) -> Native {
    use ColumnType as T;
    let same = |sql: &str| plain(sql, ty.clone());
    let lob = |sql: &str, stored: ColumnType| Native {
        class: Class::Lob,
        ..plain(sql, stored)
    };
    let json = || Native {
        class: Class::Json,
        ..plain("JSON", T::Json)
    };
    let serial = |sql: &str, stored: ColumnType, fallback: ColumnType| {
        if single_key {
            Native {
                auto_increment: true,
                ..plain(sql, stored)
            }
        } else {
            plain(sql, fallback)
        }
    };
    match ty {
        T::SmallInt => same("SMALLINT"),
        T::Integer => same("INT"),
        T::BigInt => same("BIGINT"),
        T::Serial => serial("INT", T::Serial, T::Integer),
        T::BigSerial => serial("BIGINT", T::BigSerial, T::BigInt),
        T::Boolean => same("TINYINT(1)"),
        // MySQL's REAL means DOUBLE unless REAL_AS_FLOAT is set; FLOAT is the 32-bit float.
        T::Real => same("FLOAT"),
        T::Double => same("DOUBLE"),
        // A bare DECIMAL is DECIMAL(10,0) on MySQL; the widest type keeps the most of an
        // unconstrained numeric.
        T::Decimal(None) => plain("DECIMAL(65,30)", T::Decimal(Some((65, 30)))),
        T::Decimal(Some((p, s))) => same(&format!("DECIMAL({p},{s})")),
        // MySQL needs a length for VARCHAR; an unbounded string is LONGTEXT, never truncated.
        T::Varchar(None) => lob("LONGTEXT", T::Text),
        T::Varchar(Some(n)) => same(&format!("VARCHAR({n})")),
        T::Char(n) => same(&format!("CHAR({n})")),
        T::Text => lob("LONGTEXT", T::Text),
        T::Date => same("DATE"),
        T::Time => same("TIME(6)"),
        // DATETIME, not TIMESTAMP: no 2038 limit, no session time zone conversion and none of
        // the implicit defaults MariaDB gives TIMESTAMP columns. The zone is not stored.
        T::Timestamp => same("DATETIME(6)"),
        T::TimestampTz => plain("DATETIME(6)", T::Timestamp),
        T::Json | T::Jsonb | T::Array(_) => json(),
        T::Uuid => plain("CHAR(36)", T::Char(36)),
        T::Bytes => lob("LONGBLOB", T::Bytes),
        T::Custom(name) => same(name),
    }
}

fn sqlite(ty: &ColumnType, single_key: bool) -> Native {
    use ColumnType as T;
    let same = |sql: &str| plain(sql, ty.clone());
    // SQLite keeps the declared type name; it only derives an affinity from it. Types whose
    // names would give NUMERIC affinity but hold text that must stay text (JSON `"1"`) are
    // declared TEXT.
    let text = || plain("TEXT", T::Text);
    match ty {
        T::SmallInt => same("SMALLINT"),
        T::Integer => same("INTEGER"),
        T::BigInt => same("BIGINT"),
        // AUTOINCREMENT exists only on a column declared exactly `INTEGER PRIMARY KEY`, so a
        // bigserial key is an INTEGER too (64-bit in SQLite) and reads back as serial.
        T::Serial | T::BigSerial if single_key => Native {
            auto_increment: true,
            ..plain("INTEGER", T::Serial)
        },
        T::Serial => plain("INTEGER", T::Integer),
        T::BigSerial => plain("BIGINT", T::BigInt),
        T::Boolean => same("BOOLEAN"),
        T::Real => same("REAL"),
        T::Double => same("DOUBLE"),
        T::Decimal(None) => same("DECIMAL"),
        T::Decimal(Some((p, s))) => same(&format!("DECIMAL({p},{s})")),
        T::Varchar(None) => same("VARCHAR"),
        T::Varchar(Some(n)) => same(&format!("VARCHAR({n})")),
        T::Char(n) => same(&format!("CHAR({n})")),
        T::Text => same("TEXT"),
        T::Date => same("DATE"),
        T::Time => same("TIME"),
        T::Timestamp => same("TIMESTAMP"),
        T::TimestampTz => same("TIMESTAMPTZ"),
        T::Json | T::Jsonb | T::Uuid | T::Array(_) => text(),
        T::Bytes => same("BLOB"),
        T::Custom(name) => same(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(ty: &str, backend: Backend, single_key: bool, sql: &str, stored: &str) {
        let native = native(&ty.parse().expect("type parses"), backend, single_key);
        assert_eq!(native.sql, sql, "{ty} on {backend}");
        assert_eq!(
            native.stored.to_string(),
            stored,
            "{ty} stored on {backend}"
        );
    }

    #[test]
    fn types_per_backend() {
        use Backend::{Mysql as M, Postgres as P, Sqlite as S};
        check("smallint", P, false, "SMALLINT", "smallint");
        check("serial", P, false, "SERIAL", "serial");
        check("bigserial", P, true, "BIGSERIAL", "bigserial");
        check("double", P, false, "DOUBLE PRECISION", "double");
        check("decimal", P, false, "NUMERIC", "decimal");
        check("decimal(10,2)", P, false, "NUMERIC(10,2)", "decimal(10,2)");
        check("varchar", P, false, "VARCHAR", "varchar");
        check("timestamptz", P, false, "TIMESTAMPTZ", "timestamptz");
        check("jsonb", P, false, "JSONB", "jsonb");
        check("bytes", P, false, "BYTEA", "bytes");
        check("integer[]", P, false, "INTEGER[]", "integer[]");
        check("serial[]", P, false, "INTEGER[]", "integer[]");
        check("varchar(5)[][]", P, false, "VARCHAR(5)[][]", "varchar(5)[]");
        check("custom(tsvector)", P, false, "tsvector", "custom(tsvector)");

        check("integer", M, false, "INT", "integer");
        check("serial", M, true, "INT", "serial");
        check("serial", M, false, "INT", "integer");
        check("bigserial", M, false, "BIGINT", "bigint");
        check("boolean", M, false, "TINYINT(1)", "boolean");
        check("real", M, false, "FLOAT", "real");
        check("decimal", M, false, "DECIMAL(65,30)", "decimal(65,30)");
        check("varchar", M, false, "LONGTEXT", "text");
        check("varchar(20)", M, false, "VARCHAR(20)", "varchar(20)");
        check("text", M, false, "LONGTEXT", "text");
        check("time", M, false, "TIME(6)", "time");
        check("timestamp", M, false, "DATETIME(6)", "timestamp");
        check("timestamptz", M, false, "DATETIME(6)", "timestamp");
        check("json", M, false, "JSON", "json");
        check("jsonb", M, false, "JSON", "json");
        check("text[]", M, false, "JSON", "json");
        check("uuid", M, false, "CHAR(36)", "char(36)");
        check("bytes", M, false, "LONGBLOB", "bytes");
        check(
            "custom(MEDIUMINT)",
            M,
            false,
            "MEDIUMINT",
            "custom(MEDIUMINT)",
        );

        check("serial", S, true, "INTEGER", "serial");
        check("bigserial", S, true, "INTEGER", "serial");
        check("serial", S, false, "INTEGER", "integer");
        check("bigserial", S, false, "BIGINT", "bigint");
        check("boolean", S, false, "BOOLEAN", "boolean");
        check("decimal(8,3)", S, false, "DECIMAL(8,3)", "decimal(8,3)");
        check("timestamptz", S, false, "TIMESTAMPTZ", "timestamptz");
        check("json", S, false, "TEXT", "text");
        check("jsonb", S, false, "TEXT", "text");
        check("uuid", S, false, "TEXT", "text");
        check("integer[]", S, false, "TEXT", "text");
        check("bytes", S, false, "BLOB", "bytes");
    }

    #[test]
    fn only_a_serial_that_is_the_whole_key_auto_increments() {
        for (backend, key, expected) in [
            (Backend::Postgres, false, false),
            (Backend::Mysql, true, true),
            (Backend::Mysql, false, false),
            (Backend::Sqlite, true, true),
            (Backend::Sqlite, false, false),
        ] {
            let native = native(&ColumnType::Serial, backend, key);
            assert_eq!(native.auto_increment, expected, "{backend} key={key}");
        }
    }

    #[test]
    fn mysql_classes_decide_indexability() {
        for (ty, class) in [
            ("varchar(10)", Class::Plain),
            ("varchar", Class::Lob),
            ("text", Class::Lob),
            ("bytes", Class::Lob),
            ("json", Class::Json),
            ("jsonb", Class::Json),
            ("integer[]", Class::Json),
        ] {
            let native = native(&ty.parse().expect("type parses"), Backend::Mysql, false);
            assert_eq!(native.class, class, "{ty}");
        }
    }
}
