//! The links Tocsin gives citizens: an alert's public page, the one-click unsubscribe link of
//! every e-mail, and the link that confirms an e-mail address. Unsubscribe links carry a MAC
//! under a key derived from the server's secret, so that they need no table and cannot be
//! forged. A confirmation link carries what it confirms (the address, the topics) sealed with
//! AES-256-GCM under another derived key: an address nobody confirmed is stored nowhere, and
//! the link shows it to no one who reads the URL (a proxy's log, a browser's history). It is
//! spent once used (`store::confirmations::spend_link`, by [`CitizenLinks::link_hash`]).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{AlertId, PublicIds, SubscriberId, TenantId, sealed::Sealer};

/// Bytes of MAC in a link: 128 bits, as many as a forger would have to guess.
const MAC_BYTES: usize = 16;

/// What a confirmation link's sealed content is bound to.
const CONFIRMATION: &str = "confirm-email";

#[derive(Clone)]
pub struct CitizenLinks {
    key: Vec<u8>,
    /// Seals what confirmation links carry.
    sealer: Sealer,
    ids: PublicIds,
    /// `TOCSIN_PUBLIC_URL` without its trailing slash.
    base: String,
}

impl std::fmt::Debug for CitizenLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CitizenLinks")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What a confirmation link asks: subscribe this address to these topics of this tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailConfirmation {
    #[serde(rename = "t")]
    pub tenant: TenantId,
    #[serde(rename = "e")]
    pub email: String,
    /// Topic slugs.
    #[serde(rename = "p")]
    pub topics: Vec<String>,
    #[serde(rename = "x")]
    pub expires_at: DateTime<Utc>,
}

impl CitizenLinks {
    /// `secret` is the server's secret (`api_key_secret`); links signed under another secret do
    /// not verify.
    pub fn new(secret: &[u8], ids: PublicIds, public_url: &url::Url) -> Self {
        let mut derive = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        derive.update(b"tocsin citizen links v1");
        let key = derive.finalize().into_bytes().to_vec();
        CitizenLinks {
            sealer: Sealer::new(&key),
            key,
            ids,
            base: public_url.as_str().trim_end_matches('/').to_string(),
        }
    }

    fn mac(&self, purpose: &str, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(body.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..MAC_BYTES])
    }

    fn verify(&self, purpose: &str, token: &str) -> Option<String> {
        let (body, tag) = token.rsplit_once('.')?;
        let expected = self.mac(purpose, body);
        // Constant time: a MAC compared byte by byte leaks how much of a guess was right.
        let same = expected.len() == tag.len()
            && expected
                .bytes()
                .zip(tag.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then(|| body.to_string())
    }

    /// The public page of an alert, which notifications and SMS link to.
    pub fn alert_url(&self, alert: AlertId) -> String {
        format!("{}/a/{}", self.base, alert.0.simple())
    }

    /// The token of a subscriber's unsubscribe link.
    pub fn unsubscribe_token(&self, subscriber: SubscriberId) -> String {
        let body = self.ids.subscriber(subscriber);
        format!("{body}.{}", self.mac("unsubscribe", &body))
    }

    /// The one-click unsubscribe link of a subscriber (RFC 8058).
    pub fn unsubscribe_url(&self, subscriber: SubscriberId) -> String {
        format!("{}/u/{}", self.base, self.unsubscribe_token(subscriber))
    }

    /// The subscriber an unsubscribe token names, if it is genuine.
    pub fn unsubscriber(&self, token: &str) -> Option<SubscriberId> {
        let body = self.verify("unsubscribe", token)?;
        self.ids.parse_subscriber(&body).ok()
    }

    /// The link that confirms an e-mail address.
    pub fn confirmation_url(&self, slug: &str, confirmation: &EmailConfirmation) -> String {
        let plain = serde_json::to_vec(confirmation).expect("plain data");
        let token = URL_SAFE_NO_PAD.encode(self.sealer.seal(CONFIRMATION, &plain));
        format!("{}/c/{slug}/email/confirm?token={token}", self.base)
    }

    /// What a confirmation token asks, if it is genuine; the caller checks its expiry.
    pub fn confirmation(&self, token: &str) -> Option<EmailConfirmation> {
        let sealed = URL_SAFE_NO_PAD.decode(token).ok()?;
        serde_json::from_slice(&self.sealer.open(CONFIRMATION, &sealed)?).ok()
    }

    /// What a single-use link is remembered by once spent: a keyed hash, so the table of spent
    /// links holds nothing a link could be rebuilt from.
    pub fn link_hash(&self, token: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(b"spent link\0");
        mac.update(token.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(secret: &[u8]) -> CitizenLinks {
        CitizenLinks::new(
            secret,
            PublicIds::new(b"platform"),
            &url::Url::parse("https://alertes.example.fr/").unwrap(),
        )
    }

    #[test]
    fn an_unsubscribe_link_names_its_subscriber_and_cannot_be_forged() {
        let links = links(b"secret one");
        let url = links.unsubscribe_url(SubscriberId(42));
        let token = url
            .strip_prefix("https://alertes.example.fr/u/")
            .expect("under the public URL");
        assert_eq!(links.unsubscriber(token), Some(SubscriberId(42)));
        // Another subscriber's id with this MAC, or this token under another secret: refused.
        let (_, tag) = token.rsplit_once('.').unwrap();
        let other = PublicIds::new(b"platform").subscriber(SubscriberId(43));
        assert_eq!(links.unsubscriber(&format!("{other}.{tag}")), None);
        assert_eq!(super::tests::links(b"secret two").unsubscriber(token), None);
        assert_eq!(links.unsubscriber("sub_nothing"), None);
    }

    #[test]
    fn a_confirmation_link_carries_what_it_confirms() {
        let links = links(b"secret");
        let asked = EmailConfirmation {
            tenant: TenantId(uuid::Uuid::nil()),
            email: "marie@example.fr".into(),
            topics: vec!["intemperies".into()],
            expires_at: DateTime::parse_from_rfc3339("2026-12-02T10:00:00Z")
                .unwrap()
                .into(),
        };
        let url = links.confirmation_url("bras", &asked);
        let token = url.split("token=").nth(1).unwrap();
        assert!(url.starts_with("https://alertes.example.fr/c/bras/email/confirm?token="));
        assert_eq!(links.confirmation(token), Some(asked.clone()));
        // Nothing of the address can be read from the link, even decoded.
        let decoded = URL_SAFE_NO_PAD.decode(token).unwrap();
        assert!(!url.contains("marie") && !String::from_utf8_lossy(&decoded).contains("marie"));
        // Two links for the same request differ (a fresh nonce each).
        assert_ne!(links.confirmation_url("bras", &asked), url);
        let mut tampered = decoded.clone();
        tampered[20] ^= 1;
        assert_eq!(links.confirmation(&URL_SAFE_NO_PAD.encode(tampered)), None);
        assert_eq!(super::tests::links(b"other").confirmation(token), None);
        // A token of one purpose is no token of the other.
        let unsubscribe = links.unsubscribe_token(SubscriberId(1));
        assert_eq!(links.confirmation(&unsubscribe), None);
    }

    #[test]
    fn alert_pages_are_under_the_public_url() {
        let id = AlertId(uuid::Uuid::nil());
        assert_eq!(
            links(b"s").alert_url(id),
            "https://alertes.example.fr/a/00000000000000000000000000000000"
        );
    }
}
