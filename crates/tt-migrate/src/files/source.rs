//! Finding migration files in a directory (or embedded) and reading them into migrations.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use tt_schema::Backend;

use crate::files::migration::{Checksum, FileKind, Migration, MigrationFile, Origin, Version};
use crate::files::split::{Piece, Splitter};

mod layout;

use layout::{
    ByNames, Direction, FileName, MARKER_SNIFF_BYTES, Marker, NameError, first_section_marker,
    parse_name, section_marker, tool_marker, up_section_marker,
};
pub use layout::{Layout, UnknownLayout};

/// The migrations of one directory (or one embedded set), sorted by version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationSet {
    /// Sorted by version, versions unique: the numbered migrations, then the repeatable ones
    /// (Flyway's `R__name.sql`, whose versions order after every number) by name.
    migrations: Vec<Migration>,
    /// How many are numbered.
    numbered: usize,
    layout: Layout,
}

impl MigrationSet {
    /// Reads the migrations in `dir`, in the layout [`Layout::detect`] finds, checking every
    /// file before returning.
    ///
    /// Hidden files, `README*`, `*.md`, files that are neither `.sql` nor `.toml`, and
    /// subdirectories (except diesel's migration directories) are ignored. Every file is read
    /// once, in bounded memory, to compute its checksum, check that it is UTF-8 and find its
    /// directives.
    ///
    /// # Errors
    /// When `dir` is missing, unreadable or holds no migrations, or when any file is bad: then
    /// [`DiscoveryError::Invalid`] lists every problem of every file at once.
    pub fn load(dir: &Path) -> Result<Self, DiscoveryError> {
        let sql = match Layout::detect_by_names(dir) {
            ByNames::Layout(layout) => return Self::load_with_layout(dir, layout),
            ByNames::Undecided(sql) => sql,
        };
        // tt's own layout unless a file has dbmate's or goose's up marker. Reading the files as
        // tt's own finds those markers too, so that each file is read once, not once to detect
        // the layout and again to load it.
        let mut up_markers = UpMarkers::new();
        let native = Self::load_as(dir, Layout::Native, Some(&mut up_markers));
        let sections = sql.iter().find_map(|path| match up_markers.get(path) {
            Some(layout) => *layout,
            // Its name kept it from being read as tt's own.
            None => first_section_marker(path),
        });
        match sections {
            Some(layout) => Self::load_with_layout(dir, layout),
            None => native,
        }
    }

    /// Reads the migrations in `dir` as files of `layout` (`--layout`), by the rules of
    /// [`MigrationSet::load`].
    ///
    /// # Errors
    /// As [`MigrationSet::load`].
    pub fn load_with_layout(dir: &Path, layout: Layout) -> Result<Self, DiscoveryError> {
        Self::load_as(dir, layout, None)
    }

    /// [`MigrationSet::load_with_layout`], noting each file's first dbmate or goose up marker
    /// in `up_markers` when given.
    fn load_as(
        dir: &Path,
        layout: Layout,
        up_markers: Option<&mut UpMarkers>,
    ) -> Result<Self, DiscoveryError> {
        let (entries, problems) = list_directory(dir, layout)?;
        match discover(entries, problems, layout, up_markers)? {
            (migrations, repeatable) if migrations.is_empty() && repeatable.is_empty() => {
                Err(DiscoveryError::NoMigrations {
                    dir: dir.to_path_buf(),
                })
            }
            (migrations, repeatable) => Ok(Self::new(migrations, repeatable, layout)),
        }
    }

    fn new(mut migrations: Vec<Migration>, repeatable: Vec<Migration>, layout: Layout) -> Self {
        let numbered = migrations.len();
        migrations.extend(repeatable);
        Self {
            migrations,
            numbered,
            layout,
        }
    }

