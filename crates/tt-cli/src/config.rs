//! The effective configuration: flags, environment, `.env`, `tt.toml` and defaults, with the
//! source of every value.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The file tt looks for in the current directory and its parents.
pub(crate) const CONFIG_FILE: &str = "tt.toml";
/// The database used when nothing else is configured.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://tinkertools.db";

/// `tt.toml` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    database_url: Option<String>,
    migrations_dir: Option<PathBuf>,
    tracking_table: Option<String>,
    postgres_schema: Option<String>,
    essential_tables: Option<Vec<String>>,
    lock_timeout_secs: Option<f64>,
    connect_timeout_secs: Option<f64>,
    session_sql: Option<Vec<String>>,
    lock: Option<LockSetting>,
    jobs: Option<usize>,
}

/// The migration lock to take (`lock = "advisory" | "table"`), see docs/locking.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LockSetting {
    /// The server's own lock (the default; the table lock behind a transaction pooler).
    Advisory,
    /// A lease row in a table of tt's.
    Table,
}

impl LockSetting {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Advisory => "advisory",
            Self::Table => "table",
        }
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub(crate) enum Source {
    /// A command-line flag.
    Flag(String),
    /// An environment variable.
    Env(String),
    /// A `.env` file.
    DotEnv(PathBuf),
    /// A key of `tt.toml`.
    File(PathBuf),
    /// tt's default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(flag) => write!(f, "flag {flag}"),
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::DotEnv(path) => write!(f, "{}", path.display()),
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Sourced<T> {
    pub(crate) value: T,
    pub(crate) source: Source,
}

impl<T> Sourced<T> {
    fn new(value: T, source: Source) -> Self {
        Self { value, source }
    }
}

/// Configuration values given on the command line.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overrides {
    pub(crate) config: Option<PathBuf>,
    pub(crate) database_url: Option<String>,
    pub(crate) dir: Option<PathBuf>,
    pub(crate) lock_timeout_secs: Option<f64>,
    /// `--session-sql`, repeatable; replaces `session_sql` of tt.toml when given.
    pub(crate) session_sql: Vec<String>,
    pub(crate) connect_timeout_secs: Option<f64>,
    pub(crate) lock: Option<LockSetting>,
}

/// The configuration a command runs with (not `Serialize`: the URL may hold a password).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The `tt.toml` read, if any.
    pub(crate) file: Option<PathBuf>,
    pub(crate) database_url: Sourced<String>,
    pub(crate) migrations_dir: Sourced<PathBuf>,
    pub(crate) tracking_table: Sourced<String>,
    pub(crate) postgres_schema: Sourced<Option<String>>,
    pub(crate) essential_tables: Sourced<Vec<String>>,
    pub(crate) lock_timeout_secs: Sourced<f64>,
    /// Statements run on every connection tt opens.
    pub(crate) session_sql: Sourced<Vec<String>>,
    pub(crate) connect_timeout_secs: Sourced<f64>,
    /// `None`: the server's lock, or the table lock where a transaction pooler is detected.
    pub(crate) lock: Sourced<Option<LockSetting>>,
    /// How many migrations may run at the same time (`--jobs` overrides it per command).
    pub(crate) jobs: Sourced<usize>,
}

