//! E-mail adapters.

pub mod simulator;
pub mod smtp;
