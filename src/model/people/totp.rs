//! The console's second factor: time-based one-time passwords (RFC 6238 over RFC 4226's HOTP),
//! as every authenticator application computes them: HMAC-SHA-1, 30-second steps, 6 digits,
//! the secret given as base32 in an `otpauth://` URI (and its QR code). And the recovery codes
//! that stand in for a lost phone, each good once.

use hmac::{Hmac, Mac};

/// Seconds per step (RFC 6238's default, the only one every application supports).
pub const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;
/// Steps either side of now still accepted: a phone's clock a little off, or a code typed as it
/// changed.
const DRIFT_STEPS: i64 = 1;

/// A TOTP secret: 160 bits (RFC 4226 §4 asks for at least 128, recommends 160).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(pub [u8; 20]);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    pub fn generate() -> Self {
        TotpSecret(rand::random())
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(TotpSecret(bytes.try_into().ok()?))
    }

    /// The secret as people type it into an application: base32, no padding, in groups of 4.
    pub fn base32(&self) -> String {
        let plain = data_encoding::BASE32_NOPAD.encode(&self.0);
        plain
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("base32 is ASCII"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `otpauth://totp/…` URI authenticator applications read from a QR code.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        // Percent-encoded, spaces as %20: applications read `+` literally.
        let encode = |text: &str| -> String {
            form_urlencoded::byte_serialize(text.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
        };
        format!(
            "otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            encode(&format!("{issuer}:{account}")),
            data_encoding::BASE32_NOPAD.encode(&self.0),
            encode(issuer),
        )
    }

    /// The code of a time step (RFC 4226 §5.3: dynamic truncation).
    pub fn code_at_step(&self, step: i64) -> u32 {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&self.0).expect("any key length");
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = (digest[19] & 0x0f) as usize;
        let binary = u32::from_be_bytes(digest[offset..offset + 4].try_into().expect("4 bytes"))
            & 0x7fff_ffff;
        binary % 10u32.pow(DIGITS)
    }

    /// The code at a Unix time, as six digits.
    pub fn code_at(&self, unix_seconds: i64) -> String {
        format!("{:06}", self.code_at_step(step_of(unix_seconds)))
    }

    /// The step a typed code belongs to, if it is right within the drift allowed and newer than
    /// `last_used` (a code seen once is spent, RFC 6238 §5.2).
    pub fn verify(&self, typed: &str, unix_seconds: i64, last_used: Option<i64>) -> Option<i64> {
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let typed: u32 = typed.parse().ok()?;
        let now = step_of(unix_seconds);
        (now - DRIFT_STEPS..=now + DRIFT_STEPS)
            .filter(|&step| last_used.is_none_or(|last| step > last))
            .find(|&step| self.code_at_step(step) == typed)
    }
}

fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// How many recovery codes a person gets.
pub const RECOVERY_CODES: usize = 10;

/// New recovery codes: 10 of 16 characters from an alphabet without look-alikes (79 bits each:
/// stored as a plain SHA-256, they stay out of reach of guessing even from a copy of the
/// table), written `xxxx-xxxx-xxxx-xxxx`.
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<String> = (0..4)
                .map(|_| {
                    (0..4)
                        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
                        .collect()
                })
                .collect();
            chars.join("-")
        })
        .collect()
}

/// What a recovery code is stored as.
pub fn recovery_code_digest(typed: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(normalise_recovery_code(typed).as_bytes()).to_vec()
}

/// A typed recovery code in the form it is hashed in: lower case, no spaces or dashes.
fn normalise_recovery_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (8 digits there; the last 6 are ours).
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = TotpSecret(*b"12345678901234567890");
        for (time, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(secret.code_at(time), eight[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_is_good_within_one_step_and_only_once() {
        let secret = TotpSecret(*b"12345678901234567890");
        let now = 1234567890;
        let code = secret.code_at(now);
        let step = secret.verify(&code, now, None).expect("the code of now");
        assert_eq!(step, now / 30);
        assert_eq!(
            secret.verify(&code, now + 30, None),
            Some(step),
            "one step late"
        );
        assert_eq!(secret.verify(&code, now + 60, None), None, "two steps late");
        assert_eq!(secret.verify(&code, now, Some(step)), None, "spent");
        assert_eq!(secret.verify("12 34 5", now, None), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(secret.verify(&spaced, now, None), Some(step));
    }

    #[test]
    fn the_uri_and_the_typed_form_carry_the_secret() {
        let secret = TotpSecret(*b"12345678901234567890");
        assert_eq!(secret.base32(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert_eq!(
            secret.uri("Tocsin (alertes.example.fr)", "anne@bras.fr"),
            "otpauth://totp/Tocsin%20%28alertes.example.fr%29%3Aanne%40bras.fr?\
             secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Tocsin%20%28alertes.example.fr%29\
             &algorithm=SHA1&digits=6&period=30"
        );
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 19 && c.split('-').count() == 4),
            "{codes:?}"
        );
        assert_eq!(
            recovery_code_digest(" ABCD-efgh jkmn-PQRS "),
            recovery_code_digest("abcdefghjkmnpqrs")
        );
    }
}
