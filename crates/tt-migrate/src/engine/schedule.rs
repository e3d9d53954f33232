//! The schedule of a parallel run (pure): which pending migration waits for which, and why,
//! from the files' footprints; the waves it runs in with enough connections.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::files::dependencies::{Conflict, Footprint, Object};
use crate::files::migration::{Migration, Version};

/// How pending migrations may run side by side (`tt migrate --dry-run --jobs N`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Schedule {
    /// The pending migrations in version order, each with what it waits for.
    pub migrations: Vec<Scheduled>,
    /// Why the whole run is serial on one connection (a file changes the session that later
    /// files of a serial run would share), if it is.
    pub serial: Option<String>,
}

/// One pending migration in a [`Schedule`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scheduled {
    /// The version.
    pub version: Version,
    /// The name.
    pub name: String,
    /// The wave it runs in, from 1: every migration it waits for runs in an earlier wave.
    pub wave: usize,
    /// Why it is a barrier (everything before it finishes first, nothing after it starts
    /// before it commits), if it is: `line 3: SET`.
    pub barrier: Option<String>,
    /// The earlier migrations it waits for directly (those it waits for through another
    /// left out), each with the reason.
    pub waits_for: Vec<Wait>,
    /// Indexes into [`Schedule::migrations`] of every earlier migration it conflicts with.
    #[serde(skip)]
    pub(crate) after: Vec<usize>,
}

/// Why a migration waits for an earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    /// The earlier migration.
    pub version: Version,
    /// Why, as a phrase: `both write items`, `reads items, which 004 writes`,
    /// `004 is a barrier`.
    pub reason: String,
}

/// Foreign keys known before the run (from the live schema) and declared by pending files:
/// a write to a table also reads its parents (the key's check) and writes its children (a
/// cascade), transitively.
fn with_foreign_keys(prints: &mut [Footprint], live: &[(Object, Object)]) {
    let mut parents: BTreeMap<Object, BTreeSet<Object>> = BTreeMap::new();
    let mut children: BTreeMap<Object, BTreeSet<Object>> = BTreeMap::new();
    for (child, parent) in live
        .iter()
        .chain(prints.iter().flat_map(|p| &p.foreign_keys))
    {
        let plain = |o: &Object| Object::plain(&o.name);
        parents
            .entry(plain(child))
            .or_default()
            .insert(plain(parent));
        children
            .entry(plain(parent))
            .or_default()
            .insert(plain(child));
    }
    let closure = |start: &BTreeSet<Object>, edges: &BTreeMap<Object, BTreeSet<Object>>| {
        let mut seen = BTreeSet::new();
        let mut queue: Vec<Object> = start.iter().map(|o| Object::plain(&o.name)).collect();
        while let Some(object) = queue.pop() {
            if let Some(next) = edges.get(&object) {
                for n in next {
                    if seen.insert(n.clone()) {
                        queue.push(n.clone());
                    }
                }
            }
        }
        seen
    };
    for print in prints.iter_mut() {
        let up = closure(&print.writes, &parents);
        let down = closure(&print.writes, &children);
        print.reads.extend(up);
        print.writes.extend(down);
    }
}

