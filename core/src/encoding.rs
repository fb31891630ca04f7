//! Turning a trajectory into token ids with one separator after every step:
//! `[CLS] question step_1 [STEP] step_2 [STEP] ...`. Separators are inserted by id, never by
//! tokenising text, so training and evaluation build them identically.

use burn::config::Config;
use thiserror::Error;

use crate::tokenizer::{StepTokenizer, TokenizerError};
use crate::trajectory::Trajectory;

/// Length limits of an encoded trajectory.
#[derive(Config, Debug)]
pub struct EncodingConfig {
    /// Longest encoded sequence, `[CLS]` and separators included.
    #[config(default = 256)]
    pub max_positions: usize,
    /// Most question tokens kept; a longer question keeps its first tokens, where the givens
    /// that the steps build on are stated.
    #[config(default = 96)]
    pub max_question_tokens: usize,
    /// Most tokens kept per step, separator excluded; a longer step keeps its last tokens, where
    /// the result of its computation sits.
    #[config(default = 48)]
    pub max_step_tokens: usize,
}

/// A trajectory as token ids, with the position of every step's separator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTrajectory {
    /// `[CLS]`, the question's tokens, then each step's tokens followed by a separator.
    pub token_ids: Vec<u32>,
    /// `step_positions[j]` is the index in `token_ids` of the separator after step `j`.
    pub step_positions: Vec<usize>,
}

/// Why a trajectory could not be encoded.
#[derive(Debug, Error)]
pub enum EncodingError {
    /// `[CLS]` and one separator per step alone exceed the position limit.
    #[error(
        "a trajectory of {steps} steps needs {} positions for [CLS] and its separators, \
         but max_positions is {max_positions}",
        steps + 1
    )]
    TooManySteps {
        /// Number of steps of the trajectory.
        steps: usize,
        /// The configured position limit.
        max_positions: usize,
    },
    /// The tokenizer failed on the question or a step.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
}

/// How many tokens of the question and of each step one trajectory keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    question: usize,
    per_step: usize,
}

/// Encodes `trajectory` within `config`'s limits, keeping every step's separator.
///
/// The question keeps its first `max_question_tokens` tokens (fewer only when `[CLS]`, the
/// question and the separators alone exceed `max_positions`). Each step keeps its last
/// `max_step_tokens` tokens; if that exceeds `max_positions`, this trajectory's per-step budget
/// shrinks until it fits, down to zero body tokens. Fails only when `[CLS]` and the separators
/// alone do not fit.
pub fn encode_trajectory(
    tokenizer: &StepTokenizer,
    trajectory: &Trajectory,
    config: &EncodingConfig,
) -> Result<EncodedTrajectory, EncodingError> {
    let question = tokenizer.encode_text(&trajectory.question)?;
    let steps = trajectory
        .steps
        .iter()
        .map(|step| tokenizer.encode_text(step))
        .collect::<Result<Vec<_>, _>>()?;
    let step_lengths: Vec<usize> = steps.iter().map(Vec::len).collect();
    let budget = fit(question.len(), &step_lengths, config)?;

    let mut token_ids = Vec::with_capacity(config.max_positions);
    token_ids.push(tokenizer.cls_id());
    token_ids.extend_from_slice(&question[..budget.question]);
    let mut step_positions = Vec::with_capacity(steps.len());
    for step in &steps {
        token_ids.extend_from_slice(&step[step.len().saturating_sub(budget.per_step)..]);
        step_positions.push(token_ids.len());
        token_ids.push(tokenizer.separator_id());
    }
    Ok(EncodedTrajectory {
        token_ids,
        step_positions,
    })
}

