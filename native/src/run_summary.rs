//! The summary of a `run` or `train`: its labels, cost and held-out scores, saved as
//! summary.json and printed.

use std::path::Path;
use std::time::Duration;

use actprm_core::budget::BudgetLedger;
use actprm_core::eval::Evaluation;
use actprm_core::eval::baselines::TrivialBaselines;
use actprm_core::eval::threshold::ChosenThreshold;
use anyhow::Result;
use serde::Serialize;

use crate::judge::tally::Totals;
use crate::report_text::{auc, human};
use crate::stdout::outln;

/// The final numbers, saved as summary.json and printed.
#[derive(Debug, Serialize)]
pub struct RunSummary {
    pub strategy: String,
    /// The labels consumed, with the paper's cost model's estimate of the judge's tokens.
    pub ledger: BudgetLedger,
    /// What the served judge really answered and used, when one labelled the pool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge: Option<Totals>,
    pub budget_fraction: f64,
    pub selection_rate_by_tenth: Vec<f64>,
    /// At the selection's τ (0.5 by default, the paper's protocol).
    pub held_out: Evaluation,
    /// The τ chosen on the validation set, saved in the checkpoint.
    pub threshold: Option<ChosenThreshold>,
    /// At that τ.
    pub held_out_at_threshold: Option<Evaluation>,
    /// What predictors that read no step score on the held-out set.
    pub baselines: TrivialBaselines,
    pub wall_seconds: f64,
    pub backend: String,
}

impl RunSummary {
    /// Prints the summary of a run on `test_name`, saved in `checkpoint` and `root`.
    pub fn print(&self, test_name: &str, checkpoint: &Path, root: &Path) -> Result<()> {
        let ledger = &self.ledger;
        let tenths: Vec<String> = self
            .selection_rate_by_tenth
            .iter()
            .map(|r| format!("{:.0}%", 100.0 * r))
            .collect();
        outln!(
            "labels used: {} of {} pool trajectories ({:.1}%), {} labelled steps, {} updates",
            ledger.labels_consumed,
            ledger.pool_size,
            100.0 * self.budget_fraction,
            ledger.steps_labelled,
            ledger.updates
        )?;
        outln!(
            "judge cost: about {:.1}M generated tokens ({} per trajectory); reasons: {} aleatoric, {} epistemic, {} unconditional",
            ledger.judge_tokens as f64 / 1e6,
            ledger.tokens_per_trajectory,
            ledger.aleatoric,
            ledger.epistemic,
            ledger.unconditional
        )?;
        if let Some(judge) = &self.judge {
            outln!(
                "served judge: {}\n(the cost model above assumes {} generated tokens per answer)",
                judge.report(),
                ledger.tokens_per_trajectory
            )?;
        }
        outln!("selection rate by tenth of the pass: {}", tenths.join(" "))?;
        outln!("held-out on {test_name}:")?;
        let held_out = &self.held_out;
        print_evaluation(&format!("at τ = {:.3}", held_out.tau), held_out)?;
        if let (Some(chosen), Some(evaluation)) = (&self.threshold, &self.held_out_at_threshold) {
            print_evaluation(
                &format!(
                    "at τ = {:.3}, chosen on validation (F1 {:.3} there, {} items)",
                    chosen.tau, chosen.validation_f1, chosen.validation_items
                ),
                evaluation,
            )?;
        }
        outln!(
            "  trivial baselines' F1: flag nothing {:.3}, flag the last step {:.3}, random step \
             {:.3}, steps flagged at random at rate {:.3} {:.3}",
            self.baselines.flag_nothing.f1,
            self.baselines.flag_last_step.f1,
            self.baselines.random_step.f1,
            self.baselines.random_rate.rate,
            self.baselines.random_rate.scores.f1
        )?;
        outln!(
            "wall time: {}",
            human(Duration::from_secs_f64(self.wall_seconds))
        )?;
        outln!(
            "checkpoint: {}\nrun directory: {}",
            checkpoint.display(),
            root.display()
        )?;
        Ok(())
    }
}

/// One line of an evaluation: F1, its two accuracies, step accuracy and step AUC.
fn print_evaluation(what: &str, evaluation: &Evaluation) -> Result<()> {
    let f1 = &evaluation.first_error;
    outln!(
        "  {what}: F1 {:.3} (erroneous {:.3} of {}, correct {:.3} of {}); step accuracy {:.3}; step AUC {}",
        f1.f1,
        f1.erroneous_accuracy,
        f1.num_erroneous,
        f1.correct_accuracy,
        f1.num_correct,
        evaluation.step_accuracy,
        auc(evaluation.step_auc)
    )?;
    Ok(())
}
