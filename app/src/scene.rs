//! The scene a visitor sees, kept in the URL hash so that a shared link opens the same view:
//! `#seed=7&example=3&delta_pred=0.95&delta_std=0.005&tau=0.5&tests=both`, with
//! `&custom=…` (the visitor's own trajectory) when one is shown and `&solution=…` (a pasted
//! real solution) when one is read. The hash is form-urlencoded, as `URLSearchParams` writes
//! and reads a query.

use actprm_core::NamedChoice;
use actprm_core::selection::Tests;

use crate::explain::Rule;
use crate::threshold_ranges::{DELTA_PRED, DELTA_STD, TAU};

/// Everything that decides what the page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Seed of the generated pool of synthetic problems.
    pub seed: u64,
    /// The pool trajectory shown in the inspector; `None` shows the most uncertain one.
    pub example: Option<usize>,
    /// The rule the verdicts are drawn with.
    pub rule: Rule,
    /// The visitor's own trajectory as typed (question, then one step per line), shown in
    /// place of the pool's.
    pub custom: Option<String>,
    /// A real solution pasted for the real-text model (question, a blank line, then steps
    /// separated by blank lines); a link holding one loads that model and reads it.
    pub solution: Option<String>,
}

impl Default for Scene {
    fn default() -> Self {
        Self {
            seed: DEFAULT_SEED,
            example: None,
            rule: Rule::default(),
            custom: None,
            solution: None,
        }
    }
}

/// Seed of the pool a first visit shows.
pub const DEFAULT_SEED: u64 = 7;

impl Scene {
    /// Reads a URL hash over the defaults; see [`Scene::from_hash_over`].
    pub fn from_hash(hash: &str) -> Self {
        Self::from_hash_over(hash, Scene::default())
    }

    /// Reads a URL hash (with or without its leading `#`) over `base`: unknown keys are
    /// ignored, a missing or unreadable value keeps `base`'s, and thresholds are clamped to
    /// their ranges.
    pub fn from_hash_over(hash: &str, base: Scene) -> Self {
        let mut scene = base;
        let query = hash.strip_prefix('#').unwrap_or(hash);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let value = value.as_ref();
            match key.as_ref() {
                "seed" => scene.seed = value.parse().unwrap_or(scene.seed),
                "example" => scene.example = value.parse().ok(),
                "delta_pred" => {
                    let t = &mut scene.rule.thresholds;
                    t.delta_pred = DELTA_PRED.clamp(value.parse().unwrap_or(t.delta_pred));
                }
                "delta_std" => {
                    let t = &mut scene.rule.thresholds;
                    t.delta_std = DELTA_STD.clamp(value.parse().unwrap_or(t.delta_std));
                }
                "tau" => {
                    let t = &mut scene.rule.thresholds;
                    t.tau = TAU.clamp(value.parse().unwrap_or(t.tau));
                }
                "tests" => scene.rule.tests = Tests::from_name(value).unwrap_or_default(),
                "custom" => scene.custom = non_empty(value),
                "solution" => scene.solution = non_empty(value),
                _ => {}
            }
        }
        scene
    }

    /// The URL hash of this scene, leading `#` included.
    pub fn to_hash(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::from("#"));
        query.append_pair("seed", &self.seed.to_string());
        if let Some(example) = self.example {
            query.append_pair("example", &example.to_string());
        }
        let t = &self.rule.thresholds;
        query
            .append_pair("delta_pred", &t.delta_pred.to_string())
            .append_pair("delta_std", &t.delta_std.to_string())
            .append_pair("tau", &t.tau.to_string())
            .append_pair("tests", self.rule.tests.name());
        if let Some(custom) = &self.custom {
            query.append_pair("custom", custom);
        }
        if let Some(solution) = &self.solution {
            query.append_pair("solution", solution);
        }
        query.finish()
    }
}

