//! Finding migration files in a directory (or embedded) and reading them into migrations.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use tt_schema::Backend;

use crate::migration::{Checksum, FileKind, Migration, MigrationFile, Origin, Version};

/// The migrations of one directory (or one embedded set), sorted by version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationSet {
    /// Sorted by version; versions are unique.
    migrations: Vec<Migration>,
}

impl MigrationSet {
    /// Reads the migrations in `dir` (native layout), checking every file before returning.
    ///
    /// Hidden files, `README*`, `*.md`, files that are neither `.sql` nor `.toml`, and
    /// subdirectories are ignored. Every file is read once, in bounded memory, to compute its
    /// checksum, check that it is UTF-8 and find its directives.
    ///
    /// # Errors
    /// When `dir` is missing, unreadable or holds no migrations, or when any file is bad: then
    /// [`DiscoveryError::Invalid`] lists every problem of every file at once.
    pub fn load(dir: &Path) -> Result<Self, DiscoveryError> {
        let (entries, problems) = list_directory(dir)?;
        match discover(entries, problems)? {
            migrations if migrations.is_empty() => Err(DiscoveryError::NoMigrations {
                dir: dir.to_path_buf(),
            }),
            migrations => Ok(Self { migrations }),
        }
    }

    /// Reads migrations compiled into the program, as (path relative to the migrations
    /// directory, bytes) pairs, by the same rules as [`MigrationSet::load`].
    ///
    /// Paths with a directory part (`sub/001_x.sql`) are ignored, like subdirectories on disk.
    ///
    /// # Errors
    /// When there are no migrations, or when any file is bad (see [`MigrationSet::load`]).
    ///
    /// # Examples
    /// ```
    /// use tt_migrate::{MigrationSet, Version};
    ///
    /// let set = MigrationSet::from_embedded(&[
    ///     ("001_items.sql", b"CREATE TABLE items (id integer);\n"),
    ///     ("001_items.down.sql", b"DROP TABLE items;\n"),
    ///     ("README.md", b"# Migrations\n"),
    /// ])
    /// .unwrap();
    /// assert_eq!(set.len(), 1);
    /// assert_eq!(set.latest().unwrap().version, Version::new("001").unwrap());
    /// ```
    pub fn from_embedded(files: &[(&'static str, &'static [u8])]) -> Result<Self, DiscoveryError> {
        let entries = files
            .iter()
            .filter(|(path, _)| !path.contains(['/', '\\']))
            .map(|&(path, bytes)| Entry {
                file_name: path.to_string(),
                origin: Origin::Embedded { path, bytes },
            })
            .collect();
        match discover(entries, Vec::new())? {
            migrations if migrations.is_empty() => Err(DiscoveryError::NoEmbeddedMigrations),
            migrations => Ok(Self { migrations }),
        }
    }

    /// The migrations in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.migrations.iter()
    }

    /// The migrations in version order, as a slice (what [`crate::Migrator`] takes).
    pub fn as_slice(&self) -> &[Migration] {
        &self.migrations
    }

    /// The migration of `version`, if there is one.
    pub fn get(&self, version: &Version) -> Option<&Migration> {
        self.migrations
            .binary_search_by(|m| m.version.cmp(version))
            .ok()
            .map(|i| &self.migrations[i])
    }

    /// How many migrations there are.
    pub fn len(&self) -> usize {
        self.migrations.len()
    }

    /// Whether there are no migrations (never true for a set that was loaded).
    pub fn is_empty(&self) -> bool {
        self.migrations.is_empty()
    }

    /// The migration with the highest version.
    pub fn latest(&self) -> Option<&Migration> {
        self.migrations.last()
    }
}

