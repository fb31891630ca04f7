//! Where the outside files the integration tests read are.

use std::path::PathBuf;

/// Where scripts/fetch-data.sh puts the public data sets: `$ACTPRM_DATA`, else
/// `~/.cache/actprm/data`.
///
/// # Panics
/// When it does not exist, saying how to get the data: the tests that need it are ignored
/// unless asked for, and then fail, never skip.
#[allow(dead_code, reason = "not every test file reads the data sets")]
pub fn data_dir() -> PathBuf {
    let dir = std::env::var_os("ACTPRM_DATA")
        .map_or_else(actprm_core::data::default_data_dir, PathBuf::from);
    assert!(
        dir.is_dir(),
        "the data directory {} does not exist: run scripts/fetch-data.sh (or set ACTPRM_DATA \
         to where the data sets are)",
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
