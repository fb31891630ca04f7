//! Where the outside files the integration tests read are.

use std::path::PathBuf;

/// The shared data directory: `$ACTPRM_SHARED_DATA`, else `shared/data` beside the workspace.
///
/// # Panics
/// When it does not exist: tests that need it fail, never skip.
pub fn shared_data_dir() -> PathBuf {
    let dir = std::env::var_os("ACTPRM_SHARED_DATA").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")),
        PathBuf::from,
    );
    assert!(
        dir.is_dir(),
        "the shared data directory {} does not exist; set ACTPRM_SHARED_DATA to where it is",
        dir.display()
    );
    dir
}

/// Where scripts/fetch-backbone.sh unpacks all-MiniLM-L6-v2: `$ACTPRM_BACKBONE`, else
/// `~/.cache/actprm/all-minilm-l6-v2`.
///
/// # Panics
/// When the weights are not there, saying how to get them.
#[allow(dead_code, reason = "not every test file reads the backbone")]
pub fn backbone_dir() -> PathBuf {
    let dir = std::env::var_os("ACTPRM_BACKBONE")
        .map_or_else(actprm_core::pretrained::default_backbone_dir, PathBuf::from);
    assert!(
        dir.join("model.safetensors").is_file(),
        "the all-MiniLM-L6-v2 weights are not in {}: run scripts/fetch-backbone.sh (or set \
         ACTPRM_BACKBONE to where they are)",
        dir.display()
    );
    dir
}
