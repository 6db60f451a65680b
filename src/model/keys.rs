//! The keys Tocsin protects things with, all derived from the server's secret
//! (`api_key_secret`): HKDF-SHA-256 (RFC 5869) with a label naming the key's purpose and version,
//! `tocsin/<purpose>/v<N>`. Nothing but the secret has to be kept; a copy of the database gives
//! none of them.
//!
//! Everything a key protects records the version it was made with (an API key's hash, a sealed
//! DKIM key, a link or callback token), so `tocsin secrets rotate` can start a new version, under
//! the same secret or a new one, while what was made before keeps working until
//! `tocsin secrets retire`. Version 0 names the derivations of releases before versions existed
//! (an HMAC of a fixed label; the secret itself for API keys): kept, so that nothing made by
//! them breaks on upgrade, and retired like any other.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::sealed::Sealer;

/// The version a key was derived with, stored beside what it protects.
pub type KeyVersion = i32;

/// The derivations of releases before versions existed.
pub const LEGACY: KeyVersion = 0;

/// What a key is for: each purpose has keys of its own, so one never stands in for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The keyed hashes API keys are stored as.
    ApiKeys,
    /// The MACs of unsubscribe links and the hashes of spent links.
    CitizenLinks,
    /// What sealed e-mail confirmation links carry.
    LinkSealing,
    /// The MACs of the URLs providers call back.
    CallbackTokens,
    /// Secrets kept in the database: DKIM private keys, the platform's own keys.
    StoredSecrets,
    /// The hashes public counters count numbers, addresses and clients under.
    PublicCaps,
    /// Short-lived proofs given to citizens: SMS codes (stored as their hash) and form tokens.
    CitizenCodes,
    /// The console's recovery codes (stored as their hash) and its anonymous forms' tokens.
    ConsoleCodes,
}

impl Purpose {
    pub const ALL: [Purpose; 8] = [
        Purpose::ApiKeys,
        Purpose::CitizenLinks,
        Purpose::LinkSealing,
        Purpose::CallbackTokens,
        Purpose::StoredSecrets,
        Purpose::PublicCaps,
        Purpose::CitizenCodes,
        Purpose::ConsoleCodes,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Purpose::ApiKeys => "api-keys",
            Purpose::CitizenLinks => "citizen-links",
            Purpose::LinkSealing => "link-sealing",
            Purpose::CallbackTokens => "callback-tokens",
            Purpose::StoredSecrets => "stored-secrets",
            Purpose::PublicCaps => "public-caps",
            Purpose::CitizenCodes => "citizen-codes",
            Purpose::ConsoleCodes => "console-codes",
        }
    }

    /// The key of version 0, as releases before versions derived it.
    fn legacy(self, secret: &[u8]) -> Vec<u8> {
        const LINKS: &[u8] = b"tocsin citizen links v1";
        const SEALED: &[u8] = b"tocsin sealed secrets v1";
        match self {
            Purpose::ApiKeys | Purpose::CitizenCodes => secret.to_vec(),
            Purpose::CitizenLinks => hmac(secret, LINKS),
            Purpose::LinkSealing => hmac(&hmac(secret, LINKS), SEALED),
            Purpose::CallbackTokens => hmac(secret, b"tocsin callback tokens v1"),
            Purpose::StoredSecrets => hmac(secret, SEALED),
            Purpose::PublicCaps => hmac(secret, b"public caps"),
            // Came after versions: nothing was ever made with its version 0.
            Purpose::ConsoleCodes => hmac(secret, b"tocsin console codes v0"),
        }
    }
}

/// HMAC-SHA-256 of `message` under `key`.
pub fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hkdf(secret: &[u8], info: &str) -> [u8; 32] {
    let mut okm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(b"tocsin"), secret)
        .expand(info.as_bytes(), &mut okm)
        .expect("32 bytes is a valid HKDF-SHA-256 length");
    okm
}

/// The key of `purpose` at `version`, derived from `secret`.
pub fn derive(secret: &[u8], purpose: Purpose, version: KeyVersion) -> Vec<u8> {
    if version == LEGACY {
        return purpose.legacy(secret);
    }
    hkdf(secret, &format!("tocsin/{}/v{version}", purpose.label())).to_vec()
}

/// What the database records of the secret a version derives from: it tells which configured
/// secret opens a version, and gives nothing of the secret away.
pub fn fingerprint(secret: &[u8]) -> Vec<u8> {
    hkdf(secret, "tocsin/fingerprint")[..16].to_vec()
}

/// The keys of every version still in use, and the version new things are made with. Shared by
/// every part of a process; `replace` swaps the whole ring when a rotation is seen.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<RwLock<Ring>>,
}

