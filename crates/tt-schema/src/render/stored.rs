//! The schema as a backend stores it after rendering, for comparing with introspection.

use super::{PlannedPart, index_plan, mapping};
use crate::{Backend, Deferrable, ForeignKey, Index, Schema, Table, Unique};

/// `schema` as introspection of `backend` reads it back after it was created with
/// [`create_statements`](super::create_statements).
///
/// Column types become what the backend stores (jsonb → text on SQLite, uuid → char(36) on
/// MySQL, arrays → json on MySQL; see docs/ddl-rendering.md); key and serial columns are NOT
/// NULL; a serial that cannot auto-increment is a plain integer; SQLite loses comments and
/// foreign key names (they read back as [`ForeignKey::default_name`]); only PostgreSQL keeps
/// deferrability; indexes the backend leaves out are gone, index methods are those the
/// backend reports (`None` for its default: btree on PostgreSQL, always on MySQL and SQLite),
/// and MySQL drops partial index predicates. On MySQL a unique index on whole columns is a
/// unique constraint named like the index (MySQL has no other kind). Defaults are kept as
/// written: spelling them the way each backend echoes them (`1` for `true` on MySQL) is
/// introspection's job. Objects that cannot be rendered at all (a unique index MySQL cannot
/// build) are left out too.
pub fn as_stored(schema: &Schema, backend: Backend) -> Schema {
    Schema::from_tables(schema.tables().map(|table| table_as_stored(table, backend)))
}

fn table_as_stored(table: &Table, backend: Backend) -> Table {
    let mut stored = table.clone();
    for column in &mut stored.columns {
        if table.never_null(column) {
            column.nullable = false;
        }
        column.ty = mapping::column_native(table, column, backend).stored;
        if backend == Backend::Sqlite {
            column.comment = None;
        }
    }
    if backend == Backend::Sqlite {
        stored.comment = None;
    }
    for fk in &mut stored.foreign_keys {
        if backend != Backend::Postgres {
            fk.deferrable = Deferrable::No;
        }
        if backend == Backend::Sqlite {
            // sea-query writes no constraint name into SQLite's inline FOREIGN KEY clause,
            // and SQLite would not report one anyway.
            fk.name = ForeignKey::default_name(&table.name, &fk.columns);
        }
    }
    stored.indexes = Vec::new();
    for index in &table.indexes {
        let Some(plan) = index_plan(table, index, backend).ok().flatten() else {
            continue;
        };
        // MySQL has no unique constraint apart from a unique index, and introspection reads a
        // unique index on whole columns as the constraint it is indistinguishable from.
        let columns: Option<Vec<String>> = plan
            .parts
            .iter()
            .map(|part| match part {
                PlannedPart::Column(name, None) => Some(name.to_string()),
                _ => None,
            })
            .collect();
        if let (Backend::Mysql, true, Some(columns), None) =
            (backend, index.unique, columns, plan.predicate)
        {
            stored.uniques.push(Unique {
                name: Some(index.name.clone()),
                columns,
            });
            continue;
        }
        stored.indexes.push(Index {
            method: plan.method.filter(|m| m != "btree"),
            predicate: plan.predicate.map(str::to_string),
            ..index.clone()
        });
    }
    stored
}
