//! Runs tt migrations against SQLite, PostgreSQL and MySQL.
#![deny(missing_docs)]

mod database;
mod drop;
mod error;
mod failure;
mod introspect;
mod lock;
mod managed;
mod migration;
mod plan;
mod protect;
mod recreate;
mod reset;
mod run;
mod source;
mod split;
mod statements;
mod tracking;

pub use database::{ConnectOptions, Database, backend_of_url, redact_url};
pub use drop::{
    Dependent, DependentKind, DropOptions, DropPlan, DropReport, count_rows, drop_managed_tables,
    plan_drop,
};
pub use error::{ChangedFile, Error, FailureOutcome, RunError, StatementFailure};
pub use introspect::{IntrospectOptions, introspect};
pub use lock::{acquire_lock, release_lock};
pub use managed::managed_tables;
pub use migration::{
    Checksum, FileKind, InvalidVersion, Migration, MigrationFile, Origin, Version,
};
pub use plan::{AppliedEntry, ChangedEntry, PendingEntry, PlanOptions, Status, plan, status};
pub use protect::{PROTECTION_TABLE, Protection, protect, protection, unprotect};
pub use recreate::recreate_database;
pub use reset::{ResetError, ResetOptions, ResetReport, ResetStage};
pub use run::{Applied, Event, Migrator, RunReport};
pub use source::{DiscoveryError, MigrationSet, Problem};
pub use split::{Construct, Piece, SplitError, Splitter, Statement};
pub use tracking::{AppliedRow, DEFAULT_TRACKING_TABLE, RowUpdate, Tracking};
