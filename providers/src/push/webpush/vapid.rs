//! VAPID tokens (RFC 8292), signed once per push service and reused: `aud` is the endpoint's
//! origin, so one token serves every subscription of FCM, of Mozilla, of Apple … until it
//! nears its `exp`. A million messages sign a handful of JWTs, not a million.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use reqwest::header::HeaderValue;
use url::Url;

use crate::push::crypto::{PushCryptoError, VapidKey};

/// How long a token is valid: half the 24 h a push service accepts (RFC 8292 §2), so that a
/// clock ahead of ours by hours still takes it.
pub(crate) const TOKEN_LIFETIME_SECS: u64 = 12 * 60 * 60;
/// A token is replaced once less than this is left, so that none expires in flight or on a
/// service whose clock runs ahead.
pub(crate) const RENEW_BEFORE_SECS: u64 = 60 * 60;
/// Most push service origins remembered. Endpoints come from browsers, so a hostile subscriber
/// could name endless origins; past this many, expired tokens are dropped, then all of them.
const MAX_ORIGINS: usize = 1024;

struct Token {
    /// `vapid t=…, k=…`, marked sensitive.
    header: HeaderValue,
    expires_at: u64,
}

/// Signs and remembers the `Authorization` header of each push service origin.
pub(crate) struct VapidTokens {
    key: Arc<VapidKey>,
    subject: String,
    tokens: Mutex<HashMap<String, Token>>,
}

impl VapidTokens {
    pub(crate) fn new(key: Arc<VapidKey>, subject: String) -> Self {
        VapidTokens {
            key,
            subject,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The `Authorization` header for a push to `endpoint` at `now` (Unix seconds): the
    /// remembered one while more than [`RENEW_BEFORE_SECS`] of it are left, else a new one
    /// valid [`TOKEN_LIFETIME_SECS`].
    pub(crate) fn authorization(
        &self,
        endpoint: &Url,
        now: u64,
    ) -> Result<HeaderValue, PushCryptoError> {
        let origin = endpoint.origin().ascii_serialization();
        // Signing under the lock keeps a burst to a new origin from signing once per task; an
        // ES256 signature takes tens of microseconds and happens twice a day per origin.
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(token) = tokens.get(&origin)
            && token.expires_at > now + RENEW_BEFORE_SECS
        {
            return Ok(token.header.clone());
        }
        let expires_at = now + TOKEN_LIFETIME_SECS;
        let value = self
            .key
            .vapid_header(endpoint, &self.subject, expires_at, now)?;
        let mut header =
            HeaderValue::from_str(&value).expect("a vapid header is base64url and ASCII");
        header.set_sensitive(true);
        if tokens.len() >= MAX_ORIGINS && !tokens.contains_key(&origin) {
            tokens.retain(|_, token| token.expires_at > now + RENEW_BEFORE_SECS);
            if tokens.len() >= MAX_ORIGINS {
                tokens.clear();
            }
        }
        tokens.insert(
            origin,
            Token {
                header: header.clone(),
                expires_at,
            },
        );
        Ok(header)
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::crypto::verify_vapid;

    const NOW: u64 = 1_700_000_000;
    const SUBJECT: &str = "mailto:alertes@bras.fr";

    fn tokens() -> VapidTokens {
        VapidTokens::new(Arc::new(VapidKey::generate().unwrap()), SUBJECT.into())
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn text(header: &HeaderValue) -> &str {
        header.to_str().unwrap()
    }

    #[test]
    fn the_token_is_es256_for_the_origin_for_twelve_hours() {
        let tokens = tokens();
        let endpoint = url("https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk");
        let header = tokens.authorization(&endpoint, NOW).unwrap();
        assert!(header.is_sensitive());
        let claims = verify_vapid(
            text(&header),
            "https://updates.push.services.mozilla.com",
            NOW,
        )
        .unwrap();
        assert_eq!(claims.aud, "https://updates.push.services.mozilla.com");
        assert_eq!(claims.exp, NOW + 12 * 3600);
        assert_eq!(claims.sub.as_deref(), Some(SUBJECT));
        let k = text(&header).rsplit_once(", k=").unwrap().1;
        assert_eq!(k, tokens.key.public_key_base64url());
        // A port is part of the origin; the path and query are not.
        let ported = url("http://127.0.0.1:8080/push/abc?x=1");
        let header = tokens.authorization(&ported, NOW).unwrap();
        assert!(verify_vapid(text(&header), "http://127.0.0.1:8080", NOW).is_ok());
    }

    #[test]
    fn one_token_serves_every_endpoint_of_an_origin_until_an_hour_before_it_ends() {
        let tokens = tokens();
        let first = tokens
            .authorization(&url("https://fcm.googleapis.com/fcm/send/a"), NOW)
            .unwrap();
        let later = NOW + TOKEN_LIFETIME_SECS - RENEW_BEFORE_SECS - 1;
        let second = tokens
            .authorization(&url("https://fcm.googleapis.com/fcm/send/b"), later)
            .unwrap();
        assert_eq!(first, second, "reused: ECDSA would sign differently");
        let renewed = tokens
            .authorization(&url("https://fcm.googleapis.com/fcm/send/c"), later + 1)
            .unwrap();
        assert_ne!(first, renewed);
        let claims = verify_vapid(text(&renewed), "https://fcm.googleapis.com", later + 1);
        assert_eq!(claims.unwrap().exp, later + 1 + TOKEN_LIFETIME_SECS);

        let other = tokens
            .authorization(&url("https://web.push.apple.com/QGx"), NOW)
            .unwrap();
        assert_ne!(other, first);
        assert!(verify_vapid(text(&other), "https://web.push.apple.com", NOW).is_ok());
        assert_eq!(tokens.remembered(), 2);
    }

    #[test]
    fn the_cache_stays_bounded_against_endless_origins() {
        let tokens = tokens();
        for i in 0..MAX_ORIGINS + 10 {
            let endpoint = url(&format!("https://push{i}.example/p"));
            tokens.authorization(&endpoint, NOW).unwrap();
            assert!(tokens.remembered() <= MAX_ORIGINS);
        }
    }
}
