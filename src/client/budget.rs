//! Byte budgets: how much of a target's answers `diff` and `fuzz` hold in memory, per chain and for the
//! whole run, whatever the target sends. An answer is charged what its document takes in memory (estimated
//! from its text before it is parsed: [`crate::doc::weight`]); one that would pass either budget is not
//! read, and its chain ends there with [`Fault::TooBig`], which names the budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Budgeted, Fault};

/// The two budgets, shared by every chain of a run. Cloning shares the run's.
#[derive(Clone, Debug)]
pub struct ByteBudget {
    chain: usize,
    run: usize,
    held: Arc<AtomicUsize>,
}

impl ByteBudget {
    /// The default budget of one chain (`--max-chain-bytes`): 4 MiB, some 1,000 jobs as the reference's are
    /// weighed.
    pub const CHAIN: usize = 4 << 20;
    /// The default budget of all chains in flight together (`--max-run-bytes`): 32 MiB.
    pub const RUN: usize = 32 << 20;

    /// A budget of `chain` bytes per chain and `run` bytes for all chains held at once.
    pub fn new(chain: usize, run: usize) -> ByteBudget {
        ByteBudget { chain, run, held: Arc::new(AtomicUsize::new(0)) }
    }

    /// A new chain's holding.
    pub fn hold(&self) -> Holding {
        self.hold_at_least(0)
    }

    /// A new chain's holding, whose own budget is at least `chain` bytes (a chain known to be long).
    pub fn hold_at_least(&self, chain: usize) -> Holding {
        let mut budget = self.clone();
        budget.chain = budget.chain.max(chain);
        Holding { budget, held: 0 }
    }

    /// Bytes all chains hold now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

impl Default for ByteBudget {
    fn default() -> Self {
        ByteBudget::new(ByteBudget::CHAIN, ByteBudget::RUN)
    }
}

/// What one chain holds of the budget; released when dropped.
#[derive(Debug)]
pub struct Holding {
    budget: ByteBudget,
    held: usize,
}

impl Holding {
    /// How many bytes the chain's next answer may take.
    pub fn room(&self) -> usize {
        let run_room = self.budget.run.saturating_sub(self.budget.held());
        self.budget.chain.saturating_sub(self.held).min(run_room)
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.held
    }

    /// Whether nothing is held yet (the chain's first answer is still to come).
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Charges `n` bytes to the chain and the run, or, past either budget, charges nothing and says which.
    pub fn take(&mut self, n: usize) -> Result<(), Fault> {
        if n > self.budget.chain {
            return Err(Fault::TooBig { limit: self.budget.chain, by: Budgeted::Answer });
        }
        if self.held + n > self.budget.chain {
            return Err(Fault::TooBig { limit: self.budget.chain - self.held, by: Budgeted::Chain });
        }
        let before = self.budget.held.fetch_add(n, Ordering::Relaxed);
        if before + n > self.budget.run {
            self.budget.held.fetch_sub(n, Ordering::Relaxed);
            return Err(Fault::TooBig { limit: self.budget.run.saturating_sub(before), by: Budgeted::Run });
        }
        self.held += n;
        Ok(())
    }

    /// The refusal of an answer bigger than `room`, the [`Holding::room`] it was read with: by the chain's
    /// budget when that was all the room (the run's may have changed since), else by the run's.
    pub fn refusal(&self, room: usize) -> Fault {
        let chain_room = self.budget.chain.saturating_sub(self.held);
        match (room >= chain_room, self.held == 0) {
            (true, true) => Fault::TooBig { limit: chain_room, by: Budgeted::Answer },
            (true, false) => Fault::TooBig { limit: chain_room, by: Budgeted::Chain },
            (false, _) => Fault::TooBig { limit: room, by: Budgeted::Run },
        }
    }
}

impl Drop for Holding {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.held, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_hold_within_their_own_budget_and_the_runs_and_give_it_back() {
        let budget = ByteBudget::new(100, 150);
        let mut a = budget.hold();
        let mut b = budget.hold();
        a.take(90).unwrap();
        assert_eq!(a.room(), 10);
        assert_eq!(a.take(11), Err(Fault::TooBig { limit: 10, by: Budgeted::Chain }), "the chain's budget");
        assert_eq!(b.room(), 60);
        assert_eq!(b.take(61), Err(Fault::TooBig { limit: 60, by: Budgeted::Run }), "the run's budget");
        assert_eq!(b.take(101), Err(Fault::TooBig { limit: 100, by: Budgeted::Answer }), "bigger than a chain");
        b.take(60).unwrap();
        drop(a);
        assert_eq!(budget.held(), 60, "a dropped chain gives back what it held");
    }
}
