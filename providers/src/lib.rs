//! Tocsin's provider adapters: they translate a message into a provider's API call and its answer
//! into an [`Outcome`]. They never touch the database or the broker.

mod callback;
mod config_error;
pub mod egress;
pub mod email;
mod http;
pub mod outcome;
mod provider;
pub mod push;
pub mod registry;
mod simulated;
pub mod sms;
pub mod voice;

pub use callback::{
    Callback, CallbackError, HeldInbound, Inbound, MessageRef, Report, ReportStatus,
};
pub use config_error::ConfigError;
pub use outcome::{BoxFuture, Outcome, Receipt, ReceiptSink, ReceiptStatus, RetryClass};
pub use provider::{Channel, Message, Provider};
pub use registry::{Account, Kind};
