//! A safetensors checkpoint at half the size, and back: [`halve_f32_tensors`] stores every
//! F32 tensor as F16 (rounded to nearest, ties to even), [`widen_to_f32`] stores every F16 or
//! BF16 tensor as the F32 values it holds, as the BERT encoder loads them. The web app serves
//! all-MiniLM-L6-v2 halved: 45 MB in place of 91 MB, for scores that move by at most 4.3e-4
//! (docs/app.md).

use std::collections::HashMap;

use burn::tensor::{DType, TensorData};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::model::WeightsError;

/// `bytes` (a safetensors file named `source_name` in errors) with every F32 tensor stored
/// as F16; other tensors and the file's metadata are kept.
pub fn halve_f32_tensors(bytes: &[u8], source_name: &str) -> Result<Vec<u8>, WeightsError> {
    convert(bytes, source_name, |dtype| {
        (dtype == Dtype::F32).then_some((DType::F32, Dtype::F16, DType::F16))
    })
}

/// `bytes` (a safetensors file named `source_name` in errors) with every F16 and BF16 tensor
/// stored as F32; returned unchanged when it holds none.
pub fn widen_to_f32(bytes: Vec<u8>, source_name: &str) -> Result<Vec<u8>, WeightsError> {
    let (_, metadata) =
        SafeTensors::read_metadata(&bytes).map_err(|error| unreadable(source_name, error))?;
    let is_half = |dtype| matches!(dtype, Dtype::F16 | Dtype::BF16);
    if !metadata.tensors().values().any(|info| is_half(info.dtype)) {
        return Ok(bytes);
    }
    convert(&bytes, source_name, |dtype| match dtype {
        Dtype::F16 => Some((DType::F16, Dtype::F32, DType::F32)),
        Dtype::BF16 => Some((DType::BF16, Dtype::F32, DType::F32)),
        _ => None,
    })
}

fn unreadable(source_name: &str, message: impl ToString) -> WeightsError {
    WeightsError::Unreadable {
        source_name: source_name.to_string(),
        message: message.to_string(),
    }
}

/// `bytes` with each tensor whose dtype `target` maps to (its dtype as burn reads it, the
/// dtype to store, and that as burn writes it) converted; the others copied as they are.
fn convert(
    bytes: &[u8],
    source_name: &str,
    target: impl Fn(Dtype) -> Option<(DType, Dtype, DType)>,
) -> Result<Vec<u8>, WeightsError> {
    let (_, metadata) =
        SafeTensors::read_metadata(bytes).map_err(|error| unreadable(source_name, error))?;
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|error| unreadable(source_name, error))?;
    let mut converted: HashMap<String, (Dtype, Vec<usize>, Vec<u8>)> = HashMap::new();
    for (name, view) in tensors.tensors() {
        let Some((from, to, to_burn)) = target(view.dtype()) else {
            continue;
        };
        let shape = view.shape().to_vec();
        let data = TensorData::try_from_bytes_vec(view.data().to_vec(), shape.clone(), from)
            .map_err(|error| unreadable(source_name, format!("tensor {name}: {error:?}")))?
            .convert_dtype(to_burn);
        converted.insert(name, (to, shape, data.as_bytes().to_vec()));
    }
    let views = tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let view = match converted.get(&name) {
                Some((dtype, shape, data)) => TensorView::new(*dtype, shape.clone(), data)
                    .map_err(|error| unreadable(source_name, error))?,
                None => view,
            };
            Ok((name, view))
        })
        .collect::<Result<Vec<_>, WeightsError>>()?;
    safetensors::serialize(views, metadata.metadata().clone())
        .map_err(|error| unreadable(source_name, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with an F32 matrix, an I64 vector and metadata.
    fn file(values: &[f32]) -> Vec<u8> {
        let floats: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let ints: Vec<u8> = [3_i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let views = [
            (
                "weight",
                TensorView::new(Dtype::F32, vec![2, values.len() / 2], &floats).unwrap(),
            ),
            (
                "position_ids",
                TensorView::new(Dtype::I64, vec![2], &ints).unwrap(),
            ),
        ];
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        safetensors::serialize(views, Some(metadata)).unwrap()
    }

    fn floats(bytes: &[u8], name: &str) -> (Dtype, Vec<f32>) {
        let tensors = SafeTensors::deserialize(bytes).unwrap();
        let view = tensors.tensor(name).unwrap();
        let dtype = match view.dtype() {
            Dtype::F32 => DType::F32,
            Dtype::F16 => DType::F16,
            other => panic!("{other:?}"),
        };
        let values = TensorData::from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), dtype)
            .try_into_vec_as::<f32>()
            .unwrap();
        (view.dtype(), values)
    }

    #[test]
    fn halving_rounds_each_float_to_the_nearest_f16_and_widening_gives_it_back_exactly() {
        // 1 + 2⁻¹¹ lies halfway between two f16 values: ties go to the even one, 1.0.
        let values = [
            0.1,
            -2.5,
            1.0 + 2f32.powi(-11),
            1.0 + 3.0 * 2f32.powi(-11),
            0.0,
            6e-8,
        ];
        let original = file(&values);
        let halved = halve_f32_tensors(&original, "test").unwrap();
        assert!(halved.len() < original.len());
        let (dtype, rounded) = floats(&halved, "weight");
        assert_eq!(dtype, Dtype::F16);
        assert_eq!(
            rounded,
            [
                0.099975586,
                -2.5,
                1.0,
                1.0 + 2.0 * 2f32.powi(-10),
                0.0,
                5.9604645e-8
            ]
        );

        let widened = widen_to_f32(halved.clone(), "test").unwrap();
        assert_eq!(floats(&widened, "weight"), (Dtype::F32, rounded));
        let tensors = SafeTensors::deserialize(&widened).unwrap();
        let ints = tensors.tensor("position_ids").unwrap();
        let original_tensors = SafeTensors::deserialize(&original).unwrap();
        let original_ints = original_tensors.tensor("position_ids").unwrap();
        assert_eq!(ints.dtype(), Dtype::I64);
        assert_eq!(ints.data(), original_ints.data());
        let (_, metadata) = SafeTensors::read_metadata(&widened).unwrap();
        assert_eq!(
            metadata
                .metadata()
                .as_ref()
                .and_then(|m| m.get("format"))
                .map(String::as_str),
            Some("pt")
        );
        // The same file halves to the same bytes: its digest can be recorded.
        assert_eq!(halve_f32_tensors(&original, "test").unwrap(), halved);
    }

    #[test]
    fn a_file_without_half_floats_is_widened_to_itself_and_garbage_is_named() {
        let original = file(&[1.0, 2.0]);
        assert_eq!(widen_to_f32(original.clone(), "test").unwrap(), original);
        let error = widen_to_f32(b"not safetensors".to_vec(), "encoder.safetensors").unwrap_err();
        assert!(error.to_string().contains("encoder.safetensors"), "{error}");
    }
}
