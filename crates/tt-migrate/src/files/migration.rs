//! Migrations as found on disk or embedded: versions, files, checksums.

use std::cmp::Ordering;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tt_schema::Backend;

/// A migration version: the leading digits of a file name, kept as written (`000`, `20240101`).
///
/// Versions order numerically (`9` before `10`); two spellings of the same number (`01`, `1`)
/// are different versions but order next to each other by their text. Flyway's dotted versions
/// (`1.2.10`) order part by part. A repeatable migration (Flyway's `R__name.sql`) has the
/// version `R__name`, which orders after every numbered one. Diesel and Prisma compare their
/// versions as text ([`Version::text_ordered`]): `20240313` after `20180114171611`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Version {
    text: String,
    /// Compared as text, as diesel and Prisma do, rather than as numbers.
    by_text: bool,
}

impl Version {
    /// The prefix of the version of a repeatable migration.
    pub const REPEATABLE_PREFIX: &'static str = "R__";

    /// A version from its digits (or digits separated by single dots, as Flyway writes them).
    ///
    /// # Errors
    /// When `text` is empty or holds anything but ASCII digits and inner dots.
    pub fn new(text: impl Into<String>) -> Result<Self, InvalidVersion> {
        let text = text.into();
        let valid = text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return Err(InvalidVersion(text));
        }
        Ok(Self {
            text,
            by_text: false,
        })
    }

    /// A version that orders by its text, as diesel and Prisma order theirs (diesel's
    /// `20240313` from `2024-03-13_170000_x` runs after `20180114171611`): ASCII letters,
    /// digits and dots.
    ///
    /// # Errors
    /// When `text` is empty or holds anything but ASCII letters, digits and dots.
    pub fn text_ordered(text: impl Into<String>) -> Result<Self, InvalidVersion> {
        let text = text.into();
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'.';
        if text.is_empty() || !text.bytes().all(allowed) {
            return Err(InvalidVersion(text));
        }
        Ok(Self {
            text,
            by_text: true,
        })
    }

    /// The version of the repeatable migration `name` (`R__name`).
    pub fn repeatable(name: &str) -> Self {
        Self {
            text: format!("{}{name}", Self::REPEATABLE_PREFIX),
            by_text: false,
        }
    }

    /// Whether this is the version of a repeatable migration.
    pub fn is_repeatable(&self) -> bool {
        !self.by_text && self.text.starts_with(Self::REPEATABLE_PREFIX)
    }

    /// Whether this version orders by its text (diesel, Prisma).
    pub fn is_text_ordered(&self) -> bool {
        self.by_text
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `text` (a version recorded by tt or by another tool, such as sqlx's `1` for
    /// file `0001`) names the same number as this version. Text-ordered versions match only
    /// their own text, as their tools record them.
    pub fn same_number(&self, text: &str) -> bool {
        if self.is_repeatable() || self.by_text {
            return self.text == text.trim();
        }
        match Version::new(text.trim()) {
            Ok(other) => {
                let (a, b) = (self.numeric_parts(), other.numeric_parts());
                a == b
            }
            Err(_) => false,
        }
    }

    /// The dot-separated parts without leading zeros.
    fn numeric_parts(&self) -> Vec<&str> {
        self.text
            .split('.')
            .map(|part| {
                let trimmed = part.trim_start_matches('0');
                if trimmed.is_empty() { "0" } else { trimmed }
            })
            .collect()
    }
}

// Equal text is the same version however it orders: a `--to` version typed as digits names a
// diesel migration.
impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Version {}

impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl TryFrom<String> for Version {
    type Error = InvalidVersion;

    /// Digits as [`Version::new`] takes them, or a repeatable migration's `R__name`.
    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.strip_prefix(Self::REPEATABLE_PREFIX) {
            Some(name) if !name.is_empty() => Ok(Self::repeatable(name)),
            _ => Self::new(text),
        }
    }
}

