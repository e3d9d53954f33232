//! Runs tt migrations against SQLite, PostgreSQL and MySQL: finds and checks migration files,
//! splits them into statements, applies them under a lock, records them in a tracking table,
//! and reads a live schema back into [`tt_schema::Schema`].
//!
//! This is the library behind the `tt` command and what other programs (the TinkerTools
//! importer) call. It never prints, never reads the environment or configuration files, and
//! never blocks on a runtime of its own: callers pass URLs and options, and get typed errors
//! ([`Error`], [`RunError`], [`DiscoveryError`]) and values they can report as they like.
//!
//! The usual path: [`Database::connect`], [`MigrationSet::load`] (or [`embed!`] to ship the
//! files inside the program), then a [`Migrator`] to [`run`](Migrator::run) what is pending or
//! read the [`status`](Migrator::status) of every migration.
//!
//! # Entry points
//!
//! | to | call |
//! |---|---|
//! | connect (SQLite, PostgreSQL, MySQL) | [`Database::connect`] with [`ConnectOptions`]; [`redact_url`] before printing a URL |
//! | read migrations | [`MigrationSet::load`] (a directory, any [`Layout`]), [`embed!`] (compiled in) |
//! | apply, inspect, roll back | [`Migrator::run`], [`Migrator::dry_run`], [`Migrator::status`], [`Migrator::down`] |
//! | start over | [`Migrator::reset`] (drop the managed tables, migrate, check); [`recreate_database`] empties everything |
//! | drop only what the migrations own | [`plan_drop`], then [`drop_managed_tables`]; [`protect`] guards a database against all three |
//! | adopt or fix a database | [`Migrator::baseline`], [`Migrator::baseline_from_tool`], [`Migrator::repair`] |
//! | read a live schema | [`introspect`] → [`tt_schema::Schema`] |
//! | load data (an importer) | [`Database::begin`], [`Database::exec`] and [`Database::fetch`] with [`Value`]s, [`Database::commit`] or [`Database::rollback`] |
//!
//! Checking a database against its migrations (`verify`) lives in the tt-verify crate, which
//! builds on this one. The repository's `examples/importer.rs` (in this crate) puts the pieces
//! together: embedded migrations, `--clear` as [`Migrator::reset`], a CSV loaded in one
//! transaction.
//!
//! ```
//! use tt_migrate::{ConnectOptions, Database, Event, MigrationSet, Migrator};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Usually MigrationSet::load(Path::new("migrations")) or tt_migrate::embed!().
//! let migrations = MigrationSet::from_embedded(&[
//!     ("001_items.sql", b"CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"),
//!     ("002_seed.sql", b"INSERT INTO items (name) VALUES ('Notum Wars Boosted Tank Armor');\n"),
//! ])?;
//! let mut db = Database::connect("sqlite::memory:", ConnectOptions::default()).await?;
//! let migrator = Migrator::new(migrations.as_slice());
//!
//! let report = migrator
//!     .run(&mut db, &mut |event| {
//!         if let Event::Finished(applied) = event {
//!             println!("applied {} {}", applied.version, applied.name);
//!         }
//!     })
//!     .await?;
//! assert_eq!(report.applied.len(), 2);
//!
//! let status = migrator.status(&mut db).await?;
//! assert_eq!(status.applied.len(), 2);
//! assert!(status.pending.is_empty() && status.is_clean());
//! let rows = db.fetch_text("SELECT name FROM items").await?;
//! assert_eq!(rows, [[Some("Notum Wars Boosted Tank Armor".to_string())]]);
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
// Library code returns errors; tests may unwrap (CI turns the warnings into errors).
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod adoption;
mod backend;
mod destructive;
mod engine;
mod error;
mod files;

pub use adoption::baseline::{BaselineReport, Recorded, detect_tool, tool_table};
pub use adoption::error::AdoptionError;
pub use adoption::repair::{ChecksumChange, DirtyResolution, RepairOptions, RepairReport};
pub use backend::cancel::Canceller;
pub use backend::connect::{ConnectOptions, LockMode, backend_of_url, redact_url};
pub use backend::connect::{MAX_LOCK_TIMEOUT, TlsProblem, UrlProblem};
pub use backend::database::Database;
pub use backend::dependent::{Dependent, DependentKind};
pub use backend::error::{ConnectError, DriverError, LockError, TransactionError};
pub use backend::introspect::{IntrospectOptions, introspect};
pub use backend::target::{Target, glob_matches, list_schemas};
pub use backend::value::Value;
pub use destructive::drop::{
    DropOptions, DropPlan, DropReport, count_rows, drop_managed_tables, plan_drop,
};
pub use destructive::error::DropRefusal;
pub use destructive::objects::DroppedObject;
pub use destructive::protect::{PROTECTION_TABLE, Protection, protect, protection, unprotect};
pub use destructive::recreate::recreate_database;
pub use destructive::reset::{ResetError, ResetOptions, ResetReport, ResetStage};
pub use engine::error::{
    ChangedFile, FailureOutcome, IndexFailure, PlanError, StatementFailure, TrackingError,
};
pub use engine::fleet::{Fleet, FleetEvent, TargetRun};
pub use engine::lock::{acquire_lock, release_lock, renew_lock};
pub use engine::plan::{AppliedEntry, ChangedEntry, DownTarget, PendingEntry, PlanOptions, Status};
pub use engine::run::{
    Applied, DownOptions, DownReport, Event, IndexBuild, Migrator, RunError, RunReport,
};
pub use engine::schedule::{Schedule, Scheduled, Wait};
pub use engine::scratch::{SCRATCH_PREFIX, scratch_schema};
pub use engine::tracking::{AppliedRow, DEFAULT_TRACKING_TABLE, RowUpdate, StoppedDrop, Tracking};
pub use error::Error;
pub use files::error::FileError;
pub use files::migration::{
    Checksum, FileKind, InvalidVersion, Migration, MigrationFile, Origin, Version,
};
pub use files::source::{DiscoveryError, Layout, MigrationSet, Problem, UnknownLayout};
pub use files::split::{Construct, Piece, SplitError, Splitter, Statement};

/// What `embed!` expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::files::embed::from_dir;
    pub use include_dir;
}
