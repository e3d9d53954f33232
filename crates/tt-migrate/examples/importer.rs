//! A small TinkerTools importer: brings the database up to date, then loads items and their
//! stats from CSV in one transaction, the way the real importer uses tt-migrate as a library.
//!
//! ```text
//! cargo run -p tt-migrate --example importer -- [--clear] [--version SLUG] [--database-url URL]
//! ```
//!
//! - The database is `--database-url`, else `DATABASE_URL`, else `sqlite://tinkertools.db`.
//! - The repository's `migrations/` are compiled in ([`tt_migrate::embed!`]): the program runs
//!   anywhere, without the directory.
//! - Without `--clear`, pending migrations are applied ([`Migrator::run`]) and the CSV rows
//!   are merged into what is there: items are matched by `aoid` and updated, stat values and
//!   item stats that exist are kept, so loading twice changes nothing.
//! - `--clear` resets first ([`Migrator::reset`]): the managed tables and all their rows are
//!   dropped and every migration runs again. Passing `--clear` is the confirmation: the
//!   importer runs in scripts and CI, so it never prompts. Tables tt does not manage survive,
//!   and a database marked with `tt protect` is refused (nothing is dropped).
//! - Both files are read before the database is touched, so a malformed row stops the
//!   import (and `--clear`) with its file, line and column. They then load in one
//!   transaction ([`Database::begin`], [`Database::commit`]): an item stat of an unknown item
//!   rolls everything back.
//!
//! - `--version SLUG` (PostgreSQL, MySQL) loads one game version into its own schema (a
//!   database on MySQL) named SLUG: the schema is created when missing and migrated through
//!   the fleet API ([`Fleet`] over a list of one [`Target`], [`Migrator::run_fleet`]), then
//!   loaded; other schemas are not touched.
//!
//! It prints one line per table: `loaded items: 20 rows (20 new)`.

use std::collections::HashMap;
use std::process::ExitCode;

use serde::Deserialize;
use tt_migrate::{
    Applied, ConnectOptions, Database, DiscoveryError, Event, Fleet, MigrationSet, Migrator,
    ResetOptions, Target, Value,
};

/// The items: `aoid,name,ql,item_class,description,is_nano` (empty fields are NULL).
pub(crate) const ITEMS_CSV: &str = include_str!("data/items.csv");
/// Their stats: `item_aoid,stat,value`.
pub(crate) const ITEM_STATS_CSV: &str = include_str!("data/item_stats.csv");
/// The database when neither `--database-url` nor `DATABASE_URL` names one, as for `tt`.
const DEFAULT_URL: &str = "sqlite://tinkertools.db";

const USAGE: &str = "usage: importer [--clear] [--version SLUG] [--database-url URL]

Loads the bundled items.csv and item_stats.csv in one transaction, after applying pending
migrations (or, with --clear, after dropping the managed tables and migrating from scratch).

  --clear             reset the database first (destroys the managed tables' data)
  --version SLUG      load into the schema (MySQL: database) SLUG, created and migrated first
  --database-url URL  the database (default: DATABASE_URL, else sqlite://tinkertools.db)";

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let url = options
        .database_url
        .or_else(|| std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| DEFAULT_URL.to_string());
    let imported = match &options.version {
        Some(slug) => import_version(&url, slug, ITEMS_CSV, ITEM_STATS_CSV).await,
        None => import(&url, options.clear, ITEMS_CSV, ITEM_STATS_CSV).await,
    };
    match imported {
        Ok(report) => {
            for line in report.lines() {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            // The error, then each cause it carries: tt's errors do not repeat their causes.
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(": ");
                message.push_str(&cause.to_string());
                source = cause.source();
            }
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) clear: bool,
    pub(crate) database_url: Option<String>,
    /// `--version SLUG`: the schema to load into.
    pub(crate) version: Option<String>,
}

/// The options, `None` for `--help`, or what is wrong with the arguments.
pub(crate) fn parse_args(
    args: impl IntoIterator<Item = String>,
) -> Result<Option<Options>, String> {
    let mut options = Options {
        clear: false,
        database_url: None,
        version: None,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--clear" => options.clear = true,
            "--database-url" => {
                let url = args.next().ok_or("--database-url needs a URL")?;
                options.database_url = Some(url);
            }
            "--version" => {
                let slug = args.next().ok_or("--version needs a slug")?;
                let valid =
                    !slug.is_empty() && slug.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(format!(
                        "--version `{slug}`: a slug is letters, digits and `_` (it names a schema)"
                    ));
                }
                options.version = Some(slug);
            }
            "-h" | "--help" => return Ok(None),
            other => match other.strip_prefix("--database-url=") {
                Some(url) => options.database_url = Some(url.to_string()),
                None => return Err(format!("unexpected argument `{other}`")),
            },
        }
    }
    if options.clear && options.version.is_some() {
        return Err(
            "--clear and --version do not go together: a version loads into its own schema".into(),
        );
    }
    Ok(Some(options))
}

