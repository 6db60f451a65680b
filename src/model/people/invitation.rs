//! One-time invitation links: `tocsin user add` and the console's "Inviter" make one; the person
//! opens it to set their password (and second factor). Only the token's SHA-256 is stored.

use sha2::{Digest, Sha256};

/// How long an invitation may wait to be opened.
pub const VALIDITY: chrono::Duration = chrono::Duration::hours(72);

/// A new invitation: the token (256 random bits) goes in the link, shown once; the digest is
/// what the database keeps.
pub struct Invitation {
    pub token: String,
    pub digest: Vec<u8>,
}

impl Invitation {
    pub fn new() -> Self {
        let token = hex::encode(rand::random::<[u8; 32]>());
        Invitation {
            digest: digest(&token),
            token,
        }
    }

    /// `https://alertes.example.fr/console/invitation/<token>`.
    pub fn link(&self, public_url: &url::Url) -> String {
        format!(
            "{}/console/invitation/{}",
            public_url.as_str().trim_end_matches('/'),
            self.token
        )
    }
}

impl Default for Invitation {
    fn default() -> Self {
        Self::new()
    }
}

/// What the database keeps of a token.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
