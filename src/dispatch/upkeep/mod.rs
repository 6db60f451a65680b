//! What keeps the ledger whole and small beside the send path: the sweeper (deliveries left
//! behind, deadlines, lost jobs), folding the tallies, retention of addresses, budget warnings.

pub mod budget_warnings;
pub mod folding;
pub mod retention;
pub mod sweeper;