/// The TinkerTools migrations, compiled into the program.
fn migrations() -> Result<MigrationSet, DiscoveryError> {
    tt_migrate::embed!("$CARGO_MANIFEST_DIR/../../migrations")
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImportError {
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    #[error(transparent)]
    Database(#[from] tt_migrate::Error),
    #[error("migrating failed")]
    Run(#[from] tt_migrate::RunError),
    #[error("--clear failed")]
    Reset(#[from] tt_migrate::ResetError),
    #[error("--clear left managed tables missing: {}", .0.join(", "))]
    Incomplete(Vec<String>),
    #[error("{file} line {line}: {problem}")]
    Csv {
        file: &'static str,
        line: u64,
        problem: String,
    },
    #[error("a row just written to {table} could not be read back")]
    NotReadBack { table: &'static str },
    #[error("{file} line {line}: no item with aoid {aoid} in items.csv or the database")]
    UnknownItem {
        file: &'static str,
        line: u64,
        aoid: i64,
    },
}

/// What an import did.
#[derive(Debug)]
pub(crate) struct ImportReport {
    /// The database, password redacted.
    database: String,
    /// With `--clear`: how many tables the reset dropped.
    dropped: Option<usize>,
    /// Migrations applied (all of them after a reset).
    pub(crate) applied: Vec<Applied>,
    /// Rows loaded per table.
    loaded: LoadReport,
}

impl ImportReport {
    /// The report as printed.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!("importing into {}", self.database)];
        if let Some(dropped) = self.dropped {
            lines.push(format!(
                "cleared: dropped {dropped} tables, migrating from scratch"
            ));
        }
        lines.extend(
            self.applied
                .iter()
                .map(|a| format!("applied {} {}", a.version, a.name)),
        );
        if self.applied.is_empty() {
            lines.push("migrations up to date".to_string());
        }
        for table in [
            &self.loaded.items,
            &self.loaded.stat_values,
            &self.loaded.item_stats,
        ] {
            lines.push(format!(
                "loaded {}: {} rows ({} new)",
                table.table, table.rows, table.new
            ));
        }
        lines
    }
}

/// Rows of one table the load wrote or found already there.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Loaded {
    table: &'static str,
    /// Rows of the CSV this table received (distinct stat values for `stat_values`).
    rows: usize,
    /// How many of them were inserted rather than already there.
    new: usize,
}

/// What [`load`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LoadReport {
    items: Loaded,
    stat_values: Loaded,
    item_stats: Loaded,
}

/// Connects to `url`, clears or migrates it, and loads the two CSV texts.
pub(crate) async fn import(
    url: &str,
    clear: bool,
    items_csv: &str,
    item_stats_csv: &str,
) -> Result<ImportReport, ImportError> {
    // Bad input stops the import before the database is touched (and, with --clear, cleared).
    let rows = Rows::parse(items_csv, item_stats_csv)?;
    let set = migrations()?;
    let mut db = Database::connect(url, ConnectOptions::default()).await?;
    let migrator = Migrator::new(set.as_slice());
    let mut no_events = |_: Event<'_>| {};
    let (dropped, applied) = if clear {
        // `--clear` is the user's explicit request, so no prompt; ResetOptions::default()
        // still refuses a protected database.
        let report = migrator
            .reset(&mut db, ResetOptions::default(), &mut no_events)
            .await?;
        if !report.missing_tables.is_empty() {
            return Err(ImportError::Incomplete(report.missing_tables));
        }
        (Some(report.dropped.dropped.len()), report.applied)
    } else {
        (None, migrator.run(&mut db, &mut no_events).await?.applied)
    };
    let loaded = load(&mut db, &rows).await?;
    let database = db.redacted_url().to_string();
    db.close().await?;
    Ok(ImportReport {
        database,
        dropped,
        applied,
        loaded,
    })
}

/// Loads the two CSV texts into the schema `slug` of the server `url` (a database on MySQL),
/// creating and migrating it first: one game version per schema.
pub(crate) async fn import_version(
    url: &str,
    slug: &str,
    items_csv: &str,
    item_stats_csv: &str,
) -> Result<ImportReport, ImportError> {
    let rows = Rows::parse(items_csv, item_stats_csv)?;
    let set = migrations()?;
    let targets = [Target::in_schema(url, slug)];
    // The fleet API over a list of one: a version importer that loads several versions at
    // once would list them all and raise `jobs`.
    let fleet = Fleet::new(&targets, ConnectOptions::default()).create_schemas(true);
    let migrator = Migrator::new(set.as_slice());
    let mut runs = migrator.run_fleet(&fleet, &|_, _| {}).await;
    let applied = match runs.pop().and_then(|run| run.result) {
        Some(result) => result?.applied,
        None => Vec::new(),
    };
    let mut db = fleet.connect(&targets[0]).await?;
    let loaded = load(&mut db, &rows).await?;
    let database = format!("{} (schema {slug})", db.redacted_url());
    db.close().await?;
    Ok(ImportReport {
        database,
        dropped: None,
        applied,
        loaded,
    })
}

/// A row of items.csv.
#[derive(Debug, Deserialize)]
struct ItemRow {
    aoid: i64,
    name: String,
    ql: i64,
    item_class: Option<i64>,
    description: Option<String>,
    is_nano: bool,
}

/// A row of item_stats.csv.
#[derive(Debug, Deserialize)]
struct ItemStatRow {
    item_aoid: i64,
    stat: i64,
    value: i64,
}

/// Reads every row of a CSV text with the line it starts on; the first bad row stops it.
fn read_csv<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<Vec<(u64, T)>, ImportError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| csv_error(file, &error, None))?
        .clone();
    reader
        .records()
        .map(|record| {
            let record = record.map_err(|error| csv_error(file, &error, Some(&headers)))?;
            let line = record.position().map_or(0, csv::Position::line);
            let row = record
                .deserialize(Some(&headers))
                .map_err(|error| csv_error(file, &error, Some(&headers)))?;
            Ok((line, row))
        })
        .collect()
}