/// The largest budgets within `config` whose encoding fits in `max_positions`.
fn fit(
    question_length: usize,
    step_lengths: &[usize],
    config: &EncodingConfig,
) -> Result<Budget, EncodingError> {
    let cls_and_separators = 1 + step_lengths.len();
    let room = config.max_positions.checked_sub(cls_and_separators).ok_or(
        EncodingError::TooManySteps {
            steps: step_lengths.len(),
            max_positions: config.max_positions,
        },
    )?;
    let question = question_length.min(config.max_question_tokens).min(room);
    let room = room - question;
    let step_tokens = |per_step: usize| -> usize {
        step_lengths
            .iter()
            .map(|length| (*length).min(per_step))
            .sum()
    };
    let per_step = (0..=config.max_step_tokens)
        .rev()
        .find(|per_step| step_tokens(*per_step) <= room)
        .unwrap_or(0);
    Ok(Budget { question, per_step })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{SyntheticConfig, generate};

    fn tokenizer() -> StepTokenizer {
        StepTokenizer::for_synthetic(&SyntheticConfig::new())
    }

    fn trajectory(question: &str, steps: &[&str]) -> Trajectory {
        Trajectory {
            question: question.to_string(),
            steps: steps.iter().map(|step| step.to_string()).collect(),
            label: None,
        }
    }

    fn separators(tokenizer: &StepTokenizer, encoded: &EncodedTrajectory) -> Vec<usize> {
        let separator = tokenizer.separator_id();
        (0..encoded.token_ids.len())
            .filter(|i| encoded.token_ids[*i] == separator)
            .collect()
    }

    #[test]
    fn positions_point_at_one_separator_per_step() {
        let tokenizer = tokenizer();
        let config = EncodingConfig::new();
        for trajectory in generate(&SyntheticConfig::new(), 5, 100) {
            let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
            assert_eq!(encoded.token_ids[0], tokenizer.cls_id());
            assert_eq!(encoded.step_positions.len(), trajectory.num_steps());
            assert_eq!(separators(&tokenizer, &encoded), encoded.step_positions);
            assert_eq!(
                encoded.step_positions.last(),
                Some(&(encoded.token_ids.len() - 1))
            );
        }
    }

    #[test]
    fn a_trajectory_that_fits_is_untouched() {
        let tokenizer = tokenizer();
        let trajectory = trajectory("Mia has 12 marbles .", &["12 + 5 = 17", "the answer is 17"]);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &EncodingConfig::new()).unwrap();
        let text = |text: &str| tokenizer.encode_text(text).unwrap();
        let sep = tokenizer.separator_id();
        let expected: Vec<u32> = [vec![tokenizer.cls_id()], text("Mia has 12 marbles .")]
            .into_iter()
            .chain([
                text("12 + 5 = 17"),
                vec![sep],
                text("the answer is 17"),
                vec![sep],
            ])
            .flatten()
            .collect();
        assert_eq!(encoded.token_ids, expected);
        assert_eq!(encoded.step_positions, [11, 16]);
    }

    #[test]
    fn fitting_keeps_every_step_and_its_last_tokens() {
        let tokenizer = tokenizer();
        let long_step = "after finding 5 more she has 12 + 5 = 17";
        let trajectory = trajectory("Mia has 12 marbles . She finds 5 more .", &[long_step; 6]);
        let config = EncodingConfig::new()
            .with_max_positions(30)
            .with_max_question_tokens(4);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
        assert!(encoded.token_ids.len() <= 30);
        assert_eq!(separators(&tokenizer, &encoded), encoded.step_positions);
        assert_eq!(encoded.step_positions.len(), 6);
        assert_eq!(
            encoded.token_ids[1..5],
            tokenizer.encode_text("Mia has 12 marbles").unwrap()
        );
        let step_end = tokenizer.encode_text("= 17").unwrap();
        for position in &encoded.step_positions {
            assert_eq!(encoded.token_ids[position - 2..*position], step_end);
        }
    }

    #[test]
    fn the_question_gives_way_only_to_separators() {
        let tokenizer = tokenizer();
        let trajectory = trajectory("Mia has 12 marbles .", &["12 + 5 = 17"; 4]);
        let config = EncodingConfig::new().with_max_positions(7);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
        assert_eq!(encoded.token_ids.len(), 7);
        assert_eq!(encoded.step_positions, [3, 4, 5, 6]);
    }

    #[test]
    fn too_many_steps_is_an_error() {
        let trajectory = trajectory("Mia has 12 marbles .", &["12 + 5 = 17"; 4]);
        let config = EncodingConfig::new().with_max_positions(4);
        let error = encode_trajectory(&tokenizer(), &trajectory, &config).unwrap_err();
        assert!(matches!(
            error,
            EncodingError::TooManySteps {
                steps: 4,
                max_positions: 4
            }
        ));
        assert!(error.to_string().contains("4 steps"), "{error}");
    }

    #[test]
    fn literal_separator_text_is_not_a_separator() {
        let tokenizer = tokenizer();
        let trajectory = trajectory("Mia has [STEP] 12 marbles .", &["12 [STEP] 5", "[STEP]"]);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &EncodingConfig::new()).unwrap();
        assert_eq!(separators(&tokenizer, &encoded), encoded.step_positions);
        assert_eq!(encoded.step_positions.len(), 2);
    }
}
