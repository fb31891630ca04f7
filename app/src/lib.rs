//! The ActPRM web explainer: a small ensemble PRM trained by `actprm` scores a pool of
//! synthetic problems in the browser (WebGPU, or the CPU without it); the page shows each step's
//! mean, spread and heads, and which trajectories the selection rule would pay a judge for.
//! Heads on frozen all-MiniLM-L6-v2 read real ProcessBench solutions, and live training runs
//! the paper's loop. Every model runs in a web worker (`worker`, behind the `compute` feature);
//! the page's own binary is built without it, knows the worker only by its messages
//! (`protocol`) and only draws, so it stays small and responsive.

mod assets;
#[cfg(all(test, target_family = "wasm"))]
mod browser_test_support;
mod budget_chart;
mod compute;
mod custom;
mod decision_plot;
mod explain;
mod inspector;
mod live_view;
mod model_cache;
mod page;
mod pasted_text;
mod pool;
mod pool_view;
mod processbench_slice;
mod protocol;
mod read_queue;
mod real_text_view;
mod rule_controls;
mod scene;
mod split_reading;
mod step_chart;
mod threshold_ranges;
#[cfg(feature = "compute")]
pub mod worker;

pub use crate::page::App;

/// Runs the module's static constructors (registrations that burn's compiler stack makes at
/// start-up) once; both binaries call it first thing in `main`. Without an explicit call, the
/// linker treats a binary as a command and runs them again at the start of every call from
/// JavaScript into the module, so that every event handler and every worker message paid for
/// them.
pub fn run_static_constructors() {
    #[cfg(target_family = "wasm")]
    {
        unsafe extern "C" {
            fn __wasm_call_ctors();
        }
        // SAFETY: the linker's own constructor runner, called once before anything reads
        // what the constructors register.
        unsafe { __wasm_call_ctors() }
    }
}
