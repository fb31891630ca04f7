//! Loading a Hugging Face BERT checkpoint (`model.safetensors`) into [`Bert`].
//!
//! The checkpoint's names map onto the module's with three renames: `LayerNorm` is
//! `layer_norm`, `attention.self` is `attention.self_attention`, and a `bert.` prefix (as in
//! `BertForMaskedLM` checkpoints) is dropped. PyTorch's `[out, in]` linear weights are
//! transposed and its norm `weight`/`bias` become `gamma`/`beta`. Tensors the encoder does not
//! use (the pooler, `position_ids`, task heads) are ignored; a tensor the encoder needs that is
//! missing or has another shape is an error naming it. F16 and BF16 tensors are read as the F32
//! values they hold.

use std::path::Path;

use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

use super::Bert;
use crate::pretrained::widen_to_f32;

/// Name fragments of a checkpoint and the module's names for them, renamed both ways: on
/// loading, and back in errors.
const RENAMES: [(&str, &str); 2] = [
    ("LayerNorm", "layer_norm"),
    (".attention.self.", ".attention.self_attention."),
];

/// PyTorch's names of norm parameters and the module's.
const NORM_PARAMETERS: [(&str, &str); 2] = [(".weight", ".gamma"), (".bias", ".beta")];

/// Why a checkpoint could not be loaded into the encoder.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file could not be read or is not safetensors.
    #[error("cannot read the weights {source_name}: {message}")]
    Unreadable {
        /// The file (or "bytes").
        source_name: String,
        /// What went wrong.
        message: String,
    },
    /// Tensors the encoder needs are not in the checkpoint.
    #[error("the weights {source_name} lack {}: {}", plural(.names.len()), .names.join(", "))]
    Missing {
        /// The file (or "bytes").
        source_name: String,
        /// The missing tensors, under their checkpoint names.
        names: Vec<String>,
    },
    /// Tensors whose shape differs from the encoder's configuration.
    #[error("the weights {source_name} do not fit the configuration: {}", .problems.join("; "))]
    MisShaped {
        /// The file (or "bytes").
        source_name: String,
        /// One line per tensor, naming it and both shapes.
        problems: Vec<String>,
    },
}

fn plural(count: usize) -> String {
    if count == 1 {
        "1 tensor".into()
    } else {
        format!("{count} tensors")
    }
}

impl Bert {
    /// The encoder with every weight read from the safetensors file at `path`.
    pub fn load_hf_file(self, path: &Path) -> Result<Self, WeightsError> {
        let source_name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| WeightsError::Unreadable {
            source_name: source_name.clone(),
            message: error.to_string(),
        })?;
        self.load_hf(bytes, source_name)
    }

    /// The encoder with every weight read from safetensors `bytes` (as a browser fetches them).
    pub fn load_hf_bytes(self, bytes: Vec<u8>) -> Result<Self, WeightsError> {
        self.load_hf(bytes, "bytes".into())
    }

    fn load_hf(mut self, bytes: Vec<u8>, source_name: String) -> Result<Self, WeightsError> {
        let bytes = widen_to_f32(bytes, &source_name)?;
        let store = RENAMES.iter().fold(
            SafetensorsStore::from_bytes(Some(bytes))
                .with_from_adapter(PyTorchToBurnAdapter)
                .with_key_remapping(r"^bert\.", ""),
            |store, (checkpoint, module)| {
                store.with_key_remapping(checkpoint.replace('.', r"\."), *module)
            },
        );
        let mut store = store.allow_partial(true).validate(false);
        let result = self
            .load_from(&mut store)
            .map_err(|error| WeightsError::Unreadable {
                source_name: source_name.clone(),
                message: error.to_string(),
            })?;
        if !result.errors.is_empty() {
            let problems = result
                .errors
                .iter()
                .map(|error| match error {
                    burn::store::ApplyError::ShapeMismatch {
                        path,
                        expected,
                        found,
                    } => {
                        let name = checkpoint_name(path);
                        format!(
                            "{name} has shape {:?}, the configuration needs {:?}",
                            checkpoint_shape(&name, found.as_slice()),
                            checkpoint_shape(&name, expected.as_slice())
                        )
                    }
                    other => other.to_string(),
                })
                .collect();
            return Err(WeightsError::MisShaped {
                source_name,
                problems,
            });
        }
        if !result.missing.is_empty() {
            let names = result
                .missing
                .iter()
                .map(|(path, _)| checkpoint_name(path))
                .collect();
            return Err(WeightsError::Missing { source_name, names });
        }
        Ok(self)
    }
}

/// A shape as the checkpoint stores it: PyTorch keeps linear weights as `[out, in]`, the
/// transpose of the module's `[in, out]`.
fn checkpoint_shape(name: &str, dims: &[usize]) -> Vec<usize> {
    let is_linear_weight = dims.len() == 2 && !name.contains("_embeddings.");
    if is_linear_weight {
        dims.iter().rev().copied().collect()
    } else {
        dims.to_vec()
    }
}

/// The checkpoint name of a module tensor path: the renames undone, with PyTorch's names for
/// norm parameters.
fn checkpoint_name(path: &str) -> String {
    let mut name = RENAMES
        .iter()
        .fold(path.to_string(), |name, (checkpoint, module)| {
            name.replace(module, checkpoint)
        });
    if name.contains("LayerNorm.") {
        for (pytorch, module) in NORM_PARAMETERS {
            if let Some(stem) = name.strip_suffix(module) {
                name = format!("{stem}{pytorch}");
            }
        }
    }
    name
}
