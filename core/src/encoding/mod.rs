//! Turning a trajectory into token ids with one separator after every step:
//! `[CLS] question step_1 [STEP] step_2 [STEP] ...`, and for a decoder one after the question
//! too ([`QuestionEnd`]). Separators are inserted by id, never by tokenising text, so training
//! and evaluation build them identically.
//!
//! A trajectory is read in one of two ways ([`StepReading`]):
//!
//! - **whole**: one read of the whole trajectory, every separator seeing every step. A
//!   trajectory longer than the backbone's positions is read in several windows. Every window
//!   starts with `[CLS]` and the head of the question; the first reads steps from the start,
//!   each later one repeats as context as many whole steps before its first scored step as fit
//!   in `max_context_tokens`, then reads the next steps. Every step is scored in exactly one
//!   window, and a trajectory that fits is one window laid out as above.
//! - **prefix**: one window per step, holding the question's head, as many of the steps just
//!   before it as fit, and the step itself, scored at its separator. A bidirectional encoder then
//!   sees at each separator what a causal decoder would: the step and what led to it, never
//!   what follows. It costs one read per step instead of one per trajectory.

mod question_end;
mod reading;
mod windows;

use burn::config::Config;
use thiserror::Error;

pub use question_end::QuestionEnd;
pub use reading::StepReading;
use windows::{plan_prefix_windows, plan_windows};

use crate::tokenizer::{StepTokenizer, TokenizerError};
use crate::trajectory::Trajectory;

/// Length limits of an encoded trajectory.
#[derive(Config, Debug)]
pub struct EncodingConfig {
    /// Longest window, `[CLS]` and separators included: at most the backbone's positions.
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
    /// Most tokens of preceding steps (separators included) a window after the first repeats
    /// before its first scored step, so that a step is never read without what led to it.
    #[config(default = 96)]
    pub max_context_tokens: usize,
    /// How each step is read: with the whole trajectory, or with its prefix alone.
    #[config(default = "StepReading::Whole")]
    pub reading: StepReading,
    /// Whether a separator (never scored) also ends the question.
    #[config(default = "QuestionEnd::Joined")]
    pub question_end: QuestionEnd,
}

impl EncodingConfig {
    /// Limits for a pretrained encoder of `max_positions` positions: windows of its full length,
    /// and a quarter of them at most for the question, for one step, and for context.
    pub fn for_encoder(max_positions: usize) -> Self {
        let quarter = max_positions / 4;
        Self::new()
            .with_max_positions(max_positions)
            .with_max_question_tokens(quarter)
            .with_max_step_tokens(quarter)
            .with_max_context_tokens(quarter)
    }

    /// Limits for a pretrained decoder read in windows of `max_positions`: a quarter of them
    /// at most for the question, for one step and for context, as for an encoder, and a
    /// separator after the question, so that question and steps read as paragraphs.
    pub fn for_decoder(max_positions: usize) -> Self {
        Self::for_encoder(max_positions).with_question_end(QuestionEnd::Separated)
    }
}

/// Where a step's score is read: the separator after it, in one of the windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPosition {
    /// Index of the window in [`EncodedTrajectory::windows`].
    pub window: usize,
    /// Index of the step's first token in that window's token ids: the step's tokens are
    /// `start..position` (none when `start == position`).
    pub start: usize,
    /// Index of the separator in that window's token ids.
    pub position: usize,
}

/// A trajectory as token ids, in one window or several, with where every step is scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTrajectory {
    /// Token ids of each window: `[CLS]`, the question's head, then whole steps each followed
    /// by a separator.
    pub windows: Vec<Vec<u32>>,
    /// `step_positions[j]` is where the separator after step `j` is read.
    pub step_positions: Vec<StepPosition>,
}

impl EncodedTrajectory {
    /// A trajectory read in a single window: `token_ids`, with step `j`'s separator at
    /// `positions[j]`; each step starts after the separator before it, the first after the
    /// window's first token (`[CLS]`).
    pub fn single_window(token_ids: Vec<u32>, positions: &[usize]) -> Self {
        let starts = std::iter::once(1).chain(positions.iter().map(|&position| position + 1));
        Self {
            windows: vec![token_ids],
            step_positions: positions
                .iter()
                .zip(starts)
                .map(|(&position, start)| StepPosition {
                    window: 0,
                    start: start.min(position),
                    position,
                })
                .collect(),
        }
    }

