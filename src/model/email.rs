//! E-mail addresses, validated practically rather than by the full RFC 5322 grammar.
//!
//! Accepted: `local@domain` with a dot-atom local part (RFC 5322 §3.2.3: no quoting, no leading,
//! trailing or doubled dot) of at most 64 characters (RFC 5321 §4.5.3.1.1) and a domain of
//! ASCII labels with at least one dot; 254 characters at most in all. Known limits: quoted local
//! parts and IP-literal domains are refused, and internationalised domains must be given in their
//! ASCII (`xn--`) form. Non-ASCII local parts (RFC 6531) are accepted but need an SMTPUTF8 relay.

use std::fmt;
use std::str::FromStr;

/// Longest address accepted (RFC 5321 path limit of 256 minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest local part (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART_LEN: usize = 64;
/// Longest domain label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Characters that RFC 5322 allows in a local part only inside quotes.
const LOCAL_SPECIALS: &str = "()<>[]:;@\\,\"";

/// Why an e-mail address was refused. Display texts do not repeat the address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("e-mail address is empty")]
    Empty,
    #[error("e-mail address is {len} characters long; at most 254 are allowed")]
    TooLong { len: usize },
    #[error("e-mail address contains a space or a control character")]
    Whitespace,
    #[error("e-mail address has no @")]
    MissingAt,
    #[error("e-mail address has more than one @")]
    MultipleAt,
    #[error("e-mail address has nothing before the @")]
    EmptyLocalPart,
    #[error("the part before the @ is {len} characters long; at most 64 are allowed")]
    LocalPartTooLong { len: usize },
    #[error("the part before the @ contains {0:?}, which is not allowed")]
    LocalPartCharacter(char),
    #[error("the part before the @ cannot start or end with a dot or contain two dots in a row")]
    LocalPartDots,
    #[error("e-mail domain must contain a dot, e.g. mairie.fr")]
    DomainWithoutDot,
    #[error("e-mail domain has an empty part (two dots in a row, or a leading or trailing dot)")]
    EmptyDomainLabel,
    #[error(
        "e-mail domain contains {0:?}; only letters a-z, digits, dashes and dots are allowed \
         (write internationalised domains in their xn-- form)"
    )]
    DomainCharacter(char),
    #[error("a part of the e-mail domain starts or ends with a dash")]
    DomainLabelHyphen,
    #[error("a part of the e-mail domain is longer than 63 characters")]
    DomainLabelTooLong,
}

/// A validated e-mail address: trimmed, domain lower-cased, local part kept as given.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress {
    address: String,
    /// Byte index of the `@`.
    at: usize,
}

impl EmailAddress {
    /// Validates and normalises an address (see the module documentation for the rules).
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(EmailError::Empty);
        }
        let len = text.chars().count();
        if len > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong { len });
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Whitespace);
        }
        let (local, domain) = match text.split_once('@') {
            None => return Err(EmailError::MissingAt),
            Some((_, domain)) if domain.contains('@') => return Err(EmailError::MultipleAt),
            Some(parts) => parts,
        };
        check_local_part(local)?;
        check_domain(domain)?;
        Ok(Self {
            address: format!("{local}@{}", domain.to_ascii_lowercase()),
            at: local.len(),
        })
    }

    /// The whole address, e.g. `Jean.Dupont@mairie.fr`.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part before the `@`, as given.
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The domain, lower-cased.
    pub fn domain(&self) -> &str {
        &self.address[self.at + 1..]
    }

    /// A form safe for logs and screens: the first character of the local part and the domain,
    /// e.g. `a•••@b.fr`. The number of dots does not reveal the local part's length.
    pub fn masked(&self) -> String {
        let first = self.local_part().chars().next().unwrap_or('•');
        format!("{first}•••@{}", self.domain())
    }
}

fn check_local_part(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    let len = local.chars().count();
    if len > MAX_LOCAL_PART_LEN {
        return Err(EmailError::LocalPartTooLong { len });
    }
    if let Some(c) = local.chars().find(|&c| LOCAL_SPECIALS.contains(c)) {
        return Err(EmailError::LocalPartCharacter(c));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::LocalPartDots);
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), EmailError> {
    if !domain.contains('.') {
        return Err(EmailError::DomainWithoutDot);
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(EmailError::EmptyDomainLabel);
        }
        if let Some(c) = label
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || c == '-'))
        {
            return Err(EmailError::DomainCharacter(c));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(EmailError::DomainLabelHyphen);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(EmailError::DomainLabelTooLong);
        }
    }
    Ok(())
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl FromStr for EmailAddress {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

impl serde::Serialize for EmailAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.address)
    }
}