impl From<Version> for String {
    fn from(version: Version) -> Self {
        version.text
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.by_text || other.by_text {
            return self.text.cmp(&other.text);
        }
        match (self.is_repeatable(), other.is_repeatable()) {
            (true, true) => return self.text.cmp(&other.text),
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        let (a, b) = (self.numeric_parts(), other.numeric_parts());
        for (a, b) in a.iter().zip(&b) {
            // Digits without leading zeros: the longer is the bigger number, else compare as
            // text.
            let order = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
            if order != Ordering::Equal {
                return order;
            }
        }
        a.len()
            .cmp(&b.len())
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Text that is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a version (expected digits such as 001 or 20240101120000)")]
pub struct InvalidVersion(pub String);

/// Hex SHA-256 of a migration file's bytes, after removing a leading UTF-8 BOM and turning CRLF
/// into LF, so that a checkout on Windows does not read as an edit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Checksum(String);

impl Checksum {
    /// The checksum of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self::of_reader(bytes).unwrap_or_else(|_| unreachable!("reading a slice cannot fail"))
    }

    /// The checksum of everything `reader` yields, read in bounded memory.
    ///
    /// # Errors
    /// When reading fails.
    pub fn of_reader(mut reader: impl Read) -> io::Result<Self> {
        let mut hasher = Sha256::new();
        // A CR at the end of one chunk may pair with an LF at the start of the next.
        let mut pending_cr = false;
        // The BOM is looked for in the first three bytes, however few the first read yields.
        let mut head = [0u8; 3];
        let mut filled = 0;
        while filled < head.len() {
            match read_some(&mut reader, &mut head[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        if head[..filled] != *b"\xEF\xBB\xBF" {
            hash_with_lf(&mut hasher, &head[..filled], &mut pending_cr);
        }
        // On the stack and small: most migrations are a few KiB, and a fresh 64 KiB buffer
        // zeroed for each of a thousand files cost more than hashing them.
        let mut buffer = [0u8; 8 * 1024];
        loop {
            match read_some(&mut reader, &mut buffer)? {
                0 => break,
                n => hash_with_lf(&mut hasher, &buffer[..n], &mut pending_cr),
            }
        }
        if pending_cr {
            hasher.update(b"\r");
        }
        Ok(Self(hex::encode(hasher.finalize())))
    }

    /// A checksum as stored in the tracking table (hex text).
    pub fn from_hex(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }

    /// The lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `read`, retried when interrupted.
fn read_some(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buffer) {
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// Hashes `chunk` with each CRLF as LF; `pending_cr` carries a CR that ended the last chunk.
fn hash_with_lf(hasher: &mut Sha256, mut chunk: &[u8], pending_cr: &mut bool) {
    let Some(&first) = chunk.first() else { return };
    if std::mem::take(pending_cr) && first != b'\n' {
        hasher.update(b"\r");
    }
    // Hash the runs between CRs as they are, without copying byte by byte: most files have
    // no CR at all.
    while let Some(at) = memchr::memchr(b'\r', chunk) {
        hasher.update(&chunk[..at]);
        match chunk.get(at + 1) {
            Some(b'\n') => {}
            Some(_) => hasher.update(b"\r"),
            None => *pending_cr = true,
        }
        chunk = &chunk[at + 1..];
    }
    hasher.update(chunk);
}

/// What a migration file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// SQL statements, split and run in order.
    Sql,
    /// TOML table definitions, rendered for the backend and created in FK order.
    Toml,
}

/// Where a migration file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file on disk.
    Path(PathBuf),
    /// Bytes compiled into the program (see `embed!`), with the path they were embedded from.
    Embedded {
        /// Path relative to the embedded migrations directory, for messages.
        path: &'static str,
        /// The file's bytes.
        bytes: &'static [u8],
    },
    /// Part of a file that holds more than one script (dbmate's `-- migrate:up` and
    /// `-- migrate:down` sections in one file).
    Section {
        /// The whole file.
        whole: Box<Origin>,
        /// Byte offset of the section's first byte.
        start: u64,
        /// Byte offset just past the section's last byte.
        end: u64,
        /// The 1-based line of the section's first byte in the whole file.
        line: u32,
    },
}

impl Origin {
    /// The path for messages (the embedded path for embedded files).
    pub fn path(&self) -> &Path {
        match self {
            Origin::Path(path) => path,
            Origin::Embedded { path, .. } => Path::new(path),
            Origin::Section { whole, .. } => whole.path(),
        }
    }

    /// The bytes themselves (for a section: only its bytes), for checksums.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn open_bytes(&self) -> io::Result<Box<dyn BufRead + Send>> {
        match self {
            Origin::Path(path) => Ok(Box::new(io::BufReader::with_capacity(
                64 * 1024,
                std::fs::File::open(path)?,
            ))),
            Origin::Embedded { bytes, .. } => Ok(Box::new(*bytes)),
            Origin::Section {
                whole, start, end, ..
            } => {
                let mut reader = whole.open_bytes()?;
                io::copy(&mut (&mut reader).take(*start), &mut io::sink())?;
                Ok(Box::new(reader.take(end.saturating_sub(*start))))
            }
        }
    }
}

/// One file of a migration: an up or down script, possibly for one backend only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFile {
    /// Where the bytes are.
    pub origin: Origin,
    /// SQL or TOML.
    pub kind: FileKind,
    /// The backend this file is a variant for (`001_x.postgres.sql`); `None` for all.
    pub backend: Option<Backend>,
    /// Checksum of the bytes.
    pub checksum: Checksum,
    /// Whether a leading comment says `-- tt:no-transaction`.
    pub no_transaction: bool,
}

impl MigrationFile {
    /// The path for messages (the embedded path for embedded files).
    pub fn path(&self) -> &Path {
        self.origin.path()
    }

    /// Opens the bytes for streaming. A section of a file starts with one empty line per line
    /// before it, so that statement lines are those of the whole file.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        let bytes = self.origin.open_bytes()?;
        match &self.origin {
            Origin::Section { line, .. } => {
                let padding = io::repeat(b'\n').take(u64::from(line.saturating_sub(1)));
                Ok(Box::new(io::BufReader::new(padding.chain(bytes))))
            }
            Origin::Path(_) | Origin::Embedded { .. } => Ok(bytes),
        }
    }
}

/// One migration: a version, a name, its up file(s) and optional down file(s), each possibly
/// with backend variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Version, from the file name.
    pub version: Version,
    /// Name, from the file name (`initial_schema`).
    pub name: String,
    /// Up files: the plain one and/or backend variants.
    pub up: Vec<MigrationFile>,
    /// Down files: the plain one and/or backend variants; empty when there is no rollback.
    pub down: Vec<MigrationFile>,
    /// Down files that hold no statement (empty or only comments): they undo nothing, so they
    /// are not rollbacks; kept to name them when a rollback stops.
    pub empty_down: Vec<PathBuf>,
}

impl Migration {
    /// The up file to run on `backend`: its variant if there is one, else the plain file.
    pub fn up_for(&self, backend: Backend) -> Option<&MigrationFile> {
        pick(&self.up, backend)
    }

