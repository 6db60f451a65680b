//! AES-256-GCM sealing of what must not be readable from a copy of the database (DKIM private
//! keys, the platform's own keys, what confirmation links carry), under a key of the key ring
//! (`model::keys`). A sealed value is bound to its place: moved to another tenant's row, it does
//! not open.

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Nonce, Payload},
};

use super::TenantId;

const NONCE_BYTES: usize = 12;

/// Where a tenant's sealed DKIM key belongs: sealed for one tenant, it opens for no other.
pub fn dkim_context(tenant: TenantId) -> String {
    format!("dkim:{tenant}")
}

/// The context a person's TOTP secret is sealed for.
pub fn totp_context(user: crate::model::UserId) -> String {
    format!("totp:{user}")
}

/// Where a platform key belongs (`store::platform`).
pub fn platform_key_context(name: &str) -> String {
    format!("platform key {name}")
}

#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    /// `key` is a 32-byte key of the key ring.
    pub fn new(key: &[u8]) -> Self {
        Sealer {
            key: key.try_into().expect("keys of the ring are 32 bytes"),
        }
    }

    /// Seals `plain` for the place named by `context` (e.g. `dkim:<tenant id>`).
    pub fn seal(&self, context: &str, plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let sealed = Aes256Gcm::new(&self.key.into())
            .encrypt(
                &Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM seals any length we store");
        [nonce.as_slice(), &sealed].concat()
    }

    /// Opens what [`Sealer::seal`] sealed for the same context; None when the secret or the
    /// context differ, or the value was altered.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        Aes256Gcm::new(&self.key.into())
            .decrypt(
                &Nonce::<Aes256Gcm>::from(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    #[test]
    fn opens_only_with_the_same_secret_and_context() {
        let sealer = Sealer::new(&[1; 32]);
        let sealed = sealer.seal("dkim:a", b"-----BEGIN PRIVATE KEY-----");
        assert!(!sealed.windows(5).any(|w| w == b"BEGIN"));
        assert_eq!(
            sealer.open("dkim:a", &sealed).as_deref(),
            Some(b"-----BEGIN PRIVATE KEY-----".as_slice())
        );
        assert_eq!(sealer.open("dkim:b", &sealed), None);
        assert_eq!(Sealer::new(&[2; 32]).open("dkim:a", &sealed), None);
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("dkim:a", &altered), None);
        assert_eq!(sealer.open("dkim:a", b"short"), None);
    }
}