/// The schedule of `pending` (in the order a serial run applies them) from their footprints;
/// `live_foreign_keys` are (child, parent) tables of the database before the run.
pub(crate) fn schedule(
    pending: &[&Migration],
    mut prints: Vec<Footprint>,
    live_foreign_keys: &[(Object, Object)],
) -> Schedule {
    with_foreign_keys(&mut prints, live_foreign_keys);
    let serial = prints.iter().zip(pending).find_map(|(p, m)| {
        p.session
            .as_ref()
            .map(|why| format!("{} changes the session ({why})", m.version))
    });
    let mut migrations: Vec<Scheduled> = Vec::with_capacity(pending.len());
    // The latest barrier so far: everything after waits for it.
    let mut last_barrier: Option<usize> = None;
    for (i, (migration, print)) in pending.iter().zip(&prints).enumerate() {
        let mut after: Vec<(usize, String)> = Vec::new();
        if print.barrier.is_some() {
            // A barrier waits for everything before it (directly for what no later one does).
            after.extend((0..i).map(|j| (j, format!("{} is a barrier", migration.version))));
        } else {
            if let Some(b) = last_barrier {
                after.push((b, format!("{} is a barrier", pending[b].version)));
            }
            for j in last_barrier.map_or(0, |b| b + 1)..i {
                let reason = match print.conflict(&prints[j]) {
                    None => continue,
                    Some(Conflict::BothWrite(o)) => format!("both write {o}"),
                    Some(Conflict::ReadsWritten(o)) => {
                        format!("reads {o}, which {} writes", pending[j].version)
                    }
                    Some(Conflict::WritesRead(o)) => {
                        format!("writes {o}, which {} reads", pending[j].version)
                    }
                };
                after.push((j, reason));
            }
        }
        if print.barrier.is_some() {
            last_barrier = Some(i);
        }
        let wave = after
            .iter()
            .map(|(j, _)| migrations[*j].wave)
            .max()
            .unwrap_or(0)
            + 1;
        // Shown: only what it does not already wait for through another.
        let reach: BTreeSet<usize> = after
            .iter()
            .flat_map(|(j, _)| reachable(&migrations, *j))
            .collect();
        let waits_for = after
            .iter()
            .filter(|(j, _)| !reach.contains(j))
            .map(|(j, reason)| Wait {
                version: pending[*j].version.clone(),
                reason: reason.clone(),
            })
            .collect();
        migrations.push(Scheduled {
            version: migration.version.clone(),
            name: migration.name.clone(),
            wave,
            barrier: print.barrier.as_ref().map(ToString::to_string),
            waits_for,
            after: after.into_iter().map(|(j, _)| j).collect(),
        });
    }
    Schedule { migrations, serial }
}

/// Every migration `from` waits for, directly or not (without `from` itself).
fn reachable(migrations: &[Scheduled], from: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut queue = migrations[from].after.clone();
    while let Some(j) = queue.pop() {
        if seen.insert(j) {
            queue.extend(migrations[j].after.iter().copied());
        }
    }
    seen
}

impl Schedule {
    /// How many waves the run takes with unlimited connections.
    pub fn waves(&self) -> usize {
        self.migrations.iter().map(|m| m.wave).max().unwrap_or(0)
    }

