//! What a resumable command was made from, by content: SHA-256 digests of its input files, so
//! that a resume is refused when a checkpoint was retrained or a pool replaced at the same
//! path, and allowed when the same files are named by another path.

use std::fs::File;
use std::path::Path;

use actprm_core::checkpoint::CheckpointFiles;
use actprm_core::tasks::synthetic::SyntheticConfig;
use anyhow::{Context, Result};

use crate::cli::DataFormat;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The SHA-256 digest of `bytes`, in hex.
pub fn bytes_digest(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The SHA-256 digest of a file's bytes, in hex.
pub fn file_digest(path: &Path) -> Result<String> {
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// The SHA-256 digest of a checkpoint's three files, each preceded by its length.
pub fn checkpoint_digest(files: &CheckpointFiles) -> String {
    let mut hasher = Sha256::new();
    for part in [
        files.config.as_bytes(),
        files.weights.as_slice(),
        files.tokenizer.as_bytes(),
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    format!("{:x}", hasher.finalize())
}

/// A pool by content: a data file's digest and the format it is read in, or the synthetic
/// generator's settings, seed and count.
pub fn pool_identity(
    data: Option<&Path>,
    format: DataFormat,
    synthetic: &SyntheticConfig,
    seed: u64,
    count: usize,
) -> Result<Value> {
    Ok(match data {
        Some(path) => json!({ "data_sha256": file_digest(path)?, "format": format.name() }),
        None => json!({ "synthetic": synthetic, "seed": seed, "count": count }),
    })
}

/// The top-level keys whose values differ between two recorded identities, each with both
/// values, one per line: what changed since a run was started.
pub fn differences(stored: &Value, now: &Value) -> String {
    let empty = serde_json::Map::new();
    let stored_map = stored.as_object().unwrap_or(&empty);
    let now_map = now.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = stored_map.keys().chain(now_map.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| stored_map.get(*key) != now_map.get(*key))
        .map(|key| {
            let show =
                |value: Option<&Value>| value.map_or("(absent)".to_string(), Value::to_string);
            format!(
                "  {key}: was {}, now {}",
                show(stored_map.get(key)),
                show(now_map.get(key))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_file_digest_follows_the_content_not_the_path() {
        let dir = std::env::temp_dir().join(format!("actprm-identity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a"), dir.join("b"));
        std::fs::write(&a, "pool").unwrap();
        std::fs::write(&b, "pool").unwrap();
        assert_eq!(file_digest(&a).unwrap(), file_digest(&b).unwrap());
        assert_eq!(
            file_digest(&a).unwrap(),
            "27cac5503836765cd10751d27ab4a6e17d7a80d4c948430a5a81513973f9b51e",
            "SHA-256 of \"pool\""
        );
        std::fs::write(&b, "pool!").unwrap();
        assert_ne!(file_digest(&a).unwrap(), file_digest(&b).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn differences_name_each_changed_key() {
        let stored = json!({"checkpoint": "aa", "pool": {"data": "bb"}, "strategy": "x"});
        let now = json!({"checkpoint": "cc", "pool": {"data": "bb"}, "extra": 1, "strategy": "x"});
        assert_eq!(
            differences(&stored, &now),
            "  checkpoint: was \"aa\", now \"cc\"\n  extra: was (absent), now 1"
        );
    }
}
