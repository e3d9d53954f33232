//! The fleet scenarios: `tt migrate --schemas` over six targets, three at a time, killed or
//! interrupted at a seeded moment, or three such runs at once; then every target is checked as
//! a single database is, and a second fleet run must finish every one.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;

use super::fixture::Fixture;
use super::rng::Rng;
use super::scenario::{
    Bench, Finished, LEASE, Sig, Tt, check_interrupted, consistency, status_matches,
};
use super::target::{Fresh, Seen, Target};

/// What a fleet scenario does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fleet {
    /// One fleet run, killed with SIGKILL.
    Kill9,
    /// One fleet run, interrupted with SIGINT.
    Sigint,
    /// Three fleet runs at once over the same targets.
    Concurrent,
}

impl Fleet {
    pub(crate) const ALL: [Fleet; 3] = [Fleet::Kill9, Fleet::Sigint, Fleet::Concurrent];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Fleet::Kill9 => "fleet-kill9",
            Fleet::Sigint => "fleet-sigint",
            Fleet::Concurrent => "fleet-concurrent",
        }
    }
}

/// The targets a fleet scenario makes.
pub(crate) const TARGETS: usize = 6;
/// Targets at a time.
const JOBS: &str = "3";
/// Fleet runs of `fleet-concurrent`.
const RUNS: usize = 3;
/// Up to how long after the start the signal goes out: about a whole run of six targets,
/// three at a time, each with the slow 003.
const SIGNAL_WINDOW_MS: u64 = 1500;

pub(crate) fn play(
    bench: &mut Bench<'_>,
    target: Target,
    what: Fleet,
    rng: &mut Rng,
    fresh: &Fresh,
    tt: &Tt<'_>,
    note: &mut String,
) -> Result<Vec<String>> {
    // Every target holds the serial set (its PgBouncer variant has the same steps).
    let steps = Fixture::serial().steps;
    let pattern = fresh.schema_pattern();
    let migrate = ["migrate", "--schemas", &pattern, "--jobs", JOBS];
    let mut problems = Vec::new();
    // Targets the interrupted run reported done: they must be complete.
    let mut reported_done: Vec<String> = Vec::new();
    match what {
        Fleet::Kill9 | Fleet::Sigint => {
            let sig = if what == Fleet::Kill9 {
                Sig::Kill
            } else {
                Sig::Int
            };
            let mut child = tt.spawn(&migrate, "fleet")?;
            bench.runs += 1;
            let delay = Duration::from_millis(rng.below(SIGNAL_WINDOW_MS));
            let sent = child.signal_after(sig, delay)?;
            if sent {
                bench.kills += 1;
                *note = format!("{} at {} ms", what.name(), delay.as_millis());
            } else {
                bench.finished_first += 1;
                *note = format!("finished before the signal at {} ms", delay.as_millis());
            }
            let done = child.wait()?;
            if sent && sig == Sig::Int {
                check_interrupted(&mut problems, &done);
                problems.extend(every_target_in_the_table(&done, &fresh.schemas));
            }
            if !sent && !done.ok() {
                problems.push(format!(
                    "the fleet run failed before the signal: {}",
                    done.tail()
                ));
            }
            reported_done = targets_reported_done(&done);
        }
        Fleet::Concurrent => {
            let mut args = vec!["--json"];
            args.extend(migrate);
            let children = (0..RUNS)
                .map(|i| tt.spawn(&args, &format!("fleet-{i}")))
                .collect::<Result<Vec<_>>>()?;
            bench.runs += RUNS as u64;
            let mut applied: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (i, child) in children.into_iter().enumerate() {
                let done = child.wait()?;
                if !done.ok() {
                    problems.push(format!("fleet run {i} of {RUNS} {}", done.tail()));
                }
                for (name, versions) in applied_per_target(&done) {
                    applied.entry(name).or_default().extend(versions);
                }
            }
            let all: Vec<String> = steps.iter().map(|s| s.version.to_string()).collect();
            for schema in &fresh.schemas {
                let mut versions = applied.remove(schema).unwrap_or_default();
                versions.sort();
                if versions != all {
                    problems.push(format!(
                        "{schema}: the runs together applied {versions:?}, not each of the five once"
                    ));
                }
            }
        }
    }
    // A killed runner's lease row (behind PgBouncer) stays until its lease expires.
    let grace = if what == Fleet::Kill9 && target == Target::PgBouncer {
        LEASE + Duration::from_secs(5)
    } else {
        Duration::from_secs(5)
    };
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for schema in &fresh.schemas {
        if let Some(holder) = bench
            .runtime
            .block_on(fresh.lock_left_at(Some(schema), grace))?
        {
            problems.push(format!(
                "{schema}: lock left after every tt exited: {holder}"
            ));
        }
        let state = bench.runtime.block_on(fresh.inspect_at(Some(schema)))?;
        problems.extend(
            consistency(&state, &steps)
                .into_iter()
                .map(|p| format!("{schema}: {p}")),
        );
        seen.insert(schema.clone(), state);
    }
    for schema in &reported_done {
        let clean = seen
            .get(schema)
            .map(Seen::clean_versions)
            .unwrap_or_default();
        if clean.len() != steps.len() {
            problems.push(format!(
                "{schema}: the fleet reported it done before the signal, but it holds {clean:?}"
            ));
        }
    }
    bench.runs += 1;
    let status = tt.run_to_end(&["--json", "status", "--schemas", &pattern], "status")?;
    let docs = documents(&status);
    for (schema, state) in &seen {
        match docs.get(schema) {
            Some(doc) => problems.extend(
                status_matches(doc, state, &steps)
                    .into_iter()
                    .map(|p| format!("{schema}: {p}")),
            ),
            None => problems.push(format!(
                "`tt status --schemas` has no document for {schema}: {}",
                status.tail()
            )),
        }
    }
    // The next fleet run finishes every target that no migration left dirty.
    let dirty: Vec<&String> = seen
        .iter()
        .filter(|(_, state)| !state.dirty_versions().is_empty())
        .map(|(schema, _)| schema)
        .collect();
    if !dirty.is_empty() {
        note.push_str(&format!(", left dirty: {dirty:?}"));
    }
    bench.runs += 1;
    let done = tt.spawn_waiting(&migrate, "recover", "5")?.wait()?;
    if dirty.is_empty() && !done.ok() {
        problems.push(format!("the next fleet run failed: {}", done.tail()));
    }
    for schema in fresh.schemas.iter().filter(|s| !dirty.contains(s)) {
        let after = bench.runtime.block_on(fresh.inspect_at(Some(schema)))?;
        let clean = after.clean_versions();
        if clean.len() != steps.len() {
            problems.push(format!(
                "{schema}: after the next fleet run the recorded versions are {clean:?}, not all five"
            ));
        }
        problems.extend(
            consistency(&after, &steps)
                .into_iter()
                .map(|p| format!("{schema}: after the next fleet run: {p}")),
        );
    }
    Ok(problems)
}

