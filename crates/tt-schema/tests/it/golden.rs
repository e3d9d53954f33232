//! Golden files: the DDL of the rich schema for each backend (UPDATE_EXPECT=1 regenerates).

use expect_test::{ExpectFile, expect_file};
use tt_schema::{Backend, create_ddl, drop_ddl};

use crate::rich;

/// The create statements, then the drop statements, of the rich schema as one SQL script, in
/// the order of its foreign-key graph as tt runs them.
fn script(backend: Backend) -> String {
    let schema = rich::schema();
    let create = create_ddl(&schema, backend).expect("renders");
    let drop = drop_ddl(&schema, backend).expect("renders");
    let mut out = format!("-- tt-schema golden file: the rich schema on {backend}\n\n-- create\n");
    for statement in create {
        out.push_str(&statement);
        out.push_str(";\n");
    }
    out.push_str("\n-- drop\n");
    for statement in drop {
        out.push_str(&statement);
        out.push_str(";\n");
    }
    out
}

#[track_caller]
fn check(backend: Backend, expected: ExpectFile) {
    expected.assert_eq(&script(backend));
}

#[test]
fn postgres() {
    check(Backend::Postgres, expect_file!["../golden/postgres.sql"]);
}

#[test]
fn mysql() {
    check(Backend::Mysql, expect_file!["../golden/mysql.sql"]);
}

#[test]
fn sqlite() {
    check(Backend::Sqlite, expect_file!["../golden/sqlite.sql"]);
}
