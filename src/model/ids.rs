//! Typed, prefixed identifiers (`ten_…`, `key_…`, `top_…`, `alr_…`, `sub_…`, `dlv_…`).
//!
//! Each identifier is a newtype with a public inner value so the store can bind it directly. Its
//! text form (Display, `FromStr`, serde) is the prefix followed by the UUID in "simple" form (32
//! lower-case hex digits) or by the decimal integer, so an id pasted into the wrong place fails
//! loudly instead of matching another table's row.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The text given is not an identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid identifier: expected `{prefix}` followed by {body}")]
pub struct IdParseError {
    /// The prefix that was expected, such as `alr_`.
    pub prefix: &'static str,
    /// What should follow the prefix, in words.
    pub body: &'static str,
}

const UUID_BODY: &str = "32 hexadecimal digits";
const INT_BODY: &str = "a positive decimal number";

/// Parses the part after a UUID id's prefix: the simple form (32 hex digits) or the hyphenated
/// form (36 characters). Braced and URN forms, which `Uuid::parse_str` also takes, are refused.
fn parse_uuid_body(body: &str) -> Option<Uuid> {
    match body.len() {
        32 | 36 => Uuid::try_parse(body).ok(),
        _ => None,
    }
}

/// Parses the part after an integer id's prefix: ASCII digits only, no sign, no leading zero.
fn parse_int_body(body: &str) -> Option<i64> {
    let canonical = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit())
        && (body == "0" || !body.starts_with('0'));
    if canonical { body.parse().ok() } else { None }
}

/// Implements Display, `FromStr` and serde for an id whose text form is `prefix` + body.
macro_rules! id_text_impls {
    ($name:ident, $prefix:literal, $body:expr, $parse:path, $fmt:expr) => {
        impl $name {
            /// The prefix of this identifier's text form.
            pub const PREFIX: &'static str = $prefix;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($prefix)?;
                let format_body: fn(&Self, &mut fmt::Formatter<'_>) -> fmt::Result = $fmt;
                format_body(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.strip_prefix($prefix)
                    .and_then($parse)
                    .map(Self)
                    .ok_or(IdParseError {
                        prefix: $prefix,
                        body: $body,
                    })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Declares an identifier wrapping a UUID (v7 when created here, so ids sort by creation time).
macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered identifier (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        id_text_impls!($name, $prefix, UUID_BODY, parse_uuid_body, |id, f| {
            fmt::Display::fmt(&id.0.simple(), f)
        });
    };
}

/// Declares an identifier wrapping a database sequence value (`bigint`).
macro_rules! int_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        ///
        /// Sequence values are positive; a negative value would print but not parse back.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        id_text_impls!($name, $prefix, INT_BODY, parse_int_body, |id, f| {
            fmt::Display::fmt(&id.0, f)
        });
    };
}

