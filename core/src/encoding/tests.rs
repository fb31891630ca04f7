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
    let separated = encode_trajectory(&tokenizer, &trajectory("Mia has", &steps), &config).unwrap();
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
                start: whole.windows[0].len() - 1 - tokenizer.encode_text(steps[j]).unwrap().len(),
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
    let encoded = encode_trajectory(&tokenizer(), &trajectory("Mia has", &[]), &config).unwrap();
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
