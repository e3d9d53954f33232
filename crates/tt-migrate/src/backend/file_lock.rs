//! The lock file beside an SQLite database (`<file>-tt-lock`): how a run keeps other runners
//! out between two of its commits.
//!
//! A run on SQLite holds the database's write lock (`BEGIN IMMEDIATE`) and commits in short
//! groups; a commit ends the write transaction, so before it the run takes an exclusive
//! `flock` on this file, and it keeps it until the run ends. A runner that gets the write lock
//! while another holds the file backs off and tries again. The operating system drops the
//! `flock` when its process dies, however it dies: a killed run leaves no lock behind (at
//! most the file, which the next runner removes). Every operation on the file happens while
//! the write lock is held, so taking, checking and removing it never race.
//!
//! Unix only (`flock`); elsewhere there is no lock file and a run's commits leave gaps in its
//! exclusion.

use std::fs::File;
use std::path::{Path, PathBuf};

/// The lock file of the SQLite database at `database`.
pub(crate) fn lock_file_of(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-tt-lock");
    PathBuf::from(name)
}

/// A lock file this process holds; dropping it releases the lock (and leaves the file).
#[derive(Debug)]
pub(crate) struct HeldFile {
    path: PathBuf,
    _file: File,
}

impl HeldFile {
    /// The lock file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the file, then releases the lock.
    pub(crate) fn release(self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// Takes the lock file at `path` without waiting: `None` when another process holds it.
pub(crate) fn try_take(path: &Path) -> std::io::Result<Option<HeldFile>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    Ok(try_flock(&file)?.then(|| HeldFile {
        path: path.to_path_buf(),
        _file: file,
    }))
}

/// Whether another process holds the lock file at `path`. A file nobody holds, left by a run
/// that was killed, is removed.
pub(crate) fn held_by_other(path: &Path) -> std::io::Result<bool> {
    match std::fs::File::open(path) {
        Ok(file) => {
            if !try_flock(&file)? {
                return Ok(true);
            }
            HeldFile {
                path: path.to_path_buf(),
                _file: file,
            }
            .release()?;
            Ok(false)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

/// An exclusive `flock` on `file` without waiting: `false` when another holds one.
#[cfg(unix)]
fn try_flock(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(not(unix))]
fn try_flock(_file: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_lock_file_excludes_others_until_released_and_a_stale_one_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_file_of(&dir.path().join("app.db"));
        assert!(path.ends_with("app.db-tt-lock"));
        assert!(!held_by_other(&path).unwrap(), "no file, no holder");
        let held = try_take(&path).unwrap().expect("free");
        // flock locks belong to the open file: a second open in this process is "another".
        assert!(held_by_other(&path).unwrap());
        assert!(try_take(&path).unwrap().is_none());
        assert_eq!(held.path(), path);
        held.release().unwrap();
        assert!(!path.exists());
        // A file left by a killed run: nobody holds it, the check removes it.
        std::fs::write(&path, "").unwrap();
        assert!(!held_by_other(&path).unwrap());
        assert!(!path.exists());
    }
}
