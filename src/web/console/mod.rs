//! The mairie's console, rendered on the server with maud (escaping by default, checked when
//! compiled): pure functions over page models, like the citizen pages. Every page is in French,
//! works without JavaScript (`console.js` only adds counters and live figures), loads nothing
//! from another host and has no inline script or style.

pub mod alerts;
pub mod home;
pub mod manage;
pub mod settings;
pub mod shell;
pub mod sign_in;
pub mod subscribers;

pub use shell::{Person, Section};
