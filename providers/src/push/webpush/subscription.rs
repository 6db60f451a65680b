//! The browser's `PushSubscription` as Tocsin receives it (`JSON.stringify(subscription)`,
//! web-push.md §1): read, checked, and never shown. Its endpoint is a bearer capability and its
//! keys are personal data, so no error here repeats any of them.

use serde::Deserialize;
use url::Url;

use crate::{
    egress::EgressPolicy,
    push::crypto::{parse_auth, parse_p256dh},
};

/// A subscription ready to push to.
pub(crate) struct Subscription {
    /// The push resource (RFC 8030 §5): where the message is POSTed, exactly as received.
    pub(crate) endpoint: Url,
    /// The user agent's ECDH key, an uncompressed P-256 point (RFC 8291 §3.1).
    pub(crate) p256dh: [u8; 65],
    /// The 16-octet authentication secret (RFC 8291 §3.2).
    pub(crate) auth: [u8; 16],
}

impl Subscription {
    /// The host of the push service (`fcm.googleapis.com`), the only part of the endpoint that
    /// reasons and logs may show.
    pub(crate) fn host(&self) -> String {
        self.endpoint.host_str().unwrap_or("?").to_owned()
    }
}

/// `{"endpoint": …, "keys": {"p256dh": …, "auth": …}}`; other members (`expirationTime`) are
/// ignored.
#[derive(Deserialize)]
struct Raw {
    endpoint: String,
    keys: RawKeys,
}

#[derive(Deserialize)]
struct RawKeys {
    p256dh: String,
    auth: String,
}

/// Reads `Message::to`. The error says what is wrong, never what was given: serde's own
/// messages would quote the input, so they are not passed on.
pub(crate) fn parse(json: &str, egress: &EgressPolicy) -> Result<Subscription, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|_| "not valid JSON".to_owned())?;
    if !value.is_object() {
        return Err("not a JSON object".to_owned());
    }
    let member = |pointer: &str, name: &str| match value.pointer(pointer) {
        Some(serde_json::Value::String(_)) => Ok(()),
        Some(_) => Err(format!("{name} is not a string")),
        None => Err(format!("no {name}")),
    };
    member("/endpoint", "endpoint")?;
    member("/keys/p256dh", "keys.p256dh")?;
    member("/keys/auth", "keys.auth")?;
    let raw: Raw = serde_json::from_value(value).map_err(|_| "unreadable".to_owned())?;
    let endpoint = egress
        .check_url(&raw.endpoint)
        .map_err(|refused| format!("endpoint {refused}"))?;
    let p256dh = parse_p256dh(&raw.keys.p256dh).map_err(|e| format!("keys.{e}"))?;
    let auth = parse_auth(&raw.keys.auth).map_err(|e| format!("keys.{e}"))?;
    Ok(Subscription {
        endpoint,
        p256dh,
        auth,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // RFC 8291 Appendix A's user agent keys.
    const P256DH: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const ENDPOINT: &str = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bSecret";

    fn subscription(endpoint: &str) -> String {
        json!({"endpoint": endpoint, "expirationTime": null,
               "keys": {"p256dh": P256DH, "auth": AUTH}})
        .to_string()
    }

    fn refusal(json: &str) -> String {
        match parse(json, &EgressPolicy::default()) {
            Ok(_) => panic!("accepted {json}"),
            Err(reason) => {
                for secret in [ENDPOINT, "dQw4w9WgXcQ", P256DH, AUTH, "APA91b"] {
                    assert!(!reason.contains(secret), "{reason}");
                }
                reason
            }
        }
    }

    #[test]
    fn a_browser_subscription_is_read_with_its_extra_members() {
        let parsed = parse(&subscription(ENDPOINT), &EgressPolicy::default()).unwrap();
        assert_eq!(parsed.endpoint.as_str(), ENDPOINT);
        assert_eq!(parsed.host(), "fcm.googleapis.com");
        assert_eq!(parsed.p256dh[0], 0x04);
        assert_eq!(parsed.auth.len(), 16);
        let more = json!({"endpoint": ENDPOINT, "expirationTime": 1_700_000_000_000u64,
                          "keys": {"p256dh": P256DH, "auth": AUTH, "extra": 1}, "x": [1]});
        assert!(parse(&more.to_string(), &EgressPolicy::default()).is_ok());
    }

    #[test]
    fn malformed_json_is_refused_without_echoing_it() {
        assert_eq!(
            refusal(&format!("{{\"endpoint\": \"{ENDPOINT}\"")),
            "not valid JSON"
        );
        assert_eq!(refusal(&format!("[\"{ENDPOINT}\"]")), "not a JSON object");
        assert_eq!(refusal(&format!("\"{ENDPOINT}\"")), "not a JSON object");
        let no_keys = json!({"endpoint": ENDPOINT}).to_string();
        assert_eq!(refusal(&no_keys), "no keys.p256dh");
        let no_endpoint = json!({"keys": {"p256dh": P256DH, "auth": AUTH}}).to_string();
        assert_eq!(refusal(&no_endpoint), "no endpoint");
        let number = json!({"endpoint": 7, "keys": {"p256dh": P256DH, "auth": AUTH}});
        assert_eq!(refusal(&number.to_string()), "endpoint is not a string");
        let no_auth = json!({"endpoint": ENDPOINT, "keys": {"p256dh": P256DH}}).to_string();
        assert_eq!(refusal(&no_auth), "no keys.auth");
    }

    #[test]
    fn bad_keys_are_named_without_being_echoed() {
        let with_keys = |p256dh: &str, auth: &str| {
            json!({"endpoint": ENDPOINT, "keys": {"p256dh": p256dh, "auth": auth}}).to_string()
        };
        let reason = refusal(&with_keys(&P256DH[..60], AUTH));
        assert!(reason.starts_with("keys.p256dh"), "{reason}");
        let off_curve = format!("{}A", &P256DH[..P256DH.len() - 1]);
        assert!(refusal(&with_keys(&off_curve, AUTH)).starts_with("keys.p256dh"));
        assert!(refusal(&with_keys(P256DH, "BTBZMqHH6r4Tts7J")).starts_with("keys.auth"));
        assert!(refusal(&with_keys(P256DH, "not base64!")).starts_with("keys.auth"));
    }

    /// The endpoint goes through the egress policy (egress/tests.rs has its every rule).
    #[test]
    fn the_endpoint_is_checked_by_the_egress_policy() {
        let loopback = EgressPolicy::new(&["*".to_owned()], true).unwrap();
        for local in [
            "http://127.0.0.1:8080/push/abc",
            "http://[::1]:9000/push/abc",
            "http://localhost:9000/push/abc",
        ] {
            assert!(parse(&subscription(local), &loopback).is_ok(), "{local}");
        }
        for (bad, why) in [
            (
                "http://127.0.0.1:8080/push/abc",
                "endpoint points to this machine",
            ),
            (
                "https://push.example.net/p/abc",
                "endpoint is not a push service",
            ),
            (
                "http://push.example.net/p/abc",
                "endpoint must be an https URL",
            ),
            ("/push/abc", "endpoint is not an absolute URL"),
            (
                "https://user:pw@fcm.googleapis.com/p",
                "endpoint must not carry credentials",
            ),
        ] {
            let reason = refusal(&subscription(bad));
            assert!(reason.starts_with(why), "{bad}: {reason}");
            assert!(!reason.contains(bad), "{reason}");
        }
    }
}