struct Ring {
    current: KeyVersion,
    keys: HashMap<(Purpose, KeyVersion), Arc<[u8]>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current())
            .field("live", &self.live())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A ring of these versions, each derived from its secret; new things get `current`, which
    /// must be among them.
    pub fn new<'a>(
        current: KeyVersion,
        versions: impl IntoIterator<Item = (KeyVersion, &'a [u8])>,
    ) -> Self {
        let mut keys = HashMap::new();
        for (version, secret) in versions {
            for purpose in Purpose::ALL {
                keys.insert(
                    (purpose, version),
                    Arc::from(derive(secret, purpose, version)),
                );
            }
        }
        assert!(
            keys.contains_key(&(Purpose::ApiKeys, current)),
            "the current key version is in the ring"
        );
        KeyRing {
            inner: Arc::new(RwLock::new(Ring { current, keys })),
        }
    }

    /// The ring a fresh database gets (`store::key_versions::open`): version 1 current, and the
    /// legacy derivations of the same secret. For what runs without a database, and tests.
    pub fn for_secret(secret: &[u8]) -> Self {
        KeyRing::new(1, [(LEGACY, secret), (1, secret)])
    }

    /// Takes the versions of `other` (a rotation, seen by a running daemon).
    pub fn replace(&self, other: &KeyRing) {
        let other = other.inner.read().expect("not poisoned");
        let mut ring = self.inner.write().expect("not poisoned");
        ring.current = other.current;
        ring.keys = other.keys.clone();
    }

    /// The version new things are made with.
    pub fn current(&self) -> KeyVersion {
        self.inner.read().expect("not poisoned").current
    }

    /// Versions whose keys this ring holds, the current first.
    pub fn live(&self) -> Vec<KeyVersion> {
        let ring = self.inner.read().expect("not poisoned");
        let mut versions: Vec<KeyVersion> = ring
            .keys
            .keys()
            .filter(|(p, _)| *p == Purpose::ApiKeys)
            .map(|(_, v)| *v)
            .collect();
        versions.sort_unstable_by_key(|v| (*v != ring.current, -v));
        versions
    }

    /// The key of `purpose` at `version`; `None` when that version is retired or its secret is
    /// not configured here.
    pub fn key(&self, purpose: Purpose, version: KeyVersion) -> Option<Arc<[u8]>> {
        let ring = self.inner.read().expect("not poisoned");
        ring.keys.get(&(purpose, version)).cloned()
    }

    /// The current key of `purpose`, and its version.
    pub fn current_key(&self, purpose: Purpose) -> (KeyVersion, Arc<[u8]>) {
        let ring = self.inner.read().expect("not poisoned");
        let key = ring.keys[&(purpose, ring.current)].clone();
        (ring.current, key)
    }

    /// HMAC-SHA-256 of `message` under the current key of `purpose`.
    pub fn mac(&self, purpose: Purpose, message: &[u8]) -> Vec<u8> {
        hmac(&self.current_key(purpose).1, message)
    }

    /// [`KeyRing::mac`] under every live version, the current first: to check what was made
    /// before a rotation.
    pub fn macs(&self, purpose: Purpose, message: &[u8]) -> Vec<Vec<u8>> {
        self.live()
            .into_iter()
            .filter_map(|version| Some(hmac(&self.key(purpose, version)?, message)))
            .collect()
    }

    /// Seals `plain` for the place `context` names, with the current version of the key of
    /// stored secrets.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Sealed {
        let (version, key) = self.current_key(Purpose::StoredSecrets);
        Sealed {
            version,
            bytes: Sealer::new(&key).seal(context, plain),
        }
    }

    /// Opens what [`KeyRing::seal`] sealed; `None` when its version is not in the ring, or it
    /// does not open.
    pub fn open(&self, context: &str, sealed: &Sealed) -> Option<Vec<u8>> {
        let key = self.key(Purpose::StoredSecrets, sealed.version)?;
        Sealer::new(&key).open(context, &sealed.bytes)
    }
}

/// A secret sealed under a version of the key of stored secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub version: KeyVersion,
    pub bytes: Vec<u8>,
}

/// How an API key is stored: its keyed hash, and the version of the key it was hashed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHash {
    pub version: KeyVersion,
    pub hash: Vec<u8>,
}

/// Equal in constant time: a MAC compared byte by byte leaks how much of a guess was right.
pub fn same_tag(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_purpose_and_version_has_its_own_key() {
        let mut seen = std::collections::HashSet::new();
        for version in [1, 2] {
            for purpose in Purpose::ALL {
                assert!(seen.insert(derive(b"secret", purpose, version)));
            }
        }
        assert_ne!(
            derive(b"secret", Purpose::ApiKeys, 1),
            derive(b"other secret", Purpose::ApiKeys, 1)
        );
    }

    #[test]
    fn version_0_keeps_the_keys_of_releases_before_versions() {
        // API keys, codes and form tokens were all hashed under the secret itself; links,
        // sealing, callbacks and counters under an HMAC of a fixed label.
        assert_eq!(derive(b"s", Purpose::ApiKeys, LEGACY), b"s");
        assert_eq!(derive(b"s", Purpose::CitizenCodes, LEGACY), b"s");
        assert_eq!(
            derive(b"s", Purpose::StoredSecrets, LEGACY),
            hmac(b"s", b"tocsin sealed secrets v1")
        );
    }

    #[test]
    fn a_sealed_secret_opens_with_its_version_only() {
        let ring = KeyRing::new(2, [(1, b"old secret".as_slice()), (2, b"new secret")]);
        let sealed = ring.seal("dkim:a", b"pem");
        assert_eq!(sealed.version, 2);
        assert_eq!(
            ring.open("dkim:a", &sealed).as_deref(),
            Some(b"pem".as_slice())
        );
        let as_v1 = Sealed {
            version: 1,
            ..sealed.clone()
        };
        assert_eq!(ring.open("dkim:a", &as_v1), None);
        // Once version 2 is retired (a ring without it), nothing sealed under it opens.
        let retired = KeyRing::new(3, [(3, b"new secret".as_slice())]);
        assert_eq!(retired.open("dkim:a", &sealed), None);
        assert_eq!(ring.live(), vec![2, 1]);
    }
}
