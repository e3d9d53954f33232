//! Runs tt migrations against SQLite, PostgreSQL and MySQL.
#![deny(missing_docs)]

mod baseline;
mod database;
mod error;
mod failure;
mod introspect;
mod lock;
mod migration;
mod plan;
mod repair;
mod run;
mod source;
mod split;
mod statements;
mod tracking;

pub use baseline::{BaselineReport, Recorded, tool_table};
pub use database::{ConnectOptions, Database, backend_of_url, redact_url};
pub use error::{ChangedFile, Error, FailureOutcome, RunError, StatementFailure};
pub use introspect::{IntrospectOptions, introspect};
pub use lock::{acquire_lock, release_lock};
pub use migration::{
    Checksum, FileKind, InvalidVersion, Migration, MigrationFile, Origin, Version,
};
pub use plan::{
    AppliedEntry, ChangedEntry, DownPlan, DownTarget, PendingEntry, PlanOptions, Status, plan,
    plan_down, repeatable_due, status, status_with_repeatable,
};
pub use repair::{ChecksumChange, DirtyResolution, RepairOptions, RepairReport};
pub use run::{Applied, DownOptions, DownReport, Event, Migrator, RunReport};
pub use source::{DiscoveryError, Layout, MigrationSet, Problem, UnknownLayout};
pub use split::{Construct, Piece, SplitError, Splitter, Statement};
pub use tracking::{AppliedRow, DEFAULT_TRACKING_TABLE, RowUpdate, Tracking};
