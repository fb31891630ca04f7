//! The pool: every scored trajectory, most uncertain first, with its verdict under the current
//! rule, and how many the rule would send to the judge.

use std::sync::Arc;

use leptos::prelude::*;

use crate::explain::{Rule, largest_counted_spread};
use crate::pool::ScoredPool;

/// Pool indices, most uncertain first (largest spread among counted steps; ties by index).
pub fn by_uncertainty(pool: &ScoredPool, tau: f32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..pool.scores.len()).collect();
    let spread = |i: usize| largest_counted_spread(&pool.scores[i], tau);
    order.sort_by(|&a, &b| spread(b).total_cmp(&spread(a)).then(a.cmp(&b)));
    order
}

/// The pool list; clicking a row shows that trajectory in the inspector.
#[component]
pub fn PoolView(
    pool: Arc<ScoredPool>,
    #[prop(into)] rule: Signal<Rule>,
    #[prop(into)] shown: Signal<usize>,
    on_pick: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let summary = {
        let pool = pool.clone();
        move || {
            let rule = rule.get();
            let selected = pool
                .scores
                .iter()
                .filter(|s| rule.decide(s).is_selected())
                .count();
            let total = pool.scores.len();
            format!(
                "{selected} of {total} selected for labelling ({:.1}%), {} trusted",
                100.0 * selected as f64 / total.max(1) as f64,
                total - selected
            )
        }
    };
    let accuracy = {
        let pool = pool.clone();
        move || {
            let tau = rule.with(|r| r.thresholds.tau);
            pool.first_error_f1(tau).map(|f1| {
                let found = (f1.erroneous_accuracy * f1.num_erroneous as f64).round();
                let trusted = (f1.correct_accuracy * f1.num_correct as f64).round();
                view! {
                    <p class="pool-accuracy" data-f1=f1.f1.to_string()>
                        {format!(
                            "Against the labels, at τ {tau:.2}: first error found in {found} of {} \
                             erroneous problems, none predicted in {trusted} of {} correct ones \
                             (F1 {:.3})",
                            f1.num_erroneous, f1.num_correct, f1.f1
                        )}
                    </p>
                }
            })
        }
    };
    let rows = move || {
        let rule = rule.get();
        let tau = rule.thresholds.tau;
        by_uncertainty(&pool, tau)
            .into_iter()
            .map(|index| {
                let scores = &pool.scores[index];
                let selected = rule.decide(scores).is_selected();
                let spread = largest_counted_spread(scores, tau);
                let question: String = pool.trajectories[index].question.chars().take(70).collect();
                view! {
                    <li class="pool-row" class:selected=selected
                        class:shown=move || shown.get() == index>
                        <button type="button" on:click=move |_| on_pick(index)
                            aria-pressed=move || (shown.get() == index).to_string()>
                            <span class="pool-verdict">{if selected { "selected" } else { "trusted" }}</span>
                            <span class="pool-spread">{format!("std {spread:.4}")}</span>
                            <span class="pool-question">{format!("{}. {question}…", index + 1)}</span>
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="pool">
            <h2>"The pool"</h2>
            <p class="pool-summary">{summary}</p>
            {accuracy}
            <ol class="pool-list">{rows}</ol>
        </section>
    }
}

#[cfg(all(test, target_family = "wasm"))]
mod browser_tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use actprm_core::Trajectory;
    use actprm_core::scores::StepScores;
    use actprm_core::selection::Tests;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
    use web_sys::HtmlElement;

    use super::*;
    use crate::browser_test_support::{Mounted, settle};

    wasm_bindgen_test_configure!(run_in_browser);

    /// Three problems: trusted, heads disagreeing (std about 0.05), and unsure (mean 0.9).
    fn pool() -> Arc<ScoredPool> {
        let trajectory = |question: &str| Trajectory {
            question: question.to_string(),
            steps: vec!["only step".to_string()],
            label: None,
        };
        Arc::new(ScoredPool {
            seed: 0,
            trajectories: vec![
                trajectory("sure"),
                trajectory("split"),
                trajectory("unsure"),
            ],
            scores: vec![
                StepScores::from_heads(vec![vec![0.99]; 3]),
                StepScores::from_heads(vec![vec![0.99], vec![0.99], vec![0.88]]),
                StepScores::from_heads(vec![vec![0.9]; 3]),
            ],
        })
    }

    #[wasm_bindgen_test]
    async fn the_pool_counts_verdicts_under_the_rule_and_picks_a_row() {
        static PICKED: AtomicUsize = AtomicUsize::new(usize::MAX);
        let rule = RwSignal::new(Rule::default());
        let page = Mounted::new(move || {
            let on_pick = |index| PICKED.store(index, Ordering::SeqCst);
            view! { <PoolView pool=pool() rule shown=0 on_pick /> }
        });
        let summary = page.text(".pool-summary");
        assert!(summary.starts_with("2 of 3 selected"), "{summary}");
        // Most uncertain first: the split heads lead.
        let first = page.text(".pool-row .pool-question");
        assert!(first.starts_with("2. split"), "{first}");

        rule.update(|r| r.tests = Tests::EpistemicOnly);
        settle().await;
        let summary = page.text(".pool-summary");
        assert!(summary.starts_with("1 of 3 selected"), "{summary}");

        page.find(".pool-row button")
            .unchecked_into::<HtmlElement>()
            .click();
        assert_eq!(PICKED.load(Ordering::SeqCst), 1);
    }
}
