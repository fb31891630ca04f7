//! What the real-text section is doing: waiting, loading the model, ready, or failed.

use crate::assets::Download;

/// What the section is doing.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Stage {
    /// Waiting for the visitor to ask for the model.
    Idle,
    /// Fetching the model.
    Loading(Download),
    /// Ready to read solutions.
    Ready,
    /// Something failed; the section says what.
    Failed(String),
}

impl Stage {
    /// The line the section shows for the stage: empty when idle or ready.
    pub fn message(&self) -> String {
        match self {
            Stage::Idle | Stage::Ready => String::new(),
            Stage::Loading(download) => {
                format!("Loading the real-text model: {}", download.describe())
            }
            Stage::Failed(error) => format!("Error: {error}"),
        }
    }
}
