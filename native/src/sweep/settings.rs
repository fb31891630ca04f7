//! The settings every experiment of a sweep shares, recorded in its directory's sweep.json:
//! results made with other data or another model must not be mixed.

use std::fs;

use actprm_core::NamedChoice;
use actprm_core::clipping::Clipping;
use actprm_core::encoding::StepReading;
use actprm_core::loss_steps::LossSteps;
use actprm_core::model::StepFeature;
use anyhow::{Context, Result, bail};
use serde_json::json;

use super::write;
use crate::cli::SweepArgs;
use crate::identity::differences;
use crate::sweep::results::ResultsFile;
use crate::tasks::task_settings;

/// Settings sweep.json gained after sweeps were first recorded, each with the value that the
/// sweeps recorded without it ran with.
fn settings_added_later() -> [(&'static str, serde_json::Value); 17] {
    [
        ("step_reading", json!(StepReading::Whole.name())),
        ("error_weight", json!(1.0)),
        ("warmup_updates", json!(0)),
        ("weight_decay", json!(0.01_f32)),
        ("clip_norm", json!(1.0_f32)),
        ("clipping", json!(Clipping::PerParameter.name())),
        ("backbone_learning_rate", json!(null)),
        ("processbench", json!(null)),
        ("prmbench", json!(null)),
        ("feature_layer", json!(null)),
        ("lora", json!(null)),
        ("standardise_features", json!(false)),
        ("loss_steps", json!(LossSteps::All.name())),
        ("step_feature", json!(StepFeature::Separator.name())),
        ("epochs", json!(1)),
        ("rehearse", json!(0)),
        ("rehearse_window", json!(0)),
    ]
}

/// Gives `stored` settings the value of each setting they predate; true when they lacked any.
fn fill_settings_added_later(stored: &mut serde_json::Value) -> bool {
    let Some(map) = stored.as_object_mut() else {
        return false;
    };
    let mut filled = false;
    for (key, value) in settings_added_later() {
        if !map.contains_key(key) {
            map.insert(key.to_string(), value);
            filled = true;
        }
    }
    filled
}

/// Records the settings every experiment shares in sweep.json, or checks them against the
/// ones already there: results made with other data or another model must not be mixed.
pub fn check_settings(args: &SweepArgs) -> Result<()> {
    let mut settings = json!({
        "pool_size": args.pool.pool_size,
        "eval_size": args.pool.eval_size,
        "judge_tokens": args.pool.judge_tokens,
        "d_model": args.model.d_model,
        "layers": args.model.layers,
        "batch_size": args.model.batch_size,
        "epochs": args.model.epochs,
        "learning_rate": args.model.learning_rate(),
        "backbone_learning_rate": args.model.backbone_learning_rate(),
        "backbone": args.model.backbone.name(),
        "freeze_backbone": args.model.freeze_backbone,
        "feature_layer": args.model.feature_layer,
        "step_feature": args.model.step_feature.name(),
        "standardise_features": args.model.standardise_features,
        "lora": args.model.lora(),
        "step_reading": args.model.step_reading.name(),
        "anchor_weight": args.model.anchor_weight,
        "error_weight": args.model.error_weight,
        "loss_steps": args.model.loss_steps.name(),
        "weight_decay": args.model.weight_decay,
        "clip_norm": args.model.clip_norm,
        "clipping": args.model.clipping.name(),
        "tau": args.tau,
        "warmup_updates": args.warmup_updates,
        "rehearse": args.rehearsal.rehearse,
        "rehearse_window": args.rehearsal.rehearse_window,
        "processbench": args.benchmarks.processbench,
        "prmbench": args.benchmarks.prmbench,
    });
    let task = task_settings(&args.pool)?;
    settings
        .as_object_mut()
        .expect("the settings are an object")
        .extend(
            task.as_object()
                .expect("task settings are an object")
                .clone(),
        );
    let path = args.out.join("sweep.json");
    match fs::read_to_string(&path) {
        Ok(text) => {
            let mut stored: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("reading {}", path.display()))?;
            let filled = fill_settings_added_later(&mut stored);
            if stored != settings && args.force {
                eprintln!(
                    "--force: deleting the results of {} made with other settings:\n{}",
                    args.out.display(),
                    differences(&stored, &settings)
                );
                ResultsFile::in_dir(&args.out).delete()?;
                return write(&path, serde_json::to_string_pretty(&settings)?.as_bytes());
            }
            if stored != settings {
                bail!(
                    "{} holds results made with other settings:\n{}\nChoose another --out, \
                     rerun with the stored settings, or pass --force to delete them and start \
                     again",
                    path.display(),
                    differences(&stored, &settings)
                );
            }
            if filled {
                write(&path, serde_json::to_string_pretty(&settings)?.as_bytes())?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write(&path, serde_json::to_string_pretty(&settings)?.as_bytes())
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_recorded_before_a_setting_existed_read_as_the_value_they_ran_with() {
        let mut stored = json!({"pool_size": 100, "tau": 0.5});
        assert!(fill_settings_added_later(&mut stored));
        assert_eq!(
            stored,
            json!({
                "pool_size": 100,
                "tau": 0.5,
                "step_reading": "whole",
                "error_weight": 1.0,
                "warmup_updates": 0,
                "weight_decay": 0.01_f32,
                "clip_norm": 1.0,
                "clipping": "per-parameter",
                "backbone_learning_rate": null,
                "processbench": null,
                "prmbench": null,
                "feature_layer": null,
                "lora": null,
                "standardise_features": false,
                "loss_steps": "all",
                "step_feature": "separator",
                "epochs": 1,
                "rehearse": 0,
                "rehearse_window": 0,
            })
        );
        let mut recorded = json!({
            "step_reading": "prefix",
            "error_weight": 10.0,
            "warmup_updates": 100,
            "weight_decay": 0.0,
            "clip_norm": 2.0,
            "clipping": "global",
            "backbone_learning_rate": 2e-5,
            "processbench": "processbench",
            "prmbench": null,
            "feature_layer": 22,
            "lora": {"rank": 8, "alpha": 16.0, "targets": ["q_proj"], "seed": 0},
            "standardise_features": true,
            "loss_steps": "last",
            "step_feature": "separator-and-mean",
            "epochs": 3,
            "rehearse": 14,
            "rehearse_window": 56,
        });
        let before = recorded.clone();
        assert!(!fill_settings_added_later(&mut recorded));
        assert_eq!(recorded, before, "recorded values are kept");
    }
}
