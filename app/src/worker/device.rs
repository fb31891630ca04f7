//! The worker's device, chosen once on first use and shared by every kind of work it does:
//! WebGPU when the browser offers an adapter, else the `flex` CPU backend.

use std::cell::RefCell;
use std::rc::Rc;

use burn::tensor::Device;

use crate::compute::Compute;

/// The device, once chosen; clones share it.
#[derive(Clone, Default)]
pub struct SharedDevice(Rc<RefCell<Option<(Device, Compute)>>>);

impl SharedDevice {
    /// The device and what it is, choosing it on the first call.
    pub async fn get(&self) -> (Device, Compute) {
        let chosen = self.0.borrow().clone();
        if let Some(chosen) = chosen {
            return chosen;
        }
        let initialised = init_device().await;
        // A task that chose meanwhile keeps its choice: every task computes on one device.
        self.0.borrow_mut().get_or_insert(initialised).clone()
    }
}

/// The device to compute on: WebGPU when available, else the CPU.
async fn init_device() -> (Device, Compute) {
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
