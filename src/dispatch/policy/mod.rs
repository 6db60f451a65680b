//! Decisions the send path asks for and never makes itself: which account carries a message
//! (routing), how fast (limits), whether an account is healthy (failover), when to try again
//! (retry), whether a commune may spend (budget), what the public may make it send (caps).

pub mod budget;
pub mod health;
pub mod limits;
pub mod public_caps;
pub mod retry;
pub mod routing;
