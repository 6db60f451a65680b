//! SMS adapters.

pub mod simulator;
pub mod smsmode;
