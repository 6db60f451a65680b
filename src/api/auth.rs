//! API keys: generated once, stored as an HMAC-SHA-256 under the server's secret, and resolved
//! to one tenant and one role on every request.

use axum::{extract::FromRequestParts, http::request::Parts};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::{AppState, error::ApiError};
use crate::{
    model::{Role, TenantId},
    store,
};

const KEY_PREFIX: &str = "tsk_";

/// Hashes API keys under the server's secret: a stolen table of hashes does not let anyone
/// check guesses without the secret too.
#[derive(Clone)]
pub struct KeyHasher {
    secret: SecretString,
}

impl KeyHasher {
    pub fn new(secret: SecretString) -> Self {
        KeyHasher { secret }
    }

    pub fn hash(&self, key: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(key.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A new random key (256 bits) and its hash. The key is shown once and never stored.
    pub fn generate(&self) -> (String, Vec<u8>) {
        let key = format!("{KEY_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
        let hash = self.hash(&key);
        (key, hash)
    }
}

/// Who is calling: resolved from `Authorization: Bearer <key>`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub role: Role,
}

impl Caller {
    /// Topics and subscribers are managed by admins only.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role.can_manage() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "this API key may send alerts but not manage topics or subscribers (role sender); use an admin key",
            ))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| {
                ApiError::unauthorized("missing Authorization header (Bearer API key)")
            })?;
        let key = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ApiError::unauthorized("Authorization must be \"Bearer <API key>\""))?;
        let grant = store::tenants::find_key(&state.db, &state.keys.hash(key))
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown API key"))?;
        if grant.revoked_at.is_some() {
            return Err(ApiError::unauthorized("this API key was revoked"));
        }
        Ok(Caller {
            tenant: grant.tenant_id,
            role: grant.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_the_secret() {
        let a = KeyHasher::new("one".to_string().into());
        let b = KeyHasher::new("two".to_string().into());
        let (key, hash) = a.generate();
        assert!(key.starts_with(KEY_PREFIX));
        assert_eq!(a.hash(&key), hash);
        assert_ne!(b.hash(&key), hash);
    }
}
