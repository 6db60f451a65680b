//! Web Push cryptography, sans I/O: RFC 8291 message encryption in the RFC 8188 `aes128gcm`
//! content coding, its decryption (what a user agent or a test stand-in does), VAPID (RFC 8292)
//! signing and verification, and validation of the keys a browser subscription carries.
//!
//! Known limits: one record only (RFC 8291 §4 requires it), no padding beyond the 0x02
//! delimiter, no legacy `aesgcm` coding.

use aes_gcm::{
    Aes128Gcm, KeyInit,
    aead::{Aead, Nonce},
};
use aws_lc_rs::agreement;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use p256::{
    PublicKey, SecretKey,
    ecdsa::{
        Signature, SigningKey, VerifyingKey,
        signature::{Signer, Verifier},
    },
    elliptic_curve::{Generate, zeroize::Zeroize},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use url::Url;

use crate::RetryClass;

/// The largest plaintext that fits the 4096 octets every push service must accept
/// (RFC 8291 §4): 4096 − 86 (header) − 1 (delimiter) − 16 (tag).
pub const MAX_PLAINTEXT_LEN: usize = 3993;
/// The record size everyone sends; with one record it only has to exceed the ciphertext.
pub const DEFAULT_RECORD_SIZE: u32 = 4096;
/// RFC 8292 §2: a push service refuses an `exp` more than 24 hours ahead.
pub const MAX_VAPID_LIFETIME_SECS: u64 = 24 * 60 * 60;

/// salt (16) | rs (4) | idlen (1) | keyid = uncompressed P-256 point (65), RFC 8188 §2.1.
const HEADER_LEN: usize = 16 + 4 + 1 + 65;
const TAG_LEN: usize = 16;
/// The padding delimiter of the last (here: only) record, RFC 8188 §2.
const LAST_RECORD_DELIMITER: u8 = 0x02;
const KEY_INFO_PREFIX: &[u8] = b"WebPush: info\0";
const CEK_INFO: &[u8] = b"Content-Encoding: aes128gcm\0";
const NONCE_INFO: &[u8] = b"Content-Encoding: nonce\0";
const JWT_HEADER: &str = r#"{"typ":"JWT","alg":"ES256"}"#;

/// Everything that can go wrong here. Messages name the input at fault and never hold a key,
/// a secret or an endpoint.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PushCryptoError {
    #[error("{field} is not valid base64url")]
    InvalidBase64 { field: &'static str },
    #[error("{field} must decode to {expected} octets, got {actual}")]
    InvalidLength {
        field: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("{field} is not an uncompressed P-256 point (its first octet must be 0x04)")]
    NotUncompressed { field: &'static str },
    #[error("{field} is not a point on the P-256 curve")]
    NotOnCurve { field: &'static str },
    #[error("{field} is not a valid P-256 private key (zero, or not below the group order)")]
    InvalidPrivateKey { field: &'static str },
    #[error("the receiver private key does not match receiver_p256dh")]
    KeyMismatch,
    #[error("plaintext is {len} octets; a push message carries at most {MAX_PLAINTEXT_LEN}")]
    PlaintextTooLong { len: usize },
    #[error("record size {rs} cannot hold this message in one record: it must exceed {needed}")]
    RecordSizeTooSmall { rs: u32, needed: usize },
    #[error("the operating system's random number generator failed")]
    Rng,
    #[error("malformed aes128gcm body: {0}")]
    MalformedBody(&'static str),
    #[error("decryption failed: wrong keys or auth secret, or the body was altered")]
    DecryptionFailed,
    #[error("decrypted record does not end with the final-record delimiter 0x02")]
    BadPadding,
    #[error("push endpoint is unusable for VAPID: {0}")]
    InvalidEndpoint(&'static str),
    #[error("VAPID subject must be a mailto: or https: URI")]
    InvalidSubject,
    #[error("VAPID exp {exp} is not after now ({now})")]
    Expired { exp: u64, now: u64 },
    #[error("VAPID exp {exp} is more than 24 h after now ({now})")]
    ExpiryTooFar { exp: u64, now: u64 },
    #[error("malformed vapid Authorization header: {0}")]
    MalformedAuthorization(&'static str),
    #[error("malformed VAPID JWT: {0}")]
    MalformedJwt(&'static str),
    #[error("VAPID JWT signature does not verify with the key k")]
    BadSignature,
    #[error("VAPID aud is {actual:?}, expected {expected:?}")]
    AudienceMismatch { expected: String, actual: String },
}

impl PushCryptoError {
    /// Only a failing system RNG may pass; every other error is in the data or the code.
    pub fn retry_class(&self) -> RetryClass {
        match self {
            PushCryptoError::Rng => RetryClass::Transient { retry_after: None },
            _ => RetryClass::Permanent,
        }
    }
}

/// Decodes base64url, with or without padding. Standard-alphabet input (`+`, `/`) is accepted
/// too, since stored subscriptions vary (web-push reference §6).
fn decode_lenient(field: &'static str, input: &str) -> Result<Vec<u8>, PushCryptoError> {
    let normalized: String = input
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD
        .decode(normalized)
        .map_err(|_| PushCryptoError::InvalidBase64 { field })
}

fn exact<const N: usize>(field: &'static str, bytes: &[u8]) -> Result<[u8; N], PushCryptoError> {
    bytes
        .try_into()
        .map_err(|_| PushCryptoError::InvalidLength {
            field,
            expected: N,
            actual: bytes.len(),
        })
}

fn parse_point(field: &'static str, bytes: &[u8; 65]) -> Result<PublicKey, PushCryptoError> {
    // SEC1 parsing also takes compressed points; Web Push keys are always uncompressed.
    if bytes[0] != 0x04 {
        return Err(PushCryptoError::NotUncompressed { field });
    }
    PublicKey::from_sec1_bytes(bytes).map_err(|_| PushCryptoError::NotOnCurve { field })
}

fn uncompressed(key: &PublicKey) -> [u8; 65] {
    let bytes = key.to_sec1_bytes();
    let mut out = [0; 65];
    out.copy_from_slice(&bytes);
    out
}

/// Decodes a subscription's `keys.p256dh`: an uncompressed point on P-256 (65 octets, 0x04…).
pub fn parse_p256dh(b64url: &str) -> Result<[u8; 65], PushCryptoError> {
    const FIELD: &str = "p256dh";
    let bytes = exact(FIELD, &decode_lenient(FIELD, b64url)?)?;
    parse_point(FIELD, &bytes)?;
    Ok(bytes)
}

/// Decodes a subscription's `keys.auth`: the 16-octet authentication secret.
pub fn parse_auth(b64url: &str) -> Result<[u8; 16], PushCryptoError> {
    exact("auth", &decode_lenient("auth", b64url)?)
}

/// The RFC 8291 §3.3–3.4 / RFC 8188 §2.2–2.3 derivation, every step kept so that tests can
/// compare each one with RFC 8291 Appendix A. Zeroized on drop.
struct KeySchedule {
    ecdh_secret: [u8; 32],
    prk_key: [u8; 32],
    ikm: [u8; 32],
    prk: [u8; 32],
    cek: [u8; 16],
    nonce: [u8; 12],
}

impl Drop for KeySchedule {
    fn drop(&mut self) {
        self.ecdh_secret.zeroize();
        self.prk_key.zeroize();
        self.ikm.zeroize();
        self.prk.zeroize();
        self.cek.zeroize();
        self.nonce.zeroize();
    }
}

/// `key_info` = "WebPush: info" 0x00 ‖ ua_public ‖ as_public (RFC 8291 §3.4), 144 octets.
fn key_info(ua_public: &[u8; 65], as_public: &[u8; 65]) -> [u8; 144] {
    let mut info = [0; 144];
    info[..14].copy_from_slice(KEY_INFO_PREFIX);
    info[14..79].copy_from_slice(ua_public);
    info[79..].copy_from_slice(as_public);
    info
}

fn key_schedule(
    ecdh_secret: [u8; 32],
    auth: &[u8; 16],
    ua_public: &[u8; 65],
    as_public: &[u8; 65],
    salt: &[u8; 16],
) -> KeySchedule {
    // All output lengths are at most one SHA-256 block, far below HKDF's 255-block limit.
    const OKM_LEN: &str = "HKDF-SHA-256 output length is within bounds";
    let mut ks = KeySchedule {
        ecdh_secret,
        prk_key: [0; 32],
        ikm: [0; 32],
        prk: [0; 32],
        cek: [0; 16],
        nonce: [0; 12],
    };
    // The auth secret is the HKDF salt for the ECDH secret (RFC 8291 §3.3) …
    let (prk_key, hk) = Hkdf::<Sha256>::extract(Some(auth), &ks.ecdh_secret);
    ks.prk_key = prk_key.into();
    hk.expand(&key_info(ua_public, as_public), &mut ks.ikm)
        .expect(OKM_LEN);
    // … and the result is the IKM of the RFC 8188 derivation with the header's salt.
    let (prk, hk) = Hkdf::<Sha256>::extract(Some(salt), &ks.ikm);
    ks.prk = prk.into();
    hk.expand(CEK_INFO, &mut ks.cek).expect(OKM_LEN);
    hk.expand(NONCE_INFO, &mut ks.nonce).expect(OKM_LEN);
    ks
}

fn ecdh(secret: &SecretKey, public: &PublicKey) -> [u8; 32] {
    let shared = secret.diffie_hellman(public);
    (*shared.raw_secret_bytes()).into()
}

/// AES-128-GCM over the one record; with sequence number 0 the nonce is used as derived.
fn seal(ks: &KeySchedule, padded: &[u8]) -> Vec<u8> {
    Aes128Gcm::new(&ks.cek.into())
        .encrypt(&Nonce::<Aes128Gcm>::from(ks.nonce), padded)
        .expect("AES-GCM encryption cannot fail for a record under 4 GiB")
}

/// Encrypts `plaintext` for one subscription (RFC 8291) as an `aes128gcm` body (RFC 8188):
/// the 86-octet header, then one record. A fresh ephemeral key and salt are drawn each call.
/// `record_size` is normally [`DEFAULT_RECORD_SIZE`].
pub fn encrypt(
    subscription_p256dh: &[u8; 65],
    subscription_auth: &[u8; 16],
    plaintext: &[u8],
    record_size: u32,
) -> Result<Vec<u8>, PushCryptoError> {
    let ephemeral =
        agreement::PrivateKey::generate(&agreement::ECDH_P256).map_err(|_| PushCryptoError::Rng)?;
    let salt = <[u8; 16]>::try_generate().map_err(|_| PushCryptoError::Rng)?;
    encrypt_with(
        &ephemeral,
        &salt,
        subscription_p256dh,
        subscription_auth,
        plaintext,
        record_size,
    )
}

/// [`encrypt`] with the ephemeral key and salt given, so tests can replay RFC 8291 Appendix A.
/// Production code must never reuse either.
fn encrypt_with(
    as_private: &agreement::PrivateKey,
    salt: &[u8; 16],
    ua_public: &[u8; 65],
    auth: &[u8; 16],
    plaintext: &[u8],
    record_size: u32,
) -> Result<Vec<u8>, PushCryptoError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(PushCryptoError::PlaintextTooLong {
            len: plaintext.len(),
        });
    }
    // RFC 8291 §4: rs must be greater than plaintext + delimiter + padding + tag.
    let needed = plaintext.len() + 1 + TAG_LEN;
    if record_size as usize <= needed {
        return Err(PushCryptoError::RecordSizeTooSmall {
            rs: record_size,
            needed,
        });
    }
    // Checked here for a clear error; AWS-LC checks the point again.
    parse_point("p256dh", ua_public)?;
    let as_public: [u8; 65] = as_private
        .compute_public_key()
        .ok()
        .and_then(|key| key.as_ref().try_into().ok())
        .ok_or(PushCryptoError::Rng)?;
    let secret = agreement::agree(
        as_private,
        agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public),
        PushCryptoError::NotOnCurve { field: "p256dh" },
        |shared| {
            <[u8; 32]>::try_from(shared)
                .map_err(|_| PushCryptoError::NotOnCurve { field: "p256dh" })
        },
    )?;
    let ks = key_schedule(secret, auth, ua_public, &as_public, salt);

    let mut padded = Vec::with_capacity(plaintext.len() + 1);
    padded.extend_from_slice(plaintext);
    padded.push(LAST_RECORD_DELIMITER);
    let record = seal(&ks, &padded);
    padded.zeroize();

    let mut body = Vec::with_capacity(HEADER_LEN + record.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&record_size.to_be_bytes());
    body.push(65);
    body.extend_from_slice(&as_public);
    body.extend_from_slice(&record);
    Ok(body)
}

/// Decrypts an `aes128gcm` push message body, as the user agent holding `receiver_private`
/// does (RFC 8291 §3, RFC 8188 §2). Refuses anything but one final record.
pub fn decrypt(
    receiver_private: &[u8; 32],
    receiver_p256dh: &[u8; 65],
    auth: &[u8; 16],
    body: &[u8],
) -> Result<Vec<u8>, PushCryptoError> {
    use PushCryptoError::MalformedBody;
    let ua_private = SecretKey::from_slice(receiver_private).map_err(|_| {
        PushCryptoError::InvalidPrivateKey {
            field: "receiver private key",
        }
    })?;
    if uncompressed(&ua_private.public_key()) != *receiver_p256dh {
        return Err(PushCryptoError::KeyMismatch);
    }
    if body.len() < 21 {
        return Err(MalformedBody("shorter than the 21-octet header"));
    }
    let salt: [u8; 16] = body[..16].try_into().expect("16 octets");
    let rs = u32::from_be_bytes(body[16..20].try_into().expect("4 octets"));
    if rs < 18 {
        return Err(MalformedBody("record size below 18"));
    }
    if body[20] != 65 {
        return Err(MalformedBody("keyid is not a 65-octet public key"));
    }
    if body.len() < HEADER_LEN {
        return Err(MalformedBody("truncated in the keyid"));
    }
    let as_public: [u8; 65] = body[21..HEADER_LEN].try_into().expect("65 octets");
    let as_key = parse_point("keyid (sender public key)", &as_public)?;
    let record = &body[HEADER_LEN..];
    if record.len() < 1 + TAG_LEN {
        return Err(MalformedBody("record shorter than delimiter and tag"));
    }
    if record.len() > rs as usize {
        return Err(MalformedBody("more than one record"));
    }

    let ks = key_schedule(
        ecdh(&ua_private, &as_key),
        auth,
        receiver_p256dh,
        &as_public,
        &salt,
    );
    let mut padded = Aes128Gcm::new(&ks.cek.into())
        .decrypt(&Nonce::<Aes128Gcm>::from(ks.nonce), record)
        .map_err(|_| PushCryptoError::DecryptionFailed)?;
    // Padding is zeros after the delimiter; 0x01 would announce a further record.
    while padded.last() == Some(&0) {
        padded.pop();
    }
    if padded.pop() != Some(LAST_RECORD_DELIMITER) {
        padded.zeroize();
        return Err(PushCryptoError::BadPadding);
    }
    Ok(padded)
}

/// The application server's long-lived VAPID signing key (ECDSA P-256, RFC 8292). Its public
/// half is the `applicationServerKey` browsers subscribed with. `Debug` shows only that half.
pub struct VapidKey {
    signing: SigningKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public_key", &self.public_key_base64url())
            .finish_non_exhaustive()
    }
}

/// The JWT claims of RFC 8292 §2, in the order the RFC's example shows them.
#[derive(Serialize, Deserialize)]
struct Claims {
    aud: String,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
}

#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
}

/// What [`verify_vapid`] vouches for: signed claims and the key `k` that signed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VapidClaims {
    pub aud: String,
    pub exp: u64,
    pub sub: Option<String>,
    /// The `k` parameter, uncompressed: compare it with the subscription's
    /// `applicationServerKey`.
    pub public_key: [u8; 65],
}

impl VapidKey {
    /// Reads the private key as stored in configuration: the 32-octet P-256 scalar,
    /// base64url (the form `web-push generate-vapid-keys` prints).
    pub fn from_base64url(private_key: &str) -> Result<Self, PushCryptoError> {
        const FIELD: &str = "VAPID private key";
        let mut bytes = decode_lenient(FIELD, private_key)?;
        // Checked here because `from_slice` would left-pad a short (24 to 31 octet) scalar.
        let parsed = if bytes.len() == 32 {
            SigningKey::from_slice(&bytes)
                .map_err(|_| PushCryptoError::InvalidPrivateKey { field: FIELD })
        } else {
            Err(PushCryptoError::InvalidLength {
                field: FIELD,
                expected: 32,
                actual: bytes.len(),
            })
        };
        bytes.zeroize();
        Ok(Self { signing: parsed? })
    }

    /// A new random key, from the operating system's RNG.
    pub fn generate() -> Result<Self, PushCryptoError> {
        let signing = SigningKey::try_generate().map_err(|_| PushCryptoError::Rng)?;
        Ok(Self { signing })
    }

    /// The private scalar in the form [`VapidKey::from_base64url`] reads, for storing.
    pub fn private_key_base64url(&self) -> SecretString {
        let mut scalar: [u8; 32] = self.signing.to_bytes().into();
        let encoded = URL_SAFE_NO_PAD.encode(scalar);
        scalar.zeroize();
        SecretString::from(encoded)
    }

    /// The public key, uncompressed (65 octets), base64url without padding: the `k` parameter
    /// and the browsers' `applicationServerKey`.
    pub fn public_key_base64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().to_sec1_point(false))
    }

    /// The `Authorization` header value `vapid t=<JWT>, k=<public key>` (RFC 8292 §3) for a
    /// push to `endpoint`. `aud` is the endpoint's origin, so one token serves every endpoint of
    /// a push service until `expires_at_unix`, which must lie in (now, now + 24 h].
    pub fn vapid_header(
        &self,
        endpoint: &Url,
        subject: &str,
        expires_at_unix: u64,
        now_unix: u64,
    ) -> Result<String, PushCryptoError> {
        check_expiry(expires_at_unix, now_unix)?;
        check_subject(subject)?;
        let claims = Claims {
            aud: audience(endpoint)?,
            exp: expires_at_unix,
            sub: Some(subject.to_owned()),
        };
        let claims = serde_json::to_vec(&claims).expect("the claims serialize");
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(JWT_HEADER),
            URL_SAFE_NO_PAD.encode(claims)
        );
        // RFC 7518 §3.4: ES256 in a JWS is the raw 64-octet r ‖ s, not DER.
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(signature.to_bytes());
        Ok(format!(
            "vapid t={signing_input}.{signature}, k={}",
            self.public_key_base64url()
        ))
    }
}

