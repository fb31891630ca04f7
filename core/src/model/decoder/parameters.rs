//! Where a decoder's parameters come from: fresh initialisation, or a checkpoint's tensors
//! under their Hugging Face names. The decoder is built once through [`ParameterSource`], so
//! a loaded model never first allocates random weights it would throw away.

use burn::module::Param;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::tensor::{Device, Tensor, TensorData};

use crate::model::WeightsError;

/// A tensor in host memory, row-major, under PyTorch's layout (linear weights `[out, in]`).
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

/// A checkpoint's tensors by Hugging Face name (`model.layers.0.self_attn.q_proj.weight`).
pub trait NamedTensors {
    /// The tensor called `name`, `Ok(None)` when the checkpoint has none by that name.
    fn take(&mut self, name: &str) -> Result<Option<HostTensor>, WeightsError>;

    /// What the tensors are read from, for errors (a path).
    fn source_name(&self) -> String;
}

/// Hands out the decoder's modules, each under its Hugging Face name.
pub trait ParameterSource {
    /// A linear map from `d_input` to `d_output` features, with or without a bias.
    fn linear(&mut self, name: &str, d_input: usize, d_output: usize, bias: bool) -> Linear;
    /// An RMSNorm over `width` features.
    fn rms_norm(&mut self, name: &str, width: usize, epsilon: f64) -> RmsNorm;
    /// An embedding table of `rows` × `width`.
    fn embedding(&mut self, name: &str, rows: usize, width: usize) -> Embedding;
}

/// Freshly initialised parameters, as burn's modules initialise them.
pub struct FreshParameters<'a> {
    /// Where the parameters live.
    pub device: &'a Device,
}

impl ParameterSource for FreshParameters<'_> {
    fn linear(&mut self, _: &str, d_input: usize, d_output: usize, bias: bool) -> Linear {
        LinearConfig::new(d_input, d_output)
            .with_bias(bias)
            .init(self.device)
    }

    fn rms_norm(&mut self, _: &str, width: usize, epsilon: f64) -> RmsNorm {
        RmsNormConfig::new(width)
            .with_epsilon(epsilon)
            .init(self.device)
    }

    fn embedding(&mut self, _: &str, rows: usize, width: usize) -> Embedding {
        EmbeddingConfig::new(rows, width).init(self.device)
    }
}

/// Parameters read from a checkpoint. Every tensor that is missing or mis-shaped is noted and
/// replaced by zeros, so that one load reports all of them ([`LoadedParameters::finish`]).
pub struct LoadedParameters<'a, S: NamedTensors> {
    source: S,
    device: &'a Device,
    missing: Vec<String>,
    mis_shaped: Vec<String>,
    unreadable: Option<WeightsError>,
}

impl<'a, S: NamedTensors> LoadedParameters<'a, S> {
    /// Parameters from `source`, placed on `device`.
    pub fn new(source: S, device: &'a Device) -> Self {
        Self {
            source,
            device,
            missing: Vec::new(),
            mis_shaped: Vec::new(),
            unreadable: None,
        }
    }

    /// Every problem met, or the source back when there was none.
    pub fn finish(self) -> Result<S, WeightsError> {
        let source_name = self.source.source_name();
        if let Some(error) = self.unreadable {
            return Err(error);
        }
        if !self.mis_shaped.is_empty() {
            return Err(WeightsError::MisShaped {
                source_name,
                problems: self.mis_shaped,
            });
        }
        if !self.missing.is_empty() {
            return Err(WeightsError::Missing {
                source_name,
                names: self.missing,
            });
        }
        Ok(self.source)
    }

    /// The values of `name` if it has `shape`; zeros (and a noted problem) otherwise.
    fn values(&mut self, name: &str, shape: &[usize]) -> Vec<f32> {
        let zeros = || vec![0.0; shape.iter().product()];
        if self.unreadable.is_some() {
            return zeros();
        }
        match self.source.take(name) {
            Ok(Some(tensor)) if tensor.shape == shape => tensor.values,
            Ok(Some(tensor)) => {
                self.mis_shaped.push(format!(
                    "{name} has shape {:?}, the configuration needs {shape:?}",
                    tensor.shape
                ));
                zeros()
            }
            Ok(None) => {
                self.missing.push(name.to_string());
                zeros()
            }
            Err(error) => {
                self.unreadable = Some(error);
                zeros()
            }
        }
    }

    fn param<const D: usize>(&self, values: Vec<f32>, shape: [usize; D]) -> Param<Tensor<D>> {
        Param::from_tensor(Tensor::from_data(
            TensorData::new(values, shape),
            self.device,
        ))
    }
}

impl<S: NamedTensors> ParameterSource for LoadedParameters<'_, S> {
    fn linear(&mut self, name: &str, d_input: usize, d_output: usize, bias: bool) -> Linear {
        let stored = self.values(&format!("{name}.weight"), &[d_output, d_input]);
        let weight = self.param(transpose(&stored, d_output, d_input), [d_input, d_output]);
        let bias = bias.then(|| {
            let values = self.values(&format!("{name}.bias"), &[d_output]);
            self.param(values, [d_output])
        });
        Linear { weight, bias }
    }

    fn rms_norm(&mut self, name: &str, width: usize, epsilon: f64) -> RmsNorm {
        let values = self.values(&format!("{name}.weight"), &[width]);
        RmsNorm {
            gamma: self.param(values, [width]),
            epsilon,
        }
    }

    fn embedding(&mut self, name: &str, rows: usize, width: usize) -> Embedding {
        let values = self.values(&format!("{name}.weight"), &[rows, width]);
        Embedding {
            weight: self.param(values, [rows, width]),
        }
    }
}

/// The transpose of a row-major `rows × columns` matrix (PyTorch's `[out, in]` linear weights
/// become burn's `[in, out]`), in tiles that stay in cache.
fn transpose(values: &[f32], rows: usize, columns: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut out = vec![0.0; values.len()];
    for row_start in (0..rows).step_by(TILE) {
        for column_start in (0..columns).step_by(TILE) {
            for row in row_start..(row_start + TILE).min(rows) {
                for column in column_start..(column_start + TILE).min(columns) {
                    out[column * rows + row] = values[row * columns + column];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_any_shape() {
        for (rows, columns) in [(1, 1), (3, 70), (65, 33)] {
            let values: Vec<f32> = (0..rows * columns).map(|i| i as f32).collect();
            let out = transpose(&values, rows, columns);
            for row in 0..rows {
                for column in 0..columns {
                    assert_eq!(out[column * rows + row], values[row * columns + column]);
                }
            }
        }
    }
}