impl<'de> serde::Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> EmailAddress {
        EmailAddress::parse(input).unwrap_or_else(|err| panic!("{input:?} refused: {err}"))
    }

    fn refused(input: &str) -> EmailError {
        EmailAddress::parse(input).expect_err(input)
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for input in [
            "jean.dupont@mairie.fr",
            "j@b.fr",
            "jean+alertes@exemple.org",
            "o'brien@mail.example.co.uk",
            "user_name-1@sub-domain.example.com",
            "x@xn--mairie-saint-tienne-bxb.fr",
        ] {
            assert_eq!(ok(input).as_str(), input);
        }
    }

    #[test]
    fn address_is_trimmed_and_domain_lowercased_but_not_local_part() {
        let email = ok("  Jean.Dupont@Mairie.FR \n");
        assert_eq!(email.as_str(), "Jean.Dupont@mairie.fr");
        assert_eq!(email.local_part(), "Jean.Dupont");
        assert_eq!(email.domain(), "mairie.fr");
    }

    #[test]
    fn structural_errors() {
        assert_eq!(refused(""), EmailError::Empty);
        assert_eq!(refused("   "), EmailError::Empty);
        assert_eq!(refused("jean.mairie.fr"), EmailError::MissingAt);
        assert_eq!(refused("jean@dupont@mairie.fr"), EmailError::MultipleAt);
        assert_eq!(refused("@mairie.fr"), EmailError::EmptyLocalPart);
        assert_eq!(refused("jean@localhost"), EmailError::DomainWithoutDot);
        assert_eq!(refused("jean@"), EmailError::DomainWithoutDot);
    }

    #[test]
    fn spaces_and_control_characters_are_refused() {
        assert_eq!(refused("jean dupont@mairie.fr"), EmailError::Whitespace);
        assert_eq!(refused("jean@mairie .fr"), EmailError::Whitespace);
        assert_eq!(refused("jean\u{a0}@mairie.fr"), EmailError::Whitespace);
        assert_eq!(refused("jean\u{7}@mairie.fr"), EmailError::Whitespace);
    }

    #[test]
    fn local_part_rules() {
        let long = "a".repeat(65);
        assert_eq!(
            refused(&format!("{long}@b.fr")),
            EmailError::LocalPartTooLong { len: 65 }
        );
        assert!(EmailAddress::parse(&format!("{}@b.fr", "a".repeat(64))).is_ok());
        assert_eq!(refused(".jean@b.fr"), EmailError::LocalPartDots);
        assert_eq!(refused("jean.@b.fr"), EmailError::LocalPartDots);
        assert_eq!(refused("je..an@b.fr"), EmailError::LocalPartDots);
        assert_eq!(
            refused("jean,dupont@b.fr"),
            EmailError::LocalPartCharacter(',')
        );
        assert_eq!(refused("<jean@b.fr>"), EmailError::LocalPartCharacter('<'));
        assert_eq!(
            refused("\"jean\"@b.fr"),
            EmailError::LocalPartCharacter('"')
        );
    }

    #[test]
    fn domain_rules() {
        assert_eq!(refused("jean@mairie..fr"), EmailError::EmptyDomainLabel);
        assert_eq!(refused("jean@.mairie.fr"), EmailError::EmptyDomainLabel);
        assert_eq!(refused("jean@mairie.fr."), EmailError::EmptyDomainLabel);
        assert_eq!(refused("jean@-mairie.fr"), EmailError::DomainLabelHyphen);
        assert_eq!(refused("jean@mairie-.fr"), EmailError::DomainLabelHyphen);
        assert_eq!(
            refused("jean@mairie_x.fr"),
            EmailError::DomainCharacter('_')
        );
        assert_eq!(refused("jean@étienne.fr"), EmailError::DomainCharacter('é'));
        assert_eq!(
            refused("jean@[127.0.0.1]"),
            EmailError::DomainCharacter('[')
        );
        let label = "a".repeat(64);
        assert_eq!(
            refused(&format!("j@{label}.fr")),
            EmailError::DomainLabelTooLong
        );
    }

    #[test]
    fn total_length_is_limited() {
        let domain = format!(
            "{}.{}.{}.fr",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63)
        );
        let at_limit = format!("{}@{domain}", "x".repeat(MAX_EMAIL_LEN - domain.len() - 1));
        assert_eq!(at_limit.len(), 254);
        assert!(EmailAddress::parse(&at_limit).is_ok());
        let over = format!("y{at_limit}");
        assert_eq!(refused(&over), EmailError::TooLong { len: 255 });
        assert_eq!(
            refused(&over).to_string(),
            "e-mail address is 255 characters long; at most 254 are allowed"
        );
    }

    #[test]
    fn masked_keeps_only_the_first_character_and_the_domain() {
        assert_eq!(ok("alice@b.fr").masked(), "a•••@b.fr");
        assert_eq!(ok("z@Mairie.fr").masked(), "z•••@mairie.fr");
    }

    #[test]
    fn serde_round_trip_validates() {
        let email: EmailAddress = serde_json::from_str("\" Jean@Mairie.fr\"").unwrap();
        assert_eq!(serde_json::to_string(&email).unwrap(), "\"Jean@mairie.fr\"");
        let err = serde_json::from_str::<EmailAddress>("\"jean\"").unwrap_err();
        assert!(err.to_string().contains("no @"), "{err}");
    }
}
