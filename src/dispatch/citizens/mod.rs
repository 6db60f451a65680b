//! Citizens' SMS to the commune's number (keywords, STOP, confirmations), fetched or received,
//! and the service messages the platform sends them back.

pub mod inbound;
pub mod inbound_poll;
pub mod service_messages;