    /// Reads migrations compiled into the program, as (path relative to the migrations
    /// directory, bytes) pairs, by the same rules as [`MigrationSet::load`] in tt's own layout.
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
        match discover(entries, Vec::new(), Layout::Native, None)? {
            (migrations, _) if migrations.is_empty() => Err(DiscoveryError::NoEmbeddedMigrations),
            (migrations, repeatable) => Ok(Self::new(migrations, repeatable, Layout::Native)),
        }
    }

    /// The layout the files were read in.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Repeatable migrations (Flyway's `R__name.sql`, version `R__name`), sorted by name: they
    /// run after the numbered ones whenever their checksum changed.
    pub fn repeatable(&self) -> &[Migration] {
        &self.migrations[self.numbered..]
    }

    /// The numbered migrations in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, Migration> {
        self.as_slice().iter()
    }

    /// The numbered migrations in version order, as a slice.
    pub fn as_slice(&self) -> &[Migration] {
        &self.migrations[..self.numbered]
    }

    /// The numbered migrations, then the repeatable ones: what [`crate::Migrator::new`],
    /// `scratch_schema` and verify take to treat repeatable migrations as `migrate` does.
    pub fn with_repeatable(&self) -> &[Migration] {
        &self.migrations
    }

    /// The numbered migration of `version`, if there is one.
    pub fn get(&self, version: &Version) -> Option<&Migration> {
        self.as_slice()
            .binary_search_by(|m| m.version.cmp(version))
            .ok()
            .map(|i| &self.migrations[i])
    }

    /// How many numbered migrations there are.
    pub fn len(&self) -> usize {
        self.numbered
    }

    /// Whether there are no numbered migrations.
    pub fn is_empty(&self) -> bool {
        self.numbered == 0
    }

    /// The numbered migration with the highest version.
    pub fn latest(&self) -> Option<&Migration> {
        self.as_slice().last()
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
    /// A file whose name does not follow the layout of another tool the directory is read in.
    #[error(
        "{}: file name does not follow the {layout} layout (expected names such as {})",
        path.display(),
        layout.example()
    )]
    NotLayoutName {
        /// The file.
        path: PathBuf,
        /// The layout.
        layout: Layout,
    },
    /// A dbmate or goose file without its up marker.
    #[error(
        "{}: no `{up}` line ({layout} files hold a `{up}` section and optionally a `{down}` \
         section after it)",
        path.display(),
        up = markers(*layout).0,
        down = markers(*layout).1
    )]
    NoUpSection {
        /// The file.
        path: PathBuf,
        /// The layout (dbmate or goose).
        layout: Layout,
    },
    /// A section marker that repeats one or comes before the up marker.
    #[error(
        "{}: unexpected `{marker}` at line {line} (expected one `{up}`, then at most one \
         `{down}`)",
        path.display(),
        up = markers(*layout).0,
        down = markers(*layout).1
    )]
    SectionOrder {
        /// The file.
        path: PathBuf,
        /// The line (from 1).
        line: u64,
        /// The marker as written.
        marker: String,
        /// The layout (dbmate or goose).
        layout: Layout,
    },
    /// Another tool's up/down marker in a file read in a layout that would run it whole, so
    /// that its down section would run right after its up section.
    #[error(
        "{}: line {line} is {tool}'s `{marker}` marker: run whole, the file would undo itself \
         ({})",
        path.display(),
        match layout {
            Some(layout) => format!("read the directory with --layout {layout}"),
            None => format!(
                "tt does not read {tool}'s layout: split each file into an up and a down file"
            ),
        }
    )]
    ForeignMarker {
        /// The file.
        path: PathBuf,
        /// The line (from 1).
        line: u64,
        /// The marker as written.
        marker: String,
        /// The tool whose marker it is (`goose`, `dbmate`, `sql-migrate`).
        tool: &'static str,
        /// The layout that reads such files, where tt has one.
        layout: Option<Layout>,
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
            | Self::NotLayoutName { path, .. }
            | Self::NoUpSection { path, .. }
            | Self::SectionOrder { path, .. }
            | Self::ForeignMarker { path, .. }
            | Self::Read { path, .. } => path,
        }
    }
}

