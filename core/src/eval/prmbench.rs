//! PRMBench scoring (docs/method.md §5): every step is judged valid when its score exceeds 0.5 and
//! compared with the benchmark's error steps. "Positive" is a correct step; PRMScore is the
//! mean of the F1 of the positive class and the F1 of the negative class. Scores are reported
//! per error class, per category (the mean of its classes' scores) and over all error classes
//! pooled, as PRMBench's own evaluation does (its error-free `correct` items are reported but
//! not pooled).

use serde::{Deserialize, Serialize};

use crate::data::{CORRECT_CLASSIFICATION, PrmBenchItem};
use crate::scores::StepScores;

/// A step is judged valid when its score exceeds this.
pub const VALIDITY_THRESHOLD: f32 = 0.5;

/// PRMBench's categories and the error classes each groups (class names as in the data).
pub const CATEGORIES: [(&str, &[&str]); 3] = [
    ("simplicity", &["redundency", "circular"]),
    (
        "soundness",
        &[
            "counterfactual",
            "step_contradiction",
            "domain_inconsistency",
            "confidence",
        ],
    ),
    (
        "sensitivity",
        &["missing_condition", "deception", "multi_solutions"],
    ),
];

/// Step counts by truth and judgement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepConfusion {
    /// Correct steps judged valid (true positives).
    pub correct_valid: usize,
    /// Correct steps judged invalid (false negatives).
    pub correct_invalid: usize,
    /// Erroneous steps judged valid (false positives).
    pub erroneous_valid: usize,
    /// Erroneous steps judged invalid (true negatives).
    pub erroneous_invalid: usize,
}

impl StepConfusion {
    fn record(&mut self, erroneous: bool, valid: bool) {
        let count = match (erroneous, valid) {
            (false, true) => &mut self.correct_valid,
            (false, false) => &mut self.correct_invalid,
            (true, true) => &mut self.erroneous_valid,
            (true, false) => &mut self.erroneous_invalid,
        };
        *count += 1;
    }

    fn add(&mut self, other: &StepConfusion) {
        self.correct_valid += other.correct_valid;
        self.correct_invalid += other.correct_invalid;
        self.erroneous_valid += other.erroneous_valid;
        self.erroneous_invalid += other.erroneous_invalid;
    }

    /// F1 of the positive class (correct steps); 0 when no correct step is judged valid.
    pub fn f1(&self) -> f64 {
        f1(
            self.correct_valid,
            self.erroneous_valid,
            self.correct_invalid,
        )
    }

    /// F1 of the negative class (erroneous steps); 0 when no erroneous step is judged invalid.
    pub fn negative_f1(&self) -> f64 {
        f1(
            self.erroneous_invalid,
            self.correct_invalid,
            self.erroneous_valid,
        )
    }

    /// Whether any step is erroneous.
    pub fn has_errors(&self) -> bool {
        self.erroneous_valid + self.erroneous_invalid > 0
    }

    /// PRMScore: the mean of the two F1s, or the positive F1 alone where no step is erroneous
    /// (PRMBench's multi-solution class).
    pub fn score(&self) -> f64 {
        if self.has_errors() {
            0.5 * (self.f1() + self.negative_f1())
        } else {
            self.f1()
        }
    }
}

/// F1 from true positives, false positives and false negatives.
fn f1(true_positive: usize, false_positive: usize, false_negative: usize) -> f64 {
    let denominator = 2 * true_positive + false_positive + false_negative;
    if true_positive == 0 {
        0.0
    } else {
        2.0 * true_positive as f64 / denominator as f64
    }
}

/// The scores of one group of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupScore {
    /// The class or category name, or `overall`.
    pub name: String,
    /// Items in the group.
    pub items: usize,
    /// Its step counts.
    pub steps: StepConfusion,
    /// F1 of correct steps.
    pub f1: f64,
    /// F1 of erroneous steps.
    pub negative_f1: f64,
    /// PRMScore.
    pub score: f64,
}

impl GroupScore {
    fn new(name: &str, items: usize, steps: StepConfusion) -> Self {
        Self {
            name: name.to_string(),
            items,
            f1: steps.f1(),
            negative_f1: steps.negative_f1(),
            score: steps.score(),
            steps,
        }
    }
}

/// A whole PRMBench evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrmBenchReport {
    /// One per class present, in the order of [`CATEGORIES`], then classes outside them in
    /// the order they first appear, then `correct`.
    pub classes: Vec<GroupScore>,
    /// One per category with a class present: its score is the mean of its classes' scores,
    /// its counts their sums.
    pub categories: Vec<GroupScore>,
    /// Every error class pooled, those outside [`CATEGORIES`] included (as PRMBench's own
    /// evaluation pools every class it finds).
    pub overall: GroupScore,
    /// Error classes present that belong to no category: scored as classes and pooled, but in
    /// no category's mean.
    pub unknown_classes: Vec<String>,
    /// Items whose `error_steps` name steps outside their solution: those numbers mark no step.
    pub items_with_ignored_error_steps: usize,
}

