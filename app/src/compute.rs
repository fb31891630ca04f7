//! Where the model runs: burn's WebGPU backend when the browser offers an adapter, otherwise
//! the `flex` CPU backend. The device is initialised once per page and kept.

use burn::tensor::Device;

/// The backend in use, for the badge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compute {
    /// burn's wgpu runtime on the browser's WebGPU adapter.
    #[cfg_attr(
        not(target_family = "wasm"),
        expect(dead_code, reason = "WebGPU exists only in the browser")
    )]
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

/// The device to compute on: WebGPU when available, else the CPU.
pub async fn init_device() -> (Device, Compute) {
    #[cfg(target_family = "wasm")]
    {
        match Device::wgpu_options().init_async().await {
            Ok(device) => return (device, Compute::WebGpu),
            Err(error) => {
                let reason = format!("no WebGPU adapter ({error})");
                return (Device::flex(), Compute::Cpu { reason });
            }
        }
    }
    #[allow(unreachable_code, reason = "the wasm build returns above")]
    (
        Device::flex(),
        Compute::Cpu {
            reason: "not in a browser".to_string(),
        },
    )
}
