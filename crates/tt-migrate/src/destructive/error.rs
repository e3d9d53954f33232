//! Why a drop, reset or recreate refuses to run: a leaf type that imports nothing above it.

use crate::backend::dependent::{Dependent, distinct_objects};

/// A drop, reset or recreate that refused to change anything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DropRefusal {
    /// Tables appeared between the confirmation of a drop (or reset, recreate) and the lock:
    /// the confirmed plan no longer says what would be dropped.
    #[error(
        "the drop was not run: since it was confirmed, another runner created {} table(s) it did not list: {}; run it again to see the new plan",
        added.len(),
        added.join(", ")
    )]
    PlanGrew {
        /// The tables the confirmed plan did not list.
        added: Vec<String>,
    },
    /// The database is marked protected (`tt protect`).
    #[error(
        "{database} is protected{}: drop, reset and recreate refuse to run on it; pass --allow-protected if you really mean it",
        note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
    )]
    Protected {
        /// The database, password redacted.
        database: String,
        /// The note given when it was protected.
        note: Option<String>,
    },
    /// Objects tt does not manage depend on tables it would drop.
    #[error(
        "cannot drop the managed tables: {} object(s) tt does not manage depend on them:{}\ndrop or change them first, or pass --cascade to drop these views and foreign keys too",
        distinct_objects(dependents),
        dependents.iter().map(|d| format!("\n  {d}")).collect::<String>()
    )]
    Dependents {
        /// What depends on what.
        dependents: Vec<Dependent>,
    },
}
