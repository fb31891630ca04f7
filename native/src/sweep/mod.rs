//! `actprm sweep`'s parts: the grid of experiments, their results file, the averages over
//! seeds, the chart and the table.

pub mod chart;
pub mod groups;
pub mod results;
pub mod spec;
pub mod table;
