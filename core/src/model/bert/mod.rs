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
