//! Errors of reading a migration file, splitting it, and rendering its TOML tables: a leaf
//! type that imports nothing above it.

use std::path::PathBuf;

use crate::files::split::SplitError;

/// A migration file that could not be read, split or rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// A migration file could not be read.
    #[error("could not read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A migration file could not be split into statements.
    #[error("could not split {} into statements", path.display())]
    Split {
        /// The file.
        path: PathBuf,
        /// Where and what.
        source: SplitError,
    },
    /// A TOML migration's table definitions are invalid.
    #[error(transparent)]
    Definitions(#[from] tt_schema::DefinitionError),
    /// A TOML migration's tables cannot be rendered for the backend.
    #[error("could not render the tables of {}", path.display())]
    Render {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<tt_schema::RenderError>,
    },
}
