//! The managed objects besides tables: which the database has, the order they drop in around
//! the tables, and what else depends on them.
//!
//! The order comes from the catalog's dependency graph (PostgreSQL's `pg_depend`): an object
//! goes before the objects it needs. Objects that need a managed table (views, a routine
//! taking its row type, a trigger) drop before the tables, the rest (types, domains,
//! sequences, routines the tables use, schemas) after them. Where the catalog records no
//! dependencies (MySQL, SQLite), views and triggers drop before the tables and routines and
//! sequences after. An object that goes away with another one (a trigger with its table, a
//! sequence with the column that owns it) is not dropped on its own.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;
use tt_schema::Backend;

use crate::backend::dependent::{Dependent, DependentKind, Dependents};
use crate::backend::object::{Catalog, CatalogObject, ObjectKind};
use crate::destructive::managed::{ManagedObject, same_name};

/// A managed object besides a table that a drop removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedObject {
    /// What it is: `view`, `materialized view`, `function`, `enum type`, `domain`, ….
    pub kind: String,
    /// Its name, qualified when it is in a schema the migrations created.
    pub name: String,
    /// The statement that drops it.
    #[serde(skip)]
    pub(crate) drop: String,
}

/// What [`plan_objects`] found.
#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectPlan {
    /// Managed objects to drop before the tables, in order.
    pub(crate) before: Vec<DroppedObject>,
    /// Managed objects to drop after the tables, in order.
    pub(crate) after: Vec<DroppedObject>,
    /// Objects the migrations did not create that depend on managed ones (from the graph),
    /// each once, with its statement where `--cascade` may drop it (views), dependents first.
    pub(crate) dependents: Dependents,
}

/// Which live objects of `catalog` are `managed`, in what order they drop around `tables`
/// (the managed tables of tt's schema and the tracking table, dropped by the caller), and
/// what else depends on them.
pub(crate) fn plan_objects(
    catalog: &Catalog,
    managed: &BTreeSet<ManagedObject>,
    tables: &[String],
    backend: Backend,
) -> ObjectPlan {
    let by_key: BTreeMap<&str, &CatalogObject> = catalog
        .objects
        .iter()
        .map(|o| (o.key.as_str(), o))
        .collect();
    let is_table = |o: &CatalogObject| {
        o.kind == ObjectKind::Table
            && o.schema.is_none()
            && tables.iter().any(|t| same_name(t, &o.name, backend))
    };
    let is_managed = |o: &CatalogObject| {
        managed.iter().any(|m| {
            m.kind == o.kind
                && match (&m.schema, &o.schema) {
                    (None, None) => true,
                    (Some(a), Some(b)) => same_name(a, b, backend),
                    _ => false,
                }
                && same_name(&m.name, &o.name, backend)
        })
    };
    // Everything that goes: the tables (dropped by the caller) and the managed objects.
    let going: BTreeSet<&str> = catalog
        .objects
        .iter()
        .filter(|o| {
            is_table(o) || ((o.kind != ObjectKind::Table || o.schema.is_some()) && is_managed(o))
        })
        .map(|o| o.key.as_str())
        .collect();
    let own: Vec<&CatalogObject> = catalog
        .objects
        .iter()
        .filter(|o| going.contains(o.key.as_str()) && !is_table(o))
        // It goes with its owner.
        .filter(|o| {
            !o.owner
                .as_deref()
                .is_some_and(|owner| going.contains(owner))
        })
        .collect();

    // Dependents outside: what depends on something that goes, and what depends on those.
    let mut needed_by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for edge in catalog.edges.iter().filter(|e| e.blocks) {
        needed_by
            .entry(edge.to.as_str())
            .or_default()
            .push(edge.from.as_str());
    }
    let mut on: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue: VecDeque<(&str, &str)> = going.iter().map(|&k| (k, k)).collect();
    while let Some((key, root)) = queue.pop_front() {
        for &from in needed_by.get(key).into_iter().flatten() {
            let Some(object) = by_key.get(from) else {
                continue;
            };
            // What goes with an object that goes (a serial column's sequence) is no dependent.
            let goes_with_owner = object
                .owner
                .as_deref()
                .is_some_and(|owner| going.contains(owner));
            if going.contains(from) || on.contains_key(from) || goes_with_owner {
                continue;
            }
            on.insert(from, root);
            queue.push_back((from, root));
        }
    }
    let outside: Vec<&CatalogObject> = on.keys().filter_map(|k| by_key.get(k).copied()).collect();

    let order = drop_order(&catalog.edges, own.iter().chain(&outside).copied());
    // Whether `key` needs a table that goes, through objects that go.
    let needs_a_table = needs_a_table(catalog, &going, &|k: &str| {
        by_key.get(k).is_some_and(|o| is_table(o))
    });
    let mut plan = ObjectPlan::default();
    for object in order {
        let name = object.display_name();
        if let Some(root) = on.get(object.key.as_str()) {
            let kind = DependentKind::from_label(&object.label);
            let statement = matches!(kind, DependentKind::View | DependentKind::MaterializedView)
                .then(|| object.drop.clone());
            let on = by_key
                .get(root)
                .map_or_else(String::new, |o| o.display_name());
            plan.dependents
                .push((Dependent { kind, name, on }, statement));
            continue;
        }
        let dropped = DroppedObject {
            kind: object.label.clone(),
            name,
            drop: object.drop.clone(),
        };
        let before = if catalog.edges.is_empty() {
            matches!(
                object.kind,
                ObjectKind::View | ObjectKind::MaterializedView | ObjectKind::Trigger
            )
        } else {
            needs_a_table.contains(object.key.as_str())
        };
        if before {
            plan.before.push(dropped);
        } else {
            plan.after.push(dropped);
        }
    }
    plan
}

