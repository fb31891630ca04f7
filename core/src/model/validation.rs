//! Checks of a model configuration before it is built: every size that burn or the attention
//! code would panic on, and a bound on the parameters, so that a configuration read from a
//! file gives an error rather than a panic or an allocation the machine cannot make.

use super::backbone::PrmBackboneConfig;
use super::bert::BertConfig;
use super::heads::EnsembleHeadsConfig;
use super::prm::PrmConfig;
use super::small_transformer::BackboneConfig;

/// Most parameters a configured model may hold: 2³⁴, 64 GiB of f32 weights, room for a
/// 7B-parameter decoder while a mistyped size is still refused before anything is allocated.
pub const MAX_PARAMETERS: u64 = 1 << 34;

/// Why a model configuration cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct InvalidModelConfig {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

pub(crate) fn invalid(field: &'static str, problem: impl Into<String>) -> InvalidModelConfig {
    InvalidModelConfig {
        field,
        problem: problem.into(),
    }
}

fn at_least_one(field: &'static str, value: usize) -> Result<(), InvalidModelConfig> {
    match value {
        0 => Err(invalid(field, "must be at least 1, not 0")),
        _ => Ok(()),
    }
}

fn probability(field: &'static str, value: f64) -> Result<(), InvalidModelConfig> {
    match (0.0..1.0).contains(&value) {
        true => Ok(()),
        false => Err(invalid(field, format!("must be in [0, 1), not {value}"))),
    }
}

fn positive(field: &'static str, value: f64) -> Result<(), InvalidModelConfig> {
    match value.is_finite() && value > 0.0 {
        true => Ok(()),
        false => Err(invalid(
            field,
            format!("must be finite and > 0, not {value}"),
        )),
    }
}

impl PrmConfig {
    /// An error naming the first field that would make [`PrmConfig::init`] panic, or the
    /// model too large (more than [`MAX_PARAMETERS`]).
    pub fn validate(&self) -> Result<(), InvalidModelConfig> {
        match &self.backbone {
            PrmBackboneConfig::Small(config) => config.validate()?,
            PrmBackboneConfig::Bert(config) => config.validate()?,
            PrmBackboneConfig::Decoder(config) => config.validate()?,
        }
        self.heads.validate()?;
        let parameters = self.parameter_count();
        if parameters > MAX_PARAMETERS {
            return Err(invalid(
                "model",
                format!("would hold about {parameters} parameters, more than {MAX_PARAMETERS}"),
            ));
        }
        Ok(())
    }

    /// About how many numbers the model holds (weights, anchor and position tables; biases
    /// and norms left out), saturating at `u64::MAX`.
    pub fn parameter_count(&self) -> u64 {
        let backbone = match &self.backbone {
            PrmBackboneConfig::Small(c) => {
                let per_layer = sum(&[
                    product(&[4, c.d_model, c.d_model]),
                    product(&[2, c.d_model, c.d_ff]),
                ]);
                product(&[c.vocab_size, c.d_model])
                    .saturating_add(product(&[c.n_layers]).saturating_mul(per_layer))
            }
            PrmBackboneConfig::Bert(c) => {
                let h = c.hidden_size;
                let per_layer = sum(&[product(&[4, h, h]), product(&[2, h, c.intermediate_size])]);
                let tables = sum(&[
                    product(&[c.vocab_size, h]),
                    product(&[c.max_position_embeddings, h]),
                    product(&[c.type_vocab_size, h]),
                ]);
                tables.saturating_add(product(&[c.num_hidden_layers]).saturating_mul(per_layer))
            }
            PrmBackboneConfig::Decoder(c) => {
                let h = c.hidden_size;
                let per_layer = sum(&[
                    product(&[2, h, c.query_width()]),
                    product(&[2, h, c.key_value_width()]),
                    product(&[3, h, c.intermediate_size]),
                ]);
                product(&[c.vocab_size, h])
                    .saturating_add(product(&[c.layers_computed()]).saturating_mul(per_layer))
            }
        };
        let width = self.backbone.width().saturating_add(1);
        // The heads and their anchor θ₀.
        let heads = product(&[2, self.heads.num_heads, width, self.heads.hidden]);
        backbone.saturating_add(heads)
    }
}

/// The product of `factors`, saturating at `u64::MAX`.
fn product(factors: &[usize]) -> u64 {
    factors
        .iter()
        .fold(1u64, |total, &factor| total.saturating_mul(factor as u64))
}

