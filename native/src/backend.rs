//! Run-time backend choice: burn's wgpu backend on a hardware GPU when one is found, otherwise
//! the pure-Rust `flex` CPU backend.

use std::sync::OnceLock;

use anyhow::{Result, bail};
use burn::tensor::Device;
use burn::tensor::wgpu::wgpu::DeviceType;
use clap::ValueEnum;

/// What `--device` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceChoice {
    /// A hardware GPU through wgpu when one exists, else the CPU.
    Auto,
    /// wgpu on whatever adapter the system offers (software adapters such as lavapipe included);
    /// an error when there is none.
    Gpu,
    /// The `flex` CPU backend.
    Cpu,
}

/// The device a command computes on, and a sentence saying which it is.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The burn device.
    pub device: Device,
    /// e.g. "wgpu (Vulkan, NVIDIA H100)" or "flex CPU (no GPU adapter found)".
    pub description: String,
    /// The wgpu adapter's name, or `None` on the CPU.
    pub adapter: Option<String>,
}

/// The wgpu adapter found in this process, if any (wgpu may be initialised only once).
struct Adapter {
    device: Device,
    name: String,
    api: String,
    software: bool,
}

fn wgpu_adapter() -> &'static Result<Adapter, String> {
    static ADAPTER: OnceLock<Result<Adapter, String>> = OnceLock::new();
    ADAPTER.get_or_init(|| {
        let (device, setup) = Device::wgpu_options()
            .init_with_setup()
            .map_err(|e| e.to_string())?;
        let info = setup.adapter.get_info();
        Ok(Adapter {
            device,
            name: info.name,
            api: format!("{:?}", info.backend),
            software: info.device_type == DeviceType::Cpu,
        })
    })
}

/// Makes burn's default device the CPU when `choice` is the CPU. burn creates some tensors on
/// its default device rather than on the model's (an optimiser's state as it is loaded to
/// resume training); without this, `--device cpu` would still initialise wgpu (and Vulkan) to
/// resume a run, and allocate on a GPU if there is one.
///
/// Call it first in `main`, before any other thread exists: it sets the process's
/// environment.
pub fn pin_default_device(choice: DeviceChoice) {
    if choice == DeviceChoice::Cpu {
        // SAFETY: no other thread exists yet, so none reads the environment meanwhile.
        unsafe { std::env::set_var("BURN_DEVICE", "flex") };
    }
}

impl Backend {
    /// Resolves `choice` to a device; wgpu is only probed when the choice may use it.
    pub fn select(choice: DeviceChoice) -> Result<Self> {
        let cpu = |why: String| Self {
            device: Device::flex(),
            description: format!("flex CPU ({why})"),
            adapter: None,
        };
        if choice == DeviceChoice::Cpu {
            return Ok(cpu("requested".into()));
        }
        match wgpu_adapter() {
            Ok(adapter) if choice == DeviceChoice::Gpu || !adapter.software => {
                Ok(adapter.backend())
            }
            Ok(adapter) => Ok(cpu(format!(
                "the only GPU adapter, {}, is a software renderer; --device gpu uses it anyway",
                adapter.name
            ))),
            Err(e) if choice == DeviceChoice::Gpu => {
                bail!("--device gpu: no wgpu adapter could be initialised: {e}")
            }
            Err(_) => Ok(cpu("no GPU adapter found".into())),
        }
    }

    /// `wgpu` or `flex`.
    pub fn name(&self) -> &'static str {
        if self.adapter.is_some() {
            "wgpu"
        } else {
            "flex"
        }
    }
}