/// The keys of objects in `going` that need (directly or through other objects in `going`) an
/// object for which `is_table` holds.
fn needs_a_table<'a>(
    catalog: &'a Catalog,
    going: &BTreeSet<&'a str>,
    is_table: &dyn Fn(&str) -> bool,
) -> BTreeSet<&'a str> {
    let mut needs: BTreeSet<&str> = BTreeSet::new();
    // Grow the set until nothing changes: graphs here are small.
    loop {
        let before = needs.len();
        for edge in &catalog.edges {
            let from = edge.from.as_str();
            if going.contains(from)
                && !is_table(from)
                && (is_table(&edge.to) || needs.contains(edge.to.as_str()))
            {
                needs.insert(from);
            }
        }
        if needs.len() == before {
            return needs;
        }
    }
}

/// `objects` ordered so that each comes before the objects it needs (Kahn's algorithm over
/// `edges`); objects in a cycle come last, in catalog order.
fn drop_order<'a>(
    edges: &[crate::backend::object::Edge],
    objects: impl Iterator<Item = &'a CatalogObject>,
) -> Vec<&'a CatalogObject> {
    let objects: Vec<&CatalogObject> = objects.collect();
    let index: BTreeMap<&str, usize> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| (o.key.as_str(), i))
        .collect();
    // needs[i]: objects i needs; waiting[j]: how many objects that need j are not yet placed.
    let mut needs: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); objects.len()];
    for edge in edges {
        if let (Some(&from), Some(&to)) =
            (index.get(edge.from.as_str()), index.get(edge.to.as_str()))
            && from != to
        {
            needs[from].insert(to);
        }
    }
    let mut waiting = vec![0usize; objects.len()];
    for targets in &needs {
        for &to in targets {
            waiting[to] += 1;
        }
    }
    let mut ready: VecDeque<usize> = (0..objects.len()).filter(|&i| waiting[i] == 0).collect();
    let mut placed = vec![false; objects.len()];
    let mut out = Vec::with_capacity(objects.len());
    while let Some(i) = ready.pop_front() {
        placed[i] = true;
        out.push(objects[i]);
        for &to in &needs[i] {
            waiting[to] -= 1;
            if waiting[to] == 0 {
                ready.push_back(to);
            }
        }
    }
    out.extend(
        (0..objects.len())
            .filter(|&i| !placed[i])
            .map(|i| objects[i]),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::object::Edge;

    fn object(key: &str, kind: ObjectKind, label: &str, name: &str) -> CatalogObject {
        CatalogObject {
            key: key.into(),
            kind,
            label: label.into(),
            schema: None,
            name: name.into(),
            drop: format!("DROP {label} {name}"),
            owner: None,
        }
    }

    fn edge(from: &str, to: &str, blocks: bool) -> Edge {
        Edge {
            from: from.into(),
            to: to.into(),
            blocks,
        }
    }

    fn managed(items: &[(ObjectKind, &str)]) -> BTreeSet<ManagedObject> {
        items
            .iter()
            .map(|&(kind, name)| ManagedObject {
                kind,
                schema: None,
                name: name.into(),
            })
            .collect()
    }

    fn names(objects: &[DroppedObject]) -> Vec<String> {
        objects
            .iter()
            .map(|o| format!("{} {}", o.kind, o.name))
            .collect()
    }

    #[test]
    fn views_go_before_the_tables_and_types_after_in_dependency_order() {
        use ObjectKind::*;
        let mut trigger = object("g", Trigger, "trigger", "items_touch");
        trigger.owner = Some("t".into());
        let catalog = Catalog {
            objects: vec![
                object("t", Table, "table", "items"),
                object("e", Type, "enum type", "quality"),
                object("f", Routine, "function", "rank"),
                object("v", View, "view", "summary"),
                object("w", View, "view", "top"),
                object("m", MaterializedView, "materialized view", "counts"),
                trigger,
                object("x", View, "view", "theirs"),
                object("u", Table, "table", "other_app"),
            ],
            edges: vec![
                edge("t", "e", true),
                edge("f", "e", true),
                edge("v", "t", true),
                edge("v", "f", true),
                edge("w", "v", true),
                edge("m", "w", true),
                edge("g", "t", false),
                edge("x", "m", true),
                edge("u", "t", false),
            ],
        };
        let plan = plan_objects(
            &catalog,
            &managed(&[
                (Table, "items"),
                (Type, "quality"),
                (Routine, "rank"),
                (View, "summary"),
                (View, "top"),
                (MaterializedView, "counts"),
                (Trigger, "items_touch"),
            ]),
            &["items".into()],
            Backend::Postgres,
        );
        assert_eq!(
            names(&plan.before),
            ["materialized view counts", "view top", "view summary"]
        );
        assert_eq!(names(&plan.after), ["function rank", "enum type quality"]);
        let dependents: Vec<String> = plan.dependents.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(dependents, ["view theirs (on counts)"]);
        assert_eq!(plan.dependents[0].1.as_deref(), Some("DROP view theirs"));
    }

    #[test]
    fn an_outside_object_reached_from_many_is_listed_once_with_its_kind() {
        use ObjectKind::*;
        let catalog = Catalog {
            objects: vec![
                object("a", Table, "table", "a"),
                object("b", Table, "table", "b"),
                object("e", Type, "enum type", "mood"),
                object("m", MaterializedView, "materialized view", "ab"),
                object("f", Routine, "function", "cheer"),
            ],
            edges: vec![
                edge("m", "a", true),
                edge("m", "b", true),
                edge("f", "e", true),
            ],
        };
        let plan = plan_objects(
            &catalog,
            &managed(&[(Table, "a"), (Table, "b"), (Type, "mood")]),
            &["a".into(), "b".into()],
            Backend::Postgres,
        );
        let dependents: Vec<String> = plan.dependents.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(
            dependents,
            ["function cheer (on mood)", "materialized view ab (on a)"]
        );
        assert_eq!(plan.dependents[0].1, None, "--cascade drops views only");
    }

    #[test]
    fn without_a_graph_views_and_triggers_go_first() {
        use ObjectKind::*;
        let mut on_kept = object("trigger:audit", Trigger, "trigger", "audit");
        on_kept.owner = Some("table:kept".into());
        let mut on_items = object("trigger:touch", Trigger, "trigger", "touch");
        on_items.owner = Some("table:items".into());
        let catalog = Catalog {
            objects: vec![
                object("table:items", Table, "table", "items"),
                object("function:f", Routine, "function", "f"),
                object("view:v", View, "view", "v"),
                on_kept,
                on_items,
                object("view:mine", View, "view", "mine"),
            ],
            edges: Vec::new(),
        };
        let plan = plan_objects(
            &catalog,
            &managed(&[
                (Routine, "F"),
                (View, "V"),
                (Trigger, "audit"),
                (Trigger, "touch"),
            ]),
            &["items".into()],
            Backend::Sqlite,
        );
        assert_eq!(names(&plan.before), ["view v", "trigger audit"]);
        assert_eq!(names(&plan.after), ["function f"]);
        assert!(plan.dependents.is_empty());
    }
}
