//! The two sides of every comparison: the expected schema (a `schema.toml` snapshot or what
//! the migrations produce) and the live one, both without tt's own tables.

use tt_migrate::{
    Database, IntrospectOptions, Layout, Migration, PROTECTION_TABLE, Tracking, introspect,
    scratch_schema, tool_table,
};
use tt_schema::{Backend, Schema, as_stored, parse_definitions, to_toml};

use crate::error::Error;

/// The first lines of every snapshot `tt dump` writes.
const SNAPSHOT_HEADER: &str = "\
# The expected schema of the database, written by `tt dump`. `tt verify` and `tt diff`
# compare the live database with this file; run `tt dump` again after adding a migration.
";

/// Where the expected schema comes from.
#[derive(Debug, Clone, Copy)]
pub enum ExpectedSource<'a> {
    /// A `schema.toml` snapshot written by `tt dump`, possibly on another backend.
    Snapshot {
        /// A label for error messages, usually the file's path.
        file: &'a str,
        /// The file's text.
        text: &'a str,
    },
    /// What the migrations produce, learned by applying them to a scratch database.
    Migrations(&'a [Migration]),
}

/// The expected schema for the database `db` is connected to, without the tracking table.
///
/// A snapshot is read with [`snapshot_schema`]; migrations are applied to a scratch database
/// on the same server (an in-memory one for SQLite) with [`tt_migrate::scratch_schema`],
/// which drops it again whatever happens.
///
/// # Errors
/// An invalid snapshot ([`Error::Snapshot`]); a migration that fails on the scratch database,
/// or a scratch database that cannot be created ([`Error::Database`]).
pub async fn expected_schema(
    db: &mut Database,
    source: ExpectedSource<'_>,
    tracking: &Tracking,
) -> Result<Schema, Error> {
    match source {
        ExpectedSource::Snapshot { file, text } => {
            snapshot_schema(file, text, db.backend(), tracking.table())
        }
        ExpectedSource::Migrations(migrations) => {
            let mut schema = scratch_schema(db, migrations, tracking).await?;
            // With `lock = "table"` the scratch run took the lease lock: its table is tt's.
            schema.remove(&tracking.lock_table());
            remove_other_tools_tables(&mut schema);
            Ok(schema)
        }
    }
}

/// Removes the tracking tables of the tools whose folders tt reads (`_sqlx_migrations`,
/// `flyway_schema_history`, …): left behind by the tool a team moved from, or kept for
/// `tt baseline --from-tool`, they are bookkeeping, not schema drift.
fn remove_other_tools_tables(schema: &mut Schema) {
    for table in Layout::ALL.into_iter().filter_map(tool_table) {
        schema.remove(table);
    }
}

/// A snapshot's schema as `backend` stores it (see [`tt_schema::as_stored`]: a snapshot
/// written on PostgreSQL compares with a MySQL database), without `tracking_table` and the
/// protection mark.
///
/// # Errors
/// [`Error::Snapshot`] listing every problem of the file.
pub fn snapshot_schema(
    file: &str,
    text: &str,
    backend: Backend,
    tracking_table: &str,
) -> Result<Schema, Error> {
    let mut schema = parse_definitions(file, text)?;
    schema.remove(tracking_table);
    schema.remove(PROTECTION_TABLE);
    remove_other_tools_tables(&mut schema);
    Ok(as_stored(&schema, backend))
}

/// The snapshot text of `schema`: a short header, then the TOML table definitions, sorted and
/// stably formatted so that it can be committed and reviewed in diffs.
pub fn snapshot_text(schema: &Schema) -> String {
    format!("{SNAPSHOT_HEADER}\n{}", to_toml(schema))
}

/// The live schema of `db`, without the tracking table and the protection mark (`tt protect`,
/// which no migration creates), in the PostgreSQL schema of the connection's options, if one
/// is set.
///
/// # Errors
/// When the catalog cannot be read.
pub async fn live_schema(db: &mut Database, tracking: &Tracking) -> Result<Schema, Error> {
    let options = IntrospectOptions {
        postgres_schema: db.options().postgres_schema.clone(),
    };
    let mut schema = introspect(db, &options).await?;
    schema.remove(tracking.table());
    schema.remove(&tracking.lock_table());
    // Otherwise verify reports a protected database as drifted, and `tt diff --sql` drops
    // the mark.
    schema.remove(PROTECTION_TABLE);
    remove_other_tools_tables(&mut schema);
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_as_the_backend_stores_it_without_the_tracking_table() {
        let schema = parse_definitions(
            "s.toml",
            r#"
            [tables.items]
            columns = [{ name = "id", type = "serial", primary_key = true },
                       { name = "key", type = "uuid" }]
            [tables.schema_migrations]
            columns = [{ name = "version", type = "varchar(255)", primary_key = true }]
            "#,
        )
        .unwrap();
        let text = snapshot_text(&schema);
        assert!(text.starts_with("# The expected schema"), "{text}");
        let read = snapshot_schema("s.toml", &text, Backend::Mysql, "schema_migrations").unwrap();
        assert_eq!(read.table_names().collect::<Vec<_>>(), ["items"]);
        assert_eq!(
            read.table("items").unwrap().columns[1].ty.to_string(),
            "char(36)",
            "uuid as MySQL stores it"
        );
        let error = snapshot_schema("s.toml", "[tables.x]\n", Backend::Sqlite, "t").unwrap_err();
        assert_eq!(error.to_string(), "invalid schema snapshot");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert!(
            source
                .as_deref()
                .is_some_and(|s| s.starts_with("s.toml:1:")),
            "{source:?}"
        );
    }
}
