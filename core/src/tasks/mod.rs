//! Generated tasks with exact process labels: the embedded synthetic word problems, and pools
//! derived from GSM8K's reference solutions with injected arithmetic errors. Readers of
//! labelled files stay in [`crate::data`].

pub mod gsm8k;
pub mod synthetic;
