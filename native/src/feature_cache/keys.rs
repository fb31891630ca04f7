//! The names under which features are cached: a trajectory's key and a backbone's digest.

use actprm_core::encoding::EncodedTrajectory;
use actprm_core::model::PrmBackbone;
use burn::store::ModuleSnapshot;
use sha2::{Digest, Sha256};

/// The SHA-256 of a trajectory's encoding: its windows' token ids, where each step is read,
/// and, `with_starts`, where each step begins.
pub fn trajectory_key(encoded: &EncodedTrajectory, with_starts: bool) -> String {
    let mut hasher = Sha256::new();
    hasher.update((encoded.windows.len() as u64).to_le_bytes());
    for window in &encoded.windows {
        hasher.update((window.len() as u64).to_le_bytes());
        for id in window {
            hasher.update(id.to_le_bytes());
        }
    }
    for step in &encoded.step_positions {
        hasher.update((step.window as u64).to_le_bytes());
        hasher.update((step.position as u64).to_le_bytes());
        if with_starts {
            hasher.update((step.start as u64).to_le_bytes());
        }
    }
    format!("{:x}", hasher.finalize())
}

/// The SHA-256 of a backbone's configuration-free identity: every tensor's name, shape, type
/// and bytes.
pub fn backbone_digest(backbone: &PrmBackbone) -> String {
    let mut hasher = Sha256::new();
    for tensor in backbone.collect(None, None, false) {
        hasher.update(format!("{} {:?} {:?}", tensor.name, tensor.shape, tensor.dtype).as_bytes());
        if let Ok(bytes) = tensor.to_bytes() {
            hasher.update(&bytes[..]);
        }
    }
    format!("{:x}", hasher.finalize())
}
