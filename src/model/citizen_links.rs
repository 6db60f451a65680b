//! The links Tocsin gives citizens: an alert's public page, the one-click unsubscribe link of
//! every e-mail, and the link that confirms an e-mail address. Unsubscribe links carry a MAC
//! under a key of the key ring, so that they need no table and cannot be forged. A confirmation
//! link carries what it confirms (the address, the topics) sealed with AES-256-GCM under another
//! key: an address nobody confirmed is stored nowhere, and the link shows it to no one who reads
//! the URL (a proxy's log, a browser's history). It is spent once used
//! (`store::confirmations::spend_link`, by [`CitizenLinks::link_hash`]).
//!
//! A link names the key version it was made with (`<body>.<version>.<mac>`, or
//! `<version>.<sealed>`), so links already in citizens' mailboxes keep working after a rotation,
//! until that version is retired. Links of releases before versions have none, and are read as
//! version 0.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{
    AlertId, DeliveryId, PublicIds, SubscriberId, TenantId,
    keys::{KeyRing, KeyVersion, LEGACY, Purpose, same_tag},
    sealed::Sealer,
};

/// Bytes of MAC in a link: 128 bits, as many as a forger would have to guess.
const MAC_BYTES: usize = 16;

/// What a confirmation link's sealed content is bound to.
const CONFIRMATION: &str = "confirm-email";

#[derive(Clone)]
pub struct CitizenLinks {
    keys: KeyRing,
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
    pub fn new(keys: KeyRing, ids: PublicIds, public_url: &url::Url) -> Self {
        CitizenLinks {
            keys,
            ids,
            base: public_url.as_str().trim_end_matches('/').to_string(),
        }
    }

