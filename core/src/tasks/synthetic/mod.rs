//! The embedded synthetic task: seeded arithmetic word problems with injected errors.
//!
//! A story states a starting quantity and a few gains, losses and multiplications; the solution
//! computes one event per step and then states the answer. Errors sit at known steps.

mod config;
mod event;
mod generator;
mod slip;
mod story;
mod templates;
mod vocabulary;

pub use config::{ErrorKind, SyntheticConfig, SyntheticConfigError};
pub use generator::{InjectedError, SyntheticItem, generate, generate_items, items};
pub use vocabulary::vocabulary;
