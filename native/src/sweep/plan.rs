//! Which experiments a sweep still has to run, each with the strategy it runs: first those
//! that need no other experiment, then those matched to each finished `actprm` or
//! `actprm-ranked` experiment.

use actprm_core::pool_indices::PoolIndices;
use actprm_core::strategy::Strategy;
use anyhow::{Result, bail};

use crate::cli::{StrategyArg, SweepArgs};
use crate::sweep::results::ExperimentResult;
use crate::sweep::spec::{Spec, matched_to_actprm};

/// An experiment to run, and the strategy it runs.
pub struct Planned {
    pub spec: Spec,
    pub strategy: Strategy,
}

/// The experiments of `grid` (the independent ones) without a result yet.
pub fn independent(args: &SweepArgs, grid: &[Spec], results: &[ExperimentResult]) -> Vec<Planned> {
    grid.iter()
        .filter(|spec| !has_result(spec, results))
        .map(|spec| Planned {
            strategy: spec.strategy(args.tau, &PoolIndices::default()),
            spec: spec.clone(),
        })
        .collect()
}

/// The experiments matched to the `actprm` and `actprm-ranked` experiments of `grid` that have
/// a result, without a result of their own yet.
pub fn matched(
    args: &SweepArgs,
    grid: &[Spec],
    results: &[ExperimentResult],
) -> Result<Vec<Planned>> {
    let strategies = matched_to_actprm(args);
    let mut planned = Vec::new();
    for actprm in results
        .iter()
        .filter(|r| r.spec.strategy.is_matched_against() && grid.contains(&r.spec))
    {
        for &strategy in &strategies {
            let spec = Spec::matching(strategy, &actprm.spec, actprm.budget_fraction);
            if has_result(&spec, results) {
                continue;
            }
            let labelled = match strategy {
                StrategyArg::ActprmOffline => labelled_by(actprm)?,
                _ => PoolIndices::default(),
            };
            planned.push(Planned {
                strategy: spec.strategy(args.tau, &labelled),
                spec,
            });
        }
    }
    Ok(planned)
}

fn has_result(spec: &Spec, results: &[ExperimentResult]) -> bool {
    results.iter().any(|r| &r.spec == spec)
}

/// The trajectories `actprm`'s experiment labelled, which its actprm-offline experiment trains
/// on; refused when its ledger predates the list.
fn labelled_by(actprm: &ExperimentResult) -> Result<PoolIndices> {
    let ledger = &actprm.ledger;
    let Some(labelled) = ledger.labelled_in_full() else {
        bail!(
            "{} lists {} trajectories labelled where it bought {}: it was recorded before \
             experiments listed what they labelled, so actprm-offline cannot train on its \
             labels; pass --force to run the sweep again",
            actprm.spec.label(),
            ledger.labelled.len(),
            ledger.judged(),
        );
    };
    Ok(labelled.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::results::tests::result;

    /// An actprm result recorded before ledgers listed their labels cannot be trained on again.
    #[test]
    fn actprm_offline_refuses_an_actprm_result_without_its_labels() {
        let mut actprm = result(StrategyArg::Actprm, 0, 0.5, 0.8);
        let error = labelled_by(&actprm).unwrap_err().to_string();
        assert!(
            error.contains("lists 0 trajectories labelled where it bought 50"),
            "{error}"
        );
        actprm.ledger.labelled = (0..50).collect();
        assert_eq!(labelled_by(&actprm).unwrap().len(), 50);
    }
}
