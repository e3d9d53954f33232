//! Golden files: the DDL of the rich schema for each backend (UPDATE_EXPECT=1 regenerates).

use expect_test::{ExpectFile, expect_file};
use tt_schema::{Backend, create_statements, drop_statements};

use crate::rich;

/// The create statements, then the drop statements, of the rich schema as one SQL script.
pub(crate) fn script(backend: Backend) -> String {
    let schema = rich::schema();
    let (order, deferred) = rich::create_order(&schema);
    let is_deferred = |table: &str, fk: &tt_schema::ForeignKey| {
        deferred.contains(&(table.into(), fk.name.clone()))
    };
    let create = create_statements(&schema, backend, &order, is_deferred).expect("renders");
    let drop_order: Vec<&String> = order.iter().rev().collect();
    let drop = drop_statements(&schema, backend, &drop_order, is_deferred).expect("renders");
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

#[test]
fn the_simple_order_defers_the_self_reference_and_one_key_of_the_cycle() {
    let (order, deferred) = rich::create_order(&rich::schema());
    assert_eq!(
        order,
        [
            "attack_defense",
            "items",
            "item_stats",
            rich::ODD_TABLE,
            "stat_notes",
            "item_sets",
            "players"
        ]
    );
    assert_eq!(
        deferred,
        [
            ("items".to_string(), "fk_items_parent".to_string()),
            ("item_sets".to_string(), "fk_item_sets_owner".to_string())
        ]
    );
}
