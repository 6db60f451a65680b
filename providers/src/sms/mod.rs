//! SMS adapters, and the rules every SMS provider shares.

pub mod simulator;
pub mod smsmode;

mod sender;
pub use sender::check_sender;
