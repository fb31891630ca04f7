//! The ensemble PRM: a transformer backbone with E scoring heads on the step features.

mod attention;
mod backbone;
mod bert;
mod block;
mod heads;
mod prm;
mod prm_backbone;

pub use backbone::{BackboneConfig, TransformerBackbone};
pub use bert::{Bert, BertConfig, WeightsError};
pub use heads::{EnsembleHeads, EnsembleHeadsConfig};
pub use prm::{EnsemblePrm, PrmConfig};
pub use prm_backbone::{PrmBackbone, PrmBackboneConfig};
