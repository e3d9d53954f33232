//! Objects tt does not manage that depend on a managed table, as the catalog reports them.

use serde::Serialize;

/// An object tt does not manage that depends on a managed table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependent {
    /// What it is: `view`, `materialized view`, `foreign key`, `function`, `enum type`, ….
    pub kind: DependentKind,
    /// The object (`orders.fk_orders_item` for a foreign key).
    pub name: String,
    /// The managed object it depends on (a table, or a view, type, routine … the migrations
    /// created).
    pub on: String,
}

/// How many objects `dependents` name: an object reached from several managed ones is one
/// object.
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
#[non_exhaustive]
pub enum DependentKind {
    /// A view reading a managed table.
    View,
    /// A PostgreSQL materialized view reading a managed table.
    MaterializedView,
    /// A foreign key of another table referencing a managed table.
    ForeignKey,
    /// A table (a column of a managed type, a default or check calling a managed function).
    Table,
    /// A sequence.
    Sequence,
    /// A function (or an aggregate).
    Function,
    /// A procedure.
    Procedure,
    /// An enum type.
    EnumType,
    /// A composite or range type.
    Type,
    /// A domain.
    Domain,
    /// A trigger.
    Trigger,
    /// A schema.
    Schema,
}

impl DependentKind {
    /// The kind the catalog names `label` (`enum type`, `materialized view`, …).
    pub(crate) fn from_label(label: &str) -> Self {
        match label {
            "view" => Self::View,
            "materialized view" => Self::MaterializedView,
            "sequence" => Self::Sequence,
            "function" | "aggregate" => Self::Function,
            "procedure" => Self::Procedure,
            "enum type" => Self::EnumType,
            "range type" | "type" => Self::Type,
            "domain" => Self::Domain,
            "trigger" => Self::Trigger,
            "schema" => Self::Schema,
            _ => Self::Table,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::MaterializedView => "materialized view",
            Self::ForeignKey => "foreign key",
            Self::Table => "table",
            Self::Sequence => "sequence",
            Self::Function => "function",
            Self::Procedure => "procedure",
            Self::EnumType => "enum type",
            Self::Type => "type",
            Self::Domain => "domain",
            Self::Trigger => "trigger",
            Self::Schema => "schema",
        }
    }
}

impl std::fmt::Display for Dependent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} (on {})", self.kind.label(), self.name, self.on)
    }
}

/// Dependents, each with the statement that removes it (`None` for what cannot be dropped,
/// such as an SQLite foreign key).
pub(crate) type Dependents = Vec<(Dependent, Option<String>)>;