impl<'a> IntoIterator for &'a MigrationSet {
    type Item = &'a Migration;
    type IntoIter = std::slice::Iter<'a, Migration>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Why a directory (or embedded set) of migrations cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The migrations directory does not exist.
    #[error(
        "{}: migrations directory not found (create it, or choose another directory with --dir)",
        dir.display()
    )]
    DirectoryMissing {
        /// The directory looked for.
        dir: PathBuf,
    },
    /// The path given as the migrations directory is a file.
    #[error(
        "{}: not a directory (choose the migrations directory with --dir)",
        dir.display()
    )]
    NotADirectory {
        /// The path given.
        dir: PathBuf,
    },
    /// The migrations directory cannot be listed.
    #[error("{}: cannot read migrations directory: {error}", dir.display())]
    ReadDirectory {
        /// The directory.
        dir: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// The directory holds no migration files.
    #[error(
        "{}: no migrations found (expected files such as 001_initial.sql)",
        dir.display()
    )]
    NoMigrations {
        /// The directory.
        dir: PathBuf,
    },
    /// No migration files were embedded.
    #[error("no embedded migrations found (expected files such as 001_initial.sql)")]
    NoEmbeddedMigrations,
    /// Some files are bad; every problem found, sorted by path, one per line when displayed.
    #[error("{}", lines(problems))]
    Invalid {
        /// Every problem, sorted by path.
        problems: Vec<Problem>,
    },
}

fn lines(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One problem with one migration file; displayed as `path: problem`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A `.sql` or `.toml` file whose name does not start with digits, `_` and a name.
    #[error(
        "{}: file name must start with a version, `_` and a name, as in 001_create_items.sql",
        path.display()
    )]
    NoVersion {
        /// The file.
        path: PathBuf,
    },
    /// A `.sql` or `.toml` file whose name is not UTF-8.
    #[error("{}: file name is not valid UTF-8", path.display())]
    NameNotUtf8 {
        /// The file (lossily converted for display).
        path: PathBuf,
    },
    /// A variant suffix that names no backend (`001_x.oracle.sql`).
    #[error(
        "{}: unknown backend `{backend}` in file name (expected postgres, mysql or sqlite)",
        path.display()
    )]
    UnknownBackend {
        /// The file.
        path: PathBuf,
        /// The suffix found where a backend was expected.
        backend: String,
    },
    /// Suffixes other than `.down`, `.<backend>` or `.<backend>.down` on a `.sql` file.
    #[error(
        "{}: unexpected `.{suffix}` in file name (expected NNN_name.sql, NNN_name.down.sql, \
         NNN_name.<backend>.sql or NNN_name.<backend>.down.sql)",
        path.display()
    )]
    UnexpectedSuffix {
        /// The file.
        path: PathBuf,
        /// Everything between the name and `.sql`, without the leading dot.
        suffix: String,
    },
    /// Any suffix on a `.toml` file: table-definition migrations have no variants or down file.
    #[error(
        "{}: unexpected `.{suffix}` in file name (table-definition migrations are named \
         NNN_name.toml: no backend variants, their rollback is derived)",
        path.display()
    )]
    TomlSuffix {
        /// The file.
        path: PathBuf,
        /// Everything between the name and `.toml`, without the leading dot.
        suffix: String,
    },
    /// Two or more files for the same version, direction and backend.
    #[error(
        "{}: duplicate {} (also in {})",
        path.display(),
        duplicate_what(version, *backend, *down),
        others.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    DuplicateVersion {
        /// The first file, by path.
        path: PathBuf,
        /// The version they share.
        version: Version,
        /// The backend they are variants for; `None` for plain files.
        backend: Option<Backend>,
        /// Whether they are down files.
        down: bool,
        /// The other files.
        others: Vec<PathBuf>,
    },
    /// Files of one version with different names (`001_a.sql`, `001_b.postgres.sql`).
    #[error(
        "{}: name `{name}` differs from `{expected}` in {} (files of version {version} must \
         share one name)",
        path.display(),
        other.display()
    )]
    NameMismatch {
        /// The file.
        path: PathBuf,
        /// The version.
        version: Version,
        /// The name in this file's name.
        name: String,
        /// The name of the version's first file.
        expected: String,
        /// The version's first file.
        other: PathBuf,
    },
    /// A down file with no up file that it could roll back.
    #[error("{}: down file without an up file for version {version}", path.display())]
    DownWithoutUp {
        /// The down file.
        path: PathBuf,
        /// Its version.
        version: Version,
    },
    /// Content that is not UTF-8.
    #[error("{}: not valid UTF-8 at line {line}", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// The line (from 1) of the first bad byte.
        line: u64,
    },
    /// A `-- tt:…` directive that tt does not know, in the leading comments.
    #[error(
        "{}: unknown directive `{directive}` at line {line} (known: tt:no-transaction)",
        path.display()
    )]
    UnknownDirective {
        /// The file.
        path: PathBuf,
        /// The line (from 1).
        line: u64,
        /// The directive as written.
        directive: String,
    },
    /// The file cannot be read.
    #[error("{}: cannot read: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
}

