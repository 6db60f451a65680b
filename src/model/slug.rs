//! Slugs: the short readable names of tenants and topics (`saint-martin`, `crue-garonne`).
//!
//! A slug is 1 to 64 characters of `a-z`, `0-9` and `-`, starts with a letter or digit, does not
//! end with `-` and has no `--`. Slugs appear in URLs and CSV files, so they are never
//! normalised: `Crue` is refused rather than silently lower-cased.

use std::fmt;
use std::str::FromStr;

/// Longest slug accepted.
pub const MAX_SLUG_LEN: usize = 64;

/// The rule a slug broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("slug is empty")]
    Empty,
    #[error("slug is {len} characters long; at most 64 are allowed")]
    TooLong { len: usize },
    #[error("slug contains {0:?}; only lower-case letters a-z, digits and '-' are allowed")]
    InvalidCharacter(char),
    #[error("slug must start with a letter or a digit, not '-'")]
    LeadingHyphen,
    #[error("slug must not end with '-'")]
    TrailingHyphen,
    #[error("slug must not contain '--'")]
    DoubleHyphen,
}

/// A validated slug.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    /// Checks `input` as it is (no trimming, no case folding).
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        if input.is_empty() {
            return Err(SlugError::Empty);
        }
        if let Some(c) = input
            .chars()
            .find(|&c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
        {
            return Err(SlugError::InvalidCharacter(c));
        }
        // Only ASCII from here on, so bytes are characters.
        if input.len() > MAX_SLUG_LEN {
            return Err(SlugError::TooLong { len: input.len() });
        }
        if input.starts_with('-') {
            return Err(SlugError::LeadingHyphen);
        }
        if input.ends_with('-') {
            return Err(SlugError::TrailingHyphen);
        }
        if input.contains("--") {
            return Err(SlugError::DoubleHyphen);
        }
        Ok(Self(input.to_owned()))
    }

    /// The slug's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Slug {
    type Err = SlugError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for Slug {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_slugs() {
        for input in [
            "a",
            "0",
            "crue-garonne",
            "saint-martin-2",
            "2024-travaux",
            "x1-y2-z3",
        ] {
            assert_eq!(Slug::parse(input).unwrap().as_str(), input);
        }
        let longest = "a".repeat(MAX_SLUG_LEN);
        assert!(Slug::parse(&longest).is_ok());
    }

    #[test]
    fn each_rule_has_its_own_error() {
        assert_eq!(Slug::parse(""), Err(SlugError::Empty));
        assert_eq!(
            Slug::parse(&"a".repeat(65)),
            Err(SlugError::TooLong { len: 65 })
        );
        assert_eq!(Slug::parse("Crue"), Err(SlugError::InvalidCharacter('C')));
        assert_eq!(
            Slug::parse("crue garonne"),
            Err(SlugError::InvalidCharacter(' '))
        );
        assert_eq!(
            Slug::parse("crue_garonne"),
            Err(SlugError::InvalidCharacter('_'))
        );
        assert_eq!(Slug::parse("écoles"), Err(SlugError::InvalidCharacter('é')));
        assert_eq!(Slug::parse(" crue"), Err(SlugError::InvalidCharacter(' ')));
        assert_eq!(Slug::parse("-crue"), Err(SlugError::LeadingHyphen));
        assert_eq!(Slug::parse("-"), Err(SlugError::LeadingHyphen));
        assert_eq!(Slug::parse("crue-"), Err(SlugError::TrailingHyphen));
        assert_eq!(Slug::parse("crue--garonne"), Err(SlugError::DoubleHyphen));
    }

    #[test]
    fn messages_say_which_rule_failed() {
        assert_eq!(
            Slug::parse("Crue").unwrap_err().to_string(),
            "slug contains 'C'; only lower-case letters a-z, digits and '-' are allowed"
        );
        assert_eq!(
            Slug::parse("a--b").unwrap_err().to_string(),
            "slug must not contain '--'"
        );
    }

    #[test]
    fn serde_validates() {
        let slug: Slug = serde_json::from_str("\"crue-garonne\"").unwrap();
        assert_eq!(serde_json::to_string(&slug).unwrap(), "\"crue-garonne\"");
        assert!(serde_json::from_str::<Slug>("\"Crue\"").is_err());
    }
}
