//! The verify run: reads what each check needs through tt-migrate and collects the report.

use tt_migrate::{Database, Migration, Migrator, Tracking};

use crate::checks::{data_check, schema_check, smoke_check, tracking_check};
use crate::error::Error;
use crate::expected::{ExpectedSource, expected_schema, live_schema};
use crate::orphans::orphan_rows;
use crate::report::{CheckId, Report};
use crate::smoke::smoke_insert;

/// What [`verify`] checks and against what.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// The checks to run (normally [`CheckId::ALL`]).
    pub checks: &'a [CheckId],
    /// The migrations, for the `tracking` check.
    pub migrations: &'a [Migration],
    /// Where the expected schema of the `schema` check comes from.
    pub expected: ExpectedSource<'a>,
    /// The tracking table, which is not part of the compared schema.
    pub tracking: &'a Tracking,
    /// The tables the `smoke` check inserts a row into (`essential_tables` in tt.toml).
    pub essential_tables: &'a [String],
}

/// Runs the chosen checks against `db` and returns their report.
///
/// Each check reads only what it needs: `tracking` the tracking table, `schema` the expected
/// schema (see [`ExpectedSource`]) and the live catalog, `data` and `smoke` the live catalog
/// and rows. The catalog is read with a fixed number of queries however many tables there
/// are; `data` counts the orphans of 100 foreign keys per query (SQLite: one pragma).
///
/// # Errors
/// Only when a check cannot run (unreadable database, invalid snapshot, migrations that fail
/// on the scratch database); what a check finds wrong is in the [`Report`].
pub async fn verify(db: &mut Database, options: &VerifyOptions<'_>) -> Result<Report, Error> {
    let wants = |id| options.checks.contains(&id);
    let mut checks = Vec::new();
    if wants(CheckId::Tracking) {
        let status = Migrator::new(options.migrations)
            .tracking(options.tracking.clone())
            .status(db)
            .await?;
        checks.push(tracking_check(&status));
    }
    let needs_live = wants(CheckId::Schema) || wants(CheckId::Data) || wants(CheckId::Smoke);
    let live = match needs_live {
        true => Some(live_schema(db, options.tracking).await?),
        false => None,
    };
    if let Some(live) = &live {
        if wants(CheckId::Schema) {
            let expected = expected_schema(db, options.expected, options.tracking).await?;
            checks.push(schema_check(&expected, live));
        }
        if wants(CheckId::Data) {
            let orphans = orphan_rows(db, live).await?;
            let keys = live.tables().map(|t| t.foreign_keys.len()).sum();
            checks.push(data_check(&orphans, keys));
        }
        if wants(CheckId::Smoke) {
            let mut inserts = Vec::with_capacity(options.essential_tables.len());
            for table in options.essential_tables {
                inserts.push(smoke_insert(db, live, table).await?);
            }
            checks.push(smoke_check(&inserts));
        }
    }
    Ok(Report::new(checks))
}