/// A CSV error as `file line N: column name: what`, naming the column by its header.
fn csv_error(
    file: &'static str,
    error: &csv::Error,
    headers: Option<&csv::StringRecord>,
) -> ImportError {
    let line = error.position().map_or(0, csv::Position::line);
    let problem = match error.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let column = err
                .field()
                .and_then(|i| headers?.get(usize::try_from(i).ok()?));
            match column {
                Some(column) => format!("column {column}: {}", err.kind()),
                None => err.kind().to_string(),
            }
        }
        _ => error.to_string(),
    };
    ImportError::Csv {
        file,
        line,
        problem,
    }
}

/// The rows of both files, each with the line it starts on.
#[derive(Debug)]
struct Rows {
    items: Vec<(u64, ItemRow)>,
    item_stats: Vec<(u64, ItemStatRow)>,
}

impl Rows {
    /// Reads both CSV texts; the first bad row stops it.
    fn parse(items_csv: &str, item_stats_csv: &str) -> Result<Self, ImportError> {
        Ok(Self {
            items: read_csv("items.csv", items_csv)?,
            item_stats: read_csv("item_stats.csv", item_stats_csv)?,
        })
    }
}

/// Loads items, then stat values and the item stats that link them, in one transaction:
/// all of it or, on any error, none of it.
async fn load(db: &mut Database, rows: &Rows) -> Result<LoadReport, ImportError> {
    db.begin().await?;
    match load_rows(db, &rows.items, &rows.item_stats).await {
        Ok(report) => {
            db.commit().await?;
            Ok(report)
        }
        Err(error) => {
            // The load's error is what matters; a failed rollback ends the transaction anyway.
            let _ = db.rollback().await;
            Err(error)
        }
    }
}

