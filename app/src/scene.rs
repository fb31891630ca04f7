//! The scene a visitor sees, kept in the URL hash so that a shared link opens the same view:
//! `#seed=7&example=3&delta_pred=0.95&delta_std=0.005&tau=0.5`.

use actprm_core::selection::SelectionConfig;

/// Everything that decides what the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Seed of the generated pool of synthetic problems.
    pub seed: u64,
    /// The pool trajectory shown in the inspector; `None` shows the most uncertain one.
    pub example: Option<usize>,
    /// The selection thresholds the verdicts are drawn with.
    pub thresholds: SelectionConfig,
}

impl Default for Scene {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            example: None,
            thresholds: SelectionConfig::new(),
        }
    }
}

/// Seed of the pool a first visit shows.
pub const DEFAULT_SEED: u64 = 7;

impl Scene {
    /// Reads a URL hash (with or without its leading `#`). Unknown keys are ignored, and a
    /// missing or unreadable value keeps its default; thresholds are clamped to their ranges.
    pub fn from_hash(hash: &str) -> Self {
        let mut scene = Scene::default();
        for pair in hash.trim_start_matches('#').split('&') {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            match key {
                "seed" => scene.seed = value.parse().unwrap_or(scene.seed),
                "example" => scene.example = value.parse().ok(),
                "delta_pred" => {
                    let value = value.parse().unwrap_or(scene.thresholds.delta_pred);
                    scene.thresholds.delta_pred = clamp(value, 0.5, 1.0);
                }
                "delta_std" => {
                    let value = value.parse().unwrap_or(scene.thresholds.delta_std);
                    scene.thresholds.delta_std = clamp(value, 0.0, 0.5);
                }
                "tau" => {
                    let value = value.parse().unwrap_or(scene.thresholds.tau);
                    scene.thresholds.tau = clamp(value, 0.0, 1.0);
                }
                _ => {}
            }
        }
        scene
    }

    /// The URL hash of this scene, leading `#` included.
    pub fn to_hash(&self) -> String {
        let mut hash = format!("#seed={}", self.seed);
        if let Some(example) = self.example {
            hash.push_str(&format!("&example={example}"));
        }
        let t = &self.thresholds;
        hash.push_str(&format!(
            "&delta_pred={}&delta_std={}&tau={}",
            t.delta_pred, t.delta_std, t.tau
        ));
        hash
    }
}

/// `value` within `[low, high]`; NaN becomes `low`.
fn clamp(value: f32, low: f32, high: f32) -> f32 {
    if value.is_nan() {
        low
    } else {
        value.clamp(low, high)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scene_survives_its_hash() {
        let scene = Scene {
            seed: 42,
            example: Some(3),
            thresholds: SelectionConfig::new()
                .with_delta_pred(0.9)
                .with_delta_std(0.02)
                .with_tau(0.4),
        };
        assert_eq!(Scene::from_hash(&scene.to_hash()), scene);
        let default = Scene::default();
        assert_eq!(Scene::from_hash(&default.to_hash()), default);
    }

    #[test]
    fn an_empty_or_broken_hash_keeps_the_defaults() {
        assert_eq!(Scene::from_hash(""), Scene::default());
        assert_eq!(Scene::from_hash("#"), Scene::default());
        let scene = Scene::from_hash("#seed=x&example=-1&delta_std=&colour=red&tau");
        assert_eq!(scene, Scene::default());
    }

    #[test]
    fn thresholds_are_clamped_to_their_ranges() {
        let scene = Scene::from_hash("delta_pred=0.2&delta_std=3&tau=NaN");
        assert_eq!(scene.thresholds.delta_pred, 0.5);
        assert_eq!(scene.thresholds.delta_std, 0.5);
        assert_eq!(scene.thresholds.tau, 0.0);
    }
}