/// RFC 8292 §2: `aud` is the origin of the push resource, `scheme://host[:port]`.
fn audience(endpoint: &Url) -> Result<String, PushCryptoError> {
    if !matches!(endpoint.scheme(), "https" | "http") {
        return Err(PushCryptoError::InvalidEndpoint(
            "scheme is neither https nor http",
        ));
    }
    if endpoint.host().is_none() {
        return Err(PushCryptoError::InvalidEndpoint("no host"));
    }
    Ok(endpoint.origin().ascii_serialization())
}

/// RFC 8292 §2.1: a contact URI, `mailto:` or `https:`.
fn check_subject(subject: &str) -> Result<(), PushCryptoError> {
    let (scheme, rest) = subject
        .split_once(':')
        .ok_or(PushCryptoError::InvalidSubject)?;
    let known = scheme.eq_ignore_ascii_case("mailto") || scheme.eq_ignore_ascii_case("https");
    if !known || rest.trim().is_empty() || subject.chars().any(char::is_whitespace) {
        return Err(PushCryptoError::InvalidSubject);
    }
    Ok(())
}

fn check_expiry(exp: u64, now: u64) -> Result<(), PushCryptoError> {
    if exp <= now {
        return Err(PushCryptoError::Expired { exp, now });
    }
    if exp - now > MAX_VAPID_LIFETIME_SECS {
        return Err(PushCryptoError::ExpiryTooFar { exp, now });
    }
    Ok(())
}