    /// Number of steps.
    pub fn num_steps(&self) -> usize {
        self.step_positions.len()
    }
}

/// Why a trajectory could not be encoded.
#[derive(Debug, Error)]
pub enum EncodingError {
    /// A window cannot hold `[CLS]`, one separator and the question's end.
    #[error(
        "max_positions is {0}, but a window needs at least 2 ([CLS] and one separator), and 3 \
         when a separator ends the question"
    )]
    TooFewPositions(usize),
    /// The tokenizer failed on the question or a step.
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
}

/// Encodes `trajectory` within `config`'s limits and in its reading, scoring every step.
///
/// The question keeps its first `max_question_tokens` tokens and each step its last
/// `max_step_tokens`, both fewer only when a window could not otherwise hold `[CLS]`, the
/// question and one step. Fails only when `max_positions` is below 2.
pub fn encode_trajectory(
    tokenizer: &StepTokenizer,
    trajectory: &Trajectory,
    config: &EncodingConfig,
) -> Result<EncodedTrajectory, EncodingError> {
    let fixed = 2 + config.question_end.tokens();
    let room = config
        .max_positions
        .checked_sub(fixed)
        .ok_or(EncodingError::TooFewPositions(config.max_positions))?;
    let question = tokenizer.encode_text(&trajectory.question)?;
    let question = &question[..question.len().min(config.max_question_tokens).min(room)];
    let step_budget = config.max_step_tokens.min(room - question.len());
    let steps = trajectory
        .steps
        .iter()
        .map(|step| {
            let tokens = tokenizer.encode_text(step)?;
            Ok(tokens[tokens.len().saturating_sub(step_budget)..].to_vec())
        })
        .collect::<Result<Vec<_>, TokenizerError>>()?;

    let mut head = Vec::with_capacity(1 + question.len());
    head.push(tokenizer.cls_id());
    head.extend_from_slice(question);
    if config.question_end == QuestionEnd::Separated {
        head.push(tokenizer.separator_id());
    }
    let mut encoded = EncodedTrajectory {
        windows: Vec::new(),
        step_positions: Vec::with_capacity(steps.len()),
    };
    let room = config.max_positions - head.len();
    let plans = match config.reading {
        StepReading::Whole => plan_windows(&steps, room, config),
        StepReading::Prefix => plan_prefix_windows(&steps, room),
    };
    for plan in plans {
        let mut window = head.clone();
        for (j, step) in steps
            .iter()
            .enumerate()
            .take(plan.scored.end)
            .skip(plan.first)
        {
            let start = window.len();
            window.extend_from_slice(step);
            if plan.scored.contains(&j) {
                encoded.step_positions.push(StepPosition {
                    window: encoded.windows.len(),
                    start,
                    position: window.len(),
                });
            }
            window.push(tokenizer.separator_id());
        }
        encoded.windows.push(window);
    }
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::synthetic::{SyntheticConfig, generate};

    fn tokenizer() -> StepTokenizer {
        StepTokenizer::for_synthetic(&SyntheticConfig::new())
    }

    fn trajectory(question: &str, steps: &[&str]) -> Trajectory {
        Trajectory {
            question: question.to_string(),
            steps: steps.iter().map(ToString::to_string).collect(),
            label: None,
        }
    }

    fn separators(tokenizer: &StepTokenizer, window: &[u32]) -> Vec<usize> {
        let separator = tokenizer.separator_id();
        (0..window.len())
            .filter(|i| window[*i] == separator)
            .collect()
    }

    /// Steps of the same length, numbered so that each one's tokens are recognisable.
    fn numbered_steps(count: usize) -> Vec<String> {
        (0..count).map(|j| format!("{j} + 1 = {}", j + 1)).collect()
    }

    /// Twelve numbered steps of equal length, with the cost of the question's head (`[CLS]`
    /// included) and of one step (its separator included).
    fn twelve_equal_steps(tokenizer: &StepTokenizer) -> (Trajectory, usize, usize) {
        let steps = numbered_steps(12);
        let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
        let trajectory = trajectory("Mia has 12 marbles .", &steps);
        let head = 1 + tokenizer.encode_text(&trajectory.question).unwrap().len();
        let step_cost = tokenizer.encode_text(steps[0]).unwrap().len() + 1;
        (trajectory, head, step_cost)
    }

    #[test]
    fn positions_point_at_one_separator_per_step() {
        let tokenizer = tokenizer();
        let config = EncodingConfig::new();
        for trajectory in generate(&SyntheticConfig::new(), 5, 100) {
            let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
            assert_eq!(encoded.windows.len(), 1);
            let window = &encoded.windows[0];
            assert_eq!(window[0], tokenizer.cls_id());
            let positions: Vec<usize> = encoded.step_positions.iter().map(|p| p.position).collect();
            assert_eq!(positions.len(), trajectory.num_steps());
            assert_eq!(separators(&tokenizer, window), positions);
            assert_eq!(positions.last(), Some(&(window.len() - 1)));
        }
    }

    /// A separated question ends with a separator that is not scored.
    #[test]
    fn a_separated_question_ends_with_an_unscored_separator() {
        let tokenizer = tokenizer();
        let steps = ["12 + 5 = 17", "the answer is 17"];
        let config = EncodingConfig::new().with_question_end(QuestionEnd::Separated);
        let separated =
            encode_trajectory(&tokenizer, &trajectory("Mia has", &steps), &config).unwrap();
        let joined = encode_trajectory(
            &tokenizer,
            &trajectory("Mia has", &steps),
            &EncodingConfig::new(),
        )
        .unwrap();
        let head = 1 + tokenizer.encode_text("Mia has").unwrap().len();
        let mut expected = joined.windows[0].clone();
        expected.insert(head, tokenizer.separator_id());
        assert_eq!(separated.windows, vec![expected]);
        let shifted: Vec<usize> = joined
            .step_positions
            .iter()
            .map(|at| at.position + 1)
            .collect();
        let positions: Vec<usize> = separated
            .step_positions
            .iter()
            .map(|at| at.position)
            .collect();
        assert_eq!(positions, shifted);
        let error = encode_trajectory(
            &tokenizer,
            &trajectory("Mia has", &steps),
            &config.with_max_positions(2),
        )
        .unwrap_err();
        assert!(
            matches!(error, EncodingError::TooFewPositions(2)),
            "{error}"
        );
    }

    #[test]
    fn a_trajectory_that_fits_is_one_window() {
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
        assert_eq!(encoded.windows, vec![expected]);
        let first = 1 + text("Mia has 12 marbles .").len();
        let at = |start, position| StepPosition {
            window: 0,
            start,
            position,
        };
        assert_eq!(encoded.step_positions, vec![at(first, 11), at(12, 16)]);
    }

    /// Every step is scored once, in order, at a separator after its own tokens; every window
    /// fits, starts with `[CLS]` and the question's head, and holds whole steps.
    #[test]
    fn a_long_trajectory_is_windowed_without_dropping_a_step() {
        let tokenizer = tokenizer();
        let steps = numbered_steps(40);
        let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
        let trajectory = trajectory("Mia has 12 marbles . She finds 5 more .", &steps);
        let config = EncodingConfig::new()
            .with_max_positions(40)
            .with_max_question_tokens(4)
            .with_max_context_tokens(12);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
        let head = [
            vec![tokenizer.cls_id()],
            tokenizer.encode_text("Mia has 12 marbles").unwrap(),
        ]
        .concat();
        assert!(encoded.windows.len() > 1);
        assert_eq!(encoded.num_steps(), 40);
        for window in &encoded.windows {
            assert!(window.len() <= 40);
            assert_eq!(window[..head.len()], head);
            assert_eq!(window.last(), Some(&tokenizer.separator_id()));
        }
        let mut previous = None;
        for (j, at) in encoded.step_positions.iter().enumerate() {
            let window = &encoded.windows[at.window];
            let step = tokenizer.encode_text(steps[j]).unwrap();
            assert_eq!(window[at.position], tokenizer.separator_id());
            assert_eq!(window[at.position - step.len()..at.position], step);
            assert!(
                previous < Some((at.window, at.position)),
                "steps are scored in order"
            );
            previous = Some((at.window, at.position));
        }
    }

    /// A later window first repeats the steps just before its first scored step, as many as
    /// `max_context_tokens` allows.
    #[test]
    fn later_windows_repeat_the_preceding_steps_as_context() {
        let tokenizer = tokenizer();
        let (trajectory, head, step_cost) = twelve_equal_steps(&tokenizer);
        let steps: Vec<&str> = trajectory.steps.iter().map(String::as_str).collect();
        let config = EncodingConfig::new()
            .with_max_positions(head + 5 * step_cost)
            .with_max_context_tokens(2 * step_cost);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
        let scored_in = |window: usize| {
            encoded
                .step_positions
                .iter()
                .filter(|p| p.window == window)
                .count()
        };
        assert_eq!(encoded.windows.len(), 4);
        assert_eq!(
            (0..4).map(scored_in).collect::<Vec<_>>(),
            [5, 3, 3, 1],
            "5 steps fill the first window; each later one has 2 steps of context"
        );
        let second = &encoded.windows[1];
        let context = [steps[3], steps[4]]
            .iter()
            .flat_map(|step| {
                let mut tokens = tokenizer.encode_text(step).unwrap();
                tokens.push(tokenizer.separator_id());
                tokens
            })
            .collect::<Vec<_>>();
        assert_eq!(second[head..head + context.len()], context);
        assert_eq!(
            encoded.step_positions[5],
            StepPosition {
                window: 1,
                start: head + context.len(),
                position: head + context.len() + step_cost - 1
            }
        );
    }

    /// Read by prefix, step `j` is scored at the end of a window of its own that holds the
    /// steps before it: the whole reading of the trajectory cut after step `j`.
    #[test]
    fn prefix_reading_gives_each_step_its_prefix() {
        let tokenizer = tokenizer();
        let steps = numbered_steps(4);
        let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
        let config = EncodingConfig::new().with_reading(StepReading::Prefix);
        let encoded = encode_trajectory(
            &tokenizer,
            &trajectory("Mia has 12 marbles .", &steps),
            &config,
        )
        .unwrap();
        assert_eq!(encoded.windows.len(), 4);
        for (j, at) in encoded.step_positions.iter().enumerate() {
            let cut = trajectory("Mia has 12 marbles .", &steps[..=j]);
            let whole = encode_trajectory(&tokenizer, &cut, &EncodingConfig::new()).unwrap();
            assert_eq!(encoded.windows[j], whole.windows[0], "step {j}");
            assert_eq!(
                *at,
                StepPosition {
                    window: j,
                    start: whole.windows[0].len()
                        - 1
                        - tokenizer.encode_text(steps[j]).unwrap().len(),
                    position: whole.windows[0].len() - 1
                }
            );
        }
    }

    /// A prefix longer than the window keeps the steps closest to the one it scores.
    #[test]
    fn prefix_reading_drops_the_earliest_steps_of_a_long_prefix() {
        let tokenizer = tokenizer();
        let (trajectory, head, step_cost) = twelve_equal_steps(&tokenizer);
        let steps: Vec<&str> = trajectory.steps.iter().map(String::as_str).collect();
        let config = EncodingConfig::new()
            .with_max_positions(head + 3 * step_cost)
            .with_reading(StepReading::Prefix);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
        assert_eq!(encoded.num_steps(), 12);
        let separator = tokenizer.separator_id();
        for (j, at) in encoded.step_positions.iter().enumerate() {
            let window = &encoded.windows[at.window];
            assert_eq!(at.window, j);
            assert_eq!(at.position, window.len() - 1);
            let read = separators(&tokenizer, window).len();
            assert_eq!(
                read,
                (j + 1).min(3),
                "step {j} sees at most 2 steps before it"
            );
            let step = tokenizer.encode_text(steps[j]).unwrap();
            assert_eq!(window[at.position - step.len()..at.position], step);
            assert_eq!(window[at.position], separator);
        }
    }

    #[test]
    fn prefix_reading_without_steps_is_one_window_of_the_question() {
        let config = EncodingConfig::new().with_reading(StepReading::Prefix);
        let encoded =
            encode_trajectory(&tokenizer(), &trajectory("Mia has", &[]), &config).unwrap();
        assert_eq!(encoded.windows.len(), 1);
        assert_eq!(encoded.num_steps(), 0);
    }

    /// A configuration saved before readings existed reads the whole trajectory.
    #[test]
    fn a_config_without_a_reading_reads_whole() {
        let json = r#"{"max_positions":512,"max_question_tokens":128,"max_step_tokens":128,"max_context_tokens":128}"#;
        let config: EncodingConfig = serde_json::from_str(json).unwrap();
        assert_eq!(config.reading, StepReading::Whole);
        let prefix = EncodingConfig::new().with_reading(StepReading::Prefix);
        let json = serde_json::to_string(&prefix).unwrap();
        assert!(json.contains(r#""reading":"prefix""#), "{json}");
        let sideways = json.replace("prefix", "sideways");
        let error = serde_json::from_str::<EncodingConfig>(&sideways).unwrap_err();
        assert!(error.to_string().contains("`sideways`"), "{error}");
    }

    #[test]
    fn long_steps_keep_their_last_tokens() {
        let tokenizer = tokenizer();
        let long_step = "after finding 5 more she has 12 + 5 = 17";
        let trajectory = trajectory("Mia has 12 marbles .", &[long_step; 3]);
        let config = EncodingConfig::new().with_max_step_tokens(3);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
        let step_end = tokenizer.encode_text("5 = 17").unwrap();
        for at in &encoded.step_positions {
            assert_eq!(encoded.windows[0][at.position - 3..at.position], step_end);
        }
    }

    #[test]
    fn a_question_that_fills_the_window_leaves_the_separators() {
        let tokenizer = tokenizer();
        let trajectory = trajectory("Mia has 12 marbles .", &["12 + 5 = 17"; 4]);
        let config = EncodingConfig::new().with_max_positions(4);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &config).unwrap();
        let mia = tokenizer.encode_text("Mia has").unwrap();
        let expected = [
            vec![tokenizer.cls_id()],
            mia,
            vec![tokenizer.separator_id()],
        ]
        .concat();
        assert_eq!(encoded.windows, vec![expected; 4]);
        assert!(encoded.step_positions.iter().all(|at| at.position == 3));
    }

    #[test]
    fn fewer_than_two_positions_is_an_error() {
        let trajectory = trajectory("Mia has 12 marbles .", &["12 + 5 = 17"]);
        let config = EncodingConfig::new().with_max_positions(1);
        let error = encode_trajectory(&tokenizer(), &trajectory, &config).unwrap_err();
        assert!(matches!(error, EncodingError::TooFewPositions(1)));
        assert!(error.to_string().contains("max_positions is 1"), "{error}");
    }

    #[test]
    fn no_steps_is_one_window_of_the_question() {
        let tokenizer = tokenizer();
        let encoded = encode_trajectory(
            &tokenizer,
            &trajectory("Mia has", &[]),
            &EncodingConfig::new(),
        )
        .unwrap();
        assert_eq!(encoded.windows.len(), 1);
        assert_eq!(encoded.num_steps(), 0);
    }

    #[test]
    fn literal_separator_text_is_not_a_separator() {
        let tokenizer = tokenizer();
        let trajectory = trajectory("Mia has [STEP] 12 marbles .", &["12 [STEP] 5", "[STEP]"]);
        let encoded = encode_trajectory(&tokenizer, &trajectory, &EncodingConfig::new()).unwrap();
        let positions: Vec<usize> = encoded.step_positions.iter().map(|p| p.position).collect();
        assert_eq!(separators(&tokenizer, &encoded.windows[0]), positions);
        assert_eq!(positions.len(), 2);
    }
}
