//! Objects tt does not manage that depend on a managed table, as the catalog reports them.

use serde::Serialize;

/// An object tt does not manage that depends on a managed table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependent {
    /// `view`, `materialized view` or `foreign key`.
    pub kind: DependentKind,
    /// The object (`orders.fk_orders_item` for a foreign key).
    pub name: String,
    /// The managed table it depends on.
    pub on: String,
}

/// How many objects `dependents` name: a view reading three managed tables is listed once per
/// table but is one object.
pub(crate) fn distinct_objects(dependents: &[Dependent]) -> usize {
    let mut objects: Vec<(DependentKind, &str)> = dependents
        .iter()
        .map(|d| (d.kind, d.name.as_str()))
        .collect();
    objects.sort_unstable_by(|a, b| (a.0 as u8, a.1).cmp(&(b.0 as u8, b.1)));
    objects.dedup();
    objects.len()
}

/// What kind of object a [`Dependent`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependentKind {
    /// A view reading a managed table.
    View,
    /// A PostgreSQL materialized view reading a managed table.
    MaterializedView,
    /// A foreign key of another table referencing a managed table.
    ForeignKey,
}

impl std::fmt::Display for Dependent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            DependentKind::View => "view",
            DependentKind::MaterializedView => "materialized view",
            DependentKind::ForeignKey => "foreign key",
        };
        write!(f, "{kind} {} (on {})", self.name, self.on)
    }
}

/// Dependents, each with the statement that removes it (`None` for what cannot be dropped,
/// such as an SQLite foreign key).
pub(crate) type Dependents = Vec<(Dependent, Option<String>)>;
