//! Benchmark of the foreign-key graph on a 10,000-table web with 30,000 foreign keys.
//!
//! Baselines from the same run: cloning the schema, and building a bare petgraph graph of the
//! same foreign keys with its strongly connected components (the floor of what `FkGraph` does).

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use petgraph::graph::DiGraph;
use tt_schema::{FkGraph, ForeignKey, Schema, Table};

const TABLES: usize = 10_000;
const FOREIGN_KEYS: usize = 30_000;

/// SplitMix64: a fixed seed gives the same web on every run and machine.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % bound as u64) as usize
    }
}

/// How the random foreign keys are drawn.
#[derive(Clone, Copy)]
enum Shape {
    /// Like a real schema: parents come earlier in a hidden rank, except 60 small cycles (2 to
    /// 5 tables) and 50 self-references.
    MostlyAcyclic,
    /// Any table references any table: one giant cycle, the worst case for deferring.
    Random,
}

fn web(shape: Shape) -> Schema {
    let mut rng = Rng(0x5eed);
    // Names are shuffled against the rank so name order tells nothing about the answer.
    let mut names: Vec<String> = (0..TABLES).map(|i| format!("table_{i:05}")).collect();
    for i in (1..TABLES).rev() {
        names.swap(i, rng.below(i + 1));
    }
    let mut edges: Vec<(usize, usize)> = Vec::with_capacity(FOREIGN_KEYS);
    match shape {
        Shape::Random => {
            while edges.len() < FOREIGN_KEYS {
                edges.push((rng.below(TABLES), rng.below(TABLES)));
            }
        }
        Shape::MostlyAcyclic => {
            for _ in 0..50 {
                let table = rng.below(TABLES);
                edges.push((table, table));
            }
            for _ in 0..60 {
                // A chain down the ranks closed by one reference back up: a cycle of 2 to 5.
                let length = 2 + rng.below(4);
                let top = length + rng.below(TABLES - length);
                for rank in top - length + 1..=top {
                    edges.push((rank, rank - 1));
                }
                edges.push((top - length, top));
            }
            while edges.len() < FOREIGN_KEYS {
                let child = 1 + rng.below(TABLES - 1);
                edges.push((child, rng.below(child)));
            }
        }
    }
    let mut tables: Vec<Table> = names.iter().map(Table::new).collect();
    for (n, (child, parent)) in edges.into_iter().enumerate() {
        tables[child].foreign_keys.push(ForeignKey {
            name: format!("fk_{n}"),
            columns: vec![format!("ref_{n}")],
            ref_table: names[parent].clone(),
            ref_columns: vec!["id".to_string()],
            on_delete: Default::default(),
            on_update: Default::default(),
            deferrable: Default::default(),
        });
    }
    Schema::from_tables(tables)
}

fn everything(schema: &Schema) -> usize {
    let graph = FkGraph::new(schema);
    black_box(graph.create_order()).len()
        + black_box(graph.drop_order()).len()
        + black_box(graph.levels()).len()
        + black_box(graph.cycles()).len()
}

fn petgraph_floor(schema: &Schema) -> usize {
    let mut graph = DiGraph::<&str, ()>::with_capacity(schema.len(), FOREIGN_KEYS);
    let nodes: HashMap<&str, _> = schema
        .table_names()
        .map(|name| (name, graph.add_node(name)))
        .collect();
    for table in schema.tables() {
        for fk in &table.foreign_keys {
            if let Some(&parent) = nodes.get(fk.ref_table.as_str()) {
                graph.add_edge(nodes[table.name.as_str()], parent, ());
            }
        }
    }
    petgraph::algo::kosaraju_scc(&graph).len()
}

fn bench(c: &mut Criterion) {
    for (label, shape) in [
        ("mostly_acyclic", Shape::MostlyAcyclic),
        ("random", Shape::Random),
    ] {
        let schema = web(shape);
        let graph = FkGraph::new(&schema);
        eprintln!(
            "{label}: {} tables, {} levels, {} cycles (largest {} tables), {} deferred foreign keys",
            schema.len(),
            graph.levels().len(),
            graph.cycles().len(),
            graph.cycles().iter().map(Vec::len).max().unwrap_or(0),
            graph.deferred_foreign_keys().len()
        );
        let mut group = c.benchmark_group(label);
        group.sample_size(30);
        group.bench_function("fk_graph_all", |b| {
            b.iter(|| everything(black_box(&schema)))
        });
        group.bench_function("baseline_schema_clone", |b| {
            b.iter(|| black_box(&schema).clone())
        });
        group.bench_function("baseline_petgraph_build_scc", |b| {
            b.iter(|| petgraph_floor(black_box(&schema)))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
