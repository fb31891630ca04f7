//! Which steps each window of an encoded trajectory holds and scores, in either reading.

use super::EncodingConfig;

/// The steps one window reads: context steps `first..scored.start`, then the steps it scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WindowPlan {
    /// The first step the window holds, read as context when before `scored`.
    pub(super) first: usize,
    /// The steps the window scores.
    pub(super) scored: std::ops::Range<usize>,
}

/// One window per step, of at most `room` tokens after the question's head: the step, after as
/// many of the steps just before it as fit. Each step costs its tokens and a separator, and fits
/// in `room` alone. A trajectory without steps is one window of the question.
pub(super) fn plan_prefix_windows(steps: &[Vec<u32>], room: usize) -> Vec<WindowPlan> {
    if steps.is_empty() {
        return vec![WindowPlan {
            first: 0,
            scored: 0..0,
        }];
    }
    let cost = |j: usize| steps[j].len() + 1;
    (0..steps.len())
        .map(|step| {
            let mut used = cost(step);
            let mut first = step;
            while first > 0 && used + cost(first - 1) <= room {
                first -= 1;
                used += cost(first);
            }
            WindowPlan {
                first,
                scored: step..step + 1,
            }
        })
        .collect()
}

/// Splits `steps` into windows of at most `room` tokens after the question's head. Each step
/// costs its tokens and a separator, and fits in `room` alone. There is always at least one
/// window, even for no steps.
pub(super) fn plan_windows(
    steps: &[Vec<u32>],
    room: usize,
    config: &EncodingConfig,
) -> Vec<WindowPlan> {
    let cost = |j: usize| steps[j].len() + 1;
    let mut plans = Vec::new();
    let mut next = 0;
    loop {
        let mut used = 0;
        let mut first = next;
        if next > 0 {
            let context_room = config.max_context_tokens.min(room - cost(next));
            while first > 0 && used + cost(first - 1) <= context_room {
                first -= 1;
                used += cost(first);
            }
        }
        let mut end = next;
        while end < steps.len() && used + cost(end) <= room {
            used += cost(end);
            end += 1;
        }
        plans.push(WindowPlan {
            first,
            scored: next..end,
        });
        next = end;
        if next == steps.len() {
            return plans;
        }
    }
}
