//! Heads-only checkpoints. A model trained on a pretrained backbone kept frozen differs from
//! that backbone only in its heads, so its checkpoint can hold the heads alone: the weights file
//! keeps the trained heads' layers, `config.json` names the backbone's weight file and its
//! SHA-256, and loading rebuilds the model around the backbone read from that file. θ₀ is not
//! stored either: the heads' seed rebuilds it. For frozen all-MiniLM-L6-v2 with the default 32
//! heads that is 8.4 MB in place of 107 MB; on SmolLM2-135M, 11.6 MB in place of 429 MB.

use burn::config::Config;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use sha2::{Digest, Sha256};

use super::{Checkpoint, CheckpointConfig, CheckpointError, CheckpointFiles, sha256_hex};
use crate::finite::to_json_that_reads_back;
use crate::model::PrmBackbone;

/// The tensors a heads-only checkpoint stores: every layer of the trained heads, and the
/// standardisation of their features when they have one.
const HEADS_PATTERN: &str = r"^heads\.(layers|input_norm)\.";

/// The pretrained backbone a heads-only checkpoint is read with.
#[derive(Config, Debug, PartialEq, Eq)]
pub struct BackboneReference {
    /// Where the backbone is read from: the name of the encoder's weight file in its
    /// directory (`model.safetensors` of all-MiniLM-L6-v2's), or a decoder's path (a GGUF
    /// file or a Hugging Face directory).
    pub file: String,
    /// In lowercase hex, the SHA-256 of the encoder's weight file, or a decoder's
    /// [`backbone_digest`]: a backbone read from other weights is refused.
    pub sha256: String,
    /// The SHA-256 of the same file with every F32 tensor halved to F16
    /// ([`halve_f32_tensors`](crate::pretrained::halve_f32_tensors)), accepted in its place:
    /// the web app serves the encoder so, at half the download, its scores moved by at most
    /// 4.3e-4 (docs/app.md). `None` when no halved file is accepted.
    pub f16_sha256: Option<String>,
}

impl BackboneReference {
    /// Whether a backbone file with SHA-256 `digest` is this one, or this one halved.
    pub fn accepts(&self, digest: &str) -> bool {
        self.sha256 == digest || self.f16_sha256.as_deref() == Some(digest)
    }

    /// The digests accepted, in words.
    fn accepted(&self) -> String {
        match &self.f16_sha256 {
            Some(halved) => format!("{} (or {halved} halved to f16)", self.sha256),
            None => self.sha256.clone(),
        }
    }
}

