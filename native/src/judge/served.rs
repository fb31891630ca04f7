//! The served judge in the loop of a pool pass: each mini-batch's selected trajectories go to
//! it together, and the pass ends once a cap is reached or a request was refused.

use std::cell::RefCell;
use std::rc::Rc;

use actprm_core::judge::Judge;
use actprm_core::{ProcessLabel, Trajectory};

use super::buyer::{Buyer, Outcome};
use super::tally::Tally;

/// A [`Judge`] that buys its answers.
pub struct ServedJudge {
    buyer: Buyer,
    tally: Rc<RefCell<Tally>>,
}

impl ServedJudge {
    /// A judge buying through `buyer`.
    pub fn new(buyer: Buyer) -> Self {
        Self {
            buyer,
            tally: Rc::default(),
        }
    }

    /// What became of every trajectory sent so far, shared for progress reports.
    pub fn tally(&self) -> Rc<RefCell<Tally>> {
        Rc::clone(&self.tally)
    }

    /// The buyer.
    pub fn buyer(&self) -> &Buyer {
        &self.buyer
    }
}

impl Judge for ServedJudge {
    fn judge(&mut self, trajectory: &Trajectory) -> Option<ProcessLabel> {
        self.judge_all(&[trajectory]).pop().flatten()
    }

    fn judge_all(&mut self, trajectories: &[&Trajectory]) -> Vec<Option<ProcessLabel>> {
        let tally = &self.tally;
        self.buyer
            .buy(trajectories, |outcome| tally.borrow_mut().add(outcome))
            .iter()
            .map(Outcome::label)
            .collect()
    }

    fn exhausted(&self) -> bool {
        self.tally.borrow().over_budget > 0 || self.buyer.stop_reason().is_some()
    }
}
