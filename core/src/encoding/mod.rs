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
mod tests;
