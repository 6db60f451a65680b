//! E-mail over SMTP with lettre's pooled async transport, behind a semaphore that really caps
//! the number of open sessions.

mod client;
mod config;
mod error;
#[cfg(test)]
mod tests;

pub use client::SmtpEmail;
pub use config::{SmtpConfig, ValidatedSmtpConfig};
pub use error::SmtpError;