/// The fields of a row of the fleet's table: target, applied, pending, state, time, error.
fn table_rows(stdout: &str) -> Vec<Vec<&str>> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("TARGET"))
        .skip(1)
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|field| !field.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|fields| fields.len() >= 5)
        .collect()
}

/// An interrupted fleet run that got to its table lists every target in it, each stopped,
/// not started or finished, none failed otherwise.
fn every_target_in_the_table(done: &Finished, schemas: &[String]) -> Vec<String> {
    if !done.stdout.contains("TARGET") {
        return Vec::new();
    }
    let rows = table_rows(&done.stdout);
    let mut problems = Vec::new();
    for schema in schemas {
        match rows.iter().find(|row| row[0] == schema) {
            None => problems.push(format!(
                "the interrupted run's table has no row for {schema}"
            )),
            Some(row) if row[3] == "failed" => problems.push(format!(
                "the interrupted run says {schema} failed, not interrupted: {}",
                row.get(5).unwrap_or(&"")
            )),
            Some(_) => {}
        }
    }
    problems
}

/// The targets a fleet run reported finished (`applied N`, `up to date`): its progress lines
/// on stderr and, if it got there, its table.
fn targets_reported_done(done: &Finished) -> Vec<String> {
    let finished = |state: &str| state.starts_with("applied") || state.starts_with("up to date");
    let mut out: Vec<String> = done
        .stderr
        .lines()
        .filter_map(|line| line.split_once("] ")?.1.split_once(": "))
        .filter(|(_, state)| finished(state))
        .map(|(name, _)| name.to_string())
        .collect();
    out.extend(
        table_rows(&done.stdout)
            .into_iter()
            .filter(|row| finished(row[3]))
            .map(|row| row[0].to_string()),
    );
    out.sort();
    out.dedup();
    out
}

/// The JSON documents of a `--json` fleet run, by target.
fn documents(done: &Finished) -> BTreeMap<String, serde_json::Value> {
    let Ok(serde_json::Value::Array(docs)) = serde_json::from_str(&done.stdout) else {
        return BTreeMap::new();
    };
    docs.into_iter()
        .filter_map(|doc| Some((doc["target"].as_str()?.to_string(), doc)))
        .collect()
}

/// The versions each target's run applied, from a `--json` fleet run.
fn applied_per_target(done: &Finished) -> Vec<(String, Vec<String>)> {
    documents(done)
        .into_iter()
        .map(|(name, doc)| {
            let versions = doc["applied"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|v| v["version"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (name, versions)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_and_progress_lines_are_read() {
        let stdout = "tt migrate on 3 target(s), 3 at a time\n\
            TARGET  APPLIED  PENDING  STATE        TIME   FIRST ERROR\n\
            f_0     0 → 2    3        interrupted  2.0 s  migration 003 failed: canceling\n\
            f_1     0 → 5    0        applied 5    1.1 s\n\
            f_2     - → -    -        not started  0 ms\n\
            3 target(s), 1 ok, 1 interrupted, 1 not started (interrupted) in 2.0 s\n";
        let rows = table_rows(stdout);
        let states: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[3])).collect();
        assert_eq!(
            states,
            [
                ("f_0", "interrupted"),
                ("f_1", "applied 5"),
                ("f_2", "not started")
            ]
        );
        let stderr = "[1/6 done, 2 running, 0 failed] f_3: up to date 4 ms\n\
                      [2/6 done, 2 running, 1 failed] f_4: interrupted 2.0 s\n";
        // A stand-in for a finished process: only its output is read.
        let done = Finished::for_test(stdout, stderr);
        assert_eq!(targets_reported_done(&done), ["f_1", "f_3"]);
    }
}
