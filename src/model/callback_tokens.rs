//! The secret part of the URLs providers call back (delivery reports, citizens' SMS):
//! smsmode and OVH do not sign their callbacks, so the URL itself authenticates them.
//!
//! A token is not stored: it is the tenant's id, the version of its token, the key version, and a
//! MAC of them under a key of the key ring. The database keeps only the versions, so a copy of it
//! gives no way to forge a callback. Raising the tenant's version (`tocsin tenant update
//! --rotate-callback-token`) invalidates the token given to providers before; a key rotation
//! (`tocsin secrets rotate`) makes new tokens, and the old ones work until `tocsin secrets
//! retire`. Tokens of releases before key versions have none, and are read as version 0.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{
    TenantId,
    keys::{KeyRing, LEGACY, Purpose, same_tag},
};

/// Bytes of MAC in a token: 128 bits, as many as a forger would have to guess.
const MAC_BYTES: usize = 16;

#[derive(Clone, Debug)]
pub struct CallbackTokens {
    keys: KeyRing,
}

impl CallbackTokens {
    pub fn new(keys: KeyRing) -> Self {
        CallbackTokens { keys }
    }

    /// The token of this version of the tenant's callback URLs, under the current key.
    pub fn token(&self, tenant: TenantId, version: i32) -> String {
        let (key_version, key) = self.keys.current_key(Purpose::CallbackTokens);
        let body = format!("{}.{version}.{key_version}", tenant.0.simple());
        format!("{body}.{}", mac(&key, &body))
    }

    /// The tenant and version a genuine token names; `None` for anything else (a token of
    /// the old random form included: see [`legacy_hash`]).
    pub fn verify(&self, token: &str) -> Option<(TenantId, i32)> {
        let (body, tag) = token.rsplit_once('.')?;
        let mut parts = body.split('.');
        let (tenant, version) = (parts.next()?, parts.next()?);
        let key_version = match parts.next() {
            Some(v) => v.parse().ok()?,
            None => LEGACY,
        };
        if parts.next().is_some() {
            return None;
        }
        let key = self.keys.key(Purpose::CallbackTokens, key_version)?;
        if !same_tag(&mac(&key, body), tag) {
            return None;
        }
        let tenant = uuid::Uuid::try_parse(tenant).ok()?;
        Some((TenantId(tenant), version.parse().ok()?))
    }
}

fn mac(key: &[u8], body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(body.as_bytes());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..MAC_BYTES])
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
        let tokens = CallbackTokens::new(KeyRing::for_secret(b"server secret"));
        let tenant = TenantId(uuid::Uuid::now_v7());
        let token = tokens.token(tenant, 1);
        assert_eq!(tokens.verify(&token), Some((tenant, 1)));
        // Another version or tenant with this MAC, or this token under another secret: refused.
        let (_, tag) = token.rsplit_once('.').unwrap();
        assert_eq!(
            tokens.verify(&format!("{}.2.1.{tag}", tenant.0.simple())),
            None
        );
        let other = TenantId(uuid::Uuid::now_v7());
        assert_eq!(
            tokens.verify(&format!("{}.1.1.{tag}", other.0.simple())),
            None
        );
        let foreign = CallbackTokens::new(KeyRing::for_secret(b"another"));
        assert_eq!(foreign.verify(&token), None);
        assert_ne!(tokens.token(tenant, 2), token);
        // A token of the releases before key versions is read as version 0, until retired.
        let body = format!("{}.1", tenant.0.simple());
        let legacy_key = super::super::keys::derive(b"server secret", Purpose::CallbackTokens, 0);
        let legacy = format!("{body}.{}", mac(&legacy_key, &body));
        assert_eq!(tokens.verify(&legacy), Some((tenant, 1)));
        let retired = CallbackTokens::new(KeyRing::new(1, [(1, b"server secret".as_slice())]));
        assert_eq!(retired.verify(&legacy), None);
        assert_eq!(retired.verify(&token), Some((tenant, 1)));
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
