//! Progress of a migration run: a line per migration, bars for long runs and large files, and
//! for a parallel run a live line per running migration with a summary.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tt_migrate::Event;

use crate::output::{DIM, GOOD, Output, paint};

/// Runs with at least this many migrations get a bar over migrations.
const MANY_MIGRATIONS: usize = 10;
/// Files with at least this many statements get a bar over statements.
const MANY_STATEMENTS: u32 = 500;

/// Turns run events into output.
pub(crate) struct Progress {
    output: Output,
    bars: Option<MultiProgress>,
    run_bar: Option<ProgressBar>,
    file_bar: Option<ProgressBar>,
    /// What the run bar says the run does.
    prefix: &'static str,
    parallel: Option<Parallel>,
}

/// The live lines of a parallel run on a terminal: one per running migration (version, name,
/// elapsed time) above a summary of the run.
struct Parallel {
    total: usize,
    committed: usize,
    failed: usize,
    running: Vec<(String, ProgressBar)>,
    summary: ProgressBar,
}

impl Parallel {
    fn update(&self) {
        let running = self.running.len();
        let waiting = self.total - self.committed - self.failed - running;
        let failed = match self.failed {
            0 => String::new(),
            n => format!(", {n} failed"),
        };
        self.summary.set_message(format!(
            "{} committed, {running} running, {waiting} waiting{failed}",
            self.committed
        ));
    }
}

impl Progress {
    pub(crate) fn new(output: Output) -> Self {
        Self {
            output,
            // A terminal that cannot draw (`TERM` unset or `dumb`) hides the bars, and the
            // lines printed through them: plain lines then.
            bars: output
                .progress_bars()
                .then(MultiProgress::new)
                .filter(|bars| !bars.is_hidden()),
            run_bar: None,
            file_bar: None,
            prefix: "migrating",
            parallel: None,
        }
    }

    /// Progress of a rollback.
    pub(crate) fn rolling_back(output: Output) -> Self {
        Self {
            prefix: "rolling back",
            ..Self::new(output)
        }
    }

    fn println(&self, line: String) {
        match &self.bars {
            Some(bars)
                if self.run_bar.is_some() || self.file_bar.is_some() || self.parallel.is_some() =>
            {
                let _ = bars.println(anstream::adapter::strip_str(&line).to_string());
            }
            _ => self.output.line(line),
        }
    }

    pub(crate) fn on_event(&mut self, event: Event<'_>) {
        if !self.output.human() {
            return;
        }
        match event {
            Event::Scheduled { total, .. } => {
                if let Some(bars) = &self.bars {
                    let summary = bars.add(ProgressBar::new_spinner());
                    summary.set_style(style("{prefix} {msg}"));
                    summary.set_prefix(self.prefix);
                    summary.enable_steady_tick(Duration::from_millis(200));
                    let parallel = Parallel {
                        total,
                        committed: 0,
                        failed: 0,
                        running: Vec::new(),
                        summary,
                    };
                    parallel.update();
                    self.parallel = Some(parallel);
                }
            }
            Event::Started { migration, .. } if self.parallel.is_some() => {
                if let (Some(bars), Some(parallel)) = (&self.bars, &mut self.parallel) {
                    let line = bars.insert_before(&parallel.summary, ProgressBar::new_spinner());
                    line.set_style(style("  {msg} {elapsed}"));
                    line.set_message(format!("{} {}", migration.version, migration.name));
                    line.enable_steady_tick(Duration::from_millis(200));
                    parallel.running.push((migration.version.to_string(), line));
                    parallel.update();
                }
            }
            Event::Ended {
                migration,
                committed,
            } => {
                if let Some(parallel) = &mut self.parallel {
                    let version = migration.version.to_string();
                    if let Some(at) = parallel.running.iter().position(|(v, _)| *v == version) {
                        parallel.running.remove(at).1.finish_and_clear();
                    }
                    if committed {
                        parallel.committed += 1;
                    } else {
                        parallel.failed += 1;
                    }
                    parallel.update();
                }
            }
            Event::Started {
                migration,
                total,
                statements,
                ..
            } => {
                // On SQLite a migration is reported once its group of migrations committed,
                // after the next ones started: the last one's statement bar is done.
                if let Some(bar) = self.file_bar.take() {
                    bar.finish_and_clear();
                }
                if let Some(bars) = &self.bars {
                    if total >= MANY_MIGRATIONS && self.run_bar.is_none() {
                        let bar = bars.add(ProgressBar::new(total as u64));
                        bar.set_style(style("{prefix} [{bar:30}] {pos}/{len} migrations {msg}"));
                        bar.set_prefix(self.prefix);
                        self.run_bar = Some(bar);
                    }
                    // Its position counts the migrations reported applied.
                    if let Some(bar) = &self.run_bar {
                        bar.set_message(format!("{} {}", migration.version, migration.name));
                    }
                    if statements >= MANY_STATEMENTS {
                        let bar = bars.add(ProgressBar::new(u64::from(statements)));
                        bar.set_style(style("  {msg} [{bar:30}] {pos}/{len} statements {elapsed}"));
                        bar.set_message(format!("{} {}", migration.version, migration.name));
                        bar.enable_steady_tick(Duration::from_millis(200));
                        self.file_bar = Some(bar);
                    }
                }
            }
            Event::Progress { done, .. } => {
                if let Some(bar) = &self.file_bar {
                    bar.set_position(u64::from(done));
                }
            }
            Event::Echo(text) => self.println(format!("    {}", paint(DIM, text))),
            Event::Finished(applied) => {
                if let Some(bar) = self.file_bar.take() {
                    bar.finish_and_clear();
                }
                if let Some(bar) = &self.run_bar {
                    bar.inc(1);
                }
                let outside = applied
                    .no_transaction
                    .as_ref()
                    .map(|why| format!(", without a transaction: {why}"))
                    .unwrap_or_default();
                self.println(format!(
                    "  {} {} {} {}",
                    paint(GOOD, "applied"),
                    applied.version,
                    applied.name,
                    paint(
                        DIM,
                        format!("({}{outside})", duration(applied.execution_ms))
                    )
                ));
            }
            Event::RolledBack(done) => {
                if let Some(bar) = self.file_bar.take() {
                    bar.finish_and_clear();
                }
                if let Some(bar) = &self.run_bar {
                    bar.inc(1);
                }
                self.println(format!(
                    "  {} {} {} {}",
                    paint(GOOD, "rolled back"),
                    done.version,
                    done.name,
                    paint(DIM, format!("({})", duration(done.execution_ms)))
                ));
            }
            _ => {}
        }
    }

    /// Removes any bar still drawn.
    pub(crate) fn finish(&mut self) {
        let parallel = self.parallel.take().into_iter().flat_map(|p| {
            p.running
                .into_iter()
                .map(|(_, line)| line)
                .chain([p.summary])
        });
        for bar in [self.file_bar.take(), self.run_bar.take()]
            .into_iter()
            .flatten()
            .chain(parallel)
        {
            bar.finish_and_clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Milliseconds as people read them: `12 ms`, `3.4 s`.
pub(crate) fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}
