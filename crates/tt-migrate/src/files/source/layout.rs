//! Directory layouts: tt's own and those of sqlx, diesel, dbmate, Flyway, golang-migrate, goose
//! and Prisma Migrate, read as they are.

use std::fmt;
use std::fs;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tt_schema::Backend;

use crate::files::migration::{FileKind, Version};

/// How a migrations directory names its files: tt's own layout or another tool's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `NNN_name.sql`, `NNN_name.down.sql`, `NNN_name.<backend>.sql`, `NNN_name.toml`.
    Native,
    /// sqlx: `<version>_<description>.sql`, or `.up.sql` and `.down.sql`.
    Sqlx,
    /// diesel: a directory `<version>_<name>/` holding `up.sql` and `down.sql`.
    Diesel,
    /// dbmate: `<version>_<name>.sql` with `-- migrate:up` and `-- migrate:down` sections.
    Dbmate,
    /// Flyway: `V<version>__<description>.sql`, `U<version>__…` undo, `R__…` repeatable.
    Flyway,
    /// golang-migrate: `<version>_<title>.up.sql` and `.down.sql`.
    #[serde(rename = "golang-migrate")]
    GolangMigrate,
    /// goose: `<version>_<name>.sql` with `-- +goose Up` and `-- +goose Down` sections.
    Goose,
    /// Prisma Migrate: a directory `<timestamp>_<name>/` holding `migration.sql`.
    Prisma,
}

impl Layout {
    /// Every layout, tt's own first.
    pub const ALL: [Layout; 8] = [
        Layout::Native,
        Layout::Sqlx,
        Layout::Diesel,
        Layout::Dbmate,
        Layout::Flyway,
        Layout::GolangMigrate,
        Layout::Goose,
        Layout::Prisma,
    ];

    /// The layout's name as the `--layout` option spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Native => "native",
            Layout::Sqlx => "sqlx",
            Layout::Diesel => "diesel",
            Layout::Dbmate => "dbmate",
            Layout::Flyway => "flyway",
            Layout::GolangMigrate => "golang-migrate",
            Layout::Goose => "goose",
            Layout::Prisma => "prisma",
        }
    }

    /// Whether the layout keeps each migration in its own directory (diesel, Prisma).
    pub(crate) fn has_directories(self) -> bool {
        matches!(self, Layout::Diesel | Layout::Prisma)
    }

    /// Whether one file holds both the up and the down section (dbmate, goose).
    pub(crate) fn has_sections(self) -> bool {
        matches!(self, Layout::Dbmate | Layout::Goose)
    }

    /// A file name of this layout, for messages.
    pub(crate) fn example(self) -> &'static str {
        match self {
            Layout::Native => "001_create_items.sql",
            Layout::Sqlx => "20240101120000_create_items.up.sql",
            Layout::Diesel => "2024-01-01-120000_create_items/up.sql",
            Layout::Dbmate => "20240101120000_create_items.sql",
            Layout::Flyway => "V1__create_items.sql, U1__create_items.sql or R__views.sql",
            Layout::GolangMigrate => "000001_create_items.up.sql and 000001_create_items.down.sql",
            Layout::Goose => "20240101120000_create_items.sql",
            Layout::Prisma => "20240101120000_create_items/migration.sql",
        }
    }

    /// Guesses the layout of `dir` from its names (and, for dbmate and goose, the first lines
    /// of its files): diesel when a subdirectory holds `up.sql`, Prisma when one holds
    /// `migration.sql` (or `migration_lock.toml` is there), Flyway when a file is named like
    /// `V1__x.sql` or `R__x.sql`; with `.up.sql` files, golang-migrate when every `.sql` file
    /// is an `.up.sql` or `.down.sql` and a version is not a 14-digit timestamp (its `create`
    /// writes `000001` or a Unix time), sqlx otherwise; goose when a `.sql` file has a
    /// `-- +goose Up` line, dbmate when one has `-- migrate:up` (the first file by name with
    /// an up marker in its first 64 KiB decides); tt's own layout otherwise. A directory that
    /// cannot be read is native (loading it then reports why).
    pub fn detect(dir: &Path) -> Layout {
        match Self::detect_by_names(dir) {
            ByNames::Layout(layout) => layout,
            ByNames::Undecided(sql) => sql
                .iter()
                .find_map(|path| first_section_marker(path))
                .unwrap_or(Layout::Native),
        }
    }

    /// The layout of `dir` where its names tell it (see [`Layout::detect`]).
    pub(super) fn detect_by_names(dir: &Path) -> ByNames {
        let Ok(read) = fs::read_dir(dir) else {
            return ByNames::Layout(Layout::Native);
        };
        let mut files = Vec::new();
        let (mut diesel, mut prisma) = (false, false);
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if ignored(&name) {
                continue;
            }
            // The entry's own type costs no system call; a symlink is followed.
            let is_dir = match entry.file_type() {
                Ok(kind) if kind.is_symlink() => path.is_dir(),
                Ok(kind) => kind.is_dir(),
                Err(_) => false,
            };
            if is_dir {
                diesel |= path.join("up.sql").is_file();
                prisma |= path.join("migration.sql").is_file();
            } else {
                prisma |= name == PRISMA_LOCK;
                files.push((name, path));
            }
        }
        if diesel {
            return ByNames::Layout(Layout::Diesel);
        }
        if prisma {
            return ByNames::Layout(Layout::Prisma);
        }
        if files.iter().any(|(name, _)| looks_like_flyway(name)) {
            return ByNames::Layout(Layout::Flyway);
        }
        files.retain(|(name, _)| name.ends_with(".sql"));
        if files.iter().any(|(name, _)| name.ends_with(".up.sql")) {
            let paired = files
                .iter()
                .all(|(name, _)| name.ends_with(".up.sql") || name.ends_with(".down.sql"));
            let timestamps = files.iter().all(|(name, _)| {
                let digits = name.bytes().take_while(u8::is_ascii_digit).count();
                digits == 14 && name.as_bytes().get(digits) == Some(&b'_')
            });
            return ByNames::Layout(if paired && !timestamps {
                Layout::GolangMigrate
            } else {
                Layout::Sqlx
            });
        }
        files.sort();
        ByNames::Undecided(files.into_iter().map(|(_, path)| path).collect())
    }
}

