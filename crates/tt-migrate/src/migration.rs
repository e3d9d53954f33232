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
/// are different versions but order next to each other by their text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(String);

impl Version {
    /// A version from its digits.
    ///
    /// # Errors
    /// When `text` is empty or holds anything but ASCII digits.
    pub fn new(text: impl Into<String>) -> Result<Self, InvalidVersion> {
        let text = text.into();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidVersion(text));
        }
        Ok(Self(text))
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn significant_digits(&self) -> &str {
        let trimmed = self.0.trim_start_matches('0');
        if trimmed.is_empty() { "0" } else { trimmed }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.significant_digits(), other.significant_digits());
        // Digits without leading zeros: the longer is the bigger number, else compare as text.
        a.len()
            .cmp(&b.len())
            .then_with(|| a.cmp(b))
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
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
        let mut buffer = vec![0u8; 64 * 1024];
        let mut at_start = true;
        // A CR at the end of one chunk may pair with an LF at the start of the next.
        let mut pending_cr = false;
        loop {
            let n = reader.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            let mut chunk = &buffer[..n];
            if at_start {
                at_start = false;
                chunk = chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk);
            }
            if pending_cr {
                pending_cr = false;
                if chunk[0] != b'\n' {
                    hasher.update(b"\r");
                }
            }
            // Hash the runs between CRs as they are, without copying byte by byte: most files
            // have no CR at all.
            while let Some(at) = memchr::memchr(b'\r', chunk) {
                hasher.update(&chunk[..at]);
                match chunk.get(at + 1) {
                    Some(b'\n') => {}
                    Some(_) => hasher.update(b"\r"),
                    None => pending_cr = true,
                }
                chunk = &chunk[at + 1..];
            }
            hasher.update(chunk);
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
        match &self.origin {
            Origin::Path(path) => path,
            Origin::Embedded { path, .. } => Path::new(path),
        }
    }

    /// Opens the bytes for streaming.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        match &self.origin {
            Origin::Path(path) => Ok(Box::new(io::BufReader::with_capacity(
                64 * 1024,
                std::fs::File::open(path)?,
            ))),
            Origin::Embedded { bytes, .. } => Ok(Box::new(*bytes)),
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
    fn versions_are_digits() {
        for bad in ["", "1a", "v1", " 1"] {
            assert_eq!(Version::new(bad), Err(InvalidVersion(bad.to_string())));
        }
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
    fn checksum_pairs_crlf_across_read_chunks() {
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
    }
}
