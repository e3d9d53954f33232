//! The foreign-key graph of a schema: create and drop orders, levels and cycles.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, EdgeIndex, EdgeReference, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};

use crate::model::Schema;

/// The foreign keys of a schema as a graph with an edge from each child table to its parent.
///
/// Everything is computed once, in [`FkGraph::new`], and deterministically: ties are broken by
/// table name, never by insertion order. Foreign keys to tables outside the schema are ignored,
/// so the graph of a subset of a database (only the managed tables, say) is still complete.
///
/// Cycles cannot be created table by table, so some foreign keys are *deferred*: the tables are
/// created without them and they are added by `ALTER TABLE` afterwards (and dropped first, before
/// any table). Only foreign keys inside a cycle are ever deferred: every self-reference, and,
/// within each strongly connected component, a small set of edges chosen so that the rest is
/// acyclic (see [`FkGraph::deferred_foreign_keys`]).
///
/// ```
/// use tt_schema::{FkGraph, ForeignKey, Schema, Table};
///
/// let fk = |name: &str, parent: &str| ForeignKey {
///     name: name.into(),
///     columns: vec![format!("{parent}_id")],
///     ref_table: parent.into(),
///     ref_columns: vec!["id".into()],
///     on_delete: Default::default(),
///     on_update: Default::default(),
///     deferrable: Default::default(),
/// };
/// let mut items = Table::new("items");
/// items.foreign_keys.push(fk("fk_items_groups", "groups"));
/// let mut groups = Table::new("groups");
/// groups.foreign_keys.push(fk("fk_groups_parent", "groups"));
/// let graph = FkGraph::new(&Schema::from_tables([items, groups]));
///
/// assert_eq!(graph.create_order(), ["groups", "items"]);
/// assert_eq!(graph.drop_order(), ["items", "groups"]);
/// assert_eq!(graph.cycles(), [["groups"]]);
/// assert!(graph.is_deferred("groups", "fk_groups_parent"));
/// ```
#[derive(Debug, Clone)]
pub struct FkGraph {
    /// Node `i` is the `i`-th table by name, so comparing node indexes compares names.
    graph: DiGraph<String, Edge>,
    create_order: Vec<NodeIndex>,
    levels: Vec<Vec<NodeIndex>>,
    cycles: Vec<Vec<NodeIndex>>,
    deferred: Vec<FkRef>,
}

/// One foreign key, as an edge from the child table to the parent table.
#[derive(Debug, Clone)]
struct Edge {
    name: String,
    deferred: bool,
}

/// A foreign key named by its table and constraint name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FkRef {
    /// The referencing (child) table.
    pub table: String,
    /// The constraint name ([`ForeignKey::name`](crate::ForeignKey::name)).
    pub name: String,
}

/// The orders of a foreign-key graph in the shape of `tt graph --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphReport {
    /// Every table, parents before children.
    pub create_order: Vec<String>,
    /// Every table, children before parents: the reverse of `create_order`.
    pub drop_order: Vec<String>,
    /// Sets of tables that may be created concurrently, in order.
    pub levels: Vec<Vec<String>>,
    /// Tables that reference each other in a cycle, or themselves.
    pub cycles: Vec<Vec<String>>,
    /// Foreign keys added by `ALTER TABLE` after all tables exist, and dropped first.
    pub deferred_foreign_keys: Vec<FkRef>,
}

impl FkGraph {
    /// Builds the graph of `schema`, ignoring foreign keys to tables it does not contain.
    pub fn new(schema: &Schema) -> Self {
        let mut graph = DiGraph::with_capacity(schema.len(), 0);
        // `Schema` yields tables sorted by name, which gives node indexes their meaning.
        for name in schema.table_names() {
            graph.add_node(name.to_string());
        }
        let nodes: Vec<&str> = schema.table_names().collect();
        for (child, table) in schema.tables().enumerate() {
            for fk in &table.foreign_keys {
                if let Ok(parent) = nodes.binary_search(&fk.ref_table.as_str()) {
                    let edge = Edge {
                        name: fk.name.clone(),
                        deferred: false,
                    };
                    graph.add_edge(NodeIndex::new(child), NodeIndex::new(parent), edge);
                }
            }
        }
        let mut this = Self {
            graph,
            create_order: Vec::new(),
            levels: Vec::new(),
            cycles: Vec::new(),
            deferred: Vec::new(),
        };
        this.defer_cycle_edges();
        this.sort_topologically();
        this
    }