impl Config {
    /// Resolves the configuration from `cwd`, the process environment and `overrides`.
    ///
    /// Precedence (docs/user-guide.md): flag > environment > `.env` > `tt.toml` > default.
    pub(crate) fn load(cwd: &Path, overrides: &Overrides) -> Result<Self> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::load_with(cwd, overrides, &env)
    }

    fn load_with(
        cwd: &Path,
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let file_path = match &overrides.config {
            Some(path) => {
                let path = cwd.join(path);
                if path.is_dir() {
                    bail!("config file {} is a directory", path.display());
                }
                if !path.is_file() {
                    bail!("config file {} does not exist", path.display());
                }
                Some(path)
            }
            None => find_upwards(cwd, CONFIG_FILE),
        };
        let file = match &file_path {
            Some(path) => read_file(path)?,
            None => File::default(),
        };
        let file_source = || Source::File(file_path.clone().unwrap_or_default());
        let not_empty = |key: &str, value: &str| -> Result<()> {
            if value.trim().is_empty() {
                bad_value(&file_path, key, "must not be empty")?;
            }
            Ok(())
        };
        // Relative paths in tt.toml are relative to the file, not to where tt runs.
        let base = file_path
            .as_deref()
            .and_then(Path::parent)
            .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);

        let dotenv = find_upwards(cwd, ".env");
        let dotenv_url = match &dotenv {
            Some(path) => read_dotenv_url(path)?,
            None => None,
        };

        // A bad URL in tt.toml is an error even when something overrides it.
        if let Some(url) = &file.database_url {
            check_url(url, &file_source())?;
        }
        let database_url = if let Some(url) = &overrides.database_url {
            Sourced::new(url.clone(), Source::Flag("--database-url".into()))
        } else if let Some(url) = env("DATABASE_URL") {
            Sourced::new(url, Source::Env("DATABASE_URL".into()))
        } else if let (Some(url), Some(path)) = (dotenv_url, &dotenv) {
            Sourced::new(url, Source::DotEnv(path.clone()))
        } else if let Some(url) = file.database_url {
            Sourced::new(url, file_source())
        } else {
            Sourced::new(DEFAULT_DATABASE_URL.to_string(), Source::Default)
        };
        check_url(&database_url.value, &database_url.source)?;

        if let Some(dir) = &file.migrations_dir {
            not_empty("migrations_dir", &dir.to_string_lossy())?;
        }
        let migrations_dir = if let Some(dir) = &overrides.dir {
            Sourced::new(cwd.join(dir), Source::Flag("--dir".into()))
        } else if let Some(dir) = file.migrations_dir {
            Sourced::new(base.join(dir), file_source())
        } else {
            Sourced::new(base.join("migrations"), Source::Default)
        };

        // Paths under the working directory print shorter, as the user would type them.
        let migrations_dir = Sourced::new(
            relative_to(cwd, &migrations_dir.value),
            migrations_dir.source,
        );

        let tracking_table = match file.tracking_table {
            Some(name) => {
                not_empty("tracking_table", &name)?;
                Sourced::new(name, file_source())
            }
            None => Sourced::new(
                tt_migrate::DEFAULT_TRACKING_TABLE.to_string(),
                Source::Default,
            ),
        };
        let postgres_schema = match file.postgres_schema {
            Some(schema) => {
                not_empty("postgres_schema", &schema)?;
                Sourced::new(Some(schema), file_source())
            }
            None => Sourced::new(None, Source::Default),
        };
        let essential_tables = match file.essential_tables {
            Some(tables) => {
                for table in &tables {
                    not_empty("essential_tables", table)?;
                }
                Sourced::new(tables, file_source())
            }
            None => Sourced::new(Vec::new(), Source::Default),
        };
        let defaults = tt_migrate::ConnectOptions::default();
        let lock_timeout_secs = timeout(
            ("--lock-timeout", overrides.lock_timeout_secs),
            ("lock_timeout_secs", file.lock_timeout_secs),
            defaults.lock_timeout,
            tt_migrate::MAX_LOCK_TIMEOUT,
            &file_path,
        )?;
        let connect_timeout_secs = timeout(
            ("--connect-timeout", overrides.connect_timeout_secs),
            ("connect_timeout_secs", file.connect_timeout_secs),
            defaults.connect_timeout,
            MAX_TIMEOUT,
            &file_path,
        )?;

        if let Some(statements) = &file.session_sql {
            for sql in statements {
                not_empty("session_sql", sql)?;
            }
        }
        let session_sql = if !overrides.session_sql.is_empty() {
            Sourced::new(
                overrides.session_sql.clone(),
                Source::Flag("--session-sql".into()),
            )
        } else if let Some(statements) = file.session_sql {
            Sourced::new(statements, file_source())
        } else {
            Sourced::new(Vec::new(), Source::Default)
        };
        let lock = match (overrides.lock, file.lock) {
            (Some(lock), _) => Sourced::new(Some(lock), Source::Flag("--lock".into())),
            (None, Some(lock)) => Sourced::new(Some(lock), file_source()),
            (None, None) => Sourced::new(None, Source::Default),
        };

        let jobs = match file.jobs {
            Some(0) => bail!(
                "{}: `jobs` must be at least 1",
                file_path
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            Some(jobs) => Sourced::new(jobs, file_source()),
            None => Sourced::new(1, Source::Default),
        };

        Ok(Self {
            file: file_path,
            database_url,
            migrations_dir,
            tracking_table,
            postgres_schema,
            essential_tables,
            lock_timeout_secs,
            session_sql,
            connect_timeout_secs,
            lock,
            jobs,
        })
    }

    /// Options for connecting with this configuration.
    pub(crate) fn connect_options(&self) -> tt_migrate::ConnectOptions {
        tt_migrate::ConnectOptions {
            lock_timeout: Duration::from_secs_f64(self.lock_timeout_secs.value),
            postgres_schema: self.postgres_schema.value.clone(),
            session_sql: self.session_sql.value.clone(),
            connect_timeout: Duration::from_secs_f64(self.connect_timeout_secs.value),
            lock: self.lock.value.map(|lock| match lock {
                LockSetting::Advisory => tt_migrate::LockMode::Advisory,
                LockSetting::Table => tt_migrate::LockMode::Table,
            }),
            ..tt_migrate::ConnectOptions::default()
        }
    }

    /// How many migrations run at the same time: `--jobs` when given, else `jobs` of tt.toml.
    pub(crate) fn jobs(&self, flag: Option<usize>) -> usize {
        flag.unwrap_or(self.jobs.value)
    }

    /// The tracking table of this configuration.
    pub(crate) fn tracking(&self) -> tt_migrate::Tracking {
        tt_migrate::Tracking::new(self.tracking_table.value.clone())
    }
}