/// `text`, unless it is empty.
fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    use actprm_core::selection::SelectionConfig;

    #[test]
    fn a_scene_survives_its_hash() {
        let scene = Scene {
            seed: 42,
            example: Some(3),
            rule: Rule {
                thresholds: SelectionConfig::new()
                    .with_delta_pred(0.9)
                    .with_delta_std(0.02)
                    .with_tau(0.4),
                tests: Tests::EpistemicOnly,
            },
            custom: Some("Ann has 3 % more & 5 = 8 ?\nIt is 3 + 5 = 8 → done".to_string()),
            solution: Some(
                "What is 2 + 2?\n\nTwo and two make 4.\n\nSo 2 + 2 = 4 & done.".to_string(),
            ),
        };
        assert_eq!(Scene::from_hash(&scene.to_hash()), scene);
        let default = Scene::default();
        assert_eq!(Scene::from_hash(&default.to_hash()), default);
    }

    #[test]
    fn an_empty_or_broken_hash_keeps_the_defaults() {
        assert_eq!(Scene::from_hash(""), Scene::default());
        assert_eq!(Scene::from_hash("#"), Scene::default());
        let scene = Scene::from_hash(
            "#seed=x&example=-1&delta_std=&colour=red&tau&tests=all&custom=&solution=",
        );
        assert_eq!(scene, Scene::default());
    }

    /// The hash reads as a browser's `URLSearchParams` reads a query: `+` is a space, and a
    /// `%` that starts no escape (`%+f` among them) is kept as it is.
    #[test]
    fn text_in_the_hash_reads_as_url_search_params_read_it() {
        let solution = |hash: &str| Scene::from_hash(hash).solution.unwrap();
        assert_eq!(solution("#solution=2+%2B+2%3D4"), "2 + 2=4");
        assert_eq!(solution("#solution=50%+f%2"), "50%+f%2".replace('+', " "));
        assert_eq!(solution("#solution=%C3%A9t%C3%A9%0A%0Aok"), "été\n\nok");
        let hash = Scene {
            custom: Some("Q ? 50% off\nstep = 2 & more été".to_string()),
            ..Scene::default()
        }
        .to_hash();
        assert!(
            hash[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"*-._%+=&".contains(&b)),
            "{hash}"
        );
    }

    #[test]
    fn a_hash_read_over_a_base_keeps_what_it_leaves_unset() {
        let base = Scene {
            rule: Rule {
                thresholds: SelectionConfig::new().with_delta_pred(0.99).with_tau(0.7),
                tests: Tests::Both,
            },
            ..Scene::default()
        };
        let scene = Scene::from_hash_over("#seed=3&tau=0.4&tests=epistemic-only", base);
        assert_eq!(scene.seed, 3);
        assert_eq!(scene.rule.thresholds.delta_pred, 0.99);
        assert_eq!(scene.rule.thresholds.delta_std, 0.005);
        assert_eq!(scene.rule.thresholds.tau, 0.4);
        assert_eq!(scene.rule.tests, Tests::EpistemicOnly);
    }

    #[test]
    fn thresholds_are_clamped_to_their_ranges() {
        let scene = Scene::from_hash("delta_pred=0.2&delta_std=3&tau=NaN");
        assert_eq!(scene.rule.thresholds.delta_pred, 0.5);
        assert_eq!(scene.rule.thresholds.delta_std, DELTA_STD.max);
        assert_eq!(scene.rule.thresholds.tau, 0.0);
    }

    /// The URL-hash parser on arbitrary text and on mutated real hashes: it never panics, and
    /// every threshold it returns lies in its slider's range. `ACTPRM_FUZZ_CASES` sets the
    /// number of cases (256 by default).
    #[cfg(not(target_family = "wasm"))]
    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        fn config() -> ProptestConfig {
            let cases = std::env::var("ACTPRM_FUZZ_CASES")
                .ok()
                .and_then(|value| value.parse().ok())
                .unwrap_or(256);
            ProptestConfig {
                cases,
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        }

        /// A hash built from the parser's own keys and arbitrary values.
        fn hash() -> impl Strategy<Value = String> {
            let key = prop::sample::select(vec![
                "seed",
                "example",
                "delta_pred",
                "delta_std",
                "tau",
                "tests",
                "custom",
                "solution",
                "x",
            ]);
            let value = prop_oneof![
                any::<String>(),
                "[-+]?[0-9]{0,3}(\\.[0-9]{0,4})?([eE][-+]?[0-9]{1,3})?",
                prop::sample::select(vec!["nan", "inf", "-inf", "%", "%f", "%zz", "%ff%fe"])
                    .prop_map(str::to_string),
            ];
            prop::collection::vec((key, value), 0..8).prop_map(|pairs| {
                let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("#{}", body.join("&"))
            })
        }

        proptest! {
            #![proptest_config(config())]

            #[test]
            fn the_hash_parser_never_panics_and_keeps_thresholds_in_range(
                text in prop_oneof![any::<String>(), hash()]
            ) {
                let scene = Scene::from_hash(&text);
                let t = &scene.rule.thresholds;
                prop_assert!((DELTA_PRED.min..=DELTA_PRED.max).contains(&t.delta_pred), "δ_pred {}", t.delta_pred);
                prop_assert!((DELTA_STD.min..=DELTA_STD.max).contains(&t.delta_std), "δ_std {}", t.delta_std);
                prop_assert!((TAU.min..=TAU.max).contains(&t.tau), "τ {}", t.tau);
                prop_assert_eq!(Scene::from_hash(&scene.to_hash()), scene);
            }
        }
    }
}
