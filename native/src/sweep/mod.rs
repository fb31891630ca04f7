//! `actprm sweep`'s parts: the grid of experiments, what is left to run, their results file, the benchmarks beside
//! the test set, the averages over seeds, the chart and the tables.

pub mod benchmarks;
pub mod chart;
pub mod groups;
pub mod plan;
pub mod results;
pub mod spec;
pub mod table;
