use super::*;

#[test]
fn tests_have_one_name_everywhere_and_old_spellings_read() {
    for &tests in Tests::ALL {
        assert_eq!(Tests::from_name(tests.name()), Some(tests));
        let json = serde_json::to_string(&tests).unwrap();
        assert_eq!(json, format!("\"{}\"", tests.name()));
    }
    assert_eq!(
        Tests::from_name("aleatoric_only"),
        Some(Tests::AleatoricOnly)
    );
    assert_eq!(
        serde_json::from_str::<Tests>("\"epistemic_only\"").unwrap(),
        Tests::EpistemicOnly
    );
    assert_eq!(Tests::from_name("all"), None);
}

/// Scores with the given per-step means and spreads (the head values are irrelevant here).
fn scores(mean: &[f32], std: &[f32]) -> StepScores {
    StepScores {
        mean: mean.to_vec(),
        std: std.to_vec(),
        heads: vec![mean.to_vec()],
    }
}

fn rule() -> SelectionConfig {
    SelectionConfig::new()
}

#[test]
fn confident_everywhere_is_trusted() {
    assert_eq!(
        rule().decide(&scores(&[0.99, 0.97, 0.96], &[0.001, 0.002, 0.0])),
        Verdict::Trusted
    );
}

#[test]
fn thresholds_are_inclusive() {
    // μ exactly δ_pred, μ exactly 1 − δ_pred and s exactly δ_std are all confident.
    assert_eq!(
        rule().decide(&scores(&[0.95, 0.05], &[0.005, 0.005])),
        Verdict::Trusted
    );
    let just_inside = rule().decide(&scores(&[0.949], &[0.0]));
    assert!(just_inside.is_selected());
    let just_over = rule().decide(&scores(&[0.99], &[0.0051]));
    assert!(just_over.is_selected());
}

#[test]
fn aleatoric_reason_names_step_value_and_threshold() {
    let verdict = rule().decide(&scores(&[0.99, 0.7, 0.99], &[0.0, 0.0, 0.0]));
    let Verdict::Selected(selection) = verdict else {
        panic!("expected a selection")
    };
    assert_eq!(
        selection.reason,
        SelectionReason {
            step: 1,
            test: UncertaintyTest::Aleatoric,
            value: 0.7,
            threshold: 0.95
        }
    );
    assert!(selection.aleatoric && !selection.epistemic);
    assert_eq!(
        selection.reason.to_string(),
        "step 2: prediction unsure (mean 0.700 between 0.050 and δ_pred 0.950)"
    );
}

#[test]
fn epistemic_reason_when_heads_disagree() {
    let verdict = rule().decide(&scores(&[0.99, 0.98], &[0.001, 0.031]));
    let Verdict::Selected(selection) = verdict else {
        panic!("expected a selection")
    };
    assert_eq!(selection.reason.test, UncertaintyTest::Epistemic);
    assert_eq!(selection.reason.step, 1);
    assert!((selection.reason.value - 0.031).abs() < 1e-7);
    assert!(!selection.aleatoric && selection.epistemic);
    assert_eq!(
        selection.reason.to_string(),
        "step 2: heads disagree (std 0.0310 > δ_std 0.0050)"
    );
}

#[test]
fn only_steps_up_to_the_predicted_first_error_count() {
    // Step 1 is a confident error (μ = 0.01 < τ): steps 2 and 3 are never looked at, however
    // uncertain they are.
    let verdict = rule().decide(&scores(&[0.99, 0.01, 0.5, 0.6], &[0.0, 0.0, 0.2, 0.3]));
    assert_eq!(verdict, Verdict::Trusted);
    // The same trajectory with an uncertain step before the error is selected.
    let verdict = rule().decide(&scores(&[0.9, 0.01, 0.5], &[0.0, 0.0, 0.2]));
    assert!(verdict.is_selected());
}

#[test]
fn the_predicted_error_step_itself_counts() {
    // μ = 0.3 < τ makes step 0 the predicted error; it is also unsure, so selected.
    let Verdict::Selected(selection) = rule().decide(&scores(&[0.3, 0.99], &[0.0, 0.0])) else {
        panic!("expected a selection")
    };
    assert_eq!(selection.reason.step, 0);
}

#[test]
fn both_tests_failing_reports_aleatoric_and_flags_both() {
    let Verdict::Selected(selection) = rule().decide(&scores(&[0.99, 0.8], &[0.01, 0.2])) else {
        panic!("expected a selection")
    };
    // Step 0 fails only the spread test; it comes first.
    assert_eq!(selection.reason.step, 0);
    assert_eq!(selection.reason.test, UncertaintyTest::Epistemic);
    assert!(selection.aleatoric && selection.epistemic);
    let Verdict::Selected(selection) = rule().decide(&scores(&[0.8], &[0.2])) else {
        panic!("expected a selection")
    };
    assert_eq!(selection.reason.test, UncertaintyTest::Aleatoric);
}