fn bad_value<T>(file: &Option<PathBuf>, key: &str, problem: &str) -> Result<T> {
    let file = file.as_deref().map(Path::display);
    match file {
        Some(file) => bail!("{file}: `{key}` {problem}"),
        None => bail!("`{key}` {problem}"),
    }
}

/// The longest timeout of any kind: small enough for a `Duration` (about 31 years).
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(1_000_000_000);

/// Whether `secs` is a usable timeout: finite, 0 or more, and at most `max`.
pub(crate) fn is_seconds(secs: f64, max: Duration) -> bool {
    secs.is_finite() && (0.0..=max.as_secs_f64()).contains(&secs)
}

/// What a timeout must be, for messages.
pub(crate) fn seconds_rule(max: Duration) -> String {
    format!("must be a number of seconds from 0 to {}", max.as_secs())
}

/// A timeout from its flag, else its key in tt.toml (checked even when the flag wins), else
/// the default.
fn timeout(
    (flag, flag_value): (&str, Option<f64>),
    (key, file_value): (&str, Option<f64>),
    default: Duration,
    max: Duration,
    file_path: &Option<PathBuf>,
) -> Result<Sourced<f64>> {
    if let Some(secs) = file_value
        && !is_seconds(secs, max)
    {
        bad_value(file_path, key, &seconds_rule(max))?;
    }
    Ok(if let Some(secs) = flag_value {
        if !is_seconds(secs, max) {
            bail!("{flag} {}", seconds_rule(max));
        }
        Sourced::new(secs, Source::Flag(flag.into()))
    } else if let Some(secs) = file_value {
        Sourced::new(secs, Source::File(file_path.clone().unwrap_or_default()))
    } else {
        Sourced::new(default.as_secs_f64(), Source::Default)
    })
}

/// Checks that `url` names a backend tt speaks, naming where the URL came from.
fn check_url(url: &str, source: &Source) -> Result<()> {
    match tt_migrate::backend_of_url(url) {
        Ok(_) => Ok(()),
        Err(error) => match source {
            Source::File(path) => bail!("{}: `database_url`: {error}", path.display()),
            Source::DotEnv(path) => bail!("{}: `DATABASE_URL`: {error}", path.display()),
            other => bail!("{other}: {error}"),
        },
    }
}

