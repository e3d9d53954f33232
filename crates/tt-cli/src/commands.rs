//! Dispatch of subcommands and what they share: configuration, connection, migrations.

mod baseline;
mod completions;
mod config;
mod diff;
mod down;
mod drop;
mod dump;
mod fleet;
mod graph;
mod migrate;
mod new;
mod protect;
mod repair;
pub(crate) mod reset;
mod status;
pub(crate) mod verify;

use anyhow::{Context as _, Result};
use tt_migrate::{Database, Layout, MigrationSet, Target};

use crate::cli::{Cli, Command, DiffArgs, SafetyArgs, VerifyArgs};
use crate::config::{Config, Overrides};
use crate::exit::Exit;
use crate::output::Output;

/// A command refused to go on for safety (exit code 4).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) String);

/// An error whose JSON document the command printed itself, with more fields than the
/// generic one (the migrations applied before it, the failing statement): `main` reports it
/// on stderr only.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct JsonShown(pub(crate) anyhow::Error);

/// What every command gets: configuration, output mode and global flags.
pub(crate) struct Context {
    pub(crate) config: Config,
    pub(crate) output: Output,
    pub(crate) yes: bool,
    /// `--layout`: read the directory as this layout instead of detecting it.
    pub(crate) layout: Option<Layout>,
    /// `--schema`: the schema (MySQL: database) to work in, `None` for the URL's.
    pub(crate) schema: Option<String>,
    /// `--create-schema`: create it when missing.
    pub(crate) create_schema: bool,
    /// `--jobs` of one target: migrations at a time (many targets read it from `FleetArgs`).
    pub(crate) jobs: Option<usize>,
}

impl Context {
    /// Connects to the configured database.
    pub(crate) async fn connect(&self) -> Result<Database> {
        let target = Target {
            name: String::new(),
            url: self.config.database_url.value.clone(),
            schema: self.schema.clone(),
        };
        let mut db = target
            .connect(self.config.connect_options(), self.create_schema)
            .await?;
        // So that Ctrl-C can cancel what this connection runs.
        crate::interrupt::register(db.canceller().await?);
        Ok(db)
    }

    /// Loads the migrations of the configured directory.
    pub(crate) fn migrations(&self) -> Result<MigrationSet> {
        load_migrations(&self.config.migrations_dir.value, self.layout)
    }

    /// The migrations and a connection, read and opened at the same time: a connection spends
    /// most of its start waiting on the server, time that reading a large folder fills. A
    /// problem with the files is reported first, as when they were read before connecting.
    pub(crate) async fn migrations_and_database(&self) -> Result<(MigrationSet, Database)> {
        let (set, db, ()) = self.migrations_and_database_then(async |_| Ok(())).await?;
        Ok((set, db))
    }

    /// [`Self::migrations_and_database`], running `then` on the connection while the files
    /// may still load (a read that does not need them, such as the tracking table's rows).
    pub(crate) async fn migrations_and_database_then<T>(
        &self,
        then: impl AsyncFnOnce(&mut Database) -> Result<T>,
    ) -> Result<(MigrationSet, Database, T)> {
        if !self.connects_without_side_effects() {
            let set = self.migrations()?;
            let mut db = self.connect().await?;
            let value = then(&mut db).await?;
            return Ok((set, db, value));
        }
        let (dir, layout) = (self.config.migrations_dir.value.clone(), self.layout);
        let mut loading = tokio::task::spawn_blocking(move || load_migrations(&dir, layout));
        let connecting = async {
            let mut db = self.connect().await?;
            let value = then(&mut db).await?;
            anyhow::Ok((db, value))
        };
        tokio::pin!(connecting);
        let connected = tokio::select! {
            biased;
            loaded = &mut loading => {
                // Bad files end the command before the connection is waited for.
                let set = loaded.context("reading the migrations")??;
                let (db, value) = connecting.await?;
                return Ok((set, db, value));
            }
            connected = &mut connecting => connected,
        };
        let set = loading.await.context("reading the migrations")??;
        let (db, value) = connected?;
        Ok((set, db, value))
    }

    /// Whether connecting changes nothing that a problem with the files should have prevented:
    /// SQLite creates its database file, `--create-schema` the schema.
    fn connects_without_side_effects(&self) -> bool {
        !self.create_schema
            && tt_migrate::backend_of_url(&self.config.database_url.value)
                .is_ok_and(|backend| backend != tt_schema::Backend::Sqlite)
    }
}

/// The migrations of `dir`, read as `layout` or in the layout detected.
fn load_migrations(dir: &std::path::Path, layout: Option<Layout>) -> Result<MigrationSet> {
    Ok(match layout {
        Some(layout) => MigrationSet::load_with_layout(dir, layout)?,
        None => MigrationSet::load(dir)?,
    })
}

