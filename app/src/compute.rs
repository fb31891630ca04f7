//! Where the models run, as the page's badge names it: burn's WebGPU backend when the browser
//! offers an adapter, otherwise the `flex` CPU backend. The worker chooses
//! (`worker::device`) and tells the page.

use serde::{Deserialize, Serialize};

/// The backend in use, for the badge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compute {
    /// burn's wgpu runtime on the browser's WebGPU adapter.
    WebGpu,
    /// burn's `flex` backend on the CPU, with why WebGPU was not used.
    Cpu {
        /// Why there is no WebGPU device.
        reason: String,
    },
}

impl Compute {
    /// The badge's text.
    pub fn label(&self) -> &'static str {
        match self {
            Compute::WebGpu => "WebGPU",
            Compute::Cpu { .. } => "CPU (flex)",
        }
    }

    /// The badge's tooltip.
    pub fn detail(&self) -> String {
        match self {
            Compute::WebGpu => "running on the GPU through burn's WebGPU backend".to_string(),
            Compute::Cpu { reason } => format!("running on the CPU: {reason}"),
        }
    }
}
