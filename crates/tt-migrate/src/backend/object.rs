//! Schema objects besides tables (views, routines, types, …) as the catalog lists them.

/// What kind of object a migration creates, as the files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ObjectKind {
    /// `CREATE TABLE`.
    Table,
    /// `CREATE VIEW`.
    View,
    /// `CREATE MATERIALIZED VIEW` (PostgreSQL).
    MaterializedView,
    /// `CREATE SEQUENCE` (PostgreSQL, MariaDB).
    Sequence,
    /// `CREATE FUNCTION` or `CREATE PROCEDURE`.
    Routine,
    /// `CREATE TYPE` or `CREATE DOMAIN` (PostgreSQL).
    Type,
    /// `CREATE TRIGGER`.
    Trigger,
    /// `CREATE SCHEMA` (PostgreSQL).
    Schema,
}

impl ObjectKind {
    /// The kinds that share one namespace and `ALTER TABLE … RENAME` (PostgreSQL relations).
    pub(crate) const RELATIONS: [ObjectKind; 4] = [
        ObjectKind::Table,
        ObjectKind::View,
        ObjectKind::MaterializedView,
        ObjectKind::Sequence,
    ];
}

/// One object of the live database, as the catalog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogObject {
    /// The catalog's identity of it, which [`Edge`]s refer to.
    pub(crate) key: String,
    /// What the migrations would call it.
    pub(crate) kind: ObjectKind,
    /// Its real kind, for messages: `materialized view`, `enum type`, `domain`, `procedure`.
    pub(crate) label: String,
    /// Its schema when it is not the one tt works in.
    pub(crate) schema: Option<String>,
    /// Its name (a trigger's own name, a routine's without arguments).
    pub(crate) name: String,
    /// The statement that drops it alone.
    pub(crate) drop: String,
    /// The key of the object it goes away with (a trigger's table, a sequence a column owns).
    pub(crate) owner: Option<String>,
}

impl CatalogObject {
    /// Its name as messages show it: qualified outside tt's schema.
    pub(crate) fn display_name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// `from` depends on `to` (both [`CatalogObject::key`]s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edge {
    /// The dependent object.
    pub(crate) from: String,
    /// The object it needs.
    pub(crate) to: String,
    /// Whether dropping `to` without `CASCADE` fails while `from` exists (PostgreSQL's normal
    /// dependency); otherwise `from` only has to go first, or goes with it.
    pub(crate) blocks: bool,
}

/// The objects of the live database and what depends on what.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    /// Tables, views, sequences, routines, types, triggers and schemas.
    pub(crate) objects: Vec<CatalogObject>,
    /// Dependencies between them (PostgreSQL's `pg_depend`; none elsewhere, where views are
    /// found by their text).
    pub(crate) edges: Vec<Edge>,
}