fn relative_to(base: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix(base) {
        Ok(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Ok(relative) => relative.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

fn find_upwards(start: &Path, name: &str) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn read_file(path: &Path) -> Result<File> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    toml::from_str(&text).map_err(|error| {
        let message = error.message().trim_end_matches('\n');
        let Some(span) = error.span() else {
            return anyhow::anyhow!("{}: {message}", path.display());
        };
        let line = text[..span.start].matches('\n').count() + 1;
        // Type errors point at the value: name the key being set, which for a value inside a
        // multi-line array is on an earlier line.
        let key = text[..span.start]
            .lines()
            .rev()
            .find_map(key_set_by)
            .filter(|key| !message.contains(key))
            .map(|key| format!(" (key `{key}`)"))
            .unwrap_or_default();
        anyhow::anyhow!("{}:{line}: {message}{key}", path.display())
    })
}

/// The key a TOML line sets (`key = value`), if it sets one.
fn key_set_by(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    bare.then_some(key)
}

/// `DATABASE_URL` from a `.env` file (the first one, as dotenvy loads it), without touching the
/// process environment. Every line must parse, as it must for the program that loads the file.
fn read_dotenv_url(path: &Path) -> Result<Option<String>> {
    let entries = dotenvy::from_path_iter(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    let mut url = None;
    for entry in entries {
        let (key, value) = match entry {
            Ok(entry) => entry,
            // The line is not repeated: it may hold a password.
            Err(dotenvy::Error::LineParse(line, _)) => {
                let number = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|text| text.find(&line).map(|at| line_of(&text, at)));
                match number {
                    Some(number) => bail!(
                        "{}:{number}: cannot parse this line (expected KEY=value)",
                        path.display()
                    ),
                    None => bail!(
                        "{}: cannot parse a line (expected KEY=value)",
                        path.display()
                    ),
                }
            }
            Err(error) => {
                return Err(error).with_context(|| format!("could not read {}", path.display()));
            }
        };
        if key == "DATABASE_URL" && !value.is_empty() && url.is_none() {
            url = Some(value);
        }
    }
    Ok(url)
}

/// The line (from 1) of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(dir: &Path, overrides: &Overrides, env: &[(&str, &str)]) -> Result<Config> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load_with(dir, overrides, &move |name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn url_precedence_is_flag_env_dotenv_file_default() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let none = Overrides::default();
        let config = load(root, &none, &[]).unwrap();
        assert_eq!(config.database_url.value, DEFAULT_DATABASE_URL);
        assert_eq!(config.database_url.source, Source::Default);

        write(
            root,
            "tt.toml",
            "database_url = \"sqlite://from-file.db\"\n",
        );
        let config = load(root, &none, &[]).unwrap();
        assert_eq!(config.database_url.value, "sqlite://from-file.db");
        assert_eq!(
            config.database_url.source,
            Source::File(root.join("tt.toml"))
        );

        write(
            root,
            ".env",
            "OTHER=1\nDATABASE_URL=sqlite://from-dotenv.db\n",
        );
        let config = load(root, &none, &[]).unwrap();
        assert_eq!(config.database_url.value, "sqlite://from-dotenv.db");
        assert_eq!(
            config.database_url.source,
            Source::DotEnv(root.join(".env"))
        );

        let config = load(root, &none, &[("DATABASE_URL", "sqlite://from-env.db")]).unwrap();
        assert_eq!(config.database_url.value, "sqlite://from-env.db");

        let flag = Overrides {
            database_url: Some("sqlite://from-flag.db".into()),
            ..Overrides::default()
        };
        let config = load(root, &flag, &[("DATABASE_URL", "sqlite://from-env.db")]).unwrap();
        assert_eq!(config.database_url.value, "sqlite://from-flag.db");
        assert_eq!(
            config.database_url.source,
            Source::Flag("--database-url".into())
        );
    }

    #[test]
    fn tt_toml_is_found_in_a_parent_and_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "tt.toml",
            "migrations_dir = \"db/migrations\"\ntracking_table = \"tt_history\"\n",
        );
        let nested = root.join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        let config = load(&nested, &Overrides::default(), &[]).unwrap();
        assert_eq!(config.file.as_deref(), Some(root.join("tt.toml").as_path()));
        assert_eq!(config.migrations_dir.value, root.join("db/migrations"));
        let here = load(root, &Overrides::default(), &[]).unwrap();
        assert_eq!(
            here.migrations_dir.value,
            Path::new("db/migrations"),
            "relative to cwd"
        );
        assert_eq!(config.tracking_table.value, "tt_history");
    }

    /// The error loading `tt.toml` holding `text` gives, with `root` for the temp dir's path.
    fn file_error(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "tt.toml", text);
        let err = load(dir.path(), &Overrides::default(), &[]).unwrap_err();
        format!("{err:#}").replace(&dir.path().display().to_string(), "<root>")
    }

    #[test]
    fn bad_config_names_file_and_key() {
        let check = |text: &str, expected: &str| assert_eq!(file_error(text), expected, "{text}");
        // Unknown keys, with where they are.
        check(
            "databse_url = \"x\"\n",
            "<root>/tt.toml:1: unknown field `databse_url`, expected one of `database_url`, \
             `migrations_dir`, `tracking_table`, `postgres_schema`, `essential_tables`, \
             `lock_timeout_secs`, `connect_timeout_secs`, `session_sql`, `lock`, `jobs`",
        );
        check(
            "[database]\nurl = \"sqlite://x.db\"\n",
            "<root>/tt.toml:1: unknown field `database`, expected one of `database_url`, \
             `migrations_dir`, `tracking_table`, `postgres_schema`, `essential_tables`, \
             `lock_timeout_secs`, `connect_timeout_secs`, `session_sql`, `lock`, `jobs`",
        );
        // Syntax.
        check(
            "database_url = \"sqlite://x.db\n",
            "<root>/tt.toml:1: invalid basic string, expected `\"` (key `database_url`)",
        );
        check(
            "tracking_table = \"a\"\ntracking_table = \"b\"\n",
            "<root>/tt.toml:2: duplicate key (key `tracking_table`)",
        );
        // Every key with a value of the wrong type.
        check(
            "database_url = 5\n",
            "<root>/tt.toml:1: invalid type: integer `5`, expected a string (key `database_url`)",
        );
        check(
            "migrations_dir = true\n",
            "<root>/tt.toml:1: invalid type: boolean `true`, expected path string (key `migrations_dir`)",
        );
        check(
            "tracking_table = [\"a\"]\n",
            "<root>/tt.toml:1: invalid type: sequence, expected a string (key `tracking_table`)",
        );
        check(
            "postgres_schema = 1.5\n",
            "<root>/tt.toml:1: invalid type: floating point `1.5`, expected a string (key `postgres_schema`)",
        );
        check(
            "essential_tables = \"items\"\n",
            "<root>/tt.toml:1: invalid type: string \"items\", expected a sequence (key `essential_tables`)",
        );
        check(
            "essential_tables = [\n  \"items\",\n  3,\n]\n",
            "<root>/tt.toml:3: invalid type: integer `3`, expected a string (key `essential_tables`)",
        );
        check(
            "lock = \"session\"\n",
            "<root>/tt.toml:1: unknown variant `session`, expected `advisory` or `table` (key `lock`)",
        );
        check(
            "lock_timeout_secs = \"ten\"\n",
            "<root>/tt.toml:1: invalid type: string \"ten\", expected f64 (key `lock_timeout_secs`)",
        );
        // Every key with a value of the right type that tt cannot use.
        check(
            "database_url = \"oracle://u:pw@db/x\"\n",
            "<root>/tt.toml: `database_url`: unsupported database url `oracle://u:***@db/x` \
             (expected sqlite://, postgres:// or mysql://)",
        );
        check(
            "migrations_dir = \"\"\n",
            "<root>/tt.toml: `migrations_dir` must not be empty",
        );
        check(
            "tracking_table = \" \"\n",
            "<root>/tt.toml: `tracking_table` must not be empty",
        );
        check(
            "postgres_schema = \"\"\n",
            "<root>/tt.toml: `postgres_schema` must not be empty",
        );
        check(
            "essential_tables = [\"items\", \"\"]\n",
            "<root>/tt.toml: `essential_tables` must not be empty",
        );
        check(
            "lock_timeout_secs = -1\n",
            "<root>/tt.toml: `lock_timeout_secs` must be a number of seconds from 0 to 2147483",
        );
        check(
            "lock_timeout_secs = nan\n",
            "<root>/tt.toml: `lock_timeout_secs` must be a number of seconds from 0 to 2147483",
        );
        check(
            "lock_timeout_secs = 1e300\n",
            "<root>/tt.toml: `lock_timeout_secs` must be a number of seconds from 0 to 2147483",
        );
    }

    #[test]
    fn good_values_of_every_key_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "tt.toml",
            "database_url = \"postgres://tt@db/items\"\nmigrations_dir = \"sql\"\n\
             tracking_table = \"tt_history\"\npostgres_schema = \"tinker\"\n\
             essential_tables = [\"items\", \"stats\"]\nlock_timeout_secs = 3\n",
        );
        let config = load(root, &Overrides::default(), &[]).unwrap();
        let file = Source::File(root.join("tt.toml"));
        assert_eq!(config.database_url.value, "postgres://tt@db/items");
        assert_eq!(config.migrations_dir.value, Path::new("sql"));
        assert_eq!(config.tracking_table.value, "tt_history");
        assert_eq!(config.postgres_schema.value.as_deref(), Some("tinker"));
        assert_eq!(config.essential_tables.value, ["items", "stats"]);
        assert_eq!(config.lock_timeout_secs.value, 3.0);
        for source in [
            &config.database_url.source,
            &config.migrations_dir.source,
            &config.tracking_table.source,
            &config.postgres_schema.source,
            &config.essential_tables.source,
            &config.lock_timeout_secs.source,
        ] {
            assert_eq!(source, &file);
        }
    }

    #[test]
    fn a_bad_url_names_where_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let none = Overrides::default();
        let err = |overrides: &Overrides, env: &[(&str, &str)]| {
            let err = load(root, overrides, env).unwrap_err();
            format!("{err:#}").replace(&root.display().to_string(), "<root>")
        };
        assert_eq!(
            err(&none, &[("DATABASE_URL", "db.sqlite")]),
            "environment variable DATABASE_URL: unsupported database url `db.sqlite` \
             (expected sqlite://, postgres:// or mysql://)"
        );
        let flag = Overrides {
            database_url: Some("http://u:secret@x".into()),
            ..Overrides::default()
        };
        assert_eq!(
            err(&flag, &[]),
            "flag --database-url: unsupported database url `http://u:***@x/` \
             (expected sqlite://, postgres:// or mysql://)"
        );
        write(root, ".env", "DATABASE_URL=oracle://x\n");
        assert_eq!(
            err(&none, &[]),
            "<root>/.env: `DATABASE_URL`: unsupported database url `oracle://x` \
             (expected sqlite://, postgres:// or mysql://)"
        );
    }

    #[test]
    fn dotenv_problems_name_the_file_and_line_but_not_the_value() {
        let check = |text: &str, expected: &str| {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), ".env", text);
            let err = load(dir.path(), &Overrides::default(), &[]).unwrap_err();
            let err = format!("{err:#}").replace(&dir.path().display().to_string(), "<root>");
            assert_eq!(err, expected, "{text}");
            assert!(!err.contains("secret"), "{err}");
        };
        check(
            "A=1\nDATABASE_URL='postgres://u:secret@h/db\n",
            "<root>/.env:2: cannot parse this line (expected KEY=value)",
        );
        check(
            "DATABASE_URL=sqlite://x.db\nnot a pair secret\n",
            "<root>/.env:2: cannot parse this line (expected KEY=value)",
        );
    }

    #[test]
    fn the_first_dotenv_url_wins_and_empty_values_are_skipped() {
        let check = |text: &str, expected: &str| {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), ".env", text);
            let config = load(dir.path(), &Overrides::default(), &[]).unwrap();
            assert_eq!(config.database_url.value, expected, "{text}");
        };
        check(
            "DATABASE_URL=sqlite://a.db\nDATABASE_URL=sqlite://b.db\n",
            "sqlite://a.db",
        );
        check(
            "DATABASE_URL=\nDATABASE_URL=sqlite://b.db\n",
            "sqlite://b.db",
        );
        check("# DATABASE_URL=sqlite://a.db\n", DEFAULT_DATABASE_URL);
        check("export DATABASE_URL=\"sqlite://q.db\"\n", "sqlite://q.db");
    }

    #[test]
    fn flags_beat_the_file_for_dir_and_lock_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "tt.toml",
            "migrations_dir = \"a\"\nlock_timeout_secs = 3\n",
        );
        let flags = Overrides {
            dir: Some("b".into()),
            lock_timeout_secs: Some(0.5),
            ..Overrides::default()
        };
        let config = load(root, &flags, &[]).unwrap();
        assert_eq!(config.migrations_dir.value, Path::new("b"));
        assert_eq!(config.migrations_dir.source, Source::Flag("--dir".into()));
        assert_eq!(config.lock_timeout_secs.value, 0.5);
        let bad = Overrides {
            lock_timeout_secs: Some(-2.0),
            ..Overrides::default()
        };
        let err = load(root, &bad, &[]).unwrap_err().to_string();
        assert_eq!(
            err,
            "--lock-timeout must be a number of seconds from 0 to 2147483"
        );
    }

    #[test]
    fn a_named_config_file_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            config: Some("nope.toml".into()),
            ..Overrides::default()
        };
        let err = load(dir.path(), &overrides, &[]).unwrap_err().to_string();
        assert!(
            err.contains("nope.toml") && err.contains("does not exist"),
            "{err}"
        );
        let overrides = Overrides {
            config: Some(".".into()),
            ..Overrides::default()
        };
        let err = load(dir.path(), &overrides, &[]).unwrap_err().to_string();
        assert!(err.ends_with("is a directory"), "{err}");
    }
}