    /// The down file to run on `backend`: its variant if there is one, else the plain file.
    pub fn down_for(&self, backend: Backend) -> Option<&MigrationFile> {
        pick(&self.down, backend)
    }
}

fn pick(files: &[MigrationFile], backend: Backend) -> Option<&MigrationFile> {
    files
        .iter()
        .find(|f| f.backend == Some(backend))
        .or_else(|| files.iter().find(|f| f.backend.is_none()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::Just;

    use super::*;

    #[test]
    fn versions_order_numerically() {
        let mut versions: Vec<Version> = ["10", "9", "000", "001", "1", "20240101120000", "002"]
            .into_iter()
            .map(|v| Version::new(v).unwrap())
            .collect();
        versions.sort();
        let sorted: Vec<&str> = versions.iter().map(Version::as_str).collect();
        assert_eq!(
            sorted,
            ["000", "001", "1", "002", "9", "10", "20240101120000"]
        );
    }

    #[test]
    fn dotted_and_repeatable_versions_order_after_plain_numbers() {
        let mut versions: Vec<Version> = ["1.10", "R__views", "2", "1.2", "1", "R__a", "1.2.1"]
            .into_iter()
            .map(|v| {
                v.strip_prefix("R__")
                    .map_or_else(|| Version::new(v).unwrap(), Version::repeatable)
            })
            .collect();
        versions.sort();
        let sorted: Vec<&str> = versions.iter().map(Version::as_str).collect();
        assert_eq!(
            sorted,
            ["1", "1.2", "1.2.1", "1.10", "2", "R__a", "R__views"]
        );
        assert!(Version::repeatable("x").is_repeatable());
        assert!(!Version::new("1").unwrap().is_repeatable());
    }

    #[test]
    fn text_ordered_versions_order_as_diesel_and_prisma_order_them() {
        let mut versions: Vec<Version> = [
            "20240313",
            "20180114171611",
            "00000000000000",
            "9",
            "10",
            "initial",
        ]
        .into_iter()
        .map(|v| Version::text_ordered(v).unwrap())
        .collect();
        versions.sort();
        let sorted: Vec<&str> = versions.iter().map(Version::as_str).collect();
        assert_eq!(
            sorted,
            [
                "00000000000000",
                "10",
                "20180114171611",
                "20240313",
                "9",
                "initial"
            ]
        );
        let diesel = Version::text_ordered("20240313").unwrap();
        assert_eq!(diesel, Version::new("20240313").unwrap());
        assert!(diesel > Version::new("20180114171611").unwrap());
        assert!(diesel.same_number("20240313"));
        assert!(!diesel.same_number("020240313"));
        for bad in ["", "a b", "x-y", "R__v/"] {
            assert_eq!(
                Version::text_ordered(bad),
                Err(InvalidVersion(bad.to_string()))
            );
        }
    }

    #[test]
    fn same_number_ignores_leading_zeros() {
        let check = |version: &str, recorded: &str, expected: bool| {
            let version = Version::new(version).unwrap();
            assert_eq!(
                version.same_number(recorded),
                expected,
                "{version} {recorded}"
            );
        };
        check("0001", "1", true);
        check("00000000000000", "0", true);
        check("1.01", "1.1", true);
        check("20240101120000", "20240101120000", true);
        check("1", "2", false);
        check("1", "1.0", false);
        check("1", "x", false);
        assert!(Version::repeatable("v").same_number("R__v"));
    }

    #[test]
    fn versions_are_digits() {
        for bad in ["", "1a", "v1", " 1", "1.", ".1", "1..2"] {
            assert_eq!(Version::new(bad), Err(InvalidVersion(bad.to_string())));
        }
    }

    #[test]
    fn deserialized_versions_are_checked_like_new_ones() {
        #[derive(Debug, Deserialize)]
        struct Row {
            version: Version,
        }
        let check = |text: &str, expected: Result<&str, &str>| {
            let parsed = toml::from_str::<Row>(&format!("version = {text:?}"));
            let actual = parsed
                .as_ref()
                .map(|row| row.version.as_str())
                .map_err(|error| error.message());
            assert_eq!(actual, expected, "{text}");
        };
        check("001", Ok("001"));
        check("1.2", Ok("1.2"));
        check("R__views", Ok("R__views"));
        let not_a_version = "`v1` is not a version (expected digits such as 001 or 20240101120000)";
        check("v1", Err(not_a_version));
        check(
            "R__",
            Err("`R__` is not a version (expected digits such as 001 or 20240101120000)"),
        );
    }

    #[test]
    fn checksum_ignores_bom_and_crlf() {
        let unix = Checksum::of_bytes(b"SELECT 1;\nSELECT 2;\n");
        assert_eq!(
            unix,
            Checksum::of_bytes(b"\xEF\xBB\xBFSELECT 1;\r\nSELECT 2;\r\n")
        );
        assert_ne!(unix, Checksum::of_bytes(b"SELECT 1;\nSELECT 3;\n"));
        // A lone CR is content, not a line ending.
        assert_ne!(unix, Checksum::of_bytes(b"SELECT 1;\rSELECT 2;\n"));
        assert_eq!(
            Checksum::of_bytes(b"").as_str(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    /// Hands out `text` in chunks of `size` bytes, as a reader with a small buffer would.
    struct Chunked<'a> {
        text: &'a [u8],
        size: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.size.min(buf.len()).min(self.text.len());
            buf[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            Ok(n)
        }
    }

    proptest::proptest! {
        #[test]
        fn checksum_is_the_hash_of_the_text_with_crlf_as_lf(
            text in proptest::collection::vec(
                proptest::prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'a')],
                0..64,
            ),
            size in 3usize..16,
        ) {
            let mut expected = Vec::new();
            let mut bytes = text.iter().peekable();
            while let Some(&byte) = bytes.next() {
                if !(byte == b'\r' && bytes.peek() == Some(&&b'\n')) {
                    expected.push(byte);
                }
            }
            let checksum = Checksum::of_reader(Chunked { text: &text, size }).unwrap();
            proptest::prop_assert_eq!(
                checksum.as_str(),
                hex::encode(Sha256::digest(&expected))
            );
        }
    }

    #[test]
    fn checksum_pairs_crlf_and_strips_a_bom_across_read_chunks() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((first, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = *first;
                self.0 = rest;
                Ok(1)
            }
        }
        let text = b"a\r\nb\r\n";
        assert_eq!(
            Checksum::of_reader(OneByte(text)).unwrap(),
            Checksum::of_bytes(b"a\nb\n")
        );
        // The BOM too, when no read yields it whole.
        assert_eq!(
            Checksum::of_reader(OneByte(b"\xEF\xBB\xBFa\r\n")).unwrap(),
            Checksum::of_bytes(b"a\n")
        );
        assert_eq!(
            Checksum::of_reader(OneByte(b"\xEF\xBB")).unwrap(),
            Checksum::of_bytes(b"\xEF\xBB")
        );
    }
}
