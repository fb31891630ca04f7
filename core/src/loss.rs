//! The ActPRM training loss (docs/method.md §2): per-head binary cross-entropy over the labelled
//! steps of the selected trajectories, optionally bootstrapped, plus λ times the anchor term.
//! Erroneous steps may weigh more than correct ones, and the loss may count each trajectory's
//! last labelled step alone (departures from the paper, off by default), since in real process
//! labels errors are rare and PRM800K's rows repeat their prefixes.

use burn::config::Config;
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::batch::StepTargets;
use crate::loss_steps::LossSteps;
use crate::rng::SeededRng;

/// Configuration of the loss.
#[derive(Config, Debug)]
pub struct LossConfig {
    /// λ: weight of mean((θ_heads − θ₀)²); not applied when E = 1.
    #[config(default = 0.5)]
    pub anchor_weight: f64,
    /// Probability that a (head, trajectory) pair contributes to the loss (1 = no bootstrap).
    #[config(default = 1.0)]
    pub learning_probability: f64,
    /// Weight of an erroneous step's term against a correct step's 1; the classification loss
    /// is then the weighted mean. 1 is the paper's loss; more counters the rarity of errors
    /// (PRM800K's rows label about one step in 40 erroneous).
    #[config(default = 1.0)]
    pub error_weight: f64,
    /// Which labelled steps of a trajectory count: every one (the paper's loss), or the last.
    #[config(default = "LossSteps::All")]
    pub steps: LossSteps,
}

/// Which (head, trajectory) pairs contribute to the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapMask {
    keep: Vec<bool>,
    num_heads: usize,
}

impl BootstrapMask {
    /// Keeps each pair with probability `probability` (every pair when it is 1 or more).
    pub fn sample(num_heads: usize, batch: usize, probability: f64, rng: &mut SeededRng) -> Self {
        let keep = (0..num_heads * batch)
            .map(|_| probability >= 1.0 || rng.chance(probability))
            .collect();
        Self { keep, num_heads }
    }

    /// Number of loss elements that remain: kept pairs times their labelled steps.
    pub fn kept_elements(&self, labelled_counts: &[usize]) -> usize {
        let batch = labelled_counts.len();
        self.keep
            .iter()
            .enumerate()
            .filter(|(_, keep)| **keep)
            .map(|(index, _)| labelled_counts[index % batch])
            .sum()
    }

    /// The mask as a `[E, batch, 1]` tensor.
    fn to_tensor(&self, device: &Device) -> Tensor<3, Bool> {
        let batch = self.keep.len() / self.num_heads;
        Tensor::from_data(
            TensorData::new(self.keep.clone(), [self.num_heads, batch, 1]),
            device,
        )
    }
}

/// The loss of one update, split into its parts.
#[derive(Debug, Clone)]
pub struct EnsembleLoss {
    /// Classification + λ · anchor, the value to differentiate.
    pub total: Tensor<1>,
    /// Mean BCE over every kept (head, trajectory, labelled step) element, erroneous steps
    /// weighted by `error_weight`.
    pub classification: Tensor<1>,
    /// mean((θ − θ₀)²).
    pub anchor: Tensor<1>,
}

