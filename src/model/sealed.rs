//! Secrets of communes kept in the database (their DKIM private keys), sealed with AES-256-GCM
//! under a key derived from the server's secret: a copy of the database alone does not give
//! them away, and a sealed value moved to another tenant's row does not open.

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Nonce, Payload},
};
use hmac::{Hmac, Mac};
use sha2::Sha256;

const NONCE_BYTES: usize = 12;

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
    /// `secret` is the server's secret (`api_key_secret`).
    pub fn new(secret: &[u8]) -> Self {
        let mut derive = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        derive.update(b"tocsin sealed secrets v1");
        Sealer {
            key: derive.finalize().into_bytes().into(),
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
        let sealer = Sealer::new(b"server secret");
        let sealed = sealer.seal("dkim:a", b"-----BEGIN PRIVATE KEY-----");
        assert!(!sealed.windows(5).any(|w| w == b"BEGIN"));
        assert_eq!(
            sealer.open("dkim:a", &sealed).as_deref(),
            Some(b"-----BEGIN PRIVATE KEY-----".as_slice())
        );
        assert_eq!(sealer.open("dkim:b", &sealed), None);
        assert_eq!(Sealer::new(b"other").open("dkim:a", &sealed), None);
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open("dkim:a", &altered), None);
        assert_eq!(sealer.open("dkim:a", b"short"), None);
    }
}