uuid_id!(
    /// A commune (tenant) using Tocsin: `ten_…`.
    TenantId,
    "ten_"
);
uuid_id!(
    /// An API key of a tenant: `key_…`.
    ApiKeyId,
    "key_"
);
uuid_id!(
    /// A topic citizens subscribe to (flooding, roadworks…): `top_…`.
    TopicId,
    "top_"
);
uuid_id!(
    /// An alert sent by a tenant: `alr_…`.
    AlertId,
    "alr_"
);
uuid_id!(
    /// A person who signs in to the console: `usr_…`.
    UserId,
    "usr_"
);
uuid_id!(
    /// An alert written by a drafter, waiting for a sender's validation: `drf_…`.
    DraftId,
    "drf_"
);
uuid_id!(
    /// A saved alert text of a commune: `tpl_…`.
    TemplateId,
    "tpl_"
);
uuid_id!(
    /// A recurring alert of a tenant: `sch_…`.
    ScheduleId,
    "sch_"
);
int_id!(
    /// A subscribed citizen: `sub_…`.
    SubscriberId,
    "sub_"
);
int_id!(
    /// One message to one subscriber on one channel: `dlv_…`.
    DeliveryId,
    "dlv_"
);

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "0190f2a4-7b1c-7d3e-8f00-123456789abc";

    #[test]
    fn uuid_ids_display_with_prefix_and_simple_form() {
        let id = AlertId(Uuid::parse_str(UUID).unwrap());
        assert_eq!(id.to_string(), "alr_0190f2a47b1c7d3e8f00123456789abc");
        assert_eq!(
            TenantId(id.0).to_string(),
            "ten_0190f2a47b1c7d3e8f00123456789abc"
        );
        assert_eq!(
            ApiKeyId(id.0).to_string(),
            "key_0190f2a47b1c7d3e8f00123456789abc"
        );
        assert_eq!(
            TopicId(id.0).to_string(),
            "top_0190f2a47b1c7d3e8f00123456789abc"
        );
    }

    #[test]
    fn uuid_ids_parse_simple_and_hyphenated_forms() {
        let expected = AlertId(Uuid::parse_str(UUID).unwrap());
        assert_eq!("alr_0190f2a47b1c7d3e8f00123456789abc".parse(), Ok(expected));
        assert_eq!(format!("alr_{UUID}").parse(), Ok(expected));
    }

    #[test]
    fn uuid_ids_round_trip() {
        let id = TopicId::new();
        assert_eq!(id.to_string().parse(), Ok(id));
        assert_eq!(id.0.get_version_num(), 7);
    }

    #[test]
    fn new_uuid_ids_sort_by_creation() {
        let first = AlertId::new();
        let second = AlertId::new();
        assert!(first < second);
    }

    #[test]
    fn wrong_prefix_is_refused_and_error_names_the_expected_one() {
        let err = "ten_0190f2a47b1c7d3e8f00123456789abc"
            .parse::<AlertId>()
            .unwrap_err();
        assert_eq!(err.prefix, "alr_");
        assert_eq!(
            err.to_string(),
            "invalid identifier: expected `alr_` followed by 32 hexadecimal digits"
        );
    }

    #[test]
    fn malformed_uuid_bodies_are_refused() {
        for text in [
            "alr_",
            "alr_0190f2a47b1c7d3e8f00123456789ab",
            "alr_0190f2a47b1c7d3e8f00123456789abcd",
            "alr_{0190f2a4-7b1c-7d3e-8f00-123456789abc}",
            "alr_urn:uuid:0190f2a4-7b1c-7d3e-8f00-123456789abc",
            "alr_0190f2a47b1c7d3e8f00123456789abg",
            "0190f2a47b1c7d3e8f00123456789abc",
            "ALR_0190f2a47b1c7d3e8f00123456789abc",
            " alr_0190f2a47b1c7d3e8f00123456789abc",
        ] {
            assert!(text.parse::<AlertId>().is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn integer_ids_display_and_parse() {
        assert_eq!(SubscriberId(42).to_string(), "sub_42");
        assert_eq!(DeliveryId(7).to_string(), "dlv_7");
        assert_eq!("sub_42".parse(), Ok(SubscriberId(42)));
        assert_eq!("dlv_9223372036854775807".parse(), Ok(DeliveryId(i64::MAX)));
        assert_eq!("dlv_0".parse(), Ok(DeliveryId(0)));
    }

    #[test]
    fn malformed_integer_ids_are_refused() {
        for text in [
            "sub_",
            "sub_-1",
            "sub_+1",
            "sub_01",
            "sub_1.0",
            "sub_ 1",
            "sub_1a",
            "dlv_1",
            "42",
            "sub_9223372036854775808",
        ] {
            let err = text.parse::<SubscriberId>().unwrap_err();
            assert_eq!(err.prefix, "sub_", "{text}");
        }
        assert_eq!(
            "x".parse::<DeliveryId>().unwrap_err().to_string(),
            "invalid identifier: expected `dlv_` followed by a positive decimal number"
        );
    }

    #[test]
    fn serde_uses_the_prefixed_text() {
        let id = AlertId(Uuid::parse_str(UUID).unwrap());
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"alr_0190f2a47b1c7d3e8f00123456789abc\"");
        assert_eq!(serde_json::from_str::<AlertId>(&json).unwrap(), id);

        assert_eq!(
            serde_json::to_string(&SubscriberId(5)).unwrap(),
            "\"sub_5\""
        );
        assert_eq!(
            serde_json::from_str::<SubscriberId>("\"sub_5\"").unwrap(),
            SubscriberId(5)
        );
        assert!(serde_json::from_str::<SubscriberId>("5").is_err());
        let err = serde_json::from_str::<SubscriberId>("\"dlv_5\"").unwrap_err();
        assert!(err.to_string().contains("`sub_`"), "{err}");
    }
}
