//! SMS adapters, and the rules every SMS provider shares.

pub mod gsm7;
pub mod ovh;
pub mod simulator;
pub mod smsmode;
pub mod twilio;

mod sender;
pub use sender::check_sender;