/// The up and down markers of a layout of sections.
fn markers(layout: Layout) -> (&'static str, &'static str) {
    match layout {
        Layout::Goose => ("-- +goose Up", "-- +goose Down"),
        _ => ("-- migrate:up", "-- migrate:down"),
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
    origin.path().to_path_buf()
}

impl NameError {
    fn at(self, path: PathBuf, layout: Layout) -> Problem {
        match self {
            Self::NoVersion => Problem::NoVersion { path },
            Self::UnknownBackend(backend) => Problem::UnknownBackend { path, backend },
            Self::UnexpectedSuffix(suffix) => Problem::UnexpectedSuffix { path, suffix },
            Self::TomlSuffix(suffix) => Problem::TomlSuffix { path, suffix },
            Self::NotLayoutName => Problem::NotLayoutName { path, layout },
        }
    }
}

/// The files directly in `dir` (and, for diesel, in its subdirectories, named `sub/file`),
/// sorted by name; problems for names that are not UTF-8.
fn list_directory(
    dir: &Path,
    layout: Layout,
) -> Result<(Vec<Entry>, Vec<Problem>), DiscoveryError> {
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
    list_files(
        dir,
        "",
        layout.has_directories(),
        &mut entries,
        &mut problems,
    )
    .map_err(read_error)?;
    entries.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok((entries, problems))
}

/// Adds the files of `dir` to `entries`, their names prefixed by `prefix`; descends one level
/// when `subdirectories`.
fn list_files(
    dir: &Path,
    prefix: &str,
    subdirectories: bool,
    entries: &mut Vec<Entry>,
    problems: &mut Vec<Problem>,
) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // Follow symlinks; one that cannot be followed is treated as a file and reported when
        // read, if its name makes it a migration.
        let is_dir = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => fs::metadata(&path).is_ok_and(|m| m.is_dir()),
            Ok(kind) => kind.is_dir(),
            Err(_) => false,
        };
        let hidden = entry.file_name().as_encoded_bytes().starts_with(b".");
        match entry.file_name().into_string() {
            Ok(name) if is_dir => {
                if subdirectories && !hidden {
                    list_files(&path, &format!("{name}/"), false, entries, problems)?;
                }
            }
            Ok(name) => entries.push(Entry {
                file_name: format!("{prefix}{name}"),
                origin: Origin::Path(path),
            }),
            Err(_) => {
                let looks_like_migration = path
                    .extension()
                    .is_some_and(|ext| ext == "sql" || ext == "toml");
                if (looks_like_migration || (is_dir && subdirectories)) && !hidden {
                    problems.push(Problem::NameNotUtf8 { path });
                }
            }
        }
    }
    Ok(())
}

/// A migration file whose name parsed, with what reading it gave.
struct Found {
    name: FileName,
    path: PathBuf,
    /// `None` when reading it found problems.
    file: Option<MigrationFile>,
}

/// Migrations and repeatable migrations, each sorted.
type Discovered = (Vec<Migration>, Vec<Migration>);

/// For each file read, the layout (dbmate or goose) of its first up-section marker, if any.
type UpMarkers = std::collections::HashMap<PathBuf, Option<Layout>>;

