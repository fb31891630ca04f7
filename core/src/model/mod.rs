//! The ensemble PRM: a transformer backbone with E scoring heads on the step features.

mod attend;
mod attention;
mod backbone;
mod bert;
mod block;
mod decoder;
mod feature_norm;
mod gelu;
#[cfg(feature = "cpu-kernels")]
mod gelu_autodiff;
mod heads;
#[cfg(feature = "cpu-kernels")]
mod host;
#[cfg(feature = "cpu-kernels")]
mod host_products;
mod masked_softmax;
#[cfg(feature = "cpu-kernels")]
mod masked_softmax_autodiff;
mod prm;
mod products;
mod rope;
mod small_transformer;
mod step_feature;
mod swiglu;
mod validation;

pub use backbone::{PrmBackbone, PrmBackboneConfig};
pub use bert::{Bert, BertConfig, WeightsError};
pub use decoder::{
    Decoder, DecoderCache, DecoderConfig, DecoderConfigError, DecoderFamily, HostTensor,
    LayerCache, LoraConfig, LoraTarget, NamedTensors,
};
pub use feature_norm::{FeatureMoments, FeatureNorm, InputNorm};
pub use heads::{EnsembleHeads, EnsembleHeadsConfig};
pub use prm::{EnsemblePrm, PrmConfig};
pub use small_transformer::{BackboneConfig, TransformerBackbone};
pub use step_feature::{StepFeature, StepSpans, span_means, step_tokens};
pub use validation::{InvalidModelConfig, MAX_PARAMETERS};

/// Models small enough for unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{BackboneConfig, DecoderConfig, EnsembleHeadsConfig, PrmConfig};

    /// A two-layer Llama of width 16 over `vocab_size` tokens, with grouped queries (4 query
    /// heads, 2 key-value heads of width 4).
    pub(crate) fn tiny_decoder_config(vocab_size: usize) -> DecoderConfig {
        DecoderConfig::new()
            .with_vocab_size(vocab_size)
            .with_hidden_size(16)
            .with_intermediate_size(24)
            .with_num_hidden_layers(2)
            .with_num_attention_heads(4)
            .with_num_key_value_heads(2)
            .with_head_dim(4)
            .with_max_position_embeddings(256)
    }

    /// A one-layer PRM of width 16 over `vocab_size` tokens, with `num_heads` heads of hidden
    /// width `hidden`.
    pub(crate) fn tiny_prm_config(vocab_size: usize, num_heads: usize, hidden: usize) -> PrmConfig {
        PrmConfig::new(
            BackboneConfig::new(vocab_size)
                .with_d_model(16)
                .with_n_layers(1)
                .with_d_ff(32)
                .into(),
        )
        .with_heads(
            EnsembleHeadsConfig::new()
                .with_num_heads(num_heads)
                .with_hidden(hidden),
        )
    }

    /// Turns every float parameter into NaN: a diverged model.
    pub(crate) struct Poison;

    impl burn::module::ModuleMapper for Poison {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<burn::tensor::Tensor<D>>,
        ) -> burn::module::Param<burn::tensor::Tensor<D>> {
            param.map(|tensor| tensor * f32::NAN)
        }
    }
}
