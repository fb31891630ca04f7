//! ActPRM: an ensemble process reward model (PRM) and the uncertainty-driven active learning
//! that trains it with a fraction of the labels (Duan et al., arXiv 2504.10559).
//!
//! The crate is backend-agnostic: every function takes a [`burn::tensor::Device`], and the
//! leaf crates (the `actprm` CLI, the web app) decide which backend that is.

pub mod active;
pub mod baselines;
pub mod batch;
pub mod budget;
pub mod checkpoint;
pub mod clipping;
pub mod data;
pub mod encoding;
pub mod evaluation;
pub mod features;
pub mod filter;
pub mod finite;
pub mod gsm8k;
pub mod judge;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod pretrained;
pub mod prmbench;
pub mod rng;
pub mod schedule;
pub mod scores;
pub mod selection;
pub mod strategy;
pub mod synthetic;
pub mod threshold;
pub mod tokenizer;
pub mod trainer;
pub mod trajectory;

pub use trajectory::{ProcessLabel, StepLabel, Trajectory};
