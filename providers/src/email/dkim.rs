//! DKIM (RFC 6376): a commune's key, which signs the e-mail sent from its own domain.
//!
//! Signing is lettre's (`Message::sign`). What this module adds around it, and why (each checked
//! against dkimpy, see `smtp/tests/dkim.rs`):
//! - Headers are canonicalised "relaxed", never "simple", which lettre's own
//!   `DkimConfig::default_config` uses: lettre hashes its `DKIM-Signature` header folded as it
//!   is with an empty `b=` (`bh=…; b=` on one line), then sends it folded differently
//!   (`bh=…;` CRLF ` b=…`), so every "simple" header signature fails verification.
//! - lettre hashes an empty body as one CRLF, where "relaxed" wants nothing (RFC 6376 §3.4.4),
//!   so a blank body is refused rather than signed wrongly.
//! - lettre reads only PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), while OpenSSL 3's `genrsa` writes
//!   PKCS#8 (`BEGIN PRIVATE KEY`): both are read here and handed to lettre as PKCS#1.
//! - lettre lists every configured header in `h=` whether the message has it or not, and its
//!   `DkimConfig` owns its key (which is not `Clone`) with a fixed header list. So a key holds
//!   one configuration per header set we send, and [`DkimKey::sign`] refuses a message that
//!   lacks a header its configuration would list.
//! - lettre hashes the first header of a name where verifiers take the last (RFC 6376 §5.4.2):
//!   harmless while each signed header appears once, which lettre's builder ensures.
//! - lettre's key types and the `rsa` key inside them derive `Debug`, which prints the private
//!   exponent and primes: nothing here derives `Debug` over them.

use std::fmt;

use base64::Engine as _;
use lettre::message::{
    Message,
    dkim::{
        DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
        DkimSigningKey,
    },
    header::HeaderName,
};
use rsa::{
    RsaPrivateKey,
    pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, LineEnding},
    pkcs8::{DecodePrivateKey, EncodePublicKey},
    traits::PublicKeyParts,
};

/// The size of a generated key: what mailbox providers expect (RFC 8301 §3.2 requires at least
/// 1024 bits and recommends 2048, as Google does).
const GENERATED_BITS: usize = 2048;
/// The smallest key accepted: a 1024-bit key still verifies but is considered weak.
const MIN_BITS: u64 = 2048;
/// The largest key accepted: the `rsa` crate reads no larger, and signing cost grows fast.
const MAX_BITS: u64 = 4096;

/// The headers every message from the SMTP adapter carries, all signed: what the reader sees
/// (From, To, Subject, Date), what identifies it (Message-ID), and how to read the body.
const SIGNED: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Type",
    "Content-Transfer-Encoding",
];

/// The headers of one-click unsubscription (RFC 8058 §4), which must be signed for mailbox
/// providers to offer it.
const UNSUBSCRIBE: &[&str] = &["List-Unsubscribe", "List-Unsubscribe-Post"];

/// A DKIM signing key for one domain and selector.
pub struct DkimKey {
    selector: String,
    domain: String,
    bits: u64,
    /// Base64 of the DER SubjectPublicKeyInfo: the record's `p=`.
    public_key: String,
    /// Signs a message without `List-Unsubscribe`.
    plain: DkimConfig,
    /// Signs a message with `List-Unsubscribe` and `List-Unsubscribe-Post`.
    unsubscribe: DkimConfig,
}

impl fmt::Debug for DkimKey {
    // Never the key: lettre's and rsa's own `Debug` would print its private parts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DkimKey")
            .field("selector", &self.selector)
            .field("domain", &self.domain)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl DkimKey {
    /// A new RSA-2048 private key, as PKCS#1 PEM (`-----BEGIN RSA PRIVATE KEY-----`), for
    /// [`DkimKey::new`]. Takes a moment: RSA key generation searches for primes.
    pub fn generate_pem() -> String {
        let key = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, GENERATED_BITS)
            .expect("the system's random source works and 2048 bits is a valid RSA size");
        key.to_pkcs1_pem(LineEnding::LF)
            .expect("a generated key encodes")
            .to_string()
    }