    /// Finds the cycles and marks the foreign keys that break them as deferred.
    ///
    /// Why these edges: within one strongly connected component the tables are put in a greedy
    /// order (repeatedly the table with the fewest foreign keys to tables of the component not
    /// yet placed, ties by name) and only the foreign keys pointing forward in that order are
    /// deferred. The remaining edges all point backward, so they are acyclic, and the greedy
    /// choice keeps the deferred set small without the cost of an exact (NP-hard) minimum
    /// feedback arc set. Edges between components are never deferred: the condensation of a
    /// graph is acyclic. Self-references are always deferred, as docs/ddl-rendering.md says of
    /// every cycle: they could be declared inline, but one rule for all cycles keeps create, drop and
    /// the rendered DDL simple.
    fn defer_cycle_edges(&mut self) {
        let count = self.graph.node_count();
        let mut component = vec![0; count];
        let mut components = kosaraju_scc(&self.graph);
        for (id, members) in components.iter_mut().enumerate() {
            members.sort_unstable();
            for node in members.iter() {
                component[node.index()] = id;
            }
        }

        let mut to_defer: Vec<EdgeIndex> = Vec::new();
        for edge in self.graph.edge_references() {
            if edge.source() == edge.target() {
                to_defer.push(edge.id());
            }
        }

        // Reused across components; only entries of the current component are read.
        let mut unresolved = vec![0_usize; count];
        let mut rank = vec![usize::MAX; count];
        for (id, members) in components.iter().enumerate() {
            // A strongly connected component always has at least one member.
            let self_referencing = || {
                self.graph
                    .edges_directed(members[0], Outgoing)
                    .any(|e| e.target() == members[0])
            };
            if members.len() == 1 {
                if self_referencing() {
                    self.cycles.push(members.clone());
                }
                continue;
            }
            self.cycles.push(members.clone());

            let inner = |e: &EdgeReference<'_, Edge>| {
                e.source() != e.target()
                    && component[e.source().index()] == id
                    && component[e.target().index()] == id
            };
            let mut ready = BinaryHeap::with_capacity(members.len());
            for &node in members {
                unresolved[node.index()] = self
                    .graph
                    .edges_directed(node, Outgoing)
                    .filter(|e| inner(e))
                    .count();
                ready.push(Reverse((unresolved[node.index()], node)));
            }
            let mut next_rank = 0;
            while let Some(Reverse((pending, node))) = ready.pop() {
                // Entries are pushed again when their count drops; skip the stale ones.
                if rank[node.index()] != usize::MAX || pending != unresolved[node.index()] {
                    continue;
                }
                rank[node.index()] = next_rank;
                next_rank += 1;
                for edge in self.graph.edges_directed(node, Incoming) {
                    let child = edge.source();
                    if inner(&edge) && rank[child.index()] == usize::MAX {
                        unresolved[child.index()] -= 1;
                        ready.push(Reverse((unresolved[child.index()], child)));
                    }
                }
            }
            for &node in members {
                for edge in self.graph.edges_directed(node, Outgoing) {
                    if inner(&edge) && rank[edge.target().index()] > rank[node.index()] {
                        to_defer.push(edge.id());
                    }
                }
            }
        }
        self.cycles.sort_unstable();

