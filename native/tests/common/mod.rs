//! Helpers shared by the end-to-end tests of the `actprm` binary. Each test binary uses some
//! of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `actprm` with `args`, failing the test with its output when it fails.
pub fn actprm(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(args)
        .output()
        .expect("the actprm binary runs");
    assert!(
        output.status.success(),
        "actprm {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `actprm` with `args`, failing the test when it succeeds; its output holds the error.
pub fn actprm_refused(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_actprm"))
        .args(args)
        .output()
        .expect("the actprm binary runs");
    assert!(
        !output.status.success(),
        "actprm {args:?} succeeded where it should have refused:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    output
}

/// The shared data directory (`$ACTPRM_SHARED_DATA`, else `shared/data` beside the workspace).
pub fn shared_data() -> PathBuf {
    let dir = std::env::var_os("ACTPRM_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    assert!(
        dir.is_dir(),
        "the shared data directory {} is missing (set ACTPRM_SHARED_DATA)",
        dir.display()
    );
    dir
}

/// A fresh, empty directory for test `name` of this process.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("actprm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The checkpoint's tensors by name (the file's metadata may list its keys in any order).
pub fn weights(run: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let bytes = std::fs::read(run.join("checkpoint/model.safetensors")).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.data().to_vec()))
        .collect()
}
