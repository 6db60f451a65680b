//! A stand-in SMS provider for demos and load tests: accepts everything after a realistic delay
//! and reports delivery receipts in-process. It never fails, so it has no error type.

mod client;
mod config;

pub use client::SimulatorSms;
pub use config::{SimulatorSmsConfig, ValidatedSimulatorSmsConfig};
