//! Addresses as a mayor may see them in a list of people to call back: a number's country, first
//! and last two digits, an e-mail's first letter and domain, a browser's push service. The SQL
//! function `mask_address` (migrations/0031) writes the same forms when retention erases them.

use super::{Channel, EmailAddress, phone::mask_for_people};

pub fn address(channel: Channel, address: &str) -> String {
    match channel {
        Channel::Sms | Channel::Voice => mask_for_people(address),
        Channel::Email => EmailAddress::parse(address)
            .map(|e| e.masked())
            .unwrap_or_else(|_| "•••".into()),
        // A browser subscription says nothing a person could read; its push service is enough
        // to tell one from another.
        Channel::Push => push_service(address),
    }
}

/// The push service of a browser subscription, which is all it tells a person.
fn push_service(subscription: &str) -> String {
    serde_json::from_str::<serde_json::Value>(subscription)
        .ok()
        .and_then(|s| url::Url::parse(s["endpoint"].as_str()?).ok())
        .and_then(|u| u.host_str().map(|h| format!("push: {h}")))
        .unwrap_or_else(|| "push".into())
}
