//! Helpers for tests that read the project's shared data directory.
//!
//! The directory is `shared/data` beside the workspace, or `$ACTPRM_SHARED_DATA` when set;
//! tests that need it fail (never skip) when it is missing.

use std::path::PathBuf;

/// Environment variable that overrides where the shared data directory is.
const SHARED_DATA_VAR: &str = "ACTPRM_SHARED_DATA";

/// The shared data directory.
///
/// # Panics
/// When the directory does not exist, naming the path tried and the variable that overrides it.
pub(crate) fn shared_data_dir() -> PathBuf {
    let dir = std::env::var_os(SHARED_DATA_VAR).map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "the shared data directory {} does not exist; set {SHARED_DATA_VAR} to where it is",
        dir.display()
    );
    dir
}