async fn load_rows(
    db: &mut Database,
    items: &[(u64, ItemRow)],
    item_stats: &[(u64, ItemStatRow)],
) -> Result<LoadReport, ImportError> {
    let mut report = LoadReport {
        items: Loaded {
            table: "items",
            rows: 0,
            new: 0,
        },
        stat_values: Loaded {
            table: "stat_values",
            rows: 0,
            new: 0,
        },
        item_stats: Loaded {
            table: "item_stats",
            rows: 0,
            new: 0,
        },
    };

    // Items: update by aoid, insert when there is none (the same statement shape works on
    // every backend, unlike ON CONFLICT / ON DUPLICATE KEY).
    let mut item_ids: HashMap<i64, i64> = HashMap::new();
    for (_, item) in items {
        let params = [
            item.name.as_str().into(),
            item.ql.into(),
            item.item_class.into(),
            item.description.as_deref().into(),
            item.is_nano.into(),
            item.aoid.into(),
        ];
        let updated = db
            .exec(
                "UPDATE items SET name = ?, ql = ?, item_class = ?, description = ?, is_nano = ? \
                 WHERE aoid = ?",
                &params,
            )
            .await?;
        if updated == 0 {
            db.exec(
                "INSERT INTO items (name, ql, item_class, description, is_nano, aoid) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                &params,
            )
            .await?;
            report.items.new += 1;
        }
        report.items.rows += 1;
        let id = id_of(
            db,
            "SELECT id FROM items WHERE aoid = ?",
            &[item.aoid.into()],
        )
        .await?
        .ok_or(ImportError::NotReadBack { table: "items" })?;
        item_ids.insert(item.aoid, id);
    }

    // Stat values are shared (unique by stat and value); item stats link items to them.
    let mut stat_value_ids: HashMap<(i64, i64), i64> = HashMap::new();
    for (line, row) in item_stats {
        let item_id = match item_ids.get(&row.item_aoid) {
            Some(id) => *id,
            None => id_of(
                db,
                "SELECT id FROM items WHERE aoid = ?",
                &[row.item_aoid.into()],
            )
            .await?
            .ok_or(ImportError::UnknownItem {
                file: "item_stats.csv",
                line: *line,
                aoid: row.item_aoid,
            })?,
        };
        let key = (row.stat, row.value);
        let stat_value_id = match stat_value_ids.get(&key) {
            Some(id) => *id,
            None => {
                let find = "SELECT id FROM stat_values WHERE stat = ? AND value = ?";
                let params = [row.stat.into(), row.value.into()];
                let id = match id_of(db, find, &params).await? {
                    Some(id) => id,
                    None => {
                        db.exec(
                            "INSERT INTO stat_values (stat, value) VALUES (?, ?)",
                            &params,
                        )
                        .await?;
                        report.stat_values.new += 1;
                        id_of(db, find, &params)
                            .await?
                            .ok_or(ImportError::NotReadBack {
                                table: "stat_values",
                            })?
                    }
                };
                report.stat_values.rows += 1;
                stat_value_ids.insert(key, id);
                id
            }
        };
        let link = [item_id.into(), stat_value_id.into()];
        let linked = db
            .fetch(
                "SELECT 1 FROM item_stats WHERE item_id = ? AND stat_value_id = ?",
                &link,
            )
            .await?;
        if linked.is_empty() {
            db.exec(
                "INSERT INTO item_stats (item_id, stat_value_id) VALUES (?, ?)",
                &link,
            )
            .await?;
            report.item_stats.new += 1;
        }
        report.item_stats.rows += 1;
    }
    Ok(report)
}

/// The integer in the first column of the first row, if there is a row.
async fn id_of(db: &mut Database, sql: &str, params: &[Value]) -> Result<Option<i64>, ImportError> {
    let rows = db.fetch(sql, params).await?;
    Ok(rows
        .first()
        .and_then(|row| row.first())
        .and_then(Value::as_i64))
}
