//! A Hugging Face checkpoint's tensors from `model.safetensors`, or from the shards that
//! `model.safetensors.index.json` lists, in `f32`, `f16` or `bf16`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{DType, TensorData};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use crate::model::{HostTensor, NamedTensors, WeightsError};

/// The single-file checkpoint's name.
pub const SINGLE_FILE: &str = "model.safetensors";
/// The index of a sharded checkpoint.
pub const SHARD_INDEX: &str = "model.safetensors.index.json";

/// The files of a checkpoint, read into memory, and which file holds each tensor.
pub struct SafetensorsFiles {
    files: Vec<(PathBuf, Vec<u8>)>,
    file_of: HashMap<String, usize>,
    source_name: String,
}

/// `model.safetensors.index.json`: which shard holds each tensor.
#[derive(Deserialize)]
struct ShardIndex {
    weight_map: HashMap<String, String>,
}

fn unreadable(path: &Path, message: impl ToString) -> WeightsError {
    WeightsError::Unreadable {
        source_name: path.display().to_string(),
        message: message.to_string(),
    }
}

impl SafetensorsFiles {
    /// The checkpoint in `dir`: `model.safetensors`, else the shards its index names.
    pub fn open(dir: &Path) -> Result<Self, WeightsError> {
        let single = dir.join(SINGLE_FILE);
        let index_path = dir.join(SHARD_INDEX);
        let shard_names: Vec<String> = if single.is_file() {
            vec![SINGLE_FILE.to_string()]
        } else if index_path.is_file() {
            let text = std::fs::read_to_string(&index_path)
                .map_err(|error| unreadable(&index_path, error))?;
            let index: ShardIndex =
                serde_json::from_str(&text).map_err(|error| unreadable(&index_path, error))?;
            let mut names: Vec<String> = index.weight_map.into_values().collect();
            names.sort();
            names.dedup();
            names
        } else {
            return Err(unreadable(
                dir,
                format!("holds neither {SINGLE_FILE} nor {SHARD_INDEX}"),
            ));
        };
        let mut files = Vec::with_capacity(shard_names.len());
        let mut file_of = HashMap::new();
        for name in shard_names {
            if name.contains('/') || name.contains('\\') {
                return Err(unreadable(
                    &index_path,
                    format!("names the shard {name:?} outside the checkpoint's directory"),
                ));
            }
            let path = dir.join(&name);
            let bytes = std::fs::read(&path).map_err(|error| unreadable(&path, error))?;
            let (_, metadata) =
                SafeTensors::read_metadata(&bytes).map_err(|error| unreadable(&path, error))?;
            for tensor in metadata.tensors().into_keys() {
                file_of.insert(tensor, files.len());
            }
            files.push((path, bytes));
        }
        Ok(Self {
            files,
            file_of,
            source_name: dir.display().to_string(),
        })
    }
}

impl NamedTensors for SafetensorsFiles {
    fn take(&mut self, name: &str) -> Result<Option<HostTensor>, WeightsError> {
        let Some(&file) = self.file_of.get(name) else {
            return Ok(None);
        };
        let (path, bytes) = &self.files[file];
        let tensors = SafeTensors::deserialize(bytes).map_err(|error| unreadable(path, error))?;
        let view = tensors
            .tensor(name)
            .map_err(|error| unreadable(path, error))?;
        let dtype = match view.dtype() {
            Dtype::F32 => DType::F32,
            Dtype::F16 => DType::F16,
            Dtype::BF16 => DType::BF16,
            other => {
                return Err(unreadable(
                    path,
                    format!("tensor {name} is {other:?}; only F32, F16 and BF16 are read"),
                ));
            }
        };
        let shape = view.shape().to_vec();
        let values = TensorData::try_from_bytes_vec(view.data().to_vec(), shape.clone(), dtype)
            .and_then(TensorData::try_into_vec_as::<f32>)
            .map_err(|error| unreadable(path, format!("tensor {name}: {error:?}")))?;
        Ok(Some(HostTensor { shape, values }))
    }

    fn source_name(&self) -> String {
        self.source_name.clone()
    }
}
