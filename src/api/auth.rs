//! API keys: generated once, stored as an HMAC-SHA-256 under a key of the key ring, and resolved
//! to one tenant and one role on every request.

use axum::{extract::FromRequestParts, http::request::Parts};

use super::{AppState, error::ApiError};
use crate::{
    model::{
        ApiKeyId, Permission, Role, TenantId, UserId,
        keys::{self, KeyHash, KeyRing, Purpose},
    },
    store,
};

const KEY_PREFIX: &str = "tsk_";

/// Hashes API keys under a key of the ring: a stolen table of hashes does not let anyone check
/// guesses without the server's secret too.
#[derive(Clone, Debug)]
pub struct KeyHasher {
    keys: KeyRing,
}

impl KeyHasher {
    pub fn new(keys: KeyRing) -> Self {
        KeyHasher { keys }
    }

    /// The ring the hashes are made under.
    pub fn ring(&self) -> &KeyRing {
        &self.keys
    }

    /// The hash a new key is stored as: under the current version.
    pub fn hash(&self, key: &str) -> KeyHash {
        let (version, secret) = self.keys.current_key(Purpose::ApiKeys);
        KeyHash {
            version,
            hash: mac(&secret, key),
        }
    }

    /// The hashes a stored key may have: one per version still in the ring, the current first.
    pub fn candidates(&self, key: &str) -> Vec<KeyHash> {
        self.keys
            .live()
            .into_iter()
            .filter_map(|version| {
                let secret = self.keys.key(Purpose::ApiKeys, version)?;
                Some(KeyHash {
                    version,
                    hash: mac(&secret, key),
                })
            })
            .collect()
    }

    /// A new random key (256 bits) and its hash. The key is shown once and never stored.
    pub fn generate(&self) -> (String, KeyHash) {
        let key = format!("{KEY_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
        let hash = self.hash(&key);
        (key, hash)
    }
}

fn mac(secret: &[u8], key: &str) -> Vec<u8> {
    keys::hmac(secret, key.as_bytes())
}

/// What a route needs, as a type: its handler gets the caller only once the caller's role allows
/// it, before the query or the body is read (a forbidden call learns nothing from validation).
pub trait Need {
    const PERMISSION: Permission;
}

/// Sending and cancelling alerts.
pub struct ToSend;
/// Subscribers.
pub struct ToManageSubscribers;
/// Topics, schedules, usage, the audit log.
pub struct ToAdminister;

impl Need for ToSend {
    const PERMISSION: Permission = Permission::Send;
}
impl Need for ToManageSubscribers {
    const PERMISSION: Permission = Permission::ManageSubscribers;
}
impl Need for ToAdminister {
    const PERMISSION: Permission = Permission::Administer;
}

/// A caller whose role allows what `N` needs.
pub struct Allowed<N> {
    pub caller: Caller,
    need: std::marker::PhantomData<N>,
}

impl<N: Need> FromRequestParts<AppState> for Allowed<N> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require(N::PERMISSION)?;
        Ok(Allowed {
            caller,
            need: std::marker::PhantomData,
        })
    }
}

/// The header naming the tenant a call acts on, when the key's node is a group or the platform:
/// a commune (or group) of its subtree. Without it, a call acts on the key's own node.
pub const TENANT_HEADER: &str = "tocsin-tenant";

/// Who acts: an API key, or a person signed in to the console. Both hold one role on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Key(ApiKeyId),
    User(UserId),
}

/// As the audit log names it: `key:key_…`, `user:usr_…`.
impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Key(id) => write!(f, "key:{id}"),
            Actor::User(id) => write!(f, "user:{id}"),
        }
    }
}

/// Who is calling: resolved from `Authorization: Bearer <key>` (or a console session), and the
/// tenant it acts on.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The tenant the call acts on: the key's node, or one of its subtree named by
    /// [`TENANT_HEADER`].
    pub tenant: TenantId,
    pub role: Role,
    pub actor: Actor,
    /// The request's id, as its answer and log lines carry it.
    pub request_id: Option<String>,
}

impl Caller {
    /// 403 unless the caller's role allows `permission`, naming the role and what it lacks.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.allows(permission) {
            return Ok(());
        }
        let needed = match permission {
            Permission::Send => "send or cancel alerts (roles sender and admin)",
            Permission::ManageSubscribers => "manage subscribers (roles drafter and admin)",
            Permission::ManageTemplates => "manage alert templates (roles drafter and admin)",
            Permission::Administer => {
                "manage topics and schedules, or read usage and the audit log (role admin)"
            }
        };
        let who = match self.actor {
            Actor::Key(_) => "this API key has",
            Actor::User(_) => "your account has",
        };
        Err(ApiError::forbidden(format!(
            "{who} the role {}: it may not {needed}",
            self.role.as_str()
        )))
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
        let candidates = state.keys.candidates(key);
        let grant = store::tenants::find_key(&state.db, &candidates)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown API key"))?;
        if grant.revoked_at.is_some() {
            return Err(ApiError::unauthorized("this API key was revoked"));
        }
        // A key stored under an older version moves to the current one on its first use, so
        // that retiring the old version leaves only the keys nobody used since the rotation.
        let current = &candidates[0];
        if grant.key_version != current.version {
            store::tenants::rehash_key(&state.db, grant.key_id, current).await?;
        }
        let node = grant.tenant_id;
        let tenant = match parts.headers.get(TENANT_HEADER) {
            None => node,
            Some(named) => {
                // Anything outside the key's subtree does not exist, as far as it can tell.
                let slug = named.to_str().unwrap_or_default().trim();
                let outside = || ApiError::not_found(&format!("tenant {slug:?}"));
                if slug.is_empty() || slug.len() > 64 {
                    return Err(outside());
                }
                store::tree::find_in_subtree(&state.db, node, slug)
                    .await?
                    .ok_or_else(outside)?
            }
        };
        Ok(Caller {
            tenant,
            role: grant.role,
            actor: Actor::Key(grant.key_id),
            request_id: parts
                .extensions
                .get::<super::envelope::RequestId>()
                .map(|id| id.0.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_the_secret_and_the_version() {
        let a = KeyHasher::new(KeyRing::for_secret(b"one"));
        let b = KeyHasher::new(KeyRing::for_secret(b"two"));
        let (key, hash) = a.generate();
        assert!(key.starts_with(KEY_PREFIX));
        assert_eq!(a.hash(&key), hash);
        assert_ne!(b.hash(&key).hash, hash.hash);
        // Current version first, then the legacy one (the secret itself as HMAC key).
        let candidates = a.candidates(&key);
        assert_eq!(candidates[0], hash);
        assert_eq!(candidates[1].version, 0);
        assert_eq!(candidates[1].hash, mac(b"one", &key));
    }
}
