//! The secret part of the URLs providers call back (delivery reports, citizens' SMS):
//! smsmode and OVH do not sign their callbacks, so the URL itself authenticates them.
//!
//! A token is not stored: it is the tenant's id, the version of its token, and a MAC of both
//! under a key derived from the server's secret. The database keeps only the version, so a copy
//! of it gives no way to forge a callback; raising the version (`tocsin tenant update
//! --rotate-callback-token`) invalidates the token given to providers before.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::TenantId;

/// Bytes of MAC in a token: 128 bits, as many as a forger would have to guess.
const MAC_BYTES: usize = 16;

#[derive(Clone)]
pub struct CallbackTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for CallbackTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackTokens")
    }
}

impl CallbackTokens {
    /// `secret` is the server's secret (`api_key_secret`).
    pub fn new(secret: &[u8]) -> Self {
        let mut derive = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        derive.update(b"tocsin callback tokens v1");
        CallbackTokens {
            key: derive.finalize().into_bytes().into(),
        }
    }

    /// The token of this version of the tenant's callback URLs.
    pub fn token(&self, tenant: TenantId, version: i32) -> String {
        let body = format!("{}.{version}", tenant.0.simple());
        format!("{body}.{}", self.mac(&body))
    }

    /// The tenant and version a genuine token names; `None` for anything else (a token of
    /// the old random form included: see [`legacy_hash`]).
    pub fn verify(&self, token: &str) -> Option<(TenantId, i32)> {
        let (body, tag) = token.rsplit_once('.')?;
        let (tenant, version) = body.split_once('.')?;
        let expected = self.mac(body);
        let same = expected.len() == tag.len()
            && expected
                .bytes()
                .zip(tag.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return None;
        }
        let tenant = uuid::Uuid::try_parse(tenant).ok()?;
        Some((TenantId(tenant), version.parse().ok()?))
    }

    fn mac(&self, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(body.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..MAC_BYTES])
    }
}

/// How a token of the old random form is kept (by migration 0023): its SHA-256, which is
/// enough for a value with 256 bits of entropy. Accepted until the tenant's token is rotated, so
/// that providers configured before keep working.
pub fn legacy_hash(token: &str) -> Vec<u8> {
    use sha2::Digest;
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_tenant_and_version_and_cannot_be_forged() {
        let tokens = CallbackTokens::new(b"server secret");
        let tenant = TenantId(uuid::Uuid::now_v7());
        let token = tokens.token(tenant, 1);
        assert_eq!(tokens.verify(&token), Some((tenant, 1)));
        // Another version or tenant with this MAC, or this token under another secret: refused.
        let (body, tag) = token.rsplit_once('.').unwrap();
        assert_eq!(
            tokens.verify(&format!("{}2.{tag}", &body[..body.len() - 1])),
            None
        );
        let other = TenantId(uuid::Uuid::now_v7());
        assert_eq!(
            tokens.verify(&format!("{}.1.{tag}", other.0.simple())),
            None
        );
        assert_eq!(CallbackTokens::new(b"another").verify(&token), None);
        assert_ne!(tokens.token(tenant, 2), token);
        // The old random form is not read here.
        assert_eq!(tokens.verify(&"a".repeat(64)), None);
        // URL-safe: it goes in a path segment as it is.
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
    }
}
