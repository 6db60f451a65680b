//! E-mail over SMTP: messages built with lettre, sent on sessions of our own (TCP_NODELAY,
//! reused, at most `max_connections` open at once, pipelined when the relay offers it).

mod client;
mod config;
mod error;
mod pool;
mod session;
#[cfg(test)]
mod tests;

pub use client::SmtpEmail;
pub use config::{SmtpConfig, ValidatedSmtpConfig};
pub use error::SmtpError;