#[test]
fn one_test_alone_ignores_the_other() {
    // Step 0 is unsure but the heads agree; step 1 is confident but the heads disagree.
    let unsure_first = scores(&[0.8, 0.99], &[0.0, 0.2]);
    let Verdict::Selected(selection) = rule().decide_with(&unsure_first, Tests::EpistemicOnly)
    else {
        panic!("expected a selection")
    };
    assert_eq!(selection.reason.step, 1);
    assert!(!selection.aleatoric && selection.epistemic);
    let Verdict::Selected(selection) = rule().decide_with(&unsure_first, Tests::AleatoricOnly)
    else {
        panic!("expected a selection")
    };
    assert_eq!(selection.reason.step, 0);
    assert!(selection.aleatoric && !selection.epistemic);
    // Only disagreement: trusted by the aleatoric test alone, selected by the epistemic one.
    let disagreeing = scores(&[0.99, 0.98], &[0.0, 0.1]);
    assert_eq!(
        rule().decide_with(&disagreeing, Tests::AleatoricOnly),
        Verdict::Trusted
    );
    assert!(rule().decide_with(&disagreeing, Tests::Both).is_selected());
    // Only an unsure mean: the mirror image.
    let unsure = scores(&[0.7], &[0.0]);
    assert_eq!(
        rule().decide_with(&unsure, Tests::EpistemicOnly),
        Verdict::Trusted
    );
    assert!(
        rule()
            .decide_with(&unsure, Tests::AleatoricOnly)
            .is_selected()
    );
}

#[test]
fn paper_defaults() {
    let config = SelectionConfig::new();
    assert_eq!(
        (config.delta_pred, config.delta_std, config.tau),
        (0.95, 0.005, 0.5)
    );
}

/// The excess agrees with the rule on every trajectory: past 1 only where it selects, at least
/// 1 wherever it does, for each set of tests and for thresholds at the ends of their ranges.
#[test]
fn excess_passes_one_exactly_where_the_rule_selects() {
    let mut rng = crate::rng::SeededRng::new(5);
    let configs = [
        rule(),
        rule().with_delta_pred(0.55).with_delta_std(0.15),
        rule().with_delta_pred(1.0).with_delta_std(0.0),
    ];
    for trial in 0..2_000 {
        let steps = 1 + trial % 5;
        let mean: Vec<f32> = (0..steps).map(|_| rng.unit() as f32).collect();
        let std: Vec<f32> = (0..steps).map(|_| 0.2 * rng.unit() as f32).collect();
        let scores = scores(&mean, &std);
        for config in &configs {
            for &tests in Tests::ALL {
                let (excess, reason) = config.excess(&scores, tests).expect("steps");
                let selected = config.decide_with(&scores, tests).is_selected();
                assert!(excess <= 1.0 || selected, "{excess} past 1 but trusted");
                assert!(excess >= 1.0 || !selected, "{excess} under 1 but selected");
                assert!(reason.step <= scores.last_counted_step(config.tau));
            }
        }
    }
    assert_eq!(rule().excess(&scores(&[], &[]), Tests::Both), None);
}

/// The reason names the step and the test furthest past its bound, with its value.
#[test]
fn excess_names_the_step_furthest_past_its_bound() {
    // Under the paper's bounds (1 − δ_pred = 0.05, δ_std = 0.005): step 1's mean is 0.8 of the
    // way to its bound; step 2's spread twice its bound; step 3, the predicted first error
    // (0.3 < τ), has its mean 6 times its bound; step 4, after it, is not counted.
    let scores = scores(&[0.96, 0.99, 0.3, 0.5], &[0.0, 0.01, 0.002, 0.5]);
    let (excess, reason) = rule().excess(&scores, Tests::Both).unwrap();
    assert!((excess - 6.0).abs() < 1e-4, "{excess}");
    assert_eq!((reason.step, reason.test), (2, UncertaintyTest::Aleatoric));
    assert_eq!(reason.value, 0.3);
    let (excess, reason) = rule().excess(&scores, Tests::EpistemicOnly).unwrap();
    assert!((excess - 2.0).abs() < 1e-4, "{excess}");
    assert_eq!((reason.step, reason.test), (1, UncertaintyTest::Epistemic));
}