/// The shared path from files to migrations: name, read, group, check; every problem at once.
/// With `up_markers`, each file read is also scanned for dbmate's or goose's up marker.
fn discover(
    entries: Vec<Entry>,
    mut problems: Vec<Problem>,
    layout: Layout,
    mut up_markers: Option<&mut UpMarkers>,
) -> Result<Discovered, DiscoveryError> {
    let no_transaction = no_transaction_files(&entries, layout);
    let mut found = Vec::new();
    for entry in entries {
        let path = origin_path(&entry.origin);
        match parse_name(layout, &entry.file_name) {
            Ok(None) => {}
            Err(error) => problems.push(error.at(path, layout)),
            Ok(Some(name)) if layout.has_sections() => {
                found.extend(read_sections(
                    entry.origin,
                    &name,
                    &path,
                    layout,
                    &mut problems,
                ));
            }
            Ok(Some(name)) => {
                let mut up_marker = None;
                let sniff = up_markers.is_some().then_some(&mut up_marker);
                let mut file = read(entry.origin, &name, &path, layout, &mut problems, sniff);
                if let Some(up_markers) = up_markers.as_deref_mut() {
                    up_markers.insert(path.clone(), up_marker);
                }
                if let Some(file) = &mut file {
                    file.no_transaction |= no_transaction.contains(&entry.file_name);
                }
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
    let mut repeatable = Vec::new();
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
            if version.is_repeatable() {
                repeatable.push(assemble(version, files));
            } else {
                migrations.push(assemble(version, files));
            }
        }
    }
    if problems.is_empty() {
        Ok((migrations, repeatable))
    } else {
        // Stable: a file's own problems keep the order they were found in.
        problems.sort_by(|a, b| a.path().cmp(b.path()));
        Err(DiscoveryError::Invalid { problems })
    }
}

/// Files that other tools' settings run outside a transaction: Flyway's `V1__x.sql.conf`
/// with `executeInTransaction=false`, diesel's `metadata.toml` with
/// `run_in_transaction = false`. (sqlx's `-- no-transaction` and dbmate's
/// `transaction:false` are inside the files.)
fn no_transaction_files(entries: &[Entry], layout: Layout) -> std::collections::BTreeSet<String> {
    let mut files = std::collections::BTreeSet::new();
    for entry in entries {
        let targets: Vec<String> = match layout {
            Layout::Flyway => match entry.file_name.strip_suffix(".conf") {
                Some(script) => vec![script.to_string()],
                None => continue,
            },
            Layout::Diesel => match entry.file_name.strip_suffix("/metadata.toml") {
                Some(dir) => vec![format!("{dir}/up.sql"), format!("{dir}/down.sql")],
                None => continue,
            },
            Layout::Native
            | Layout::Sqlx
            | Layout::Dbmate
            | Layout::GolangMigrate
            | Layout::Goose
            | Layout::Prisma => continue,
        };
        let mut text = String::new();
        let readable = entry
            .origin
            .open_bytes()
            .and_then(|mut reader| reader.read_to_string(&mut text))
            .is_ok();
        // An unreadable settings file changes nothing; the scripts themselves are checked.
        if readable && turns_transaction_off(&text) {
            files.extend(targets);
        }
    }
    files
}

/// Whether a Flyway `.conf` or diesel `metadata.toml` says to run outside a transaction.
fn turns_transaction_off(text: &str) -> bool {
    text.lines().any(|line| {
        let Some((key, value)) = line.split_once('=') else {
            return false;
        };
        let key = key.trim();
        let value = value.trim().trim_matches('"');
        (key == "executeInTransaction" || key == "run_in_transaction") && value == "false"
    })
}

/// Reads a file of sections (dbmate, goose): its up section as the up script and its down
/// section as the down script.
fn read_sections(
    origin: Origin,
    name: &FileName,
    path: &Path,
    layout: Layout,
    problems: &mut Vec<Problem>,
) -> Vec<Found> {
    let sections = match find_sections(&origin, path, layout) {
        Ok(sections) => sections,
        Err(problem) => {
            problems.push(*problem);
            return Vec::new();
        }
    };
    let mut found = Vec::new();
    for section in sections {
        let name = FileName {
            direction: section.direction,
            ..name.clone()
        };
        let origin = Origin::Section {
            whole: Box::new(origin.clone()),
            start: section.start,
            end: section.end,
            line: section.line,
        };
        let mut file = read(origin, &name, path, layout, problems, None);
        if let Some(file) = &mut file {
            file.no_transaction |= section.no_transaction;
        }
        found.push(Found {
            name,
            path: path.to_path_buf(),
            file,
        });
    }
    found
}

/// One section of a dbmate or goose file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Section {
    direction: Direction,
    /// Byte range of the lines after the marker, up to the next marker or the end.
    start: u64,
    end: u64,
    /// The line of the section's first byte.
    line: u32,
    no_transaction: bool,
}