/// Asks before destroying data: proceeds with `--yes`, asks on a terminal, and otherwise
/// proceeds only when `CI=true`.
pub(crate) fn confirm(ctx: &Context, question: &str) -> Result<()> {
    if ctx.yes {
        return Ok(());
    }
    if let Some(answer) = ask(question) {
        return answer;
    }
    if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        return Ok(());
    }
    Err(Refused(format!(
        "refusing to go on without confirmation: {question} There is no terminal to ask on; \
         pass --yes (or set CI=true) to proceed"
    ))
    .into())
}

/// Asks `question` on the terminal: `None` without one; else Ok for yes, a refusal for anything
/// else.
pub(crate) fn ask(question: &str) -> Option<Result<()>> {
    use std::io::{BufRead, IsTerminal, Write};
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return None;
    }
    let mut stderr = anstream::stderr();
    let _ = write!(stderr, "{question} [y/N] ");
    let _ = stderr.flush();
    let mut answer = String::new();
    if let Err(error) =
        crate::interrupt::at_prompt(|| std::io::stdin().lock().read_line(&mut answer))
    {
        return Some(Err(error.into()));
    }
    Some(match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(Refused("cancelled: nothing was changed".to_string()).into()),
    })
}

/// Refuses (exit 4) when the database is marked protected (`tt protect`), unless
/// `--allow-protected`. Destructive commands call it before their question: no answer could
/// let them run.
pub(crate) async fn refuse_if_protected(db: &mut Database, safety: &SafetyArgs) -> Result<()> {
    if safety.allow_protected {
        return Ok(());
    }
    let Some(mark) = tt_migrate::protection(db).await? else {
        return Ok(());
    };
    let note = mark
        .note
        .filter(|n| !n.is_empty())
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    Err(Refused(format!(
        "{} is protected{note}: drop, reset and recreate refuse to run on it; pass \
         --allow-protected if you really mean it",
        db.redacted_url()
    ))
    .into())
}

/// Runs the command `cli` names.
pub(crate) async fn run(cli: Cli) -> Result<Exit> {
    // Completions need no configuration: they must work even where tt.toml is broken.
    let output = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
    };
    if let Command::Completions(args) = &cli.command {
        return completions::run(args.shell, output);
    }
    // First of all, so that a signal never finds tt connected without its handler.
    let signals = crate::interrupt::listen()?;
    let cwd = std::env::current_dir().context("could not read the current directory")?;
    let overrides = Overrides {
        config: cli.global.config.clone(),
        database_url: cli.global.database_url.clone(),
        dir: cli.global.dir.clone(),
        lock_timeout_secs: cli.global.lock_timeout,
        session_sql: cli.global.session_sql.clone(),
        connect_timeout_secs: cli.global.connect_timeout,
        lock: cli.global.lock,
    };
    let mut command = cli.command;
    let mut schema = cli.global.schema;
    // `tt verify --schema FILE.toml` named the snapshot before `--schema` named a schema.
    if let Command::Verify(VerifyArgs { expected, .. }) | Command::Diff(DiffArgs { expected, .. }) =
        &mut command
        && expected.snapshot.is_none()
        && schema.as_deref().is_some_and(|s| s.ends_with(".toml"))
    {
        expected.snapshot = schema.take().map(Into::into);
    }
    let ctx = Context {
        config: Config::load(&cwd, &overrides)?,
        output,
        yes: cli.global.yes,
        layout: cli.global.layout,
        schema,
        create_schema: cli.global.create_schema,
        jobs: cli.global.fleet.jobs.map(usize::from),
    };
    if cli.global.fleet.many() {
        let fleet = fleet::run(&ctx, &cwd, &cli.global.fleet, command);
        return crate::interrupt::run(&ctx, signals, fleet).await;
    }
    let command = dispatch(&ctx, &cwd, command);
    crate::interrupt::run(&ctx, signals, command).await
}

async fn dispatch(ctx: &Context, cwd: &std::path::Path, command: Command) -> Result<Exit> {
    let output = ctx.output;
    match command {
        Command::Migrate(args) => migrate::run(ctx, args).await,
        Command::Status => status::run(ctx).await,
        Command::Drop(args) => drop::run(ctx, args).await,
        Command::Reset(args) => reset::run(ctx, args.cascade, args.safety, false).await,
        Command::Recreate(args) => reset::run(ctx, false, args.safety, true).await,
        Command::Protect(args) => protect::run(ctx, args).await,
        Command::Graph(args) => graph::run(ctx, args).await,
        Command::New(args) => new::run(ctx, cwd, args),
        Command::Config => config::run(ctx),
        Command::Completions(args) => completions::run(args.shell, output),
        Command::Down(args) => down::run(ctx, args).await,
        Command::Baseline(args) => baseline::run(ctx, args).await,
        Command::Repair(args) => repair::run(ctx, args).await,
        Command::Verify(args) => verify::run(ctx, args).await,
        Command::Diff(args) => diff::run(ctx, args).await,
        Command::Dump(args) => dump::run(ctx, args).await,
    }
}