        for id in to_defer {
            self.graph[id].deferred = true;
            if let Some((child, _)) = self.graph.edge_endpoints(id) {
                self.deferred.push(FkRef {
                    table: self.graph[child].clone(),
                    name: self.graph[id].name.clone(),
                });
            }
        }
        self.deferred.sort_unstable();
        self.deferred.dedup();
    }

    /// Orders the tables by Kahn's algorithm over the edges that are not deferred, taking the
    /// ready table with the smallest name first, and assigns each table its level.
    fn sort_topologically(&mut self) {
        let count = self.graph.node_count();
        let mut pending: Vec<usize> = self
            .graph
            .node_indices()
            .map(|node| self.parent_edges(node).count())
            .collect();
        let mut level = vec![0_usize; count];
        let mut ready: BinaryHeap<Reverse<NodeIndex>> = self
            .graph
            .node_indices()
            .filter(|node| pending[node.index()] == 0)
            .map(Reverse)
            .collect();
        self.create_order.reserve(count);
        while let Some(Reverse(node)) = ready.pop() {
            self.create_order.push(node);
            // Every parent is already ordered, so its level is final.
            level[node.index()] = self
                .parent_edges(node)
                .map(|e| level[e.target().index()] + 1)
                .max()
                .unwrap_or(0);
            for edge in self.graph.edges_directed(node, Incoming) {
                if !edge.weight().deferred {
                    let child = edge.source();
                    pending[child.index()] -= 1;
                    if pending[child.index()] == 0 {
                        ready.push(Reverse(child));
                    }
                }
            }
        }
        // Deferring leaves no cycle (see `defer_cycle_edges`), so every table was ordered.
        debug_assert_eq!(self.create_order.len(), count);

        let depth = self.create_order.iter().map(|n| level[n.index()] + 1).max();
        self.levels = vec![Vec::new(); depth.unwrap_or(0)];
        // Node indexes follow names, so pushing in index order sorts each level by name.
        for node in self.graph.node_indices() {
            self.levels[level[node.index()]].push(node);
        }
    }

    /// The edges from `node` to its parents that are not deferred.
    fn parent_edges(&self, node: NodeIndex) -> impl Iterator<Item = EdgeReference<'_, Edge>> {
        self.graph
            .edges_directed(node, Outgoing)
            .filter(|e| !e.weight().deferred)
    }

    fn name(&self, node: NodeIndex) -> &str {
        &self.graph[node]
    }

    fn names(&self, nodes: &[NodeIndex]) -> Vec<&str> {
        nodes.iter().map(|&n| self.name(n)).collect()
    }

    fn node(&self, table: &str) -> Option<NodeIndex> {
        self.graph
            .raw_nodes()
            .binary_search_by(|n| n.weight.as_str().cmp(table))
            .ok()
            .map(NodeIndex::new)
    }

    /// Every table, each parent before its children (except across deferred foreign keys),
    /// ties broken by name.
    pub fn create_order(&self) -> Vec<&str> {
        self.names(&self.create_order)
    }

    /// Every table, each child before its parents: exactly the reverse of
    /// [`create_order`](Self::create_order).
    pub fn drop_order(&self) -> Vec<&str> {
        self.create_order
            .iter()
            .rev()
            .map(|&n| self.name(n))
            .collect()
    }

    /// Sets of tables with no foreign key between them (other than deferred ones), which may be
    /// created concurrently; each set sorted by name, and all of them in order form a create
    /// order.
    ///
    /// A table's level is the length of the longest chain of non-deferred foreign keys from it
    /// to a table without parents, so there are as few levels as possible.
    pub fn levels(&self) -> Vec<Vec<&str>> {
        self.levels.iter().map(|level| self.names(level)).collect()
    }

    /// Strongly connected components of more than one table, and tables that reference
    /// themselves; each sorted by name, and the list sorted.
    pub fn cycles(&self) -> Vec<Vec<&str>> {
        self.cycles.iter().map(|cycle| self.names(cycle)).collect()
    }

    /// The foreign keys that are left out of `CREATE TABLE`, added by `ALTER TABLE` once all
    /// tables exist and dropped before any table, sorted by table and name.
    ///
    /// These are every self-reference and, inside each cycle, the foreign keys that point
    /// forward in a greedy order of its tables (fewest references to tables not yet placed
    /// first, ties by name), a small set whose removal leaves the graph acyclic.
    pub fn deferred_foreign_keys(&self) -> &[FkRef] {
        &self.deferred
    }

    /// Whether the foreign key `fk_name` of `table` is deferred (see
    /// [`deferred_foreign_keys`](Self::deferred_foreign_keys)).
    pub fn is_deferred(&self, table: &str, fk_name: &str) -> bool {
        self.deferred
            .binary_search_by(|f| (f.table.as_str(), f.name.as_str()).cmp(&(table, fk_name)))
            .is_ok()
    }

    /// Whether the graph has a table of that name.
    pub fn contains(&self, table: &str) -> bool {
        self.node(table).is_some()
    }

    /// The tables that `table` references (itself included if it does), sorted by name; empty
    /// for an unknown table.
    pub fn parents(&self, table: &str) -> Vec<&str> {
        self.neighbours(table, Outgoing)
    }

    /// The tables that reference `table` (itself included if it does), sorted by name; empty
    /// for an unknown table.
    pub fn children(&self, table: &str) -> Vec<&str> {
        self.neighbours(table, Incoming)
    }

    fn neighbours(&self, table: &str, direction: petgraph::Direction) -> Vec<&str> {
        let Some(node) = self.node(table) else {
            return Vec::new();
        };
        let mut nodes: Vec<NodeIndex> = self.graph.neighbors_directed(node, direction).collect();
        nodes.sort_unstable();
        nodes.dedup();
        self.names(&nodes)
    }

    /// The tables that reference any of `tables`, directly or through others, sorted by name:
    /// what must go too when `tables` are dropped. The given tables are left out unless one
    /// depends on another (or on itself); unknown names are ignored.
    pub fn dependents<'a>(&self, tables: impl IntoIterator<Item = &'a str>) -> Vec<&str> {
        let mut seen = vec![false; self.graph.node_count()];
        let mut stack: Vec<NodeIndex> = tables.into_iter().filter_map(|t| self.node(t)).collect();
        while let Some(node) = stack.pop() {
            for child in self.graph.neighbors_directed(node, Incoming) {
                if !seen[child.index()] {
                    seen[child.index()] = true;
                    stack.push(child);
                }
            }
        }
        self.graph
            .node_indices()
            .filter(|n| seen[n.index()])
            .map(|n| self.name(n))
            .collect()
    }

    /// The orders as owned data, ready to serialise as the JSON of `tt graph`.
    pub fn report(&self) -> GraphReport {
        let owned = |names: Vec<&str>| names.into_iter().map(str::to_string).collect();
        let owned_sets = |sets: Vec<Vec<&str>>| sets.into_iter().map(owned).collect();
        GraphReport {
            create_order: owned(self.create_order()),
            drop_order: owned(self.drop_order()),
            levels: owned_sets(self.levels()),
            cycles: owned_sets(self.cycles()),
            deferred_foreign_keys: self.deferred.clone(),
        }
    }

    /// The graph in Graphviz DOT, one box per table and an arrow from child to parent labelled
    /// with the foreign key's name; deferred foreign keys are dashed.
    ///
    /// Nodes are named `n0`, `n1`, … and labelled with HTML-like labels in which every character
    /// but letters, digits, `_`, `-`, `.` and space is written as a numeric entity, so any table
    /// name (quotes, backslashes, semicolons, newlines) is safe.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph fk {\n  rankdir=LR;\n  node [shape=box];\n");
        for node in self.graph.node_indices() {
            let label = escape(self.name(node), "&#", ";");
            let _ = writeln!(out, "  n{} [label=<{label}>];", node.index());
        }
        for edge in self.sorted_edges() {
            let label = escape(&edge.weight().name, "&#", ";");
            let style = if edge.weight().deferred {
                ", style=dashed"
            } else {
                ""
            };
            let (child, parent) = (edge.source().index(), edge.target().index());
            let _ = writeln!(out, "  n{child} -> n{parent} [label=<{label}>{style}];");
        }
        out.push_str("}\n");
        out
    }

    /// The graph as a Mermaid flowchart, an arrow from child to parent labelled with the foreign
    /// key's name; deferred foreign keys are dotted.
    ///
    /// Nodes are named `n0`, `n1`, … with quoted labels in which every character but letters,
    /// digits, `_`, `-`, `.` and space is written as a Mermaid entity code (`#34;`).
    pub fn to_mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for node in self.graph.node_indices() {
            let label = escape(self.name(node), "#", ";");
            let _ = writeln!(out, "  n{}[\"{label}\"]", node.index());
        }
        for edge in self.sorted_edges() {
            let label = escape(&edge.weight().name, "#", ";");
            let arrow = if edge.weight().deferred {
                "-.->"
            } else {
                "-->"
            };
            let (child, parent) = (edge.source().index(), edge.target().index());
            let _ = writeln!(out, "  n{child} {arrow}|\"{label}\"| n{parent}");
        }
        out
    }

    /// A readable summary: create order, levels, cycles and deferred foreign keys.
    pub fn to_text(&self) -> String {
        let mut out = String::from("create order:\n");
        for (position, name) in self.create_order().iter().enumerate() {
            let _ = writeln!(out, "  {:>3}. {name}", position + 1);
        }
        out.push_str("levels (tables in one level may be created concurrently):\n");
        for (index, level) in self.levels().iter().enumerate() {
            let _ = writeln!(out, "  {index}: {}", level.join(", "));
        }
        out.push_str("cycles:\n");
        if self.cycles.is_empty() {
            out.push_str("  (none)\n");
        }
        for cycle in self.cycles() {
            let _ = writeln!(out, "  {}", cycle.join(", "));
        }
        out.push_str("deferred foreign keys (added after the tables, dropped first):\n");
        if self.deferred.is_empty() {
            out.push_str("  (none)\n");
        }
        for edge in self.sorted_edges().filter(|e| e.weight().deferred) {
            let (child, parent) = (self.name(edge.source()), self.name(edge.target()));
            let _ = writeln!(out, "  {child}.{} -> {parent}", edge.weight().name);
        }
        out
    }

    /// All edges sorted by child, foreign key name and parent, for stable output.
    fn sorted_edges(&self) -> impl Iterator<Item = EdgeReference<'_, Edge>> {
        let mut edges: Vec<_> = self.graph.edge_references().collect();
        edges.sort_by(|a, b| {
            (a.source(), &a.weight().name, a.target()).cmp(&(
                b.source(),
                &b.weight().name,
                b.target(),
            ))
        });
        edges.into_iter()
    }
}

