//! BERT's input embeddings: word, absolute position and token type (always type 0 here),
//! summed and layer-normalised. Field names follow the Hugging Face checkpoints.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::tensor::{Device, Int, Tensor};

use super::BertConfig;

/// The embeddings (`embeddings` in a checkpoint).
#[derive(Module, Debug)]
pub struct BertEmbeddings {
    word_embeddings: Embedding,
    position_embeddings: Embedding,
    token_type_embeddings: Embedding,
    /// `LayerNorm` in a checkpoint.
    layer_norm: LayerNorm,
    dropout: Dropout,
}

impl BertEmbeddings {
    /// Freshly initialised embeddings of `config`'s sizes.
    pub fn new(config: &BertConfig, device: &Device) -> Self {
        let hidden = config.hidden_size;
        Self {
            word_embeddings: EmbeddingConfig::new(config.vocab_size, hidden).init(device),
            position_embeddings: EmbeddingConfig::new(config.max_position_embeddings, hidden)
                .init(device),
            token_type_embeddings: EmbeddingConfig::new(config.type_vocab_size, hidden)
                .init(device),
            layer_norm: LayerNormConfig::new(hidden)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            dropout: DropoutConfig::new(config.hidden_dropout_prob).init(),
        }
    }

    /// # Shapes
    ///
    /// - tokens: `[batch, seq_len]`, with `seq_len` at most the position table's size
    /// - output: `[batch, seq_len, hidden]`
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<3> {
        let [batch, seq_len] = tokens.dims();
        let device = tokens.device();
        let positions = Tensor::<1, Int>::arange(0..seq_len as i64, &device)
            .unsqueeze::<2>()
            .expand([batch, seq_len]);
        let types = Tensor::<2, Int>::zeros([batch, seq_len], &device);
        let summed = self.word_embeddings.forward(tokens)
            + self.position_embeddings.forward(positions)
            + self.token_type_embeddings.forward(types);
        self.dropout.forward(self.layer_norm.forward(summed))
    }

    /// Number of rows of the word embedding table.
    pub fn vocab_size(&self) -> usize {
        self.word_embeddings.weight.dims()[0]
    }

    /// The embeddings with the word table grown to `vocab_size` rows, each new row a copy of
    /// row `copy_of` (a new token starts out read like an existing one).
    ///
    /// # Panics
    /// When the table has `vocab_size` rows or more already, or `copy_of` is not a row of it.
    pub fn with_vocab_size(mut self, vocab_size: usize, copy_of: usize) -> Self {
        let rows = self.vocab_size();
        assert!(
            vocab_size > rows && copy_of < rows,
            "cannot grow {rows} rows to {vocab_size} from row {copy_of}"
        );
        self.word_embeddings.weight = self.word_embeddings.weight.map(|table| {
            let row = table.clone().slice(copy_of..copy_of + 1);
            Tensor::cat(vec![table, row.repeat_dim(0, vocab_size - rows)], 0)
        });
        self
    }
}
