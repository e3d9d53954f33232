//! Migrations compiled into a program: the `embed!` macro and what it expands to.

use crate::files::source::{DiscoveryError, MigrationSet};

/// Embeds a directory of migrations in the program and reads it as a [`MigrationSet`].
///
/// `embed!()` takes `migrations/` beside the crate's `Cargo.toml`; `embed!("path")` another
/// directory, written as [`include_dir!`](https://docs.rs/include_dir) takes it:
/// `$CARGO_MANIFEST_DIR` (or any `$VAR` of the build environment) is replaced by its value,
/// and a relative path is relative to where cargo runs the compiler (the workspace root), so
/// start it with `$CARGO_MANIFEST_DIR`. The files are read by the same rules as
/// [`MigrationSet::load`] (native layout; subdirectories are ignored), so the program needs no
/// migrations directory at run time.
///
/// Evaluates to `Result<MigrationSet, DiscoveryError>`; a missing directory fails the build.
///
/// Cargo rebuilds when an embedded file changes, but not when a file is added: a build script
/// (`build.rs`) with `println!("cargo:rerun-if-changed=migrations");` makes it notice.
///
/// # Examples
/// ```
/// let set = tt_migrate::embed!("$CARGO_MANIFEST_DIR/tests/fixtures/linear")
///     .expect("the fixture holds valid migrations");
/// let versions: Vec<&str> = set.iter().map(|m| m.version.as_str()).collect();
/// assert_eq!(versions, ["001", "002", "003"]);
/// ```
#[macro_export]
macro_rules! embed {
    () => {
        $crate::files::embed!("$CARGO_MANIFEST_DIR/migrations")
    };
    // `tt`, not `literal`: a literal fragment reaches the proc macro wrapped in a group, which
    // include_dir! rejects.
    ($dir:tt) => {{
        // include_dir's expansion names `include_dir::…`: resolve it to tt-migrate's copy, so
        // the calling crate needs no dependency of its own.
        use $crate::__private::include_dir;
        static DIR: include_dir::Dir<'static> = include_dir::include_dir!($dir);
        $crate::__private::from_dir(&DIR)
    }};
}

/// The migrations of an embedded directory's top level (what `embed!` expands to).
pub fn from_dir(dir: &'static include_dir::Dir<'static>) -> Result<MigrationSet, DiscoveryError> {
    let files: Vec<(&'static str, &'static [u8])> = dir
        .files()
        // Names that are not UTF-8 are never migrations (`load` reports them only on disk).
        .filter_map(|file| Some((file.path().to_str()?, file.contents())))
        .collect();
    MigrationSet::from_embedded(&files)
}
