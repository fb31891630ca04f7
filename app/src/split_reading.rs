//! Reading a whole ProcessBench split for the decision plane: a button that reads the split's
//! unread solutions, one that stops those still waiting, and how many are read.

use leptos::prelude::*;

/// The controls for reading split `split`, of whose `total` solutions `read` are read and
/// `pending` wait; `on_read_all` and `on_stop` start and stop the reading.
#[component]
pub fn SplitReading(
    #[prop(into)] split: Signal<&'static str>,
    #[prop(into)] read: Signal<usize>,
    #[prop(into)] total: Signal<usize>,
    #[prop(into)] pending: Signal<usize>,
    on_read_all: impl Fn() + Copy + Send + Sync + 'static,
    on_stop: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class="split-reading">
            <button type="button" class="read-split" disabled=move || read.get() == total.get()
                on:click=move |_| on_read_all()>
                {move || format!("Read every {} solution", split.get())}
            </button>
            {move || (pending.get() > 0).then(|| view! {
                <button type="button" class="stop-split" on:click=move |_| on_stop()>"Stop"</button>
            })}
            <span class="split-progress" role="status" data-read=read data-total=total>
                {move || format!("{} of {} {} solutions read", read.get(), total.get(), split.get())}
            </span>
        </div>
    }
}
