//! smsmode (France) over its REST API v1: `POST /sms/v1/messages` with an `X-Api-Key`
//! (reference/sms-providers.md §1.2).

mod client;
mod config;
mod error;
mod status;
#[cfg(test)]
mod tests;

pub use client::SmsmodeSms;
pub use config::{SmsmodeConfig, ValidatedSmsmodeConfig};
pub use error::{Problem, SmsmodeError};
pub use status::{StatusDetail, StatusValue};