/// The sum of `terms`, saturating at `u64::MAX`.
fn sum(terms: &[u64]) -> u64 {
    terms
        .iter()
        .fold(0u64, |total, &term| total.saturating_add(term))
}

impl BackboneConfig {
    /// An error naming the first field [`BackboneConfig::init`] cannot build with.
    pub fn validate(&self) -> Result<(), InvalidModelConfig> {
        at_least_one("vocab_size", self.vocab_size)?;
        at_least_one("n_heads", self.n_heads)?;
        let step = self.n_heads.saturating_mul(2);
        if self.d_model == 0 || !self.d_model.is_multiple_of(step) {
            return Err(invalid(
                "d_model",
                format!(
                    "must be a positive multiple of {step}, to split into {} attention heads of \
                     an even width, not {}",
                    self.n_heads, self.d_model
                ),
            ));
        }
        at_least_one("d_ff", self.d_ff)?;
        at_least_one("max_positions", self.max_positions)?;
        positive("rope_theta", f64::from(self.rope_theta))?;
        probability("dropout", self.dropout)
    }
}

impl BertConfig {
    /// An error naming the first field [`BertConfig::init`] cannot build with.
    pub fn validate(&self) -> Result<(), InvalidModelConfig> {
        at_least_one("vocab_size", self.vocab_size)?;
        at_least_one("num_attention_heads", self.num_attention_heads)?;
        if self.hidden_size == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(invalid(
                "hidden_size",
                format!(
                    "must be a positive multiple of num_attention_heads ({}), not {}",
                    self.num_attention_heads, self.hidden_size
                ),
            ));
        }
        at_least_one("intermediate_size", self.intermediate_size)?;
        at_least_one("max_position_embeddings", self.max_position_embeddings)?;
        at_least_one("type_vocab_size", self.type_vocab_size)?;
        positive("layer_norm_eps", self.layer_norm_eps)?;
        probability("hidden_dropout_prob", self.hidden_dropout_prob)
    }
}

impl EnsembleHeadsConfig {
    /// An error naming the first field the heads cannot be built with.
    pub fn validate(&self) -> Result<(), InvalidModelConfig> {
        at_least_one("num_heads", self.num_heads)?;
        at_least_one("hidden", self.hidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_and_the_tiny_model_are_valid() {
        assert_eq!(PrmConfig::tiny(40).validate(), Ok(()));
        assert_eq!(PrmConfig::new(BertConfig::new().into()).validate(), Ok(()));
        let minilm = PrmConfig::new(BertConfig::new().into()).parameter_count();
        assert!((20_000_000..30_000_000).contains(&minilm), "{minilm}");
    }

    #[test]
    fn each_size_that_cannot_be_built_is_named() {
        let small = |edit: fn(BackboneConfig) -> BackboneConfig| {
            PrmConfig::new(edit(BackboneConfig::new(40)).into())
                .validate()
                .unwrap_err()
                .field
        };
        assert_eq!(small(|c| c.with_d_model(0)), "d_model");
        assert_eq!(small(|c| c.with_d_model(20)), "d_model");
        assert_eq!(small(|c| c.with_n_heads(0)), "n_heads");
        assert_eq!(small(|c| c.with_d_ff(0)), "d_ff");
        assert_eq!(small(|c| c.with_max_positions(0)), "max_positions");
        assert_eq!(small(|c| c.with_rope_theta(f32::NAN)), "rope_theta");
        assert_eq!(small(|c| c.with_dropout(1.0)), "dropout");
        assert_eq!(
            small(|c| BackboneConfig {
                vocab_size: 1 << 40,
                ..c
            }),
            "model"
        );

        let bert = |edit: fn(BertConfig) -> BertConfig| {
            PrmConfig::new(edit(BertConfig::new()).into())
                .validate()
                .unwrap_err()
                .field
        };
        assert_eq!(bert(|c| c.with_hidden_size(100)), "hidden_size");
        assert_eq!(
            bert(|c| c.with_num_attention_heads(0)),
            "num_attention_heads"
        );
        assert_eq!(bert(|c| c.with_layer_norm_eps(0.0)), "layer_norm_eps");
        assert_eq!(bert(|c| c.with_num_hidden_layers(1 << 20)), "model");

        let heads = PrmConfig::tiny(40).with_heads(EnsembleHeadsConfig::new().with_num_heads(0));
        assert_eq!(heads.validate().unwrap_err().field, "num_heads");
    }
}
