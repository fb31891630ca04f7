use super::*;

/// Three hand-made trajectories, each with two steps of `E = 2` heads:
/// - `confident`: both heads sure and agreeing that every step is correct;
/// - `unsure`: both heads agree step 1 is a coin flip (high entropy, no disagreement);
/// - `split`: heads confident but contradicting each other on step 1 (disagreement).
fn hand_made() -> [StepScores; 3] {
    [
        StepScores::from_heads(vec![vec![0.99, 0.99], vec![0.99, 0.99]]),
        StepScores::from_heads(vec![vec![0.99, 0.6], vec![0.99, 0.6]]),
        StepScores::from_heads(vec![vec![0.99, 0.99], vec![0.99, 0.95]]),
    ]
}

/// Which of the hand-made trajectories `strategy` labels.
fn labelled(strategy: &Strategy) -> Vec<bool> {
    hand_made()
        .iter()
        .enumerate()
        .map(|(index, scores)| strategy.choose(index, Some(scores)).is_labelled())
        .collect()
}

fn rule(tests: Tests) -> Strategy {
    Strategy::Rule {
        config: SelectionConfig::new(),
        tests,
    }
}

#[test]
fn each_strategy_selects_what_its_measure_flags() {
    assert_eq!(
        labelled(&Strategy::actprm(SelectionConfig::new())),
        [false, true, true]
    );
    assert_eq!(labelled(&rule(Tests::AleatoricOnly)), [false, true, false]);
    assert_eq!(labelled(&rule(Tests::EpistemicOnly)), [false, false, true]);
    // Entropies: 2·H(0.99) = 0.162; H(0.99) + H(0.6) = 1.052; H(0.99) + H(0.97) = 0.275.
    assert_eq!(
        labelled(&Strategy::entropy(DEFAULT_ENTROPY_THRESHOLD, 0.5)),
        [false, true, false]
    );
    assert_eq!(labelled(&Strategy::entropy(0.2, 0.5)), [false, true, true]);
    assert_eq!(labelled(&Strategy::entropy(0.1, 0.5)), [true, true, true]);
    // Mutual information: 0, 0 and H(0.97) − (H(0.99) + H(0.95)) / 2 = 0.0108 bits.
    assert_eq!(
        labelled(&Strategy::bald(DEFAULT_MUTUAL_INFORMATION_THRESHOLD, 0.5)),
        [false, false, true]
    );
    assert_eq!(labelled(&Strategy::bald(0.02, 0.5)), [false, false, false]);
    assert_eq!(labelled(&Strategy::Full), [true, true, true]);
    assert_eq!(
        labelled(&Strategy::Random {
            fraction: 0.0,
            seed: 1
        }),
        [false, false, false]
    );
}

/// The ranked rule labels the `per_batch` trajectories furthest past the bounds, each with
/// the step furthest past as its reason, whether or not the rule would select it.
#[test]
fn ranked_labels_the_trajectories_furthest_past_the_bounds() {
    // Furthest past: `unsure` (mean 0.6, 8 times 1 − δ_pred), then `split` (spread 0.02, 4
    // times δ_std), then `confident` (mean 0.99, 0.2 of its bound).
    let scores = hand_made();
    let ranked = |per_batch| {
        let strategy = Strategy::Ranked {
            config: SelectionConfig::new(),
            per_batch,
        };
        strategy.choices(0..3, Some(&scores))
    };
    let labelled =
        |choices: Vec<Choice>| -> Vec<bool> { choices.iter().map(Choice::is_labelled).collect() };
    assert_eq!(labelled(ranked(0)), [false, false, false]);
    assert_eq!(labelled(ranked(1)), [false, true, false]);
    assert_eq!(labelled(ranked(2)), [false, true, true]);
    assert_eq!(labelled(ranked(3)), [true, true, true]);
    assert_eq!(labelled(ranked(16)), [true, true, true]);
    let Choice::Selected(split) = ranked(2)[2] else {
        panic!("split is labelled")
    };
    assert_eq!(
        split.reason.test,
        crate::selection::UncertaintyTest::Epistemic
    );
    assert!(split.epistemic && !split.aleatoric);
    let Choice::Selected(confident) = ranked(3)[0] else {
        panic!("confident is labelled")
    };
    assert!(
        !confident.aleatoric && !confident.epistemic,
        "below both bounds"
    );
    let one = Strategy::Ranked {
        config: SelectionConfig::new(),
        per_batch: 1,
    };
    assert!(
        one.choose(7, Some(&scores[0])).is_labelled(),
        "a mini-batch of one"
    );
}

