//! A BERT-family encoder (embeddings, post-LN layers with GELU, attention mask) that loads
//! Hugging Face checkpoints such as all-MiniLM-L6-v2: its configuration from `config.json`, its
//! weights from `model.safetensors` under their Hugging Face tensor names.

mod embeddings;
mod layer;
mod weights;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Bool, Device, Int, Tensor};

pub use embeddings::BertEmbeddings;
pub use layer::BertLayer;
pub use weights::WeightsError;

/// Sizes of a BERT encoder, under the field names of a Hugging Face `config.json` (whose other
/// fields are ignored). Defaults are all-MiniLM-L6-v2's.
#[derive(Config, Debug, PartialEq)]
pub struct BertConfig {
    /// Rows of the word embedding table.
    #[config(default = 30522)]
    pub vocab_size: usize,
    /// Width of every layer.
    #[config(default = 384)]
    pub hidden_size: usize,
    /// Number of encoder layers.
    #[config(default = 6)]
    pub num_hidden_layers: usize,
    /// Attention heads per layer; must divide `hidden_size`.
    #[config(default = 12)]
    pub num_attention_heads: usize,
    /// Width of the feed-forward expansion.
    #[config(default = 1536)]
    pub intermediate_size: usize,
    /// Positions the position table covers: the longest input.
    #[config(default = 512)]
    pub max_position_embeddings: usize,
    /// Rows of the token-type table.
    #[config(default = 2)]
    pub type_vocab_size: usize,
    /// ε of every layer norm.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Dropout after the embeddings and every projection, during training.
    #[config(default = 0.1)]
    pub hidden_dropout_prob: f64,
}

impl BertConfig {
    /// Reads a Hugging Face `config.json`.
    pub fn from_hf_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// An encoder with freshly initialised weights.
    ///
    /// # Panics
    /// When `num_attention_heads` does not divide `hidden_size`.
    pub fn init(&self, device: &Device) -> Bert {
        assert!(
            self.num_attention_heads > 0
                && self.hidden_size.is_multiple_of(self.num_attention_heads),
            "hidden_size {} must split into {} heads",
            self.hidden_size,
            self.num_attention_heads
        );
        Bert {
            embeddings: BertEmbeddings::new(self, device),
            encoder: BertStack {
                layer: (0..self.num_hidden_layers)
                    .map(|_| BertLayer::new(self, device))
                    .collect(),
            },
        }
    }
}

/// A BERT encoder.
#[derive(Module, Debug)]
pub struct Bert {
    embeddings: BertEmbeddings,
    encoder: BertStack,
}

/// The layers (`encoder` in a checkpoint, each `encoder.layer.{i}`).
#[derive(Module, Debug)]
struct BertStack {
    layer: Vec<BertLayer>,
}

impl Bert {
    /// The last hidden state of every position.
    ///
    /// # Shapes
    ///
    /// - tokens: `[batch, seq_len]`
    /// - blocked: `[batch, seq_len, seq_len]`, `true` where query `i` may not attend to key `j`
    ///   (padding keys, and later positions for causal attention)
    /// - output: `[batch, seq_len, hidden]`
    pub fn forward(&self, tokens: Tensor<2, Int>, blocked: Tensor<3, Bool>) -> Tensor<3> {
        self.encoder
            .layer
            .iter()
            .fold(self.embeddings.forward(tokens), |hidden, layer| {
                layer.forward(hidden, blocked.clone())
            })
    }

    /// Rows of the word embedding table.
    pub fn vocab_size(&self) -> usize {
        self.embeddings.vocab_size()
    }

    /// The encoder with room for tokens added to its vocabulary (such as a step separator):
    /// the word table grows to `vocab_size` rows, each new one a copy of row `copy_of`.
    pub fn with_vocab_size(mut self, vocab_size: usize, copy_of: usize) -> Self {
        self.embeddings = self.embeddings.with_vocab_size(vocab_size, copy_of);
        self
    }