impl LossConfig {
    /// The loss for per-head `logits` `[E, batch, slots]` of the selected trajectories, laid out
    /// as `targets` is.
    ///
    /// Returns `None` when no labelled element survives (no trajectory selected, or the
    /// bootstrap dropped all): the update must then be skipped rather than divide by zero.
    pub fn loss(
        &self,
        logits: Tensor<3>,
        targets: &StepTargets,
        bootstrap: &BootstrapMask,
        anchor: Tensor<1>,
    ) -> Option<EnsembleLoss> {
        let count = bootstrap.kept_elements(&targets.labelled_counts);
        if count == 0 {
            return None;
        }
        let [heads, batch, steps] = logits.dims();
        let device = logits.device();
        let y = targets.targets.clone().reshape([1, batch, steps]);
        // 1 for a correct step, error_weight for an erroneous one.
        let class_weight = (y.clone().neg() + 1.0) * (self.error_weight - 1.0) + 1.0;
        // −[y·log σ(z) + (1 − y)·log σ(−z)], stable for any logit.
        let bce = -(y.clone() * log_sigmoid(logits.clone())
            + (y.neg() + 1.0) * log_sigmoid(logits.neg()));
        let labelled = targets
            .labelled
            .clone()
            .reshape([1, batch, steps])
            .expand([heads, batch, steps]);
        let kept = bootstrap.to_tensor(&device).expand([heads, batch, steps]);
        // The class weight where a step counts, 0 elsewhere.
        let weight = labelled.bool_and(kept).float() * class_weight;
        let classification = (bce * weight.clone()).sum() / weight.sum();
        let anchor_weight = if heads > 1 { self.anchor_weight } else { 0.0 };
        let total = classification.clone() + anchor.clone() * anchor_weight;
        Some(EnsembleLoss {
            total,
            classification,
            anchor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trajectory::ProcessLabel;

    fn device() -> Device {
        Device::flex()
    }

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_data().try_into_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn bce_over_labelled_steps_by_hand() {
        let device = device();
        // One head, one trajectory of 3 steps whose first error is step 1: steps 0 and 1 count,
        // step 2 (unlabelled) has no slot.
        let targets = StepTargets::new(
            &[ProcessLabel::FirstErrorAt(1)],
            &[3],
            3,
            LossSteps::All,
            &device,
        );
        let logits = Tensor::<3>::from_data(TensorData::new(vec![0.0f32, 2.0], [1, 1, 2]), &device);
        let mask = BootstrapMask::sample(1, 1, 1.0, &mut SeededRng::new(0));
        let loss = LossConfig::new()
            .loss(logits, &targets, &mask, Tensor::zeros([1], &device))
            .unwrap();
        // Step 0: y = 1, z = 0 → ln 2. Step 1: y = 0, z = 2 → ln(1 + e²). Mean of the two.
        let expected = ((2f32).ln() + (1.0 + 2f32.exp()).ln()) / 2.0;
        assert!((scalar(loss.classification) - expected).abs() < 1e-5);
    }

    #[test]
    fn erroneous_steps_weigh_error_weight_in_a_weighted_mean() {
        let device = device();
        let targets = StepTargets::new(
            &[ProcessLabel::FirstErrorAt(1)],
            &[3],
            3,
            LossSteps::All,
            &device,
        );
        let logits = Tensor::<3>::from_data(TensorData::new(vec![0.0f32, 2.0], [1, 1, 2]), &device);
        let mask = BootstrapMask::sample(1, 1, 1.0, &mut SeededRng::new(0));
        let loss = LossConfig::new()
            .with_error_weight(3.0)
            .loss(logits, &targets, &mask, Tensor::zeros([1], &device))
            .unwrap();
        let expected = ((2f32).ln() + 3.0 * (1.0 + 2f32.exp()).ln()) / 4.0;
        assert!((scalar(loss.classification) - expected).abs() < 1e-5);
    }

    #[test]
    fn anchor_term_is_weighted_by_lambda_only_for_an_ensemble() {
        let device = device();
        let targets = StepTargets::new(
            &[ProcessLabel::AllCorrect],
            &[1],
            1,
            LossSteps::All,
            &device,
        );
        let anchor = Tensor::<1>::from_floats([0.2], &device);
        let two_heads = Tensor::<3>::zeros([2, 1, 1], &device);
        let mask = BootstrapMask::sample(2, 1, 1.0, &mut SeededRng::new(0));
        let loss = LossConfig::new()
            .loss(two_heads, &targets, &mask, anchor.clone())
            .unwrap();
        assert!((scalar(loss.total) - (2f32.ln() + 0.5 * 0.2)).abs() < 1e-6);
        let one_head = Tensor::<3>::zeros([1, 1, 1], &device);
        let mask = BootstrapMask::sample(1, 1, 1.0, &mut SeededRng::new(0));
        let loss = LossConfig::new()
            .loss(one_head, &targets, &mask, anchor)
            .unwrap();
        assert!((scalar(loss.total) - 2f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn no_surviving_element_means_no_update() {
        let device = device();
        let targets = StepTargets::new(
            &[ProcessLabel::AllCorrect],
            &[2],
            2,
            LossSteps::All,
            &device,
        );
        let mask = BootstrapMask::sample(2, 1, 0.0, &mut SeededRng::new(0));
        let loss = LossConfig::new().loss(
            Tensor::zeros([2, 1, 2], &device),
            &targets,
            &mask,
            Tensor::zeros([1], &device),
        );
        assert!(loss.is_none());
    }

    #[test]
    fn bootstrap_drops_pairs_and_counts_what_remains() {
        let mut rng = SeededRng::new(11);
        let mask = BootstrapMask::sample(8, 100, 0.5, &mut rng);
        let kept = mask.keep.iter().filter(|k| **k).count();
        assert!((300..500).contains(&kept), "kept {kept} of 800");
        let counts = vec![2; 100];
        assert_eq!(mask.kept_elements(&counts), 2 * kept);
    }
}
