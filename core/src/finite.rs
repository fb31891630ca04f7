//! Guards against NaN and infinity: in a model's parameters, and in a configuration about to be
//! written as JSON (where serde_json writes a non-finite number as `null`, which cannot be read
//! back).

use safetensors::{Dtype, SafeTensors};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The name of the first tensor of a safetensors file that holds a NaN or an infinity, if any,
/// read from the file's bytes (so on any device, and before a model is built from them).
/// Tensors of integer types are skipped.
pub fn first_non_finite_tensor(safetensors: &[u8]) -> Result<Option<String>, String> {
    let file = SafeTensors::deserialize(safetensors).map_err(|e| e.to_string())?;
    let all_finite = |data: &[u8], dtype: Dtype| match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .all(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).is_finite()),
        Dtype::F64 => data
            .chunks_exact(8)
            .all(|b| f64::from_le_bytes(b.try_into().expect("eight bytes")).is_finite()),
        // Half precision: all exponent bits set is an infinity or a NaN.
        Dtype::F16 => data
            .chunks_exact(2)
            .all(|b| u16::from_le_bytes([b[0], b[1]]) & 0x7c00 != 0x7c00),
        Dtype::BF16 => data
            .chunks_exact(2)
            .all(|b| u16::from_le_bytes([b[0], b[1]]) & 0x7f80 != 0x7f80),
        _ => true,
    };
    Ok(file
        .iter()
        .find(|(_, view)| !all_finite(view.data(), view.dtype()))
        .map(|(name, _)| name.to_string()))
}

/// `value` as pretty JSON, once it is known to read back: a NaN or infinity anywhere would be
/// written as `null`, and is named instead.
pub fn to_json_that_reads_back<T: Serialize + DeserializeOwned>(
    value: &T,
) -> Result<String, String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    match serde_json::from_str::<T>(&text) {
        Ok(_) => Ok(text),
        Err(e) => Err(format!(
            "a value is not a finite number, so the JSON would not read back ({e})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;
    use burn::nn::{Linear, LinearConfig};
    use burn::store::{ModuleSnapshot, SafetensorsStore};
    use burn::tensor::{Device, Tensor, TensorData};
    use serde::Deserialize;

    use super::*;

    fn safetensors_of(module: &impl Module) -> Vec<u8> {
        let mut store = SafetensorsStore::from_bytes(None);
        module.save_into(&mut store).unwrap();
        store.get_bytes().unwrap()
    }

    #[test]
    fn a_nan_or_infinite_weight_is_found_by_its_name() {
        let device = Device::flex();
        let linear: Linear = LinearConfig::new(2, 2).init(&device);
        assert_eq!(first_non_finite_tensor(&safetensors_of(&linear)), Ok(None));
        let mut weight = vec![1.0f32, 0.0, 0.0, 2.0];
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            weight[1] = bad;
            let broken = Linear {
                weight: burn::module::Param::from_tensor(Tensor::from_data(
                    TensorData::new(weight.clone(), [2, 2]),
                    &device,
                )),
                ..linear.clone()
            };
            assert_eq!(
                first_non_finite_tensor(&safetensors_of(&broken)),
                Ok(Some("weight".to_string())),
                "{bad}"
            );
        }
        assert!(first_non_finite_tensor(b"not a safetensors file").is_err());
    }

    #[test]
    fn a_non_finite_setting_is_refused_before_it_is_written() {
        #[derive(Serialize, Deserialize)]
        struct Settings {
            tau: f32,
        }
        assert!(to_json_that_reads_back(&Settings { tau: 0.5 }).is_ok());
        let error = to_json_that_reads_back(&Settings { tau: f32::NAN }).unwrap_err();
        assert!(error.contains("not a finite number"), "{error}");
    }
}