/// Scores `items` given each one's step scores (`scores[i]` belongs to `items[i]`).
///
/// # Panics
/// When the lengths differ or an item's scores cover another number of steps.
pub fn evaluate(items: &[PrmBenchItem], scores: &[StepScores]) -> PrmBenchReport {
    assert_eq!(items.len(), scores.len(), "one score set per item");
    let known: Vec<&str> = CATEGORIES
        .iter()
        .flat_map(|(_, classes)| classes.iter().copied())
        .collect();
    let mut unknown_classes: Vec<String> = Vec::new();
    for item in items {
        let class = item.classification.as_str();
        if !known.contains(&class)
            && class != CORRECT_CLASSIFICATION
            && !unknown_classes.iter().any(|c| c == class)
        {
            unknown_classes.push(class.to_string());
        }
    }
    let class_names = known
        .iter()
        .copied()
        .chain(unknown_classes.iter().map(String::as_str))
        .chain([CORRECT_CLASSIFICATION]);
    let classes: Vec<GroupScore> = class_names
        .filter_map(|class| {
            let mut steps = StepConfusion::default();
            let mut count = 0;
            for (item, scores) in items.iter().zip(scores) {
                if item.classification != class {
                    continue;
                }
                assert_eq!(scores.num_steps(), item.trajectory.num_steps());
                count += 1;
                for (step, &mean) in scores.mean.iter().enumerate() {
                    steps.record(item.error_steps.contains(&step), mean > VALIDITY_THRESHOLD);
                }
            }
            (count > 0).then(|| GroupScore::new(class, count, steps))
        })
        .collect();
    let categories = CATEGORIES
        .iter()
        .filter_map(|(category, members)| {
            let present: Vec<&GroupScore> = classes
                .iter()
                .filter(|class| members.contains(&class.name.as_str()))
                .collect();
            (!present.is_empty()).then(|| {
                let mut steps = StepConfusion::default();
                present.iter().for_each(|class| steps.add(&class.steps));
                let mean = |value: fn(&GroupScore) -> f64| {
                    present.iter().map(|class| value(class)).sum::<f64>() / present.len() as f64
                };
                GroupScore {
                    name: category.to_string(),
                    items: present.iter().map(|class| class.items).sum(),
                    steps,
                    f1: mean(|class| class.f1),
                    negative_f1: mean(|class| class.negative_f1),
                    score: mean(|class| class.score),
                }
            })
        })
        .collect();
    let mut pooled = StepConfusion::default();
    let mut pooled_items = 0;
    for class in classes.iter().filter(|c| c.name != CORRECT_CLASSIFICATION) {
        pooled.add(&class.steps);
        pooled_items += class.items;
    }
    PrmBenchReport {
        classes,
        categories,
        overall: GroupScore::new("overall", pooled_items, pooled),
        unknown_classes,
        items_with_ignored_error_steps: items
            .iter()
            .filter(|item| !item.ignored_error_steps.is_empty())
            .count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::Trajectory;

    fn item(classification: &str, num_steps: usize, error_steps: &[usize]) -> PrmBenchItem {
        PrmBenchItem {
            id: format!("{classification}_x"),
            classification: classification.to_string(),
            trajectory: Trajectory {
                question: "Q".into(),
                steps: vec!["s".into(); num_steps],
                label: None,
            },
            error_steps: error_steps.to_vec(),
            ignored_error_steps: Vec::new(),
        }
    }

    fn scored(means: &[f32]) -> StepScores {
        StepScores::from_heads(vec![means.to_vec()])
    }

    #[test]
    fn counts_and_f1s_by_hand() {
        // Circular: steps 0..4, error at 2 and 3; judged valid, valid, invalid, valid.
        // Correct steps: 0 valid, 1 valid -> TP 2, FN 0. Errors: 2 invalid (TN), 3 valid (FP).
        // F1 = 4 / (4 + 1 + 0) = 0.8; negative F1 = 2 / (2 + 0 + 1) = 0.667.
        let items = [
            item("circular", 4, &[2, 3]),
            item("multi_solutions", 2, &[]),
        ];
        let scores = [scored(&[0.9, 0.6, 0.2, 0.7]), scored(&[0.9, 0.4])];
        let report = evaluate(&items, &scores);
        let circular = &report.classes[0];
        assert_eq!(circular.name, "circular");
        assert_eq!(
            circular.steps,
            StepConfusion {
                correct_valid: 2,
                correct_invalid: 0,
                erroneous_valid: 1,
                erroneous_invalid: 1,
            }
        );
        assert!((circular.f1 - 0.8).abs() < 1e-12);
        assert!((circular.negative_f1 - 2.0 / 3.0).abs() < 1e-12);
        assert!((circular.score - (0.8 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        // No erroneous step: the score is F1 alone (1 valid of 2 correct: 2 / 3).
        let multi = &report.classes[1];
        assert!((multi.score - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            report
                .categories
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["simplicity", "sensitivity"]
        );
        assert_eq!(report.categories[0].score, circular.score);
        assert_eq!(report.overall.items, 2);
        assert_eq!(report.overall.steps.correct_valid, 3);
    }

    #[test]
    fn correct_items_are_reported_but_not_pooled() {
        let items = [item("correct", 2, &[]), item("deception", 2, &[1])];
        let scores = [scored(&[0.9, 0.9]), scored(&[0.9, 0.1])];
        let report = evaluate(&items, &scores);
        assert_eq!(report.classes.last().unwrap().name, "correct");
        assert_eq!(report.overall.items, 1);
        assert_eq!(report.overall.score, 1.0);
    }

    #[test]
    fn an_unknown_class_is_pooled_and_named_and_ignored_steps_are_counted() {
        let mut shifted = item("deception", 2, &[]);
        shifted.ignored_error_steps = vec![99];
        let items = [item("made_up", 2, &[0]), shifted];
        let scores = [scored(&[0.1, 0.9]), scored(&[0.9, 0.9])];
        let report = evaluate(&items, &scores);
        assert_eq!(report.unknown_classes, ["made_up"]);
        assert_eq!(report.overall.items, 2, "the unknown class is pooled");
        assert_eq!(report.overall.steps.erroneous_invalid, 1);
        assert!(report.classes.iter().any(|c| c.name == "made_up"));
        assert!(report.categories.iter().all(|c| c.items == 1));
        assert_eq!(report.items_with_ignored_error_steps, 1);
    }
}