/// Finds the sections of a dbmate or goose file, reading it line by line.
fn find_sections(
    origin: &Origin,
    path: &Path,
    layout: Layout,
) -> Result<Vec<Section>, Box<Problem>> {
    let read_problem = |error| {
        Box::new(Problem::Read {
            path: path.to_path_buf(),
            error,
        })
    };
    let mut reader = origin.open_bytes().map_err(read_problem)?;
    let mut sections: Vec<Section> = Vec::new();
    let mut line = Vec::new();
    let (mut offset, mut number) = (0u64, 0u32);
    // goose's `NO TRANSACTION` may stand anywhere and covers both sections.
    let mut whole_file_no_transaction = false;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(read_problem)?;
        if n == 0 {
            break;
        }
        offset += n as u64;
        number += 1;
        let marker = section_marker(layout, &line);
        if let Some(Marker::Section(direction, no_transaction)) = marker {
            let expected = match sections.last() {
                None => Direction::Up,
                Some(last) if last.direction == Direction::Up => Direction::Down,
                Some(_) => Direction::Up, // never matches: a down ends the file's sections
            };
            if direction != expected || sections.len() == 2 {
                return Err(Box::new(Problem::SectionOrder {
                    path: path.to_path_buf(),
                    line: u64::from(number),
                    marker: String::from_utf8_lossy(&line).trim().to_string(),
                    layout,
                }));
            }
            sections.push(Section {
                direction,
                start: offset,
                end: offset,
                line: number + 1,
                no_transaction,
            });
            continue;
        }
        whole_file_no_transaction |= marker == Some(Marker::NoTransaction);
        if let Some(section) = sections.last_mut() {
            section.end = offset;
        }
    }
    if sections.is_empty() {
        return Err(Box::new(Problem::NoUpSection {
            path: path.to_path_buf(),
            layout,
        }));
    }
    for section in &mut sections {
        section.no_transaction |= whole_file_no_transaction;
    }
    Ok(sections)
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
    let mut empty_down = Vec::new();
    for found in files {
        if let Some(file) = found.file {
            match found.name.direction {
                Direction::Up => up.push(file),
                Direction::Down if holds_no_statement(&file) => {
                    empty_down.push(file.path().to_path_buf());
                }
                Direction::Down => down.push(file),
            }
        }
    }
    Migration {
        version,
        name,
        up,
        down,
        empty_down,
    }
}

/// Whether a SQL down script holds no statement (only blank lines, comments or `\echo`) in
/// every dialect it may run in: it would undo nothing, so it counts as no rollback.
fn holds_no_statement(file: &MigrationFile) -> bool {
    if file.kind != FileKind::Sql {
        return false;
    }
    let dialects = file
        .backend
        .map_or(Backend::ALL.to_vec(), |backend| vec![backend]);
    dialects.into_iter().all(|dialect| {
        // An unreadable file is reported when it runs.
        let Ok(reader) = file.open() else {
            return false;
        };
        Splitter::new(reader, dialect).all(|piece| matches!(piece, Ok(Piece::Echo { .. })))
    })
}