impl Problem {
    /// The file the problem is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::NoVersion { path }
            | Self::NameNotUtf8 { path }
            | Self::UnknownBackend { path, .. }
            | Self::UnexpectedSuffix { path, .. }
            | Self::TomlSuffix { path, .. }
            | Self::DuplicateVersion { path, .. }
            | Self::NameMismatch { path, .. }
            | Self::DownWithoutUp { path, .. }
            | Self::NotUtf8 { path, .. }
            | Self::UnknownDirective { path, .. }
            | Self::Read { path, .. } => path,
        }
    }
}

fn duplicate_what(version: &Version, backend: Option<Backend>, down: bool) -> String {
    let what = if down {
        "down file for version"
    } else {
        "version"
    };
    match backend {
        Some(backend) => format!("{what} {version} for {backend}"),
        None => format!("{what} {version}"),
    }
}

/// A file found in the migrations directory or the embedded set.
struct Entry {
    /// The file name alone (embedded paths with a directory part never get here).
    file_name: String,
    origin: Origin,
}

fn origin_path(origin: &Origin) -> PathBuf {
    match origin {
        Origin::Path(path) => path.clone(),
        Origin::Embedded { path, .. } => PathBuf::from(path),
    }
}

/// The files directly in `dir`, sorted by name; problems for names that are not UTF-8.
fn list_directory(dir: &Path) -> Result<(Vec<Entry>, Vec<Problem>), DiscoveryError> {
    let read_error = |error: io::Error| DiscoveryError::ReadDirectory {
        dir: dir.to_path_buf(),
        error,
    };
    match fs::metadata(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(DiscoveryError::DirectoryMissing {
                dir: dir.to_path_buf(),
            });
        }
        Err(error) => return Err(read_error(error)),
        Ok(meta) if !meta.is_dir() => {
            return Err(DiscoveryError::NotADirectory {
                dir: dir.to_path_buf(),
            });
        }
        Ok(_) => {}
    }
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let path = entry.path();
        // Follow symlinks; one that cannot be followed is treated as a file and reported when
        // read, if its name makes it a migration.
        let is_dir = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => fs::metadata(&path).is_ok_and(|m| m.is_dir()),
            Ok(kind) => kind.is_dir(),
            Err(_) => false,
        };
        if is_dir {
            continue;
        }
        match entry.file_name().into_string() {
            Ok(file_name) => entries.push(Entry {
                file_name,
                origin: Origin::Path(path),
            }),
            Err(_) => {
                let looks_like_migration = path
                    .extension()
                    .is_some_and(|ext| ext == "sql" || ext == "toml");
                let hidden = entry.file_name().as_encoded_bytes().starts_with(b".");
                if looks_like_migration && !hidden {
                    problems.push(Problem::NameNotUtf8 { path });
                }
            }
        }
    }
    entries.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok((entries, problems))
}

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Direction {
    Up,
    Down,
}

/// What a native file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NativeName {
    version: Version,
    name: String,
    direction: Direction,
    backend: Option<Backend>,
    kind: FileKind,
}

/// Why a native file name does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NameError {
    NoVersion,
    UnknownBackend(String),
    UnexpectedSuffix(String),
    TomlSuffix(String),
}

