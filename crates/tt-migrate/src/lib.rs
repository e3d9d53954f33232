//! Runs tt migrations against SQLite, PostgreSQL and MySQL.
#![deny(missing_docs)]

mod migration;
mod source;
mod split;

pub use migration::{
    Checksum, FileKind, InvalidVersion, Migration, MigrationFile, Origin, Version,
};
pub use source::{DiscoveryError, MigrationSet, Problem};
pub use split::{Construct, Piece, SplitError, Splitter, Statement};