/// Reads a file once: checksum, UTF-8 check and (for SQL) leading directives; with
/// `up_marker`, the layout of its first dbmate or goose up marker too.
fn read(
    origin: Origin,
    name: &FileName,
    path: &Path,
    layout: Layout,
    problems: &mut Vec<Problem>,
    up_marker: Option<&mut Option<Layout>>,
) -> Option<MigrationFile> {
    let reader = match origin.open_bytes() {
        Ok(reader) => reader,
        Err(error) => {
            problems.push(Problem::Read {
                path: path.to_path_buf(),
                error,
            });
            return None;
        }
    };
    let mut inspect = Inspect {
        inner: reader,
        utf8: Utf8Check::default(),
        markers: (name.kind == FileKind::Sql).then(|| MarkerScan::new(layout, up_marker.is_some())),
        // TOML has `#` comments and no statements to run outside a transaction.
        header: (name.kind == FileKind::Sql).then(|| Header {
            // sqlx's own directive, as the first line of a file.
            bare_no_transaction: layout == Layout::Sqlx,
            ..Header::default()
        }),
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
    // A dbmate section's lines are counted from its own start; messages give the file's.
    let lines_before = match &origin {
        Origin::Section { line, .. } => u64::from(line.saturating_sub(1)),
        Origin::Path(_) | Origin::Embedded { .. } => 0,
    };
    let before = problems.len();
    if let Some(line) = inspect.utf8.finish() {
        problems.push(Problem::NotUtf8 {
            path: path.to_path_buf(),
            line: lines_before + line,
        });
    }
    let mut markers = inspect.markers.map(MarkerScan::finish);
    if let (Some(up_marker), Some(markers)) = (up_marker, &markers) {
        *up_marker = markers.up_section;
    }
    if let Some((line, marker, tool, layout)) = markers.as_mut().and_then(|m| m.foreign.take()) {
        problems.push(Problem::ForeignMarker {
            path: path.to_path_buf(),
            line: lines_before + line,
            marker,
            tool,
            layout,
        });
    }
    let header = inspect.header.map(Header::finish).unwrap_or_default();
    for (line, directive) in header.unknown {
        problems.push(Problem::UnknownDirective {
            path: path.to_path_buf(),
            line: lines_before + line,
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
    markers: Option<MarkerScan>,
    header: Option<Header>,
}

impl<R: Read> Read for Inspect<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = &buf[..n];
        self.utf8.feed(bytes);
        if let Some(markers) = &mut self.markers {
            markers.feed(bytes);
        }
        if let Some(header) = &mut self.header {
            header.feed(bytes);
        }
        Ok(n)
    }
}

/// Finds the first line that is another tool's up or down marker (goose's `-- +goose Down`,
/// sql-migrate's `-- +migrate Up`, dbmate's `-- migrate:down`) in a file whose layout would
/// run it whole; only the start of each line is kept.
///
/// When asked, it also finds the first dbmate or goose up marker in the first
/// [`MARKER_SNIFF_BYTES`], which tells those layouts from tt's own ([`Layout::detect`]).
#[derive(Debug)]
struct MarkerScan {
    layout: Layout,
    /// The line (from 1) being read.
    line: u64,
    /// The start of the current line, up to [`MarkerScan::KEEP`] bytes.
    head: Vec<u8>,
    /// Bytes fed so far.
    offset: u64,
    /// Bytes before the current line.
    line_start: u64,
    found: Option<(u64, String, &'static str, Option<Layout>)>,
    /// Whether to look for the first up-section marker.
    sniff: bool,
    up_section: Option<Layout>,
}

/// What [`MarkerScan`] found.
struct Markers {
    /// The first foreign marker: its line, text, tool and the layout that reads it.
    foreign: Option<(u64, String, &'static str, Option<Layout>)>,
    /// The layout of the first dbmate or goose up marker, when looked for.
    up_section: Option<Layout>,
}

impl MarkerScan {
    /// Markers are short; a longer line start is not one.
    const KEEP: usize = 80;

    fn new(layout: Layout, sniff: bool) -> Self {
        Self {
            layout,
            line: 1,
            head: Vec::new(),
            offset: 0,
            line_start: 0,
            found: None,
            sniff,
            up_section: None,
        }
    }

    /// Whether the up-section marker is still looked for.
    fn sniffing(&self) -> bool {
        self.sniff && self.up_section.is_none() && self.line_start < MARKER_SNIFF_BYTES
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while self.found.is_none() || self.sniffing() {
            let (part, rest) = match memchr::memchr(b'\n', bytes) {
                Some(at) => (&bytes[..at], Some(&bytes[at + 1..])),
                None => (bytes, None),
            };
            let room = Self::KEEP.saturating_sub(self.head.len());
            self.head.extend_from_slice(&part[..part.len().min(room)]);
            self.offset += part.len() as u64;
            let Some(rest) = rest else { return };
            self.offset += 1;
            self.end_line();
            self.line_start = self.offset;
            bytes = rest;
        }
    }

    fn end_line(&mut self) {
        // Most lines are not comments: skip them without decoding.
        let start = self.head.iter().position(|b| !b.is_ascii_whitespace());
        let comment = start.is_some_and(|at| self.head[at..].starts_with(b"--"));
        if comment && self.sniffing() {
            self.up_section = up_section_marker(&self.head);
        }
        if comment
            && self.found.is_none()
            && let Some((tool, layout)) = tool_marker(&self.head)
            && layout != Some(self.layout)
        {
            let marker = String::from_utf8_lossy(&self.head).trim().to_string();
            self.found = Some((self.line, marker, tool, layout));
        }
        self.head.clear();
        self.line += 1;
    }

    fn finish(mut self) -> Markers {
        if self.found.is_none() || self.sniffing() {
            self.end_line();
        }
        Markers {
            foreign: self.found,
            up_section: self.up_section,
        }
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
    /// Whether `-- no-transaction` (sqlx's spelling) also counts.
    bare_no_transaction: bool,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            state: HeaderState::Start,
            line: 1,
            comment: Vec::new(),
            no_transaction: false,
            unknown: Vec::new(),
            bare_no_transaction: false,
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
        if word == "tt:no-transaction" || (self.bare_no_transaction && word == "no-transaction") {
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

    fn check_sections(text: &'static str, expected: &str) {
        check_layout_sections(Layout::Dbmate, text, expected);
    }

    fn check_layout_sections(layout: Layout, text: &'static str, expected: &str) {
        let origin = Origin::Embedded {
            path: "1_x.sql",
            bytes: text.as_bytes(),
        };
        let actual = match find_sections(&origin, Path::new("1_x.sql"), layout) {
            Ok(sections) => sections
                .iter()
                .map(|s| {
                    format!(
                        "{:?} {:?} line {}{}",
                        s.direction,
                        &text[s.start as usize..s.end as usize],
                        s.line,
                        if s.no_transaction { " no-tx" } else { "" },
                    )
                })
                .collect::<Vec<_>>()
                .join(" | "),
            Err(problem) => problem.to_string(),
        };
        assert_eq!(actual, expected, "{text:?}");
    }

    #[test]
    fn dbmate_sections() {
        check_sections(
            "-- migrate:up\nA;\n-- migrate:down\nB;\n",
            r#"Up "A;\n" line 2 | Down "B;\n" line 4"#,
        );
        check_sections(
            "-- header\n-- migrate:up transaction:false\nA;\n\n-- migrate:down\n\n-- none\n",
            r#"Up "A;\n\n" line 3 no-tx | Down "\n-- none\n" line 6"#,
        );
        check_sections("-- migrate:up\nA;", r#"Up "A;" line 2"#);
        check_sections(
            "SELECT 1;\n",
            "1_x.sql: no `-- migrate:up` line (dbmate files hold a `-- migrate:up` section and \
             optionally a `-- migrate:down` section after it)",
        );
        check_sections(
            "-- migrate:down\nB;\n-- migrate:up\nA;\n",
            "1_x.sql: unexpected `-- migrate:down` at line 1 (expected one `-- migrate:up`, \
             then at most one `-- migrate:down`)",
        );
        check_sections(
            "-- migrate:up\nA;\n-- migrate:down\nB;\n-- migrate:up\n",
            "1_x.sql: unexpected `-- migrate:up` at line 5 (expected one `-- migrate:up`, then \
             at most one `-- migrate:down`)",
        );
    }

    #[test]
    fn goose_sections() {
        let check = |text, expected| check_layout_sections(Layout::Goose, text, expected);
        check(
            "-- +goose Up\nA;\n-- +goose Down\nB;\n",
            r#"Up "A;\n" line 2 | Down "B;\n" line 4"#,
        );
        // NO TRANSACTION covers both sections, wherever it stands.
        check(
            "-- +goose NO TRANSACTION\n-- +goose Up\nA;\n-- +goose Down\nB;\n",
            r#"Up "A;\n" line 3 no-tx | Down "B;\n" line 5 no-tx"#,
        );
        // Statement blocks stay inside their section, as comments the splitter skips.
        check(
            "-- +goose Up\n-- +goose StatementBegin\nA;\n-- +goose StatementEnd\n",
            r#"Up "-- +goose StatementBegin\nA;\n-- +goose StatementEnd\n" line 2"#,
        );
        check(
            "SELECT 1;\n",
            "1_x.sql: no `-- +goose Up` line (goose files hold a `-- +goose Up` section and \
             optionally a `-- +goose Down` section after it)",
        );
        check(
            "-- +goose Down\nB;\n",
            "1_x.sql: unexpected `-- +goose Down` at line 1 (expected one `-- +goose Up`, then \
             at most one `-- +goose Down`)",
        );
    }

    #[test]
    fn foreign_markers_are_found_on_any_line() {
        let check = |layout: Layout, text: &str, expected: Option<(u64, &str)>| {
            for chunk in [1, 3, 1000] {
                let mut scan = MarkerScan::new(layout, false);
                for piece in text.as_bytes().chunks(chunk) {
                    scan.feed(piece);
                }
                let found = scan.finish().foreign;
                let found = found
                    .as_ref()
                    .map(|(line, marker, ..)| (*line, marker.as_str()));
                assert_eq!(found, expected, "{layout} {text:?} in chunks of {chunk}");
            }
        };
        let goose = "-- +goose Up\nCREATE TABLE w (id int);\n\n-- +goose Down\nDROP TABLE w;";
        check(Layout::Native, goose, Some((1, "-- +goose Up")));
        check(Layout::Sqlx, goose, Some((1, "-- +goose Up")));
        check(Layout::Goose, goose, None);
        check(
            Layout::Flyway,
            "SELECT 1;\r\n  -- +migrate Down\r\n",
            Some((2, "-- +migrate Down")),
        );
        check(
            Layout::Goose,
            "A;\n-- migrate:down",
            Some((2, "-- migrate:down")),
        );
        check(Layout::Native, "-- +goose StatementBegin\nA;\n", None);
        check(Layout::Native, &format!("-- {}\n", "x".repeat(500)), None);
    }

    #[test]
    fn the_first_up_section_marker_is_found_past_other_markers() {
        let check = |text: &str, expected: Option<Layout>| {
            for chunk in [1, 3, 1000] {
                let mut scan = MarkerScan::new(Layout::Native, true);
                for piece in text.as_bytes().chunks(chunk) {
                    scan.feed(piece);
                }
                let found = scan.finish().up_section;
                let start: String = text.chars().take(40).collect();
                assert_eq!(found, expected, "{start:?}… in chunks of {chunk}");
            }
        };
        check("-- migrate:up\nA;\n-- migrate:down\n", Some(Layout::Dbmate));
        check("  -- +goose Up\nA;", Some(Layout::Goose));
        // The first foreign marker is a down marker: the up marker after it still counts.
        check(
            "-- migrate:down\nB;\n-- migrate:up\nA;",
            Some(Layout::Dbmate),
        );
        check("-- +migrate Up\nA;\n-- +goose Up\n", Some(Layout::Goose));
        check("-- +goose Down\nB;\n", None);
        check("CREATE TABLE t (id int);\n", None);
        // Past the first 64 KiB a marker is a foreign marker, not the folder's layout.
        let filler = "-- x\n".repeat(20_000);
        check(&format!("{filler}-- migrate:up\n"), None);
        check(
            &format!("{}-- migrate:up\n", &filler[..60_000]),
            Some(Layout::Dbmate),
        );
    }

    #[test]
    fn problems_in_a_dbmate_down_section_name_lines_of_the_whole_file() {
        let text: &'static [u8] =
            b"-- migrate:up\nSELECT 1;\n\n-- migrate:down\n-- tt:bogus\nSELECT '\xFF';\n";
        let origin = Origin::Embedded {
            path: "1_x.sql",
            bytes: text,
        };
        let Ok(Some(name)) = parse_name(Layout::Dbmate, "1_x.sql") else {
            panic!("1_x.sql is a dbmate name")
        };
        let mut problems = Vec::new();
        read_sections(
            origin,
            &name,
            Path::new("1_x.sql"),
            Layout::Dbmate,
            &mut problems,
        );
        let messages: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "1_x.sql: not valid UTF-8 at line 6",
                "1_x.sql: unknown directive `tt:bogus` at line 5 (known: tt:no-transaction)",
            ]
        );
    }

    #[test]
    fn other_tools_settings_turn_transactions_off() {
        let check = |text: &str, expected: bool| {
            assert_eq!(turns_transaction_off(text), expected, "{text:?}")
        };
        check("executeInTransaction=false\n", true);
        check("# flyway\nexecuteInTransaction = false", true);
        check("run_in_transaction = false\n", true);
        check("run_in_transaction = \"false\"\n", true);
        check("executeInTransaction=true\n", false);
        check("run_in_transaction = true\n", false);
        check("", false);
    }
}
