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
}

/// The configuration a command runs with.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Config {
    /// The `tt.toml` read, if any.
    pub(crate) file: Option<PathBuf>,
    pub(crate) database_url: Sourced<String>,
    pub(crate) migrations_dir: Sourced<PathBuf>,
    pub(crate) tracking_table: Sourced<String>,
    pub(crate) postgres_schema: Sourced<Option<String>>,
    pub(crate) essential_tables: Sourced<Vec<String>>,
    pub(crate) lock_timeout_secs: Sourced<f64>,
}

impl Config {
    /// Resolves the configuration from `cwd`, the process environment and `overrides`.
    ///
    /// Precedence (DESIGN.md): flag > environment > `.env` > `tt.toml` > default.
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
            Some(name) if name.trim().is_empty() => {
                bad_value(&file_path, "tracking_table", "must not be empty")?
            }
            Some(name) => Sourced::new(name, file_source()),
            None => Sourced::new(
                tt_migrate::DEFAULT_TRACKING_TABLE.to_string(),
                Source::Default,
            ),
        };
        let postgres_schema = match file.postgres_schema {
            Some(schema) if schema.trim().is_empty() => {
                bad_value(&file_path, "postgres_schema", "must not be empty")?
            }
            Some(schema) => Sourced::new(Some(schema), file_source()),
            None => Sourced::new(None, Source::Default),
        };
        let essential_tables = match file.essential_tables {
            Some(tables) => Sourced::new(tables, file_source()),
            None => Sourced::new(Vec::new(), Source::Default),
        };
        let lock_timeout_secs = if let Some(secs) = overrides.lock_timeout_secs {
            Sourced::new(secs, Source::Flag("--lock-timeout".into()))
        } else if let Some(secs) = file.lock_timeout_secs {
            if !(secs.is_finite() && secs >= 0.0) {
                bad_value(
                    &file_path,
                    "lock_timeout_secs",
                    "must be a number of seconds, 0 or more",
                )?
            } else {
                Sourced::new(secs, file_source())
            }
        } else {
            Sourced::new(
                tt_migrate::ConnectOptions::default()
                    .lock_timeout
                    .as_secs_f64(),
                Source::Default,
            )
        };

        Ok(Self {
            file: file_path,
            database_url,
            migrations_dir,
            tracking_table,
            postgres_schema,
            essential_tables,
            lock_timeout_secs,
        })
    }

    /// Options for connecting with this configuration.
    pub(crate) fn connect_options(&self) -> tt_migrate::ConnectOptions {
        tt_migrate::ConnectOptions {
            lock_timeout: Duration::from_secs_f64(self.lock_timeout_secs.value),
            postgres_schema: self.postgres_schema.value.clone(),
        }
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
        // Type errors point at the value: name the key the line sets.
        let key = text
            .lines()
            .nth(line - 1)
            .and_then(|l| l.split_once('='))
            .map(|(key, _)| key.trim())
            .filter(|key| !message.contains(key))
            .map(|key| format!(" (key `{key}`)"))
            .unwrap_or_default();
        anyhow::anyhow!("{}:{line}: {message}{key}", path.display())
    })
}

/// `DATABASE_URL` from a `.env` file, without touching the process environment.
fn read_dotenv_url(path: &Path) -> Result<Option<String>> {
    let entries = dotenvy::from_path_iter(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    for entry in entries {
        let (key, value) = entry.with_context(|| format!("{}: bad line", path.display()))?;
        if key == "DATABASE_URL" && !value.is_empty() {
            return Ok(Some(value));
        }
    }
    Ok(None)
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

    #[test]
    fn bad_config_names_file_and_key() {
        let check = |text: &str, expected: &[&str]| {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "tt.toml", text);
            let err = load(dir.path(), &Overrides::default(), &[])
                .unwrap_err()
                .to_string();
            assert!(err.contains("tt.toml"), "{err}");
            for part in expected {
                assert!(err.contains(part), "{err} should contain {part}");
            }
        };
        check("databse_url = \"x\"\n", &["databse_url", ":1"]);
        check("lock_timeout_secs = \"ten\"\n", &["lock_timeout_secs"]);
        check(
            "lock_timeout_secs = -1\n",
            &["lock_timeout_secs", "0 or more"],
        );
        check("tracking_table = \"\"\n", &["tracking_table", "empty"]);
        check("essential_tables = \"items\"\n", &["essential_tables"]);
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
    }
}
