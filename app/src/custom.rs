//! A trajectory of the visitor's own: a question on the first line and one step per line,
//! typed or started from a built-in example, scored by the same model as the pool.

use actprm_core::Trajectory;
use leptos::prelude::*;

use crate::pasted_text;

/// Built-in examples in the synthetic task's words: (name, text).
pub const EXAMPLES: [(&str, &str); 4] = [
    (
        "a slip at step 2",
        "Mia has 12 marbles . She finds 5 more . She loses 3 . Then her marbles triple . \
         How many marbles does Mia have ?\n\
         After finding 5 more she has 12 + 5 = 17\n\
         After losing 3 she has 17 + 3 = 20\n\
         After the marbles triple she has 20 * 3 = 60\n\
         The answer is 60",
    ),
    (
        "a correct solution",
        "Sam has 13 coins . He loses 2 . Then his coins double . He finds 8 more . \
         How many coins does Sam have ?\n\
         After losing 2 he has 13 - 2 = 11\n\
         After the coins double he has 11 * 2 = 22\n\
         After finding 8 more he has 22 + 8 = 30\n\
         The answer is 30",
    ),
    (
        "a wrong sum (arithmetic is not what this model checks)",
        "Max has 7 stickers . He finds 4 more . He loses 6 . How many stickers does Max have ?\n\
         After finding 4 more he has 7 + 4 = 12\n\
         After losing 6 he has 12 - 6 = 6\n\
         The answer is 6",
    ),
    (
        "words the model never saw",
        "A train leaves at 3 pm and travels 60 miles per hour . How far has it gone by 5 pm ?\n\
         It travels for 5 - 3 = 2 hours\n\
         It covers 60 * 2 = 120 miles\n\
         The answer is 120",
    ),
];

/// The text box (holding `initial`, else the first example), the example picker and the
/// button that scores what is written; `on_score` receives the text and its trajectory.
#[component]
pub fn CustomTrajectory(
    initial: Option<String>,
    on_score: impl Fn(String, Trajectory) + Copy + 'static,
    /// Why the last text could not be scored, if it could not.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    let text = RwSignal::new(initial.unwrap_or_else(|| EXAMPLES[0].1.to_string()));
    let parse_error = RwSignal::new(None::<String>);
    let submit = move || {
        let written = text.get_untracked();
        match pasted_text::by_lines(&written) {
            Ok(trajectory) => {
                parse_error.set(None);
                on_score(written, trajectory);
            }
            Err(message) => parse_error.set(Some(message)),
        }
    };
    let examples = EXAMPLES
        .iter()
        .enumerate()
        .map(|(index, (name, _))| view! { <option value=index.to_string()>{*name}</option> })
        .collect_view();
    view! {
        <section class="custom">
            <h2>"Your own trajectory"</h2>
            <label class="custom-example">
                "Start from an example: "
                <select on:change=move |event| {
                    if let Some((_, example)) = event_target_value(&event)
                        .parse::<usize>()
                        .ok()
                        .and_then(|index| EXAMPLES.get(index))
                    {
                        text.set(example.to_string());
                    }
                }>
                    <option value="" disabled selected>"choose one"</option>
                    {examples}
                </select>
            </label>
            <label class="custom-text">
                "The question on the first line, then one step per line:"
                <textarea rows="7" prop:value=move || text.get()
                    on:input=move |event| text.set(event_target_value(&event))></textarea>
            </label>
            <button type="button" on:click=move |_| submit()>"Score it"</button>
            <p class="custom-error" role="status">
                {move || parse_error.get().or_else(|| error.get())}
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_parses() {
        for (name, text) in EXAMPLES {
            let trajectory = pasted_text::by_lines(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(trajectory.num_steps() >= 3, "{name}");
        }
    }
}
