//! The pool: every scored trajectory, most uncertain first, with its verdict under the current
//! thresholds, and how many the rule would send to the judge.

use std::sync::Arc;

use actprm_core::selection::SelectionConfig;
use leptos::prelude::*;

use crate::explain::largest_counted_spread;
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
    #[prop(into)] thresholds: Signal<SelectionConfig>,
    #[prop(into)] shown: Signal<usize>,
    on_pick: impl Fn(usize) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let summary = {
        let pool = pool.clone();
        move || {
            let rule = thresholds.get();
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
    let rows = move || {
        let rule = thresholds.get();
        by_uncertainty(&pool, rule.tau)
            .into_iter()
            .map(|index| {
                let scores = &pool.scores[index];
                let selected = rule.decide(scores).is_selected();
                let spread = largest_counted_spread(scores, rule.tau);
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
            <ol class="pool-list">{rows}</ol>
        </section>
    }
}