    /// Reads a key: `selector` and `domain` name its DNS record
    /// (`{selector}._domainkey.{domain}`), `pem` is the RSA private key (PKCS#1 or unencrypted
    /// PKCS#8 PEM) of 2048 to 4096 bits. Errors say what is wrong, never what the key holds.
    pub fn new(selector: &str, domain: &str, pem: &str) -> Result<DkimKey, String> {
        check_selector(selector)?;
        let domain = check_domain(domain)?;
        let key = read_private_key(pem)?;
        let bits = key.n().bits() as u64;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(format!(
                "the private key has {bits} bits; DKIM keys here have {MIN_BITS} to {MAX_BITS} \
                 (generate a 2048-bit one)"
            ));
        }
        let public_key = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|_| "the public key could not be encoded".to_owned())?;
        let public_key = base64::engine::general_purpose::STANDARD.encode(public_key.as_bytes());
        let pkcs1 = key
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|_| "the private key could not be re-encoded as PKCS#1".to_owned())?;
        let config = |extra: &'static [&'static str]| {
            let signing_key = DkimSigningKey::new(&pkcs1, DkimSigningAlgorithm::Rsa)
                .map_err(|_| "lettre could not read the private key".to_owned())?;
            Ok::<_, String>(DkimConfig::new(
                selector.to_owned(),
                domain.clone(),
                signing_key,
                SIGNED
                    .iter()
                    .chain(extra)
                    .map(|name| HeaderName::new_from_ascii_str(name))
                    .collect(),
                DkimCanonicalization {
                    header: DkimCanonicalizationType::Relaxed,
                    body: DkimCanonicalizationType::Relaxed,
                },
            ))
        };
        Ok(DkimKey {
            selector: selector.to_owned(),
            plain: config(&[])?,
            unsubscribe: config(UNSUBSCRIBE)?,
            domain,
            bits,
            public_key,
        })
    }

    /// The selector (`s=`).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The signing domain (`d=`), lower-cased: the commune's From domain or a parent of it, for
    /// DMARC alignment.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The TXT record to publish, as `(name, value)`:
    /// `("{selector}._domainkey.{domain}", "v=DKIM1; k=rsa; p=…")`. A 2048-bit key's value is
    /// longer than the 255 characters of one DNS character-string: zone files must split it in
    /// several quoted strings, which resolvers join (RFC 6376 §3.6.2.2).
    pub fn dns_record(&self) -> (String, String) {
        (
            format!("{}._domainkey.{}", self.selector, self.domain),
            format!("v=DKIM1; k=rsa; p={}", self.public_key),
        )
    }

    /// Adds a `DKIM-Signature` to a message whose headers are all set and whose body is not
    /// blank; what is sent afterwards must be this message's `formatted()`, unchanged. Signs the
    /// headers of [`SIGNED`], and those of [`UNSUBSCRIBE`] when the message has them.
    pub(crate) fn sign(&self, email: &mut Message) -> Result<(), String> {
        let headers = email.headers();
        let (config, extra) = if headers.get_raw(UNSUBSCRIBE[0]).is_some() {
            (&self.unsubscribe, UNSUBSCRIBE)
        } else {
            (&self.plain, &[][..])
        };
        // lettre would list a missing header in `h=` and hash nothing for it.
        if let Some(missing) = SIGNED
            .iter()
            .chain(extra)
            .find(|name| headers.get_raw(name).is_none())
        {
            return Err(format!("DKIM: the message has no {missing} header to sign"));
        }
        // lettre would replace it: one signature per message.
        if headers.get_raw("DKIM-Signature").is_some() {
            return Err("DKIM: the message is already signed".into());
        }
        let formatted = email.formatted();
        let body = formatted
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(&[][..], |end| &formatted[end + 4..]);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err("DKIM: a blank body cannot be signed".into());
        }
        email.sign(config);
        Ok(())
    }
}

