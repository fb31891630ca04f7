//! The ensemble PRM: a transformer backbone with E scoring heads on the step features.

mod attention;
mod backbone;
mod bert;
mod block;
mod heads;
mod prm;

pub use backbone::{BackboneConfig, TransformerBackbone};
pub use bert::{Bert, BertConfig, WeightsError};
pub use heads::{EnsembleHeads, EnsembleHeadsConfig};
pub use prm::{EnsemblePrm, PrmConfig};
