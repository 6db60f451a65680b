//! Tocsin: a mass notification dispatcher for communes. README.md, "How it works", gives the flow.

pub mod api;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod model;
pub mod proof;
pub mod reach;
pub mod scheduler;
pub mod store;
pub mod systemd;
pub mod web;

pub use config::Config;
pub use daemon::run;