/// Reads PKCS#1 or unencrypted PKCS#8 PEM. The errors name the format, not the content.
fn read_private_key(pem: &str) -> Result<RsaPrivateKey, String> {
    let pem = pem.trim();
    let key = if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs1_pem(pem)
            .map_err(|e| format!("the private key is not a valid PKCS#1 RSA key ({e})"))?
    } else if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| {
            format!("the private key is not a valid PKCS#8 RSA key ({e}); DKIM keys here are RSA")
        })?
    } else if pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err("the private key is encrypted; give it unencrypted".into());
    } else if pem.contains("PUBLIC KEY-----") {
        return Err("this is a public key; the private key is needed".into());
    } else {
        return Err(
            "the private key is not PEM (-----BEGIN RSA PRIVATE KEY----- or \
                    -----BEGIN PRIVATE KEY-----)"
                .into(),
        );
    };
    key.validate()
        .map_err(|_| "the private key is inconsistent (its parts do not match)".to_owned())?;
    Ok(key)
}

/// A selector is one or more DNS labels (RFC 6376 §3.1): letters, digits and inner hyphens.
fn check_selector(selector: &str) -> Result<(), String> {
    if selector.is_empty() || !selector.split('.').all(is_label) {
        return Err(format!(
            "selector {selector:?} must be DNS labels: letters, digits and inner hyphens, such \
             as \"tocsin2026\""
        ));
    }
    Ok(())
}

/// A domain with at least two labels and a top-level label that is not a number; internationalised
/// names in their ASCII (`xn--`) form. Returns it lower-cased.
fn check_domain(domain: &str) -> Result<String, String> {
    let labels: Vec<&str> = domain.split('.').collect();
    let plausible = domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| is_label(label))
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    if !plausible {
        return Err(format!(
            "domain {domain:?} must be a domain name such as \"bras-sur-meuse.fr\" (ASCII: an \
             accented name in its xn-- form)"
        ));
    }
    Ok(domain.to_ascii_lowercase())
}

fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::OnceLock;

    use rsa::{pkcs8::DecodePublicKey, traits::PrivateKeyParts};

    use super::*;

    /// One generated key for the whole test run: generation takes a while.
    pub(crate) fn test_pem() -> &'static str {
        static PEM: OnceLock<String> = OnceLock::new();
        PEM.get_or_init(DkimKey::generate_pem)
    }

    pub(crate) fn test_key() -> DkimKey {
        DkimKey::new("tocsin2026", "Bras-sur-Meuse.fr", test_pem()).unwrap()
    }

    #[test]
    fn the_dns_record_names_the_selector_and_publishes_the_public_key() {
        let key = test_key();
        let (name, value) = key.dns_record();
        assert_eq!(name, "tocsin2026._domainkey.bras-sur-meuse.fr");
        let p = value
            .strip_prefix("v=DKIM1; k=rsa; p=")
            .unwrap_or_else(|| panic!("{value}"));
        let der = base64::engine::general_purpose::STANDARD.decode(p).unwrap();
        let public = rsa::RsaPublicKey::from_public_key_der(&der).unwrap();
        let private = RsaPrivateKey::from_pkcs1_pem(test_pem()).unwrap();
        assert_eq!(public, private.to_public_key());
        assert_eq!(public.n().bits(), 2048);
        // A 2048-bit SubjectPublicKeyInfo: 294 bytes, 392 characters of base64.
        assert_eq!(p.len(), 392);
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = test_key();
        let debug = format!("{key:?} {key:#?}");
        assert_eq!(
            format!("{key:?}"),
            "DkimKey { selector: \"tocsin2026\", domain: \"bras-sur-meuse.fr\", bits: 2048, .. }"
        );
        let private = RsaPrivateKey::from_pkcs1_pem(test_pem()).unwrap();
        for secret in [&private.d().to_string(), &private.primes()[0].to_string()] {
            assert!(!debug.contains(secret.as_str()));
        }
        assert!(!debug.contains(&key.public_key));
    }

    #[test]
    fn sign_refuses_what_lettre_would_sign_wrongly() {
        use lettre::message::header::ContentType;
        let key = test_key();
        let builder = || {
            Message::builder()
                .from("Mairie <alertes@bras-sur-meuse.fr>".parse().unwrap())
                .to("jeanne@example.org".parse().unwrap())
                .subject("Alerte")
                .message_id(Some("<dlv_1@bras-sur-meuse.fr>".into()))
        };
        let mut untyped = builder().body("Texte".to_owned()).unwrap();
        assert_eq!(
            key.sign(&mut untyped),
            Err("DKIM: the message has no Content-Type header to sign".into())
        );
        let mut blank = builder()
            .header(ContentType::TEXT_PLAIN)
            .body(" \n\t\n".to_owned())
            .unwrap();
        assert_eq!(
            key.sign(&mut blank),
            Err("DKIM: a blank body cannot be signed".into())
        );
        let mut email = builder()
            .header(ContentType::TEXT_PLAIN)
            .body("Texte".to_owned())
            .unwrap();
        assert_eq!(key.sign(&mut email), Ok(()));
        assert_eq!(
            key.sign(&mut email),
            Err("DKIM: the message is already signed".into())
        );
    }

    #[test]
    fn a_pkcs8_key_is_read_like_its_pkcs1_form() {
        use rsa::pkcs8::EncodePrivateKey;
        let private = RsaPrivateKey::from_pkcs1_pem(test_pem()).unwrap();
        let pkcs8 = private.to_pkcs8_pem(LineEnding::CRLF).unwrap();
        let key = DkimKey::new("s1", "exemple.fr", &pkcs8).unwrap();
        assert_eq!(key.public_key, test_key().public_key);
    }

    #[test]
    fn bad_selectors_domains_and_keys_are_refused_without_echoing_the_key() {
        let pem = test_pem();
        for selector in ["", "a b", "-s", "s-", "s_1", "s..t", "sélecteur", "s\r\n"] {
            let error = DkimKey::new(selector, "exemple.fr", pem).unwrap_err();
            assert!(error.starts_with("selector "), "{selector:?}: {error}");
        }
        assert!(DkimKey::new("s1.2026", "exemple.fr", pem).is_ok());
        for domain in [
            "exemple",
            "exemple.fr.",
            "127.0.0.1",
            "mairie@exemple.fr",
            "évry.fr",
            "-x.fr",
            "",
        ] {
            let error = DkimKey::new("s1", domain, pem).unwrap_err();
            assert!(error.starts_with("domain "), "{domain:?}: {error}");
        }
        assert!(DkimKey::new("s1", "xn--vry-bma.fr", pem).is_ok());

        let body: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        // A damaged key: cut short, as a bad copy and paste leaves it.
        let damaged = format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
            body[..10].join("\n")
        );
        let public = RsaPrivateKey::from_pkcs1_pem(pem)
            .unwrap()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let small = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024)
            .unwrap()
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap();
        let cases = [
            (body.join("\n"), "is not PEM"),
            (damaged, "not a valid PKCS#1 RSA key"),
            (public, "this is a public key"),
            (small.to_string(), "has 1024 bits"),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----"
                    .into(),
                "encrypted",
            ),
        ];
        for (bad, expected) in cases {
            let error = DkimKey::new("s1", "exemple.fr", &bad).unwrap_err();
            assert!(error.contains(expected), "{error}");
            for line in bad
                .lines()
                .filter(|l| l.len() > 8 && !l.starts_with("-----"))
            {
                assert!(!error.contains(line), "echoes the key: {error}");
            }
        }
    }
}