impl Adapter {
    fn backend(&self) -> Backend {
        let kind = if self.software {
            "software"
        } else {
            "hardware"
        };
        Backend {
            device: self.device.clone(),
            description: format!("wgpu ({}, {kind} adapter {})", self.api, self.name),
            adapter: Some(self.name.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use actprm_core::Trajectory;
    use actprm_core::batch::PrmInput;
    use actprm_core::encoding::{
        EncodedTrajectory, EncodingConfig, StepReading, encode_trajectory,
    };
    use actprm_core::model::{BackboneConfig, EnsembleHeadsConfig, EnsemblePrm, PrmConfig};
    use actprm_core::pretrained::{DEFAULT_SEPARATOR_INIT, PretrainedBackbone};
    use actprm_core::scores::StepScores;
    use actprm_core::tokenizer::SpecialTokensConfig;
    use burn::module::Module;

    use super::*;
    use crate::checkpoint_dir::pretrained_encoder_dir;

    /// The wgpu adapter: lavapipe without a GPU (`apt-get install mesa-vulkan-drivers`); with
    /// no adapter at all the tests fail.
    fn gpu() -> Backend {
        Backend::select(DeviceChoice::Gpu).expect(
            "a wgpu adapter is required for this test; install mesa-vulkan-drivers for lavapipe",
        )
    }

    /// `model`'s scores of `encoded` (tokens padded with `pad`) on wgpu equal those on flex,
    /// where it was built, within `tolerance`, step for step and head for head.
    fn assert_wgpu_scores_match_flex(
        model: &EnsemblePrm,
        encoded: &[EncodedTrajectory],
        pad: u32,
        tolerance: f32,
    ) -> Vec<StepScores> {
        let gpu = gpu();
        let on_flex = model.score(&PrmInput::new(encoded, pad, &Device::flex()));
        let on_gpu =
            model
                .clone()
                .to_device(&gpu.device)
                .score(&PrmInput::new(encoded, pad, &gpu.device));
        assert_eq!(on_flex.len(), on_gpu.len(), "trajectories");
        for (a, b) in on_flex.iter().zip(&on_gpu) {
            assert_eq!(a.heads.len(), b.heads.len(), "heads");
            for (head_a, head_b) in a.heads.iter().zip(&b.heads) {
                assert_eq!(head_a.len(), head_b.len(), "steps");
                for (ha, hb) in head_a.iter().zip(head_b) {
                    assert!(
                        (ha - hb).abs() <= tolerance,
                        "flex {ha} vs wgpu {hb} on {}",
                        gpu.description
                    );
                }
            }
        }
        on_flex
    }

    /// The wgpu code path gives the flex scores of a small model.
    #[test]
    fn wgpu_scores_match_flex() {
        let flex = Device::flex();
        let config = PrmConfig::new(
            BackboneConfig::new(20)
                .with_d_model(16)
                .with_n_layers(1)
                .with_n_heads(2)
                .with_d_ff(32)
                .into(),
        )
        .with_heads(EnsembleHeadsConfig::new().with_num_heads(3).with_hidden(8));
        flex.seed(5);
        let model = config.init(&flex);
        let encoded = vec![
            EncodedTrajectory::single_window(vec![2, 5, 6, 3, 7, 8, 9, 3], &[3, 7]),
            EncodedTrajectory::single_window(vec![2, 11, 3], &[2]),
        ];
        let on_flex = assert_wgpu_scores_match_flex(&model, &encoded, 0, 1e-4);
        assert_eq!(on_flex.len(), 2);
        assert_eq!(on_flex[0].num_steps(), 2);
    }

    /// all-MiniLM-L6-v2's step scores on wgpu equal those on flex, which core's tests check
    /// against NumPy's (core/tests/minilm.rs): every step read with its prefix, windows of
    /// several lengths padded into one batch.
    #[test]
    #[ignore = "needs all-MiniLM-L6-v2: run scripts/fetch-backbone.sh"]
    fn minilm_scores_on_wgpu_match_flex() {
        let flex = Device::flex();
        let pretrained = PretrainedBackbone::bert(
            &pretrained_encoder_dir(),
            &SpecialTokensConfig::new(),
            DEFAULT_SEPARATOR_INIT,
            &flex,
        )
        .unwrap();
        flex.seed(7);
        let model = PrmConfig::new(pretrained.config.clone())
            .with_heads(EnsembleHeadsConfig::new().with_num_heads(4))
            .init_around(pretrained.backbone.clone(), &flex);
        let trajectory = Trajectory {
            question: "Natalia sold 48 clips in April and half as many in May. How many in all?"
                .into(),
            steps: vec![
                "In May she sold 48 / 2 = 24 clips.".into(),
                "In all, 48 + 24 = 72 clips.".into(),
                "The answer is 72.".into(),
            ],
            label: None,
        };
        let encoding = EncodingConfig::for_encoder(512).with_reading(StepReading::Prefix);
        let encoded = encode_trajectory(&pretrained.tokenizer, &trajectory, &encoding).unwrap();
        let scores =
            assert_wgpu_scores_match_flex(&model, &[encoded], pretrained.tokenizer.pad_id(), 1e-4);
        assert_eq!(scores[0].num_steps(), 3);
        assert_eq!(scores[0].heads.len(), 4);
    }
}