/// What the names in a directory tell of its layout.
pub(super) enum ByNames {
    /// The layout (tt's own for a directory that cannot be read: loading it reports why).
    Layout(Layout),
    /// tt's own, dbmate or goose: the first up marker in these `.sql` files, sorted, tells.
    Undecided(Vec<PathBuf>),
}

/// Prisma's file naming the provider, beside the migration directories.
pub(super) const PRISMA_LOCK: &str = "migration_lock.toml";

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown layout `{0}` (expected native, sqlx, diesel, dbmate, flyway, golang-migrate, goose \
     or prisma)"
)]
pub struct UnknownLayout(pub String);

impl FromStr for Layout {
    type Err = UnknownLayout;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Layout::ALL
            .into_iter()
            .find(|layout| layout.as_str() == text)
            .ok_or_else(|| UnknownLayout(text.to_string()))
    }
}

fn looks_like_flyway(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".sql") else {
        return false;
    };
    match stem.as_bytes() {
        [b'V' | b'U', digit, ..] if digit.is_ascii_digit() => stem.contains("__"),
        [b'R', b'_', b'_', ..] => true,
        _ => false,
    }
}

/// How far into a file [`Layout::detect`] looks for a dbmate or goose up marker.
pub(super) const MARKER_SNIFF_BYTES: u64 = 64 * 1024;

/// The layout (dbmate or goose) whose up marker is the first in the first
/// [`MARKER_SNIFF_BYTES`] of `path`.
pub(super) fn first_section_marker(path: &Path) -> Option<Layout> {
    let file = fs::File::open(path).ok()?;
    io::BufReader::new(file.take(MARKER_SNIFF_BYTES))
        .split(b'\n')
        .map_while(Result::ok)
        .find_map(|line| up_section_marker(&line))
}

/// The layout (dbmate or goose) whose up-section marker `line` is.
pub(super) fn up_section_marker(line: &[u8]) -> Option<Layout> {
    [Layout::Dbmate, Layout::Goose].into_iter().find(|&layout| {
        matches!(
            section_marker(layout, line),
            Some(Marker::Section(Direction::Up, _))
        )
    })
}

/// A line that structures a file of sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Marker {
    /// A section begins: its direction and whether it turns the transaction off (dbmate's
    /// `transaction:false`).
    Section(Direction, bool),
    /// goose's `-- +goose NO TRANSACTION`: the whole file runs outside a transaction.
    NoTransaction,
}

