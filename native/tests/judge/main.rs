//! `actprm label` and `run --judge-url` against a real HTTP server that answers as a scripted
//! judge (tests/support/scripted_judge.py), which counts every request it receives.

#[path = "../common/mod.rs"]
mod common;
#[path = "../judge_support/mod.rs"]
mod judge_support;

mod active_pass;
mod faults;
mod interrupted;
mod labelling;