    /// The schedule as text: one block per wave, each migration with what it waits for.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        if let Some(why) = &self.serial {
            text.push_str(&format!("serial: {why}\n"));
        }
        for wave in 1..=self.waves() {
            text.push_str(&format!("wave {wave}:\n"));
            for m in self.migrations.iter().filter(|m| m.wave == wave) {
                text.push_str(&format!("  {} {}", m.version, m.name));
                if let Some(why) = &m.barrier {
                    text.push_str(&format!("  [barrier: {why}]"));
                }
                text.push('\n');
                for wait in &m.waits_for {
                    text.push_str(&format!(
                        "    {} waits for {}: {}\n",
                        m.version, wait.version, wait.reason
                    ));
                }
            }
        }
        text
    }

    /// The file DAG in Graphviz DOT: an edge from each migration to each it waits for.
    pub fn to_dot(&self) -> String {
        let mut text = String::from("digraph migrations {\n  rankdir=LR;\n");
        for m in &self.migrations {
            let shape = if m.barrier.is_some() {
                "box"
            } else {
                "ellipse"
            };
            text.push_str(&format!(
                "  \"{}\" [label=\"{} {}\", shape={shape}];\n",
                m.version,
                m.version,
                m.name.replace('"', "\\\"")
            ));
        }
        for m in &self.migrations {
            for wait in &m.waits_for {
                text.push_str(&format!(
                    "  \"{}\" -> \"{}\" [label=\"{}\"];\n",
                    wait.version,
                    m.version,
                    wait.reason.replace('"', "\\\"")
                ));
            }
        }
        text.push_str("}\n");
        text
    }

    /// The file DAG as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        let id = |v: &Version| {
            format!(
                "m{}",
                v.as_str()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            )
        };
        let mut text = String::from("flowchart LR\n");
        for m in &self.migrations {
            let label = format!("{} {}", m.version, m.name).replace('"', "'");
            if m.barrier.is_some() {
                text.push_str(&format!("  {}[\"{label}\"]\n", id(&m.version)));
            } else {
                text.push_str(&format!("  {}(\"{label}\")\n", id(&m.version)));
            }
        }
        for m in &self.migrations {
            for wait in &m.waits_for {
                text.push_str(&format!(
                    "  {} -->|\"{}\"| {}\n",
                    id(&wait.version),
                    wait.reason.replace('"', "'"),
                    id(&m.version)
                ));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::dependencies::statement;
    use crate::files::migration::Version;
    use tt_schema::Backend;

    fn migration(version: &str) -> Migration {
        Migration {
            version: Version::new(version).expect("a version"),
            name: format!("m{version}"),
            up: Vec::new(),
            down: Vec::new(),
            empty_down: Vec::new(),
        }
    }

    /// The schedule of SQL texts, numbered 001, 002, …, as text.
    fn plan(files: &[&str], live: &[(Object, Object)]) -> String {
        let migrations: Vec<Migration> = (1..=files.len())
            .map(|i| migration(&format!("{i:03}")))
            .collect();
        let pending: Vec<&Migration> = migrations.iter().collect();
        let prints = files
            .iter()
            .map(|sql| {
                let mut print = Footprint::default();
                for piece in crate::files::split::Splitter::new(sql.as_bytes(), Backend::Postgres) {
                    if let Ok(crate::files::split::Piece::Statement(s)) = piece {
                        statement(&s.sql, s.line, Backend::Postgres, &mut print);
                    }
                }
                print
            })
            .collect();
        schedule(&pending, prints, live).to_text()
    }

    #[test]
    fn waves_barriers_and_reasons() {
        let text = plan(
            &[
                "CREATE TABLE items (id int)",
                "CREATE TABLE owners (id int)",
                "INSERT INTO items VALUES (1)",
                "CREATE VIEW v AS SELECT * FROM items, owners",
                "GRANT SELECT ON v TO bob",
                "CREATE TABLE later (id int)",
            ],
            &[],
        );
        expect_test::expect![[r#"
            wave 1:
              001 m001
              002 m002
            wave 2:
              003 m003
                003 waits for 001: both write items
            wave 3:
              004 m004
                004 waits for 002: reads owners, which 002 writes
                004 waits for 003: reads items, which 003 writes
            wave 4:
              005 m005  [barrier: line 1: GRANT]
                005 waits for 004: 005 is a barrier
            wave 5:
              006 m006
                006 waits for 005: 005 is a barrier
        "#]]
        .assert_eq(&text);
    }

    #[test]
    fn writes_reach_children_and_read_parents_through_foreign_keys() {
        let live = [(Object::plain("orders"), Object::plain("customers"))];
        let text = plan(
            &[
                "DELETE FROM customers WHERE id = 1",
                "INSERT INTO orders VALUES (1, 1)",
                "SELECT 1 FROM unrelated",
            ],
            &live,
        );
        expect_test::expect![[r#"
            wave 1:
              001 m001
              003 m003
            wave 2:
              002 m002
                002 waits for 001: both write orders
        "#]]
        .assert_eq(&text);
    }

    #[test]
    fn a_session_change_makes_the_run_serial() {
        let text = plan(&["CREATE TABLE a (id int)", "SET search_path = s"], &[]);
        assert!(
            text.starts_with("serial: 002 changes the session (line 1: SET)\n"),
            "{text}"
        );
    }
}
