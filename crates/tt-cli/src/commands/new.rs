//! `tt new`: create the next numbered migration file(s), with a header, in the directory's
//! numbering convention.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use tt_migrate::{DiscoveryError, MigrationSet, Version};
use tt_schema::Backend;

use crate::cli::NewArgs;
use crate::commands::Context;
use crate::exit::Exit;
use crate::output::{GOOD, paint};

/// Versions this long are timestamps (YYYYMMDDHHMMSS), and the next one is the current time.
const TIMESTAMP_DIGITS: usize = 14;

/// One file `tt new` writes.
#[derive(Debug, Serialize)]
struct NewFile {
    path: PathBuf,
    #[serde(skip)]
    text: String,
    kind: &'static str,
    backend: Option<Backend>,
    down: bool,
}

/// The JSON document of `tt new`.
#[derive(Debug, Serialize)]
struct NewDocument<'a> {
    files: &'a [NewFile],
    name: &'a str,
    version: &'a Version,
}

pub(crate) fn run(ctx: &Context, cwd: &Path, args: NewArgs) -> Result<Exit> {
    let dir = &ctx.config.migrations_dir.value;
    let existing: Vec<Version> = match MigrationSet::load(dir) {
        Ok(set) => set.iter().map(|m| m.version.clone()).collect(),
        Err(DiscoveryError::DirectoryMissing { .. } | DiscoveryError::NoMigrations { .. }) => {
            Vec::new()
        }
        Err(error) => {
            return Err(anyhow::Error::new(error).context(format!(
                "{}: cannot add a migration until these problems are fixed",
                dir.display()
            )));
        }
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let version = next_version(existing.iter().max(), args.timestamp, &utc_timestamp(now))?;
    let files = files(dir, &version, &args, &utc_timestamp(now));

    // Refuse before writing anything, so that a clash leaves no half-made migration.
    for file in &files {
        if file.path.exists() {
            bail!(
                "{} already exists; nothing was written",
                file.path.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let mut written: Vec<&Path> = Vec::new();
    for file in &files {
        if let Err(error) = write_new(&file.path, &file.text) {
            for path in written {
                let _ = std::fs::remove_file(path);
            }
            return Err(error);
        }
        written.push(&file.path);
    }

    let out = ctx.output;
    out.json(&NewDocument {
        files: &files,
        name: &args.name,
        version: &version,
    })?;
    for file in &files {
        let shown = file.path.strip_prefix(cwd).unwrap_or(&file.path);
        out.line(format!("{} {}", paint(GOOD, "created"), shown.display()));
    }
    Ok(Exit::Success)
}

/// Writes `text` to a file that must not exist yet (checked again here: another `tt new` may
/// have raced this one).
fn write_new(path: &Path, text: &str) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("could not create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("could not write {}", path.display()))
}

/// The version after `latest` in the directory's convention: the same zero-padded width
/// (`004` → `005`, `099` → `100`), the current UTC time where versions are timestamps (or
/// when asked), `001` in an empty directory.
fn next_version(latest: Option<&Version>, timestamp: bool, now: &str) -> Result<Version> {
    let after = |latest: &Version, width: usize| -> Result<Version> {
        let next = latest
            .as_str()
            .parse::<u128>()
            .ok()
            .and_then(|n| n.checked_add(1));
        match next {
            Some(next) => Ok(Version::new(format!("{next:0width$}"))?),
            None => bail!("cannot number a migration after version {latest}"),
        }
    };
    let now = Version::new(now)?;
    match latest {
        None if timestamp => Ok(now),
        None => Ok(Version::new("001")?),
        Some(latest) if timestamp || latest.as_str().len() == TIMESTAMP_DIGITS => {
            // A clock behind the latest version (or two files in one second) still moves on.
            if &now > latest {
                Ok(now)
            } else {
                after(latest, TIMESTAMP_DIGITS)
            }
        }
        Some(latest) => after(latest, latest.as_str().len()),
    }
}

/// The files for `args`, with their headers.
fn files(dir: &Path, version: &Version, args: &NewArgs, now: &str) -> Vec<NewFile> {
    let name = &args.name;
    let stem = format!("{version}_{name}");
    let date = format!(
        "{}-{}-{} {}:{} UTC",
        &now[0..4],
        &now[4..6],
        &now[6..8],
        &now[8..10],
        &now[10..12]
    );
    if args.toml {
        return vec![NewFile {
            path: dir.join(format!("{stem}.toml")),
            text: toml_template(version, name, &date),
            kind: "toml",
            backend: None,
            down: false,
        }];
    }
    let backends: Vec<Option<Backend>> = if args.backend.is_empty() {
        vec![None]
    } else {
        let mut backends: Vec<Backend> = args.backend.iter().map(|&b| b.into()).collect();
        backends.sort_by_key(|b| b.as_str());
        backends.dedup();
        backends.into_iter().map(Some).collect()
    };
    let mut files = Vec::new();
    for backend in backends {
        let suffix = backend.map(|b| format!(".{b}")).unwrap_or_default();
        let up = format!("{stem}{suffix}.sql");
        let what = match backend {
            Some(backend) => format!(
                "{} variant: runs instead of {stem}.sql on {}",
                title(backend),
                title(backend)
            ),
            None => "up".to_string(),
        };
        files.push(NewFile {
            path: dir.join(&up),
            text: format!(
                "-- {version} {name} ({what})\n\
                 -- Created by tt new on {date}.\n\
                 -- Statements end with `;`. The leading comment `-- tt:no-transaction` would run\n\
                 -- this file outside a transaction, one statement at a time.\n\n"
            ),
            kind: "sql",
            backend,
            down: false,
        });
        if args.down {
            files.push(NewFile {
                path: dir.join(format!("{stem}{suffix}.down.sql")),
                text: format!(
                    "-- {version} {name} (rollback of {up}, run by tt down)\n\
                     -- Created by tt new on {date}.\n\n"
                ),
                kind: "sql",
                backend,
                down: true,
            });
        }
    }
    files
}

fn toml_template(version: &Version, name: &str, date: &str) -> String {
    format!(
        "# {version} {name}: table definitions, rendered for the connected backend and created\n\
         # in foreign-key order; the rollback is derived. Created by tt new on {date}.\n\
         # Format: docs/table-definitions.md. For example:\n\
         #\n\
         # [tables.items]\n\
         # comment = \"Main items table\"\n\
         # columns = [\n\
         #   {{ name = \"id\", type = \"serial\", primary_key = true }},\n\
         #   {{ name = \"name\", type = \"varchar(128)\", nullable = false }},\n\
         # ]\n\
         # indexes = [{{ name = \"idx_items_name\", columns = [\"name\"] }}]\n"
    )
}

/// A backend's name as people write it.
fn title(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "PostgreSQL",
        Backend::Mysql => "MySQL",
        Backend::Sqlite => "SQLite",
    }
}

/// `secs` since the Unix epoch as `YYYYMMDDHHMMSS` in UTC.
fn utc_timestamp(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (Howard Hinnant's algorithm), for dates after 1970.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_civil_time() {
        let check = |secs: u64, expected: &str| assert_eq!(utc_timestamp(secs), expected);
        check(0, "19700101000000");
        check(951_782_400, "20000229000000");
        check(1_700_000_000, "20231114221320");
        check(4_102_444_799, "20991231235959");
        check(4_107_542_399, "21000228235959");
        check(1_709_251_199, "20240229235959");
    }

    #[test]
    fn the_next_version_follows_the_directory() {
        let now = "20240501120000";
        let check = |latest: Option<&str>, timestamp: bool, expected: &str| {
            let latest = latest.map(|v| Version::new(v).unwrap());
            let next = next_version(latest.as_ref(), timestamp, now).unwrap();
            assert_eq!(next.as_str(), expected, "{latest:?} {timestamp}");
        };
        check(None, false, "001");
        check(None, true, now);
        check(Some("000"), false, "001");
        check(Some("004"), false, "005");
        check(Some("099"), false, "100");
        check(Some("999"), false, "1000");
        check(Some("7"), false, "8");
        check(Some("0009"), false, "0010");
        check(Some("004"), true, now);
        check(Some("20240101000000"), false, now);
        check(Some("20240501120000"), false, "20240501120001");
        check(Some("20991231000000"), false, "20991231000001");
    }

    #[test]
    fn numbers_too_big_are_an_error() {
        let latest = Version::new("9".repeat(40)).unwrap();
        let err = next_version(Some(&latest), false, "20240501120000").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot number a migration after version 999")
        );
    }
}