impl NameError {
    fn at(self, path: PathBuf) -> Problem {
        match self {
            Self::NoVersion => Problem::NoVersion { path },
            Self::UnknownBackend(backend) => Problem::UnknownBackend { path, backend },
            Self::UnexpectedSuffix(suffix) => Problem::UnexpectedSuffix { path, suffix },
            Self::TomlSuffix(suffix) => Problem::TomlSuffix { path, suffix },
        }
    }
}

/// Files that are never migrations, whatever the layout.
fn ignored(file_name: &str) -> bool {
    file_name.starts_with('.') || file_name.starts_with("README") || file_name.ends_with(".md")
}

/// Parses a file name of the native layout: `Ok(None)` for files that are not migrations.
///
/// Other tools' layouts (sqlx, diesel, dbmate, Flyway) will get their own function beside this
/// one; everything after naming (reading, grouping, checking) is shared.
fn parse_native(file_name: &str) -> Result<Option<NativeName>, NameError> {
    if ignored(file_name) {
        return Ok(None);
    }
    let (stem, kind) = if let Some(stem) = file_name.strip_suffix(".sql") {
        (stem, FileKind::Sql)
    } else if let Some(stem) = file_name.strip_suffix(".toml") {
        (stem, FileKind::Toml)
    } else {
        return Ok(None);
    };
    let digits = stem.bytes().take_while(u8::is_ascii_digit).count();
    let (version, rest) = stem.split_at(digits);
    let Some(rest) = rest.strip_prefix('_') else {
        return Err(NameError::NoVersion);
    };
    let (name, suffixes) = match rest.split_once('.') {
        Some((name, suffixes)) => (name, Some(suffixes)),
        None => (rest, None),
    };
    let version = Version::new(version).map_err(|_| NameError::NoVersion)?;
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
    Ok(Some(NativeName {
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

/// A migration file whose name parsed, with what reading it gave.
struct Found {
    name: NativeName,
    path: PathBuf,
    /// `None` when reading it found problems.
    file: Option<MigrationFile>,
}

/// The shared path from files to migrations: name, read, group, check; every problem at once.
fn discover(
    entries: Vec<Entry>,
    mut problems: Vec<Problem>,
) -> Result<Vec<Migration>, DiscoveryError> {
    let mut found = Vec::new();
    for entry in entries {
        let path = origin_path(&entry.origin);
        match parse_native(&entry.file_name) {
            Ok(None) => {}
            Err(error) => problems.push(error.at(path)),
            Ok(Some(name)) => {
                let file = read(entry.origin, &name, &path, &mut problems);
                found.push(Found { name, path, file });
            }
        }
    }
    let mut by_version: BTreeMap<Version, Vec<Found>> = BTreeMap::new();
    for found in found {
        by_version
            .entry(found.name.version.clone())
            .or_default()
            .push(found);
    }
    let mut migrations = Vec::new();
    for (version, mut files) in by_version {
        // Up before down, plain before variants: the first file sets the version's name.
        files.sort_by(|a, b| {
            (a.name.direction, a.name.backend, &a.path).cmp(&(
                b.name.direction,
                b.name.backend,
                &b.path,
            ))
        });
        if check_version(&version, &files, &mut problems) {
            migrations.push(assemble(version, files));
        }
    }
    if problems.is_empty() {
        Ok(migrations)
    } else {
        // Stable: a file's own problems keep the order they were found in.
        problems.sort_by(|a, b| a.path().cmp(b.path()));
        Err(DiscoveryError::Invalid { problems })
    }
}

/// Checks the files of one version (sorted as in [`discover`]); true when they make a migration.
fn check_version(version: &Version, files: &[Found], problems: &mut Vec<Problem>) -> bool {
    let before = problems.len();
    let mut slots: BTreeMap<(Direction, Option<Backend>), Vec<&Found>> = BTreeMap::new();
    for file in files {
        slots
            .entry((file.name.direction, file.name.backend))
            .or_default()
            .push(file);
    }
    for ((direction, backend), same) in &slots {
        if let [first, rest @ ..] = same.as_slice() {
            if !rest.is_empty() {
                problems.push(Problem::DuplicateVersion {
                    path: first.path.clone(),
                    version: version.clone(),
                    backend: *backend,
                    down: *direction == Direction::Down,
                    others: rest.iter().map(|f| f.path.clone()).collect(),
                });
            }
        }
    }
    let Some(first) = files.first() else {
        return false;
    };
    // Files already reported as duplicates are not also reported for their names.
    let duplicates: Vec<&Path> = slots
        .values()
        .flat_map(|same| same.iter().skip(1).map(|f| f.path.as_path()))
        .collect();
    for file in &files[1..] {
        if file.name.name != first.name.name && !duplicates.contains(&file.path.as_path()) {
            problems.push(Problem::NameMismatch {
                path: file.path.clone(),
                version: version.clone(),
                name: file.name.name.clone(),
                expected: first.name.name.clone(),
                other: first.path.clone(),
            });
        }
    }
    let ups: Vec<Option<Backend>> = files
        .iter()
        .filter(|f| f.name.direction == Direction::Up)
        .map(|f| f.name.backend)
        .collect();
    for down in files.iter().filter(|f| f.name.direction == Direction::Down) {
        // A plain down rolls back whichever up ran; a variant down needs an up for its backend.
        let has_up = ups
            .iter()
            .any(|&up| down.name.backend.is_none() || up.is_none() || up == down.name.backend);
        if !has_up {
            problems.push(Problem::DownWithoutUp {
                path: down.path.clone(),
                version: version.clone(),
            });
        }
    }
    problems.len() == before && !ups.is_empty()
}

/// Builds the migration of one checked version.
fn assemble(version: Version, files: Vec<Found>) -> Migration {
    let name = files
        .first()
        .map(|f| f.name.name.clone())
        .unwrap_or_default();
    let mut up = Vec::new();
    let mut down = Vec::new();
    for found in files {
        if let Some(file) = found.file {
            match found.name.direction {
                Direction::Up => up.push(file),
                Direction::Down => down.push(file),
            }
        }
    }
    Migration {
        version,
        name,
        up,
        down,
    }
}

/// Reads a file once: checksum, UTF-8 check and (for SQL) leading directives.
fn read(
    origin: Origin,
    name: &NativeName,
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Option<MigrationFile> {
    let reader: Box<dyn Read> = match &origin {
        Origin::Path(path) => match fs::File::open(path) {
            Ok(file) => Box::new(file),
            Err(error) => {
                problems.push(Problem::Read {
                    path: path.clone(),
                    error,
                });
                return None;
            }
        },
        Origin::Embedded { bytes, .. } => Box::new(*bytes),
    };
    let mut inspect = Inspect {
        inner: reader,
        utf8: Utf8Check::default(),
        // TOML has `#` comments and no statements to run outside a transaction.
        header: (name.kind == FileKind::Sql).then(Header::default),
    };
    let checksum = match Checksum::of_reader(&mut inspect) {
        Ok(checksum) => checksum,
        Err(error) => {
            problems.push(Problem::Read {
                path: path.to_path_buf(),
                error,
            });
            return None;
        }
    };
    let before = problems.len();
    if let Some(line) = inspect.utf8.finish() {
        problems.push(Problem::NotUtf8 {
            path: path.to_path_buf(),
            line,
        });
    }
    let header = inspect.header.map(Header::finish).unwrap_or_default();
    for (line, directive) in header.unknown {
        problems.push(Problem::UnknownDirective {
            path: path.to_path_buf(),
            line,
            directive,
        });
    }
    (problems.len() == before).then_some(MigrationFile {
        origin,
        kind: name.kind,
        backend: name.backend,
        checksum,
        no_transaction: header.no_transaction,
    })
}

/// Passes bytes through unchanged while checking UTF-8 and scanning the leading comments, so
/// a file is read once, in bounded memory.
struct Inspect<R> {
    inner: R,
    utf8: Utf8Check,
    header: Option<Header>,
}

impl<R: Read> Read for Inspect<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        self.utf8.feed(bytes);
        if let Some(header) = &mut self.header {
            header.feed(bytes);
        }
        Ok(n)
    }
}

/// Streaming UTF-8 validation that remembers the line of the first bad byte.
#[derive(Debug)]
struct Utf8Check {
    /// The line (from 1) at the end of what was checked.
    line: u64,
    /// The start of a character cut off at the end of the last chunk (at most 3 bytes).
    carry: Vec<u8>,
    bad_line: Option<u64>,
}

impl Default for Utf8Check {
    fn default() -> Self {
        Self {
            line: 1,
            carry: Vec::new(),
            bad_line: None,
        }
    }
}

impl Utf8Check {
    fn feed(&mut self, mut bytes: &[u8]) {
        if self.bad_line.is_some() {
            return;
        }
        // Complete a character cut at the previous chunk's end, one byte at a time.
        while !self.carry.is_empty() {
            let Some((&byte, rest)) = bytes.split_first() else {
                return;
            };
            bytes = rest;
            self.carry.push(byte);
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                Err(error) if error.error_len().is_some() => {
                    self.bad_line = Some(self.line);
                    return;
                }
                Err(_) => {}
            }
        }
        let valid = match std::str::from_utf8(bytes) {
            Ok(_) => bytes.len(),
            Err(error) => error.valid_up_to(),
        };
        self.line += newlines(&bytes[..valid]);
        if valid < bytes.len() {
            let tail = &bytes[valid..];
            // A tail of up to 3 bytes that is a valid start may be completed by the next chunk.
            match std::str::from_utf8(tail) {
                Err(error) if error.error_len().is_none() => self.carry.extend_from_slice(tail),
                _ => self.bad_line = Some(self.line),
            }
        }
    }

    /// The line of the first bad byte, if any.
    fn finish(self) -> Option<u64> {
        if self.carry.is_empty() {
            self.bad_line
        } else {
            Some(self.line)
        }
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Where the scan of the leading comments is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderState {
    /// At the first byte of the file.
    Start,
    /// Inside a UTF-8 BOM, after this many of its bytes.
    Bom(u8),
    LineStart,
    Dash,
    Comment,
    /// Past the leading comments: the first statement began.
    Done,
}

/// The directives found in the leading `--` comments and blank lines of a SQL file.
#[derive(Debug)]
struct Header {
    state: HeaderState,
    line: u64,
    /// The current comment's text, up to [`Header::MAX_COMMENT`] bytes.
    comment: Vec<u8>,
    no_transaction: bool,
    /// Unknown `tt:` directives with their lines.
    unknown: Vec<(u64, String)>,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            state: HeaderState::Start,
            line: 1,
            comment: Vec::new(),
            no_transaction: false,
            unknown: Vec::new(),
        }
    }
}

impl Header {
    /// Directives are short; the rest of a long comment is not kept.
    const MAX_COMMENT: usize = 256;

    fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if self.state == HeaderState::Done {
                return;
            }
            self.step(byte);
        }
    }

    fn step(&mut self, byte: u8) {
        use HeaderState::*;
        self.state = match (self.state, byte) {
            (Start, 0xEF) => Bom(1),
            (Start, _) => {
                self.state = LineStart;
                return self.step(byte);
            }
            (Bom(2), 0xBF) => LineStart,
            (Bom(1), 0xBB) => Bom(2),
            (Bom(_), _) => Done,
            (LineStart, b' ' | b'\t' | b'\r') => LineStart,
            (LineStart, b'\n') => {
                self.line += 1;
                LineStart
            }
            (LineStart, b'-') => Dash,
            (Dash, b'-') => {
                self.comment.clear();
                Comment
            }
            (Comment, b'\n') => {
                self.end_comment();
                self.line += 1;
                LineStart
            }
            (Comment, _) => {
                if self.comment.len() < Self::MAX_COMMENT {
                    self.comment.push(byte);
                }
                Comment
            }
            (LineStart | Dash | Done, _) => Done,
        };
    }

    fn end_comment(&mut self) {
        let text = String::from_utf8_lossy(&self.comment);
        let Some(word) = text.split_whitespace().next() else {
            return;
        };
        if word == "tt:no-transaction" {
            self.no_transaction = true;
        } else if word.starts_with("tt:") {
            self.unknown.push((self.line, word.to_string()));
        }
    }

    fn finish(mut self) -> Self {
        if self.state == HeaderState::Comment {
            self.end_comment();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_name(file_name: &str, expected: &str) {
        let actual = match parse_native(file_name) {
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
        assert_eq!(actual, expected, "{file_name}");
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

    /// Feeds `text` in chunks of `chunk` bytes, as a reader would.
    fn utf8_line(text: &[u8], chunk: usize) -> Option<u64> {
        let mut check = Utf8Check::default();
        for piece in text.chunks(chunk) {
            check.feed(piece);
        }
        check.finish()
    }

    fn check_utf8(text: &[u8], expected: Option<u64>) {
        for chunk in [1, 2, 3, 5, 64] {
            assert_eq!(
                utf8_line(text, chunk),
                expected,
                "{text:?} in chunks of {chunk}"
            );
        }
    }

    #[test]
    fn utf8_bad_bytes_are_found_by_line() {
        check_utf8(b"", None);
        check_utf8("SELECT 'é€😀';\n".as_bytes(), None);
        check_utf8(b"a\nb\n\xFF\n", Some(3));
        check_utf8(b"\xC3\x28", Some(1));
        check_utf8(b"a\n\xE2\x82", Some(2));
        check_utf8(b"a\n\xE2\x82\n", Some(2));
        check_utf8(b"\xF0\x9F\x98\x80\n\n\xED\xA0\x80", Some(3));
        check_utf8(b"x\r\ny\r\n\x80", Some(3));
    }

    fn check_header(text: &str, no_transaction: bool, unknown: &[(u64, &str)]) {
        for chunk in [1, 4, 1000] {
            let mut header = Header::default();
            for piece in text.as_bytes().chunks(chunk) {
                header.feed(piece);
            }
            let header = header.finish();
            let found: Vec<(u64, &str)> = header
                .unknown
                .iter()
                .map(|(line, word)| (*line, word.as_str()))
                .collect();
            assert_eq!(
                (header.no_transaction, found.as_slice()),
                (no_transaction, unknown),
                "{text:?} in chunks of {chunk}"
            );
        }
    }

    #[test]
    fn directives_only_in_leading_comments() {
        check_header("-- tt:no-transaction\nCREATE INDEX;\n", true, &[]);
        check_header("--tt:no-transaction", true, &[]);
        check_header("\u{feff}-- tt:no-transaction\r\n", true, &[]);
        check_header(
            "\n  \t\n-- about\n--\n-- tt:no-transaction why\n",
            true,
            &[],
        );
        check_header("-- tt:no-transaction\r\nSELECT 1;\r\n", true, &[]);
        check_header("SELECT 1;\n-- tt:no-transaction\n", false, &[]);
        check_header("/* x */\n-- tt:no-transaction\n", false, &[]);
        check_header("-- note: tt:no-transaction\n", false, &[]);
        check_header("-1;\n-- tt:no-transaction\n", false, &[]);
        check_header("-- TT:no-transaction\n", false, &[]);
        check_header(
            "-- a\n\n-- tt:no-transactions\n-- tt:foo\n",
            false,
            &[(3, "tt:no-transactions"), (4, "tt:foo")],
        );
        check_header("SELECT 1;\n-- tt:foo\n", false, &[]);
    }

    #[test]
    fn long_leading_comments_are_bounded() {
        let text = format!("-- {}\n-- tt:no-transaction\n", "x".repeat(100_000));
        let mut header = Header::default();
        header.feed(text.as_bytes());
        assert!(header.comment.capacity() < 1024);
        assert!(header.finish().no_transaction);
    }
}