    fn mac(key: &[u8], purpose: &str, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(body.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..MAC_BYTES])
    }

    /// `<body>.<version>.<mac>` under the current key.
    fn sign(&self, purpose: &str, body: &str) -> String {
        let (version, key) = self.keys.current_key(Purpose::CitizenLinks);
        let signed = format!("{body}.{version}");
        let tag = Self::mac(&key, purpose, &signed);
        format!("{signed}.{tag}")
    }

    /// The body of a genuine token of `purpose`, under a version still in the ring.
    fn verify(&self, purpose: &str, token: &str) -> Option<String> {
        let (signed, tag) = token.rsplit_once('.')?;
        let (body, version) = match signed.rsplit_once('.') {
            Some((body, version)) => (body, version.parse().ok()?),
            None => (signed, LEGACY),
        };
        let key = self.keys.key(Purpose::CitizenLinks, version)?;
        same_tag(&Self::mac(&key, purpose, signed), tag).then(|| body.to_string())
    }

    /// The public page of an alert, which notifications and SMS link to.
    pub fn alert_url(&self, alert: AlertId) -> String {
        format!("{}/a/{}", self.base, alert.0.simple())
    }

    /// A recipient's link to the alert's page (`…/a/{alert}/r/{token}`), whose button confirms
    /// the alert for that delivery: the e-mail's and the notification's.
    pub fn acknowledge_url(&self, alert: AlertId, delivery: DeliveryId) -> String {
        let token = self.sign("acknowledge", &self.ids.delivery(delivery));
        format!("{}/a/{}/r/{token}", self.base, alert.0.simple())
    }

    /// The delivery an acknowledgement token names, if it is genuine.
    pub fn acknowledging(&self, token: &str) -> Option<DeliveryId> {
        let body = self.verify("acknowledge", token)?;
        self.ids.parse_delivery(&body).ok()
    }

    /// The token of a subscriber's unsubscribe link.
    pub fn unsubscribe_token(&self, subscriber: SubscriberId) -> String {
        self.sign("unsubscribe", &self.ids.subscriber(subscriber))
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
        let (version, key) = self.keys.current_key(Purpose::LinkSealing);
        let sealed = URL_SAFE_NO_PAD.encode(Sealer::new(&key).seal(CONFIRMATION, &plain));
        format!(
            "{}/c/{slug}/email/confirm?token={version}.{sealed}",
            self.base
        )
    }

    /// What a confirmation token asks, if it is genuine; the caller checks its expiry.
    pub fn confirmation(&self, token: &str) -> Option<EmailConfirmation> {
        let (version, sealed) = Self::confirmation_parts(token)?;
        let key = self.keys.key(Purpose::LinkSealing, version)?;
        let sealed = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        serde_json::from_slice(&Sealer::new(&key).open(CONFIRMATION, &sealed)?).ok()
    }

    /// The key version and the sealed part of a confirmation token (base64url has no '.').
    fn confirmation_parts(token: &str) -> Option<(KeyVersion, &str)> {
        match token.split_once('.') {
            Some((version, sealed)) => Some((version.parse().ok()?, sealed)),
            None => Some((LEGACY, token)),
        }
    }

    /// What a single-use link is remembered by once spent: a keyed hash, so the table of spent
    /// links holds nothing a link could be rebuilt from. Keyed by the link's own version, so a
    /// rotation does not make a spent link new again; `None` for a link of a retired version
    /// (which does not open either).
    pub fn link_hash(&self, token: &str) -> Option<Vec<u8>> {
        let (version, _) = Self::confirmation_parts(token)?;
        let key = self.keys.key(Purpose::CitizenLinks, version)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
        mac.update(b"spent link\0");
        mac.update(token.as_bytes());
        Some(mac.finalize().into_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(secret: &[u8]) -> CitizenLinks {
        CitizenLinks::new(
            KeyRing::for_secret(secret),
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
        assert_eq!(links.unsubscriber(&format!("{other}.1.{tag}")), None);
        assert_eq!(super::tests::links(b"secret two").unsubscriber(token), None);
        assert_eq!(links.unsubscriber("sub_nothing"), None);
    }

    #[test]
    fn a_link_works_until_its_key_version_is_retired() {
        let old = links(b"secret one");
        let token = old.unsubscribe_token(SubscriberId(42));
        let rotated = CitizenLinks::new(
            KeyRing::new(2, [(1, b"secret one".as_slice()), (2, b"secret two")]),
            PublicIds::new(b"platform"),
            &url::Url::parse("https://alertes.example.fr/").unwrap(),
        );
        assert_eq!(rotated.unsubscriber(&token), Some(SubscriberId(42)));
        let fresh = rotated.unsubscribe_token(SubscriberId(42));
        assert!(fresh.contains(".2."), "{fresh}");
        // A link of the releases before versions (body.mac under the legacy key) is version 0.
        let legacy_key = super::super::keys::derive(b"secret one", Purpose::CitizenLinks, 0);
        let body = PublicIds::new(b"platform").subscriber(SubscriberId(42));
        let legacy = format!(
            "{body}.{}",
            CitizenLinks::mac(&legacy_key, "unsubscribe", &body)
        );
        assert_eq!(old.unsubscriber(&legacy), Some(SubscriberId(42)));
        // Retired: versions 0 and 1 are no longer in the ring.
        let retired = CitizenLinks::new(
            KeyRing::new(2, [(2, b"secret two".as_slice())]),
            PublicIds::new(b"platform"),
            &url::Url::parse("https://alertes.example.fr/").unwrap(),
        );
        assert_eq!(retired.unsubscriber(&token), None);
        assert_eq!(retired.unsubscriber(&legacy), None);
        assert_eq!(retired.unsubscriber(&fresh), Some(SubscriberId(42)));
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
        assert!(url.starts_with("https://alertes.example.fr/c/bras/email/confirm?token=1."));
        assert_eq!(links.confirmation(token), Some(asked.clone()));
        // Nothing of the address can be read from the link, even decoded.
        let decoded = URL_SAFE_NO_PAD.decode(&token[2..]).unwrap();
        assert!(!url.contains("marie") && !String::from_utf8_lossy(&decoded).contains("marie"));
        // Two links for the same request differ (a fresh nonce each).
        assert_ne!(links.confirmation_url("bras", &asked), url);
        let mut tampered = decoded.clone();
        tampered[20] ^= 1;
        let tampered = format!("1.{}", URL_SAFE_NO_PAD.encode(tampered));
        assert_eq!(links.confirmation(&tampered), None);
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