/// The SHA-256, in lowercase hex, of every tensor of `backbone` (name, then bytes) in name
/// order: what identifies a decoder's weights however they were stored (a GGUF file, one
/// safetensors file or its shards).
pub fn backbone_digest(backbone: &PrmBackbone) -> Result<String, CheckpointError> {
    let mut hasher = Sha256::new();
    for (name, bytes) in backbone_tensors(backbone)? {
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Every tensor of `backbone` by name, in name order, to compare two backbones.
fn backbone_tensors(backbone: &PrmBackbone) -> Result<Vec<(String, Vec<u8>)>, CheckpointError> {
    let mut tensors = backbone
        .collect(None, None, false)
        .into_iter()
        .map(|tensor| {
            let bytes = tensor
                .to_bytes()
                .map_err(|e| CheckpointError::Weights(e.to_string()))?;
            Ok((tensor.name.clone(), bytes.to_vec()))
        })
        .collect::<Result<Vec<_>, CheckpointError>>()?;
    tensors.sort();
    Ok(tensors)
}

impl CheckpointFiles {
    /// The heads-only checkpoint of `checkpoint`, whose backbone must be `pretrained`, the
    /// backbone read from the file `reference` names: a backbone that training changed
    /// (fine-tuned, or adapted with LoRA) is refused, since the heads alone would lose it.
    pub fn heads_only(
        checkpoint: &Checkpoint,
        pretrained: &PrmBackbone,
        reference: BackboneReference,
    ) -> Result<Self, CheckpointError> {
        if backbone_tensors(checkpoint.model.backbone())? != backbone_tensors(pretrained)? {
            return Err(CheckpointError::TrainedBackbone(reference.file));
        }
        let mut store = SafetensorsStore::from_bytes(None).with_regex(HEADS_PATTERN);
        checkpoint
            .model
            .save_into(&mut store)
            .map_err(|e| CheckpointError::Weights(e.to_string()))?;
        let tokenizer = checkpoint.tokenizer.to_json();
        let config = CheckpointConfig {
            pretrained_backbone: Some(reference),
            tokenizer_sha256: Some(sha256_hex(tokenizer.as_bytes())),
            ..checkpoint.config.clone()
        };
        Ok(Self {
            config: to_json_that_reads_back(&config).map_err(CheckpointError::NonFiniteConfig)?,
            weights: store
                .get_bytes()
                .map_err(|e| CheckpointError::Weights(e.to_string()))?,
            tokenizer,
        })
    }

    /// The backbone a heads-only checkpoint must be loaded with; `None` when the weights hold
    /// the whole model.
    pub fn pretrained_backbone(&self) -> Result<Option<BackboneReference>, CheckpointError> {
        Ok(self.read_config()?.pretrained_backbone)
    }

    /// Loads a heads-only checkpoint around `backbone`, read from a file whose SHA-256 is
    /// `sha256` (lowercase hex), refusing another backbone than the one the heads were trained
    /// on.
    pub fn load_with_backbone(
        &self,
        backbone: PrmBackbone,
        sha256: &str,
        device: &Device,
    ) -> Result<Checkpoint, CheckpointError> {
        let config = self.read_config()?;
        let Some(reference) = config.pretrained_backbone.clone() else {
            return Err(CheckpointError::HoldsBackbone);
        };
        if !reference.accepts(sha256) {
            return Err(CheckpointError::OtherBackbone {
                expected: reference.accepted(),
                file: reference.file,
                found: sha256.to_string(),
            });
        }
        if !config.model.is_kind_of(&backbone) {
            return Err(CheckpointError::Weights(format!(
                "the backbone given is not of the kind {} was trained on",
                reference.file
            )));
        }
        self.ensure_finite_weights()?;
        let tokenizer = self.read_tokenizer(&config)?;
        let mut model = config.model.init_around(backbone, device);
        let mut store = SafetensorsStore::from_bytes(Some(self.weights.clone()))
            .with_regex(HEADS_PATTERN)
            .allow_partial(true);
        let applied = model
            .load_from(&mut store)
            .map_err(|e| CheckpointError::Weights(e.to_string()))?;
        let heads_missing = applied.missing.iter().find(|(path, _)| {
            path.starts_with("heads.layers.") || path.starts_with("heads.input_norm.")
        });
        if let Some((path, _)) = heads_missing {
            return Err(CheckpointError::Weights(format!(
                "the heads' tensor `{path}` is missing"
            )));
        }
        Ok(Checkpoint {
            model,
            config,
            tokenizer,
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;

    use super::*;
    use crate::batch::PrmInput;
    use crate::encoding::{EncodingConfig, encode_trajectory};
    use crate::model::test_support::{Poison, tiny_prm_config};
    use crate::model::{EnsemblePrm, FeatureMoments, FeatureNorm, InputNorm, PrmConfig};
    use crate::tasks::synthetic::{SyntheticConfig, generate};
    use crate::tokenizer::StepTokenizer;

    /// A tiny model whose heads have moved from their initialisation, as training leaves them,
    /// while its backbone stayed as built.
    fn trained(config: &PrmConfig, device: &Device) -> EnsemblePrm {
        let fresh = config.init(device);
        let mut other_heads = config.clone();
        other_heads.heads.seed += 1;
        let moved = other_heads.init(device);
        let mut store = SafetensorsStore::from_bytes(None).with_regex(HEADS_PATTERN);
        moved.save_into(&mut store).unwrap();
        let mut store = SafetensorsStore::from_bytes(Some(store.get_bytes().unwrap()))
            .with_regex(HEADS_PATTERN)
            .allow_partial(true);
        let mut model = fresh;
        model.load_from(&mut store).unwrap();
        model
    }

    fn checkpoint() -> Checkpoint {
        let device = Device::flex();
        let tokenizer = StepTokenizer::for_synthetic(&SyntheticConfig::new());
        let model_config = tiny_prm_config(tokenizer.vocab_size(), 3, 8);
        let model = trained(&model_config, &device);
        Checkpoint {
            model,
            config: CheckpointConfig::new(model_config, EncodingConfig::new()),
            tokenizer,
        }
    }

    /// [`checkpoint`] whose heads standardise their features by moments of synthetic ones.
    fn standardising_checkpoint() -> Checkpoint {
        let device = Device::flex();
        let tokenizer = StepTokenizer::for_synthetic(&SyntheticConfig::new());
        let mut model_config = tiny_prm_config(tokenizer.vocab_size(), 3, 8);
        model_config.heads.input_norm = Some(InputNorm::Standardised);
        let width = model_config.backbone.width();
        let mut moments = FeatureMoments::new(width);
        for row in 0..5 {
            let values: Vec<f32> = (0..width).map(|d| (row * d) as f32 - 3.0).collect();
            moments.add(&values);
        }
        let model =
            trained(&model_config, &device).with_input_norm(FeatureNorm::fitted(&moments, &device));
        Checkpoint {
            model,
            config: CheckpointConfig::new(model_config, EncodingConfig::new()),
            tokenizer,
        }
    }

    fn scores(checkpoint: &Checkpoint) -> Vec<f32> {
        let trajectories = generate(&SyntheticConfig::new(), 3, 4);
        let encoded: Vec<_> = trajectories
            .iter()
            .map(|t| encode_trajectory(&checkpoint.tokenizer, t, &checkpoint.config.encoding))
            .collect::<Result<_, _>>()
            .unwrap();
        let input = PrmInput::new(&encoded, checkpoint.tokenizer.pad_id(), &Device::flex());
        checkpoint
            .model
            .score(&input)
            .into_iter()
            .flat_map(|s| s.heads.concat())
            .collect()
    }

    fn reference() -> BackboneReference {
        BackboneReference::new("model.safetensors".to_string(), "ab12".to_string())
    }

    #[test]
    fn the_heads_alone_with_their_backbone_score_as_the_whole_checkpoint() {
        let whole = checkpoint();
        let backbone = whole.model.backbone().clone();
        let heads = CheckpointFiles::heads_only(&whole, &backbone, reference()).unwrap();
        let full =
            CheckpointFiles::from_model(&whole.model, &whole.config, &whole.tokenizer).unwrap();
        assert!(
            heads.weights.len() * 2 < full.weights.len(),
            "{} bytes of heads against {} in all",
            heads.weights.len(),
            full.weights.len()
        );
        assert_eq!(heads.pretrained_backbone().unwrap(), Some(reference()));

        let loaded = heads
            .load_with_backbone(backbone.clone(), "ab12", &Device::flex())
            .unwrap();
        assert_eq!(scores(&loaded), scores(&whole));
        // θ₀ comes back from the heads' seed: the anchor penalty is the trained one.
        assert_eq!(
            loaded.model.anchor_penalty().into_scalar::<f32>(),
            whole.model.anchor_penalty().into_scalar::<f32>()
        );
        assert!(whole.model.anchor_penalty().into_scalar::<f32>() > 0.0);
    }

    /// The heads' standardisation travels with them, in whole and heads-only checkpoints.
    #[test]
    fn standardising_heads_score_the_same_once_reloaded() {
        let whole = standardising_checkpoint();
        let identity = Checkpoint {
            model: trained(&whole.config.model, &Device::flex()),
            ..standardising_checkpoint()
        };
        assert_ne!(
            scores(&identity),
            scores(&whole),
            "the norm changes the scores"
        );

        let files =
            CheckpointFiles::from_model(&whole.model, &whole.config, &whole.tokenizer).unwrap();
        assert_eq!(
            scores(&files.load(&Device::flex()).unwrap()),
            scores(&whole)
        );
        let backbone = whole.model.backbone().clone();
        let heads = CheckpointFiles::heads_only(&whole, &backbone, reference()).unwrap();
        let loaded = heads
            .load_with_backbone(backbone, "ab12", &Device::flex())
            .unwrap();
        assert_eq!(scores(&loaded), scores(&whole));
    }

    /// The digest follows the weights: the same backbone twice agrees, another differs.
    #[test]
    fn a_backbone_digest_names_its_weights() {
        let whole = checkpoint();
        let backbone = whole.model.backbone();
        let digest = backbone_digest(backbone).unwrap();
        assert_eq!(digest.len(), 64);
        assert_eq!(backbone_digest(&backbone.clone()).unwrap(), digest);
        let device = Device::flex();
        device.seed(11);
        let other = whole.config.model.backbone.init(&device);
        assert_ne!(backbone_digest(&other).unwrap(), digest);
    }

    #[test]
    fn another_backbone_or_a_trained_one_is_refused() {
        let whole = checkpoint();
        let backbone = whole.model.backbone().clone();
        let heads = CheckpointFiles::heads_only(&whole, &backbone, reference()).unwrap();
        let error = heads
            .load_with_backbone(backbone.clone(), "cd34", &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("model.safetensors") && error.contains("cd34"),
            "{error}"
        );
        // The backbone halved to f16 is accepted where the reference names its digest.
        let with_halved = BackboneReference {
            f16_sha256: Some("ef56".to_string()),
            ..reference()
        };
        let heads_for_halved = CheckpointFiles::heads_only(&whole, &backbone, with_halved).unwrap();
        assert!(
            heads_for_halved
                .load_with_backbone(backbone.clone(), "ef56", &Device::flex())
                .is_ok()
        );
        assert!(
            heads
                .load_with_backbone(backbone.clone(), "ef56", &Device::flex())
                .is_err()
        );
        let error = heads_for_halved
            .load_with_backbone(backbone.clone(), "cd34", &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(error.contains("ab12 (or ef56 halved to f16)"), "{error}");

        // A backbone whose weights differ from the pretrained one's, as training leaves a
        // fine-tuned one, is refused.
        let changed = backbone.clone().map(&mut Poison);
        let error = CheckpointFiles::heads_only(&whole, &changed, reference())
            .unwrap_err()
            .to_string();
        assert!(error.contains("changed in training"), "{error}");

        // The whole model's files do not load as heads alone, nor the reverse.
        let full =
            CheckpointFiles::from_model(&whole.model, &whole.config, &whole.tokenizer).unwrap();
        let error = full
            .load_with_backbone(backbone, "ab12", &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(error.contains("holds its backbone"), "{error}");
        let error = heads.load(&Device::flex()).unwrap_err().to_string();
        assert!(error.contains("holds the heads alone"), "{error}");
    }
}