    /// The attention mask of a padded batch: no query attends to a padding key.
    ///
    /// # Shapes
    ///
    /// - padding: `[batch, seq_len]`, `true` at padding positions
    /// - output: `[batch, seq_len, seq_len]`
    pub fn padding_mask(padding: Tensor<2, Bool>) -> Tensor<3, Bool> {
        let [batch, seq_len] = padding.dims();
        padding
            .unsqueeze_dim::<3>(1)
            .expand([batch, seq_len, seq_len])
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;
    use crate::pretrained::test_support::backbone_dir;
    use crate::tokenizer::{SpecialTokensConfig, StepTokenizer};

    fn config() -> BertConfig {
        let text = std::fs::read_to_string(backbone_dir().join("config.json")).unwrap();
        BertConfig::from_hf_json(&text).unwrap()
    }

    fn minilm(config: &BertConfig) -> Result<Bert, WeightsError> {
        config
            .init(&Device::flex())
            .load_hf_file(&backbone_dir().join("model.safetensors"))
    }

    struct GoldenItem {
        text: String,
        ids: Vec<u32>,
        hidden: Vec<Vec<f32>>,
    }

    /// The reference written by scripts/bert_golden.py (NumPy, float64).
    fn golden() -> Vec<GoldenItem> {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("minilm_golden.json")).unwrap();
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| GoldenItem {
                text: item["text"].as_str().unwrap().to_string(),
                ids: serde_json::from_value(item["ids"].clone()).unwrap(),
                hidden: serde_json::from_value(item["hidden"].clone()).unwrap(),
            })
            .collect()
    }

    #[test]
    fn the_config_reads_from_a_hugging_face_config_json() {
        assert_eq!(config(), BertConfig::new());
    }

    /// Both items in one padded batch, so the attention mask is checked too.
    #[test]
    fn minilm_hidden_states_match_the_numpy_reference() {
        let device = Device::flex();
        let bert = minilm(&config()).unwrap();
        let items = golden();
        let seq_len = items.iter().map(|item| item.ids.len()).max().unwrap();
        let mut ids = Vec::new();
        let mut padding = Vec::new();
        for item in &items {
            for position in 0..seq_len {
                ids.push(item.ids.get(position).map_or(0, |&id| i64::from(id)));
                padding.push(position >= item.ids.len());
            }
        }
        let shape = [items.len(), seq_len];
        let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids, shape), &device);
        let padding = Tensor::<2, Bool>::from_data(TensorData::new(padding, shape), &device);
        let hidden = bert
            .forward(tokens, Bert::padding_mask(padding))
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let width = config().hidden_size;
        let mut max_difference = 0.0f32;
        for (b, item) in items.iter().enumerate() {
            for (position, expected) in item.hidden.iter().enumerate() {
                let start = (b * seq_len + position) * width;
                for (got, want) in hidden[start..start + width].iter().zip(expected) {
                    max_difference = max_difference.max((got - want).abs());
                }
            }
        }
        eprintln!("max |rust - numpy| over the hidden states: {max_difference:e}");
        assert!(
            max_difference <= 1e-4,
            "max abs difference {max_difference}"
        );
    }

    #[test]
    fn the_tokenizer_gives_the_reference_ids() {
        let text = std::fs::read_to_string(backbone_dir().join("tokenizer.json")).unwrap();
        let tokenizer = StepTokenizer::from_json(&text, &SpecialTokensConfig::new()).unwrap();
        for item in golden() {
            let ids = tokenizer.encode_text(&item.text).unwrap();
            // The reference adds [CLS] and [SEP] around the text.
            assert_eq!(ids, item.ids[1..item.ids.len() - 1], "{}", item.text);
        }
        assert_eq!(tokenizer.cls_id(), 101);
        assert_eq!(
            tokenizer.vocab_size(),
            30523,
            "the step separator is a new token"
        );
    }

    #[test]
    fn a_checkpoint_that_does_not_fit_names_its_tensors() {
        let wider = config().with_intermediate_size(1000);
        let error = minilm(&wider).unwrap_err().to_string();
        assert!(
            error.contains(
                "encoder.layer.0.intermediate.dense.weight has shape [1536, 384], the \
                 configuration needs [1000, 384]"
            ),
            "{error}"
        );
        let deeper = config().with_num_hidden_layers(7);
        let error = minilm(&deeper).unwrap_err().to_string();
        assert!(
            error.contains("encoder.layer.6.attention.self.query.weight")
                && error.contains("encoder.layer.6.output.LayerNorm.bias"),
            "{error}"
        );
        let missing = config()
            .init(&Device::flex())
            .load_hf_file(std::path::Path::new("/nonexistent/model.safetensors"))
            .unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("/nonexistent/model.safetensors")
        );
    }

    #[test]
    fn a_grown_vocabulary_copies_the_chosen_row() {
        let device = Device::flex();
        let config = BertConfig::new()
            .with_vocab_size(5)
            .with_hidden_size(8)
            .with_num_attention_heads(2)
            .with_num_hidden_layers(1)
            .with_intermediate_size(16)
            .with_hidden_dropout_prob(0.0);
        let bert = config.init(&device).with_vocab_size(7, 3);
        assert_eq!(bert.vocab_size(), 7);
        let hidden = |id: i64| {
            let tokens = Tensor::<2, Int>::from_data(TensorData::new(vec![id], [1, 1]), &device);
            let padding =
                Tensor::<2, Bool>::from_data(TensorData::new(vec![false], [1, 1]), &device);
            bert.forward(tokens, Bert::padding_mask(padding))
                .into_data()
        };
        hidden(6).assert_eq(&hidden(3), true);
    }
}
