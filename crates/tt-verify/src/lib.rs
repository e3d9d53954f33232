//! Integrity checks of a live database against the schema the tt migrations describe.
//!
//! `tt-verify` compares values: the tracking rows against the migration files, the live schema
//! against the expected one (a `schema.toml` snapshot, or what the migrations produce on a
//! scratch database), foreign keys against the rows, and reports findings with stable ids
//! (`tracking`, `schema`, `data`, `smoke`). It never speaks to a database itself: reading the
//! catalog, scratch databases, orphan counts and smoke inserts are tt-migrate's. It also
//! writes the snapshot text (`tt dump`) and the fix-up SQL that removes differences
//! (`tt diff --sql`). What a check finds wrong is a [`Report`], never an error.
//!
//! ```
//! use tt_schema::{Backend, parse_definitions};
//! use tt_verify::{CheckId, fix_script, schema_check};
//!
//! let expected = parse_definitions("schema.toml", r#"
//!     [tables.items]
//!     columns = [{ name = "id", type = "integer", primary_key = true },
//!                { name = "name", type = "varchar(64)" }]
//!     indexes = [{ name = "idx_items_name", columns = ["name"] }]
//! "#).unwrap();
//! let mut live = expected.clone();
//! live.table_mut("items").unwrap().indexes.clear();
//!
//! let report = schema_check(&expected, &live);
//! assert_eq!(report.id, CheckId::Schema);
//! assert_eq!(report.problems[0].message, "items: missing index idx_items_name (name)");
//!
//! let fix = fix_script(&expected, &live, Backend::Postgres);
//! assert_eq!(fix.to_sql(), "CREATE INDEX \"idx_items_name\" ON \"items\" (\"name\");\n");
//! ```
#![deny(missing_docs)]
// Library code returns errors; tests may unwrap (CI turns the warnings into errors).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod checks;
mod error;
mod expected;
mod fix;
mod orphans;
mod report;
mod smoke;
mod verify;

pub use checks::{data_check, schema_check, smoke_check, tracking_check};
pub use error::Error;
pub use expected::{ExpectedSource, expected_schema, live_schema, snapshot_schema, snapshot_text};
pub use fix::{FixScript, fix_script};
pub use orphans::{OrphanRows, orphan_rows};
pub use report::{CheckId, CheckReport, Problem, Report, UnknownCheck};
pub use smoke::{SmokeFailure, SmokeInsert, smoke_insert};
pub use verify::{VerifyOptions, verify};