/// Writes every character but ASCII letters, digits, `_`, `-`, `.` and space as a numeric
/// entity `{open}N{close}`, which both DOT HTML-like labels and Mermaid labels decode.
fn escape(text: &str, open: &str, close: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ') {
            out.push(c);
        } else {
            let _ = write!(out, "{open}{}{close}", u32::from(c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use expect_test::expect;
    use proptest::prelude::*;

    use super::*;
    use crate::model::{ForeignKey, Table};

    fn fk(name: &str, parent: &str) -> ForeignKey {
        ForeignKey {
            name: name.to_string(),
            columns: vec![format!("{parent}_id")],
            ref_table: parent.to_string(),
            ref_columns: vec!["id".to_string()],
            on_delete: Default::default(),
            on_update: Default::default(),
            deferrable: Default::default(),
        }
    }

    /// A schema from tokens `table` and `child>parent`; a parent written `~name` is outside the
    /// schema. Foreign keys are named `child_parent`, with a counter for repeats.
    fn schema(spec: &str) -> Schema {
        let mut tables: BTreeMap<String, Table> = BTreeMap::new();
        let mut table = |name: &str| {
            tables
                .entry(name.to_string())
                .or_insert_with(|| Table::new(name))
                .name
                .clone()
        };
        let mut fks = Vec::new();
        for token in spec.split_whitespace() {
            match token.split_once('>') {
                Some((child, parent)) => {
                    table(child);
                    match parent.strip_prefix('~') {
                        Some(outside) => fks.push((child.to_string(), outside.to_string())),
                        None => fks.push((child.to_string(), table(parent))),
                    }
                }
                None => {
                    table(token);
                }
            }
        }
        for (child, parent) in fks {
            let fks = &mut tables.get_mut(&child).expect("child exists").foreign_keys;
            let base = format!("{child}_{parent}");
            let repeats = fks.iter().filter(|f| f.name.starts_with(&base)).count();
            let name = if repeats == 0 {
                base
            } else {
                format!("{base}{}", repeats + 1)
            };
            fks.push(fk(&name, &parent));
        }
        Schema::from_tables(tables.into_values())
    }

    /// One line: create order | levels | cycles | deferred foreign keys.
    fn summary(graph: &FkGraph) -> String {
        let sets = |sets: Vec<Vec<&str>>| {
            let sets: Vec<String> = sets.iter().map(|s| format!("[{}]", s.join(" "))).collect();
            sets.join(" ")
        };
        let deferred: Vec<String> = graph
            .deferred_foreign_keys()
            .iter()
            .map(|f| format!("{}.{}", f.table, f.name))
            .collect();
        format!(
            "{} | {} | {} | {}",
            graph.create_order().join(" "),
            sets(graph.levels()),
            sets(graph.cycles()),
            deferred.join(" ")
        )
    }

    #[track_caller]
    fn check(spec: &str, expected: &str) {
        let schema = schema(spec);
        let graph = FkGraph::new(&schema);
        assert_valid(&schema, &graph);
        assert_eq!(summary(&graph), expected, "graph of {spec:?}");
    }

    #[test]
    fn orders_levels_cycles() {
        check("", " |  |  | ");
        check("a", "a | [a] |  | ");
        check("b a", "a b | [a b] |  | ");
        check("a>b b>c", "c b a | [c] [b] [a] |  | ");
        check("c>b b>a", "a b c | [a] [b] [c] |  | ");
        check("d>b d>c b>a c>a", "a b c d | [a] [b c] [d] |  | ");
        check("x>b x>a z y>x", "a b x y z | [a b z] [x] [y] |  | ");
        check("a>b a>b", "b a | [b] [a] |  | ");
        check("a>~outside", "a | [a] |  | ");
        check("a>~a_ghost b>a", "a b | [a] [b] |  | ");
        check("a>a", "a | [a] | [a] | a.a_a");
        check("a>a a>a", "a | [a] | [a] | a.a_a a.a_a2");
        check("b>a a>a", "a b | [a] [b] | [a] | a.a_a");
        check("a>b b>a", "a b | [a] [b] | [a b] | a.a_b");
        check("b>a a>b", "a b | [a] [b] | [a b] | a.a_b");
        check("a>b b>c c>a", "a c b | [a] [c] [b] | [a b c] | a.a_b");
        check("a>b b>a c>a", "a b c | [a] [b c] | [a b] | a.a_b");
        check("a>b b>a a>a", "a b | [a] [b] | [a b] | a.a_a a.a_b");
        check(
            "a>b b>a c>d d>c",
            "a b c d | [a c] [b d] | [a b] [c d] | a.a_b c.c_d",
        );
        check(
            "a>b b>c c>a c>d",
            "a d c b | [a d] [c] [b] | [a b c] | a.a_b",
        );
        // `a` has two references inside the cycle, `b` and `c` one: `b` is placed first.
        check(
            "a>b a>c b>a c>a",
            "b a c | [b] [a] [c] | [a b c] | a.a_c b.b_a",
        );
    }

    #[test]
    fn determinism_across_insertion_orders() {
        let spec = "a>b b>c c>a c>d d>e e>c f>f g>a g>~h b>b";
        let forward = schema(spec);
        let mut tables: Vec<Table> = forward.tables().cloned().collect();
        tables.reverse();
        for table in &mut tables {
            table.foreign_keys.reverse();
        }
        let backward = Schema::from_tables(tables);
        let (one, two) = (FkGraph::new(&forward), FkGraph::new(&backward));
        assert_eq!(one.report(), two.report());
        assert_eq!(one.to_dot(), two.to_dot());
        assert_eq!(summary(&one), summary(&two));
    }

    #[test]
    fn neighbours_and_dependents() {
        let graph = FkGraph::new(&schema("b>a c>b c>a d>d e x>~outside"));
        assert_eq!(graph.parents("c"), ["a", "b"]);
        assert_eq!(graph.children("a"), ["b", "c"]);
        assert_eq!(graph.children("d"), ["d"]);
        assert_eq!(graph.parents("x"), Vec::<&str>::new());
        assert_eq!(graph.parents("nope"), Vec::<&str>::new());
        assert_eq!(graph.dependents(["a"]), ["b", "c"]);
        assert_eq!(graph.dependents(["b", "e"]), ["c"]);
        assert_eq!(graph.dependents(["d", "nope"]), ["d"]);
        assert!(graph.contains("e"));
        assert!(!graph.contains("outside"));
        assert!(graph.is_deferred("d", "d_d"));
        assert!(!graph.is_deferred("c", "c_a"));
        assert!(!graph.is_deferred("nope", "d_d"));
    }

    #[test]
    fn report_has_the_shape_of_tt_graph_json() {
        let graph = FkGraph::new(&schema("b>a a>b c>a"));
        let json = serde_json::to_string(&graph.report()).expect("report serialises");
        expect![[r#"{"create_order":["a","b","c"],"drop_order":["c","b","a"],"levels":[["a"],["b","c"]],"cycles":[["a","b"]],"deferred_foreign_keys":[{"table":"a","name":"a_b"}]}"#]]
            .assert_eq(&json);
    }

    #[test]
    fn text_dot_and_mermaid() {
        let graph = FkGraph::new(&schema("items>groups groups>groups tags>items"));
        expect![[r#"
            create order:
                1. groups
                2. items
                3. tags
            levels (tables in one level may be created concurrently):
              0: groups
              1: items
              2: tags
            cycles:
              groups
            deferred foreign keys (added after the tables, dropped first):
              groups.groups_groups -> groups
        "#]]
        .assert_eq(&graph.to_text());
        expect![[r#"
            digraph fk {
              rankdir=LR;
              node [shape=box];
              n0 [label=<groups>];
              n1 [label=<items>];
              n2 [label=<tags>];
              n0 -> n0 [label=<groups_groups>, style=dashed];
              n1 -> n0 [label=<items_groups>];
              n2 -> n1 [label=<tags_items>];
            }
        "#]]
        .assert_eq(&graph.to_dot());
        expect![[r#"
            flowchart LR
              n0["groups"]
              n1["items"]
              n2["tags"]
              n0 -.->|"groups_groups"| n0
              n1 -->|"items_groups"| n0
              n2 -->|"tags_items"| n1
        "#]]
        .assert_eq(&graph.to_mermaid());
        let empty = FkGraph::new(&Schema::new());
        expect![[r#"
            create order:
            levels (tables in one level may be created concurrently):
            cycles:
              (none)
            deferred foreign keys (added after the tables, dropped first):
              (none)
        "#]]
        .assert_eq(&empty.to_text());
    }

    #[test]
    fn awkward_names_are_escaped_in_dot_and_mermaid() {
        let mut odd = Table::new("my \"odd\"; table\\ <x> & #1\n|");
        odd.foreign_keys.push(fk("fk \"quoted\" |pipe|", "plain"));
        let graph = FkGraph::new(&Schema::from_tables([odd, Table::new("plain")]));
        expect![[r#"
            digraph fk {
              rankdir=LR;
              node [shape=box];
              n0 [label=<my &#34;odd&#34;&#59; table&#92; &#60;x&#62; &#38; &#35;1&#10;&#124;>];
              n1 [label=<plain>];
              n0 -> n1 [label=<fk &#34;quoted&#34; &#124;pipe&#124;>];
            }
        "#]]
        .assert_eq(&graph.to_dot());
        expect![[r##"
            flowchart LR
              n0["my #34;odd#34;#59; table#92; #60;x#62; #38; #35;1#10;#124;"]
              n1["plain"]
              n0 -->|"fk #34;quoted#34; #124;pipe#124;"| n1
        "##]]
        .assert_eq(&graph.to_mermaid());
    }

    #[test]
    fn long_chain_does_not_overflow_the_stack() {
        // A recursive SCC search would need one stack frame per table of the chain.
        let count = 50_000;
        let name = |i: usize| format!("t{i:06}");
        let tables = (0..count).map(|i| {
            let mut table = Table::new(name(i));
            table.foreign_keys.push(fk("next", &name((i + 1) % count)));
            table
        });
        let graph = FkGraph::new(&Schema::from_tables(tables));
        assert_eq!(graph.cycles().len(), 1);
        assert_eq!(graph.cycles()[0].len(), count);
        assert_eq!(graph.deferred_foreign_keys().len(), 1);
        assert_eq!(graph.levels().len(), count);
    }

    /// Checks the promises of `FkGraph` against a plain reachability oracle.
    fn assert_valid(schema: &Schema, graph: &FkGraph) {
        let names: Vec<&str> = schema.table_names().collect();
        let index = |name: &str| names.binary_search(&name).ok();
        let mut edges = Vec::new();
        let mut deferred_refs = Vec::new();
        for table in schema.tables() {
            for fk in &table.foreign_keys {
                let deferred = graph.is_deferred(&table.name, &fk.name);
                if let Some(parent) = index(&fk.ref_table) {
                    edges.push((index(&table.name).expect("own table"), parent, deferred));
                } else {
                    assert!(!deferred, "{fk:?} to an outside table is not deferred");
                }
                if deferred {
                    deferred_refs.push(FkRef {
                        table: table.name.clone(),
                        name: fk.name.clone(),
                    });
                }
            }
        }

        // Reachability by depth-first search from every table (schemas here are small).
        let count = names.len();
        let mut reach = vec![vec![false; count]; count];
        for (start, reachable) in reach.iter_mut().enumerate() {
            let mut stack = vec![start];
            while let Some(node) = stack.pop() {
                for &(child, parent, _) in &edges {
                    if child == node && !reachable[parent] {
                        reachable[parent] = true;
                        stack.push(parent);
                    }
                }
            }
        }

        let create = graph.create_order();
        let mut sorted = create.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, names, "every table exactly once");
        let position = |name: &str| create.iter().position(|n| *n == name).expect("ordered");
        let mut drop = graph.drop_order();
        drop.reverse();
        assert_eq!(drop, create, "drop order is the reverse of create order");

        for &(child, parent, deferred) in &edges {
            if deferred {
                assert!(
                    reach[parent][child],
                    "deferred {} -> {} lies in a cycle",
                    names[child], names[parent]
                );
            } else {
                assert!(
                    position(names[parent]) < position(names[child]),
                    "{} created before its child {}",
                    names[parent],
                    names[child]
                );
            }
        }
        let listed: BTreeSet<FkRef> = graph.deferred_foreign_keys().iter().cloned().collect();
        assert_eq!(
            listed.len(),
            graph.deferred_foreign_keys().len(),
            "no repeats"
        );
        let marked: BTreeSet<FkRef> = deferred_refs.into_iter().collect();
        assert_eq!(
            listed, marked,
            "the list names exactly the deferred foreign keys"
        );

        let levels = graph.levels();
        let flat: Vec<&str> = levels.concat();
        let mut level_of = vec![0; count];
        for (depth, level) in levels.iter().enumerate() {
            assert!(!level.is_empty(), "level {depth} is empty");
            assert!(level.is_sorted(), "level {depth} sorted by name");
            for name in level {
                level_of[index(name).expect("known")] = depth;
            }
        }
        let mut flat_sorted = flat.clone();
        flat_sorted.sort_unstable();
        assert_eq!(flat_sorted, names, "levels hold every table once");
        for &(child, parent, deferred) in &edges {
            if !deferred {
                assert!(
                    level_of[parent] < level_of[child],
                    "levels form a create order"
                );
            }
        }

        let mut cycles: Vec<Vec<&str>> = Vec::new();
        let mut placed = vec![false; count];
        for node in 0..count {
            let looped = edges.iter().any(|&(c, p, _)| c == node && p == node);
            let members: Vec<usize> = (0..count)
                .filter(|&other| other == node || (reach[node][other] && reach[other][node]))
                .collect();
            if !placed[node] && (members.len() > 1 || looped) {
                cycles.push(members.iter().map(|&m| names[m]).collect());
            }
            for m in members {
                placed[m] = true;
            }
        }
        cycles.sort_unstable();
        assert_eq!(
            graph.cycles(),
            cycles,
            "cycles are the strongly connected components"
        );
    }

    fn web() -> impl Strategy<Value = Schema> {
        (1_usize..=40).prop_flat_map(|count| {
            let edge = (0..count, 0..count + 3);
            prop::collection::vec(edge, 0..count * 3).prop_map(move |edges| {
                let mut tables: Vec<Table> =
                    (0..count).map(|i| Table::new(format!("t{i:02}"))).collect();
                for (n, (child, parent)) in edges.into_iter().enumerate() {
                    // Indexes past the end name tables outside the schema.
                    let parent = format!("t{parent:02}");
                    tables[child]
                        .foreign_keys
                        .push(fk(&format!("fk{n}"), &parent));
                }
                Schema::from_tables(tables)
            })
        })
    }

    proptest! {
        #[test]
        fn random_webs_keep_every_promise(schema in web()) {
            let graph = FkGraph::new(&schema);
            assert_valid(&schema, &graph);
        }

        #[test]
        fn random_webs_are_deterministic(schema in web()) {
            let mut tables: Vec<Table> = schema.tables().cloned().collect();
            tables.reverse();
            for table in &mut tables {
                table.foreign_keys.reverse();
            }
            let one = FkGraph::new(&schema);
            let two = FkGraph::new(&Schema::from_tables(tables));
            prop_assert_eq!(one.report(), two.report());
            prop_assert_eq!(one.to_mermaid(), two.to_mermaid());
        }
    }
}
