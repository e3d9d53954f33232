//! Runs tt migrations against SQLite, PostgreSQL and MySQL.
#![deny(missing_docs)]

mod database;
mod error;
mod failure;
mod introspect;
mod lock;
mod migration;
mod orphans;
mod plan;
mod run;
mod scratch;
mod smoke;
mod source;
mod split;
mod statements;
mod tracking;

pub use database::{ConnectOptions, Database, backend_of_url, redact_url};
pub use error::{ChangedFile, Error, FailureOutcome, RunError, StatementFailure};
pub use introspect::{IntrospectOptions, introspect};
pub use lock::{acquire_lock, release_lock};
pub use migration::{
    Checksum, FileKind, InvalidVersion, Migration, MigrationFile, Origin, Version,
};
pub use orphans::{OrphanRows, orphan_rows};
pub use plan::{AppliedEntry, ChangedEntry, PendingEntry, PlanOptions, Status, plan, status};
pub use run::{Applied, Event, Migrator, RunReport};
pub use scratch::{SCRATCH_PREFIX, scratch_schema};
pub use smoke::{SmokeFailure, SmokeInsert, smoke_insert};
pub use source::{DiscoveryError, MigrationSet, Problem};
pub use split::{Construct, Piece, SplitError, Splitter, Statement};
pub use tracking::{AppliedRow, DEFAULT_TRACKING_TABLE, RowUpdate, Tracking};