/// Checks an `Authorization: vapid t=…, k=…` value as a push service does (RFC 8292 §3-4):
/// the ES256 signature over the JWT with the key `k`, then `aud` against `expected_aud` (the
/// service's origin) and `exp` against `now_unix`. Unknown parameters are ignored (§3).
pub fn verify_vapid(
    header_value: &str,
    expected_aud: &str,
    now_unix: u64,
) -> Result<VapidClaims, PushCryptoError> {
    use PushCryptoError::{MalformedAuthorization, MalformedJwt};
    let value = header_value.trim();
    let params = match value.split_once(char::is_whitespace) {
        Some((scheme, params)) if scheme.eq_ignore_ascii_case("vapid") => params,
        _ => return Err(MalformedAuthorization("the scheme is not vapid")),
    };
    let (mut token, mut key) = (None, None);
    for param in params.split(',') {
        let (name, value) = param
            .split_once('=')
            .ok_or(MalformedAuthorization("a parameter has no '='"))?;
        let value = value.trim().trim_matches('"');
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "t" => &mut token,
            "k" => &mut key,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(MalformedAuthorization("a parameter appears twice"));
        }
    }
    let token = token.ok_or(MalformedAuthorization("no t parameter"))?;
    let key = key.ok_or(MalformedAuthorization("no k parameter"))?;
    let public_key = exact("VAPID key k", &decode_lenient("VAPID key k", key)?)?;
    let verifying = VerifyingKey::from(parse_point("VAPID key k", &public_key)?);

    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MalformedJwt("not three dot-separated parts"));
    };
    let jose: JoseHeader = decode_json(header).ok_or(MalformedJwt("unreadable header"))?;
    if jose.alg != "ES256" {
        return Err(MalformedJwt("alg is not ES256"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| MalformedJwt("signature is not base64url"))?;
    let signature = Signature::from_slice(&signature)
        .map_err(|_| MalformedJwt("signature is not a 64-octet r ‖ s"))?;
    let signing_input = &token[..header.len() + 1 + claims.len()];
    verifying
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| PushCryptoError::BadSignature)?;

    let claims: Claims = decode_json(claims).ok_or(MalformedJwt("unreadable claims"))?;
    if claims.aud != expected_aud {
        return Err(PushCryptoError::AudienceMismatch {
            expected: expected_aud.to_owned(),
            actual: claims.aud,
        });
    }
    check_expiry(claims.exp, now_unix)?;
    Ok(VapidClaims {
        aud: claims.aud,
        exp: claims.exp,
        sub: claims.sub,
        public_key,
    })
}

fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Option<T> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

#[cfg(test)]
mod tests;