#[test]
fn random_selection_labels_the_expected_fraction_reproducibly() {
    let labelled = |fraction: f64, seed: u64| -> Vec<bool> {
        let strategy = Strategy::Random { fraction, seed };
        (0..2000)
            .map(|index| strategy.choose(index, None).is_labelled())
            .collect()
    };
    let chosen = labelled(0.3, 7);
    let rate = chosen.iter().filter(|label| **label).count() as f64 / chosen.len() as f64;
    assert!((rate - 0.3).abs() < 0.04, "labelled fraction {rate}");
    assert_eq!(chosen, labelled(0.3, 7));
    assert_ne!(chosen, labelled(0.3, 8));
    assert!(labelled(0.0, 7).iter().all(|label| !label));
    assert!(labelled(1.0, 7).iter().all(|label| *label));
}

/// The offline baseline's pass runs over exactly the trajectories the in-pass one labels,
/// and labels each; the other strategies run over the whole pool.
#[test]
fn the_offline_baseline_draws_what_the_in_pass_one_labels() {
    let (fraction, seed) = (0.3, 7);
    let online = Strategy::Random { fraction, seed };
    let offline = Strategy::RandomOffline { fraction, seed };
    let labelled_online: Vec<usize> = (0..2000)
        .filter(|&index| online.choose(index, None).is_labelled())
        .collect();
    assert_eq!(offline.drawn_before_pass(2000), Some(labelled_online));
    assert!(offline.choose(3, None).is_labelled() && !offline.needs_scores());
    assert_eq!(online.drawn_before_pass(2000), None);
    assert_eq!(Strategy::Full.drawn_before_pass(2000), None);
}

/// actprm-offline's pass runs over the trajectories it lists, and labels each.
#[test]
fn actprm_offline_runs_over_what_actprm_labelled() {
    let labelled: PoolIndices = [1, 2, 3, 9].into_iter().collect();
    let offline = Strategy::ActprmOffline { labelled };
    assert_eq!(offline.drawn_before_pass(10), Some(vec![1, 2, 3, 9]));
    assert!(offline.choose(0, None).is_labelled() && !offline.needs_scores());
}

#[test]
#[should_panic(expected = "pool index 9, past a pool of 9")]
fn actprm_offline_refuses_another_pools_labels() {
    let labelled: PoolIndices = [1, 9].into_iter().collect();
    Strategy::ActprmOffline { labelled }.drawn_before_pass(9);
}

#[test]
fn one_head_leaves_only_the_aleatoric_signal() {
    let scores = StepScores::from_heads(vec![vec![0.99, 0.7]]);
    let one = |strategy: Strategy| strategy.choose(0, Some(&scores)).is_labelled();
    assert!(one(Strategy::actprm(SelectionConfig::new())));
    assert!(one(rule(Tests::AleatoricOnly)));
    assert!(!one(rule(Tests::EpistemicOnly)));
    assert!(!one(Strategy::bald(0.0, 0.5)));
}

/// One of each strategy.
fn every_strategy() -> [Strategy; 10] {
    [
        Strategy::actprm(SelectionConfig::new()),
        Strategy::Ranked {
            config: SelectionConfig::new(),
            per_batch: 4,
        },
        rule(Tests::AleatoricOnly),
        rule(Tests::EpistemicOnly),
        Strategy::entropy(0.3, 0.5),
        Strategy::bald(0.001, 0.5),
        Strategy::Random {
            fraction: 0.5,
            seed: 0,
        },
        Strategy::RandomOffline {
            fraction: 0.5,
            seed: 0,
        },
        Strategy::ActprmOffline {
            labelled: [0, 1, 5].into_iter().collect(),
        },
        Strategy::Full,
    ]
}

#[test]
fn names_are_the_command_line_names() {
    let names: Vec<_> = every_strategy().iter().map(Strategy::name).collect();
    assert_eq!(
        names,
        [
            "actprm",
            "actprm-ranked",
            "aleatoric-only",
            "epistemic-only",
            "entropy",
            "bald",
            "random",
            "random-offline",
            "actprm-offline",
            "full"
        ]
    );
}

/// Files name a strategy as the command line does and hold every setting it reads; what
/// is written reads back as the same strategy.
#[test]
fn a_strategy_is_written_by_name_with_its_settings_and_reads_back() {
    for strategy in every_strategy() {
        let written = serde_json::to_value(&strategy).unwrap();
        assert_eq!(written["name"], strategy.name(), "{written}");
        let read: Strategy = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(read, strategy, "{written}");
    }
    assert_eq!(
        serde_json::to_value(Strategy::entropy(0.25, 0.5)).unwrap(),
        serde_json::json!({"name": "entropy", "threshold": 0.25, "tau": 0.5})
    );
    let actprm = serde_json::to_value(Strategy::actprm(SelectionConfig::new())).unwrap();
    assert_eq!(actprm["delta_pred"], serde_json::json!(0.95f32), "{actprm}");
    let older: Strategy = serde_json::from_value(serde_json::json!({
        "name": "aleatoric_only", "delta_pred": 0.9, "delta_std": 0.01, "tau": 0.5
    }))
    .unwrap();
    assert_eq!(older.name(), "aleatoric-only");
    assert!(serde_json::from_value::<Strategy>(serde_json::json!({"name": "best"})).is_err());
}