/// The marker `line` is in the files of `layout` (dbmate: `-- migrate:up transaction:false`;
/// goose: `-- +goose Up`, `-- +goose Down`, `-- +goose NO TRANSACTION`, any case).
pub(super) fn section_marker(layout: Layout, line: &[u8]) -> Option<Marker> {
    let text = std::str::from_utf8(line).ok()?.trim();
    let rest = text.strip_prefix("--")?.trim_start();
    match layout {
        Layout::Dbmate => {
            let rest = rest.strip_prefix("migrate:")?;
            let (direction, options) = if let Some(options) = rest.strip_prefix("up") {
                (Direction::Up, options)
            } else if let Some(options) = rest.strip_prefix("down") {
                (Direction::Down, options)
            } else {
                return None;
            };
            if !(options.is_empty() || options.starts_with(char::is_whitespace)) {
                return None;
            }
            let no_transaction = options
                .split_whitespace()
                .any(|option| option == "transaction:false");
            Some(Marker::Section(direction, no_transaction))
        }
        Layout::Goose => {
            let command = rest.strip_prefix("+goose")?;
            if !command.starts_with(char::is_whitespace) {
                return None;
            }
            let words: Vec<String> = command
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .collect();
            match words
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice()
            {
                ["up"] => Some(Marker::Section(Direction::Up, false)),
                ["down"] => Some(Marker::Section(Direction::Down, false)),
                ["no", "transaction"] => Some(Marker::NoTransaction),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Another tool's up or down marker on a line: that tool's name and, where tt reads its
/// layout, the layout. A file carrying one must never run whole: its down would run right
/// after its up.
pub(super) fn tool_marker(line: &[u8]) -> Option<(&'static str, Option<Layout>)> {
    for layout in [Layout::Dbmate, Layout::Goose] {
        if let Some(Marker::Section(..)) = section_marker(layout, line) {
            return Some((layout.as_str(), Some(layout)));
        }
    }
    // sql-migrate: `-- +migrate Up`, `-- +migrate Down [notransaction]`.
    let text = std::str::from_utf8(line).ok()?.trim();
    let rest = text.strip_prefix("--")?.trim_start();
    let command = rest.strip_prefix("+migrate")?;
    let word = command.split_whitespace().next()?;
    (command.starts_with(char::is_whitespace)
        && (word.eq_ignore_ascii_case("up") || word.eq_ignore_ascii_case("down")))
    .then_some(("sql-migrate", None))
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Direction {
    Up,
    Down,
}

/// What a file name says, whatever the layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileName {
    pub(super) version: Version,
    pub(super) name: String,
    pub(super) direction: Direction,
    pub(super) backend: Option<Backend>,
    pub(super) kind: FileKind,
}

/// Why a file name does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum NameError {
    NoVersion,
    UnknownBackend(String),
    UnexpectedSuffix(String),
    TomlSuffix(String),
    /// Not a name of the (non-native) layout.
    NotLayoutName,
}

/// Files that are never migrations, whatever the layout.
pub(super) fn ignored(file_name: &str) -> bool {
    file_name.starts_with('.') || file_name.starts_with("README") || file_name.ends_with(".md")
}

/// Parses a file name (`dir/file` for diesel) of `layout`: `Ok(None)` for files that are not
/// migrations.
pub(super) fn parse_name(layout: Layout, file_name: &str) -> Result<Option<FileName>, NameError> {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    if ignored(base) || file_name.starts_with('.') {
        return Ok(None);
    }
    match layout {
        Layout::Native => parse_native(file_name),
        Layout::Sqlx => parse_sqlx(file_name),
        Layout::Diesel => parse_diesel(file_name),
        Layout::Dbmate => parse_dbmate(file_name),
        Layout::Flyway => parse_flyway(file_name),
        Layout::GolangMigrate => parse_golang_migrate(file_name),
        // goose names its files as dbmate does; the sections inside differ.
        Layout::Goose => parse_dbmate(file_name),
        Layout::Prisma => parse_prisma(file_name),
    }
}

/// `<digits>_<rest>` split into a version and the rest, which must not be empty.
fn version_prefix(stem: &str) -> Result<(Version, &str), NameError> {
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    let (version, rest) = stem.split_at(digits);
    let rest = rest.strip_prefix('_').ok_or(NameError::NotLayoutName)?;
    let version = Version::new(version).map_err(|_| NameError::NotLayoutName)?;
    if rest.is_empty() {
        return Err(NameError::NotLayoutName);
    }
    Ok((version, rest))
}

fn sql(version: Version, name: &str, direction: Direction) -> FileName {
    FileName {
        version,
        name: name.to_string(),
        direction,
        backend: None,
        kind: FileKind::Sql,
    }
}

/// tt's own layout: `NNN_name[.<backend>][.down].sql` and `NNN_name.toml`.
fn parse_native(file_name: &str) -> Result<Option<FileName>, NameError> {
    if file_name.contains('/') {
        return Ok(None);
    }
    let (stem, kind) = if let Some(stem) = file_name.strip_suffix(".sql") {
        (stem, FileKind::Sql)
    } else if let Some(stem) = file_name.strip_suffix(".toml") {
        (stem, FileKind::Toml)
    } else {
        return Ok(None);
    };
    let (version, rest) = version_prefix(stem).map_err(|_| NameError::NoVersion)?;
    let (name, suffixes) = match rest.split_once('.') {
        Some((name, suffixes)) => (name, Some(suffixes)),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err(NameError::NoVersion);
    }
    let parts: Vec<&str> = suffixes.map_or_else(Vec::new, |s| s.split('.').collect());
    let suffixes = suffixes.unwrap_or_default().to_string();
    let (direction, backend) = match (kind, parts.as_slice()) {
        (_, []) => (Direction::Up, None),
        (FileKind::Toml, _) => return Err(NameError::TomlSuffix(suffixes)),
        (FileKind::Sql, ["down"]) => (Direction::Down, None),
        (FileKind::Sql, [backend]) => (Direction::Up, Some(backend_named(backend)?)),
        (FileKind::Sql, [backend, "down"]) => (Direction::Down, Some(backend_named(backend)?)),
        (FileKind::Sql, _) => return Err(NameError::UnexpectedSuffix(suffixes)),
    };
    Ok(Some(FileName {
        version,
        name: name.to_string(),
        direction,
        backend,
        kind,
    }))
}

/// The backend a variant suffix names: only the names tt writes, so each file has one spelling.
fn backend_named(suffix: &str) -> Result<Backend, NameError> {
    Backend::ALL
        .into_iter()
        .find(|backend| backend.as_str() == suffix)
        .ok_or_else(|| NameError::UnknownBackend(suffix.to_string()))
}

/// sqlx: `<version>_<description>.sql` (simple), `.up.sql` and `.down.sql` (reversible).
fn parse_sqlx(file_name: &str) -> Result<Option<FileName>, NameError> {
    parse_flat(file_name, Some(Direction::Up))
}

/// A flat folder's `<version>_<name>.up.sql` and `.down.sql`; a plain `.sql` file is read in
/// the `plain` direction, or is not one of the layout's names when that is `None`.
fn parse_flat(file_name: &str, plain: Option<Direction>) -> Result<Option<FileName>, NameError> {
    if file_name.contains('/') {
        return Ok(None);
    }
    let Some(stem) = file_name.strip_suffix(".sql") else {
        return Ok(None);
    };
    let (stem, direction) = if let Some(stem) = stem.strip_suffix(".up") {
        (stem, Direction::Up)
    } else if let Some(stem) = stem.strip_suffix(".down") {
        (stem, Direction::Down)
    } else {
        (stem, plain.ok_or(NameError::NotLayoutName)?)
    };
    let (version, name) = version_prefix(stem)?;
    Ok(Some(sql(version, name, direction)))
}

/// diesel: `<version>_<name>/up.sql` and `down.sql`. As diesel reads it, the version is the
/// directory's name up to its first `_` with dashes removed (`2024-01-01-120000`,
/// `2024-03-13_170000_x` is `20240313`; a name without `_` is all version), compared as text.
fn parse_diesel(file_name: &str) -> Result<Option<FileName>, NameError> {
    let Some((dir, file)) = file_name.split_once('/') else {
        return Ok(None);
    };
    let direction = match file {
        "up.sql" => Direction::Up,
        "down.sql" => Direction::Down,
        _ => return Ok(None),
    };
    let (version, name) = dir.split_once('_').unwrap_or((dir, dir));
    let version: String = version.chars().filter(|&c| c != '-').collect();
    let version = Version::text_ordered(version).map_err(|_| NameError::NotLayoutName)?;
    if name.is_empty() {
        return Err(NameError::NotLayoutName);
    }
    Ok(Some(sql(version, name, direction)))
}

/// golang-migrate: `<version>_<title>.up.sql` and `.down.sql`; a `.sql` file that is neither
/// is not one of its migrations.
fn parse_golang_migrate(file_name: &str) -> Result<Option<FileName>, NameError> {
    parse_flat(file_name, None)
}

/// Prisma Migrate: `<timestamp>_<name>/migration.sql`. Prisma applies its directories in the
/// order of their names, so the version (up to the first `_`) compares as text.
fn parse_prisma(file_name: &str) -> Result<Option<FileName>, NameError> {
    let Some((dir, file)) = file_name.split_once('/') else {
        return Ok(None);
    };
    if file != "migration.sql" {
        return Ok(None);
    }
    let (version, name) = dir.split_once('_').ok_or(NameError::NotLayoutName)?;
    let version = Version::text_ordered(version).map_err(|_| NameError::NotLayoutName)?;
    if name.is_empty() {
        return Err(NameError::NotLayoutName);
    }
    Ok(Some(sql(version, name, Direction::Up)))
}

/// dbmate (and goose): `<version>_<name>.sql`; the direction comes from the sections inside.
fn parse_dbmate(file_name: &str) -> Result<Option<FileName>, NameError> {
    if file_name.contains('/') {
        return Ok(None);
    }
    let Some(stem) = file_name.strip_suffix(".sql") else {
        return Ok(None);
    };
    let (version, name) = version_prefix(stem)?;
    Ok(Some(sql(version, name, Direction::Up)))
}

/// Flyway: `V<version>__<description>.sql`, `U<version>__<description>.sql` (undo) and
/// `R__<description>.sql` (repeatable); `_` in a version is a dot, as Flyway reads it.
fn parse_flyway(file_name: &str) -> Result<Option<FileName>, NameError> {
    if file_name.contains('/') {
        return Ok(None);
    }
    let Some(stem) = file_name.strip_suffix(".sql") else {
        return Ok(None);
    };
    if let Some(name) = stem.strip_prefix("R__") {
        if name.is_empty() {
            return Err(NameError::NotLayoutName);
        }
        return Ok(Some(sql(Version::repeatable(name), name, Direction::Up)));
    }
    let (direction, rest) = if let Some(rest) = stem.strip_prefix('V') {
        (Direction::Up, rest)
    } else if let Some(rest) = stem.strip_prefix('U') {
        (Direction::Down, rest)
    } else {
        return Err(NameError::NotLayoutName);
    };
    let (version, name) = rest.split_once("__").ok_or(NameError::NotLayoutName)?;
    let version = Version::new(version.replace('_', ".")).map_err(|_| NameError::NotLayoutName)?;
    if name.is_empty() {
        return Err(NameError::NotLayoutName);
    }
    Ok(Some(sql(version, name, direction)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(layout: Layout, file_name: &str, expected: &str) {
        let actual = match parse_name(layout, file_name) {
            Ok(None) => "ignored".to_string(),
            Ok(Some(n)) => format!(
                "{} {} {:?} {} {:?}",
                n.version,
                n.name,
                n.direction,
                n.backend.map_or("plain", Backend::as_str),
                n.kind
            ),
            Err(error) => format!("error {error:?}"),
        };
        assert_eq!(actual, expected, "{layout} {file_name}");
    }

    fn check_name(file_name: &str, expected: &str) {
        check(Layout::Native, file_name, expected);
    }

    #[test]
    fn native_names() {
        check_name("001_items.sql", "001 items Up plain Sql");
        check_name("001_items.down.sql", "001 items Down plain Sql");
        check_name("001_items.postgres.sql", "001 items Up postgres Sql");
        check_name("001_items.sqlite.down.sql", "001 items Down sqlite Sql");
        check_name("001_items.mysql.sql", "001 items Up mysql Sql");
        check_name("20240101120000_a_b.sql", "20240101120000 a_b Up plain Sql");
        check_name("0_x.toml", "0 x Up plain Toml");
        check_name("1__x.sql", "1 _x Up plain Sql");
        check_name("items.sql", "error NoVersion");
        check_name("001.sql", "error NoVersion");
        check_name("001_.sql", "error NoVersion");
        check_name("_x.sql", "error NoVersion");
        check_name("1a_x.sql", "error NoVersion");
        check_name("001-items.sql", "error NoVersion");
        check_name("001_x.toml.sql", "error UnknownBackend(\"toml\")");
        check_name("001_x.oracle.sql", "error UnknownBackend(\"oracle\")");
        check_name("001_x.pg.sql", "error UnknownBackend(\"pg\")");
        check_name("001_x.up.sql", "error UnknownBackend(\"up\")");
        check_name("001_x..sql", "error UnknownBackend(\"\")");
        check_name(
            "001_x.down.postgres.sql",
            "error UnexpectedSuffix(\"down.postgres\")",
        );
        check_name(
            "001_x.postgres.down.x.sql",
            "error UnexpectedSuffix(\"postgres.down.x\")",
        );
        check_name("001_x.down.toml", "error TomlSuffix(\"down\")");
        check_name("001_x.postgres.toml", "error TomlSuffix(\"postgres\")");
        check_name("README", "ignored");
        check_name("README.sql", "ignored");
        check_name("notes.md", "ignored");
        check_name(".001_x.sql", "ignored");
        check_name("001_x.txt", "ignored");
        check_name("001_x.sql.bak", "ignored");
        check_name("001_x.SQL", "ignored");
    }

    #[test]
    fn sqlx_names() {
        let check = |name, expected| check(Layout::Sqlx, name, expected);
        check(
            "20240101120000_create_items.sql",
            "20240101120000 create_items Up plain Sql",
        );
        check("0001_items.up.sql", "0001 items Up plain Sql");
        check("0001_items.down.sql", "0001 items Down plain Sql");
        check("1_a.b.sql", "1 a.b Up plain Sql");
        check("items.up.sql", "error NotLayoutName");
        check("1_.up.sql", "error NotLayoutName");
        check("1_x.toml", "ignored");
        check("sub/1_x.sql", "ignored");
    }

    #[test]
    fn diesel_names() {
        let check = |name, expected| check(Layout::Diesel, name, expected);
        check(
            "2024-01-01-120000_create_items/up.sql",
            "20240101120000 create_items Up plain Sql",
        );
        check(
            "00000000000000_diesel_initial_setup/down.sql",
            "00000000000000 diesel_initial_setup Down plain Sql",
        );
        check("2024-01-01-120000_create_items/metadata.toml", "ignored");
        check("2024-01-01-120000_create_items/notes.sql", "ignored");
        // The version ends at the first `_`, whatever follows it.
        check(
            "2024-03-13_170000_x/up.sql",
            "20240313 170000_x Up plain Sql",
        );
        check("20240101120000_x/up.sql", "20240101120000 x Up plain Sql");
        check("1_x/up.sql", "1 x Up plain Sql");
        check("v2_x/down.sql", "v2 x Down plain Sql");
        check("1.2_x/up.sql", "1.2 x Up plain Sql");
        // Without `_` the whole name is the version, as diesel reads it.
        check("initial/up.sql", "initial initial Up plain Sql");
        check("2024-01-01/up.sql", "20240101 2024-01-01 Up plain Sql");
        check("2024_/up.sql", "error NotLayoutName");
        check("_x/up.sql", "error NotLayoutName");
        check("---_x/up.sql", "error NotLayoutName");
        check("a b_x/up.sql", "error NotLayoutName");
        check("1_x.sql", "ignored");
    }

    #[test]
    fn dbmate_names() {
        let check = |name, expected| check(Layout::Dbmate, name, expected);
        check(
            "20240101120000_items.sql",
            "20240101120000 items Up plain Sql",
        );
        check("items.sql", "error NotLayoutName");
        check("schema.txt", "ignored");
    }

    #[test]
    fn flyway_names() {
        let check = |name, expected| check(Layout::Flyway, name, expected);
        check("V1__create_items.sql", "1 create_items Up plain Sql");
        check("V1_1__fix.sql", "1.1 fix Up plain Sql");
        check("V2.0.10__x_y.sql", "2.0.10 x_y Up plain Sql");
        check("U1__create_items.sql", "1 create_items Down plain Sql");
        check("R__views.sql", "R__views views Up plain Sql");
        check("V1__x.sql.conf", "ignored");
        check("V1_x.sql", "error NotLayoutName");
        check("X1__x.sql", "error NotLayoutName");
        check("V1__.sql", "error NotLayoutName");
        check("R__.sql", "error NotLayoutName");
        check("Va__x.sql", "error NotLayoutName");
    }

    #[test]
    fn section_markers() {
        let check = |layout: Layout, line: &str, expected| {
            assert_eq!(
                section_marker(layout, line.as_bytes()),
                expected,
                "{layout} {line}"
            )
        };
        let up = Some(Marker::Section(Direction::Up, false));
        let down = Some(Marker::Section(Direction::Down, false));
        check(Layout::Dbmate, "-- migrate:up", up);
        check(Layout::Dbmate, "--migrate:down", down);
        check(
            Layout::Dbmate,
            "-- migrate:up transaction:false",
            Some(Marker::Section(Direction::Up, true)),
        );
        check(
            Layout::Dbmate,
            "-- migrate:down  transaction:false\r",
            Some(Marker::Section(Direction::Down, true)),
        );
        check(Layout::Dbmate, "-- migrate:upper", None);
        check(Layout::Dbmate, "-- migrate: up", None);
        check(Layout::Dbmate, "SELECT 1; -- migrate:up", None);
        check(Layout::Dbmate, "-- +goose Up", None);
        check(Layout::Goose, "-- +goose Up", up);
        check(Layout::Goose, "--  +goose   DOWN  \r", down);
        check(Layout::Goose, "-- +goose up", up);
        check(
            Layout::Goose,
            "-- +goose NO TRANSACTION",
            Some(Marker::NoTransaction),
        );
        check(Layout::Goose, "-- +goose StatementBegin", None);
        check(Layout::Goose, "-- +gooseUp", None);
        check(Layout::Goose, "-- +goose Upgrade", None);
        check(Layout::Goose, "-- migrate:up", None);
        check(Layout::Sqlx, "-- +goose Up", None);
    }

    #[test]
    fn other_tools_markers() {
        let check =
            |line: &str, expected| assert_eq!(tool_marker(line.as_bytes()), expected, "{line}");
        check("-- +goose Up", Some(("goose", Some(Layout::Goose))));
        check("-- +goose Down", Some(("goose", Some(Layout::Goose))));
        check("-- migrate:down", Some(("dbmate", Some(Layout::Dbmate))));
        check("-- +migrate Up", Some(("sql-migrate", None)));
        check("--+migrate Down notransaction", Some(("sql-migrate", None)));
        check("-- +migrate StatementBegin", None);
        check("-- +goose StatementEnd", None);
        check("-- +goose NO TRANSACTION", None);
        check("-- +migrated Up", None);
        check("SELECT 1; -- +goose Down", None);
    }

    #[test]
    fn golang_migrate_names() {
        let check = |name, expected| check(Layout::GolangMigrate, name, expected);
        check(
            "000001_create_items.up.sql",
            "000001 create_items Up plain Sql",
        );
        check(
            "1481574547_create_items.down.sql",
            "1481574547 create_items Down plain Sql",
        );
        check("000001_create_items.sql", "error NotLayoutName");
        check("x.up.sql", "error NotLayoutName");
        check("000001_x.up.cql", "ignored");
        check("sub/000001_x.up.sql", "ignored");
    }

    #[test]
    fn goose_names() {
        let check = |name, expected| check(Layout::Goose, name, expected);
        check(
            "20240101120000_create_items.sql",
            "20240101120000 create_items Up plain Sql",
        );
        check("00001_create_items.sql", "00001 create_items Up plain Sql");
        check("00002_seed.go", "ignored");
        check("items.sql", "error NotLayoutName");
    }

    #[test]
    fn prisma_names() {
        let check = |name, expected| check(Layout::Prisma, name, expected);
        check(
            "20240101120000_create_items/migration.sql",
            "20240101120000 create_items Up plain Sql",
        );
        check("migration_lock.toml", "ignored");
        check("20240101120000_create_items/README.md", "ignored");
        check("20240101120000_create_items/down.sql", "ignored");
        check("init/migration.sql", "error NotLayoutName");
        check("2024_/migration.sql", "error NotLayoutName");
    }

    #[test]
    fn layouts_parse_by_name() {
        for layout in Layout::ALL {
            assert_eq!(layout.as_str().parse::<Layout>(), Ok(layout));
        }
        assert_eq!(
            "golang".parse::<Layout>().unwrap_err().to_string(),
            "unknown layout `golang` (expected native, sqlx, diesel, dbmate, flyway, \
             golang-migrate, goose or prisma)"
        );
    }
}
