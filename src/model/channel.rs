//! Small closed vocabularies: channels, API key roles, delivery states and queue lanes.
//!
//! Each is stored and sent as a lower-case word; `as_str` gives the word, `FromStr` takes it back
//! (exactly, as the database writes it), and `ALL` lists the variants so a Postgres CHECK list or
//! an error message can be built from the same source.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A word that is not one of the values of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}; valid values: {}", .valid.join(", "))]
pub struct UnknownValueError {
    /// What was being parsed, e.g. `channel`.
    pub kind: &'static str,
    /// The text given.
    pub value: String,
    /// The accepted words.
    pub valid: &'static [&'static str],
}

/// Declares a fieldless enum whose text form is one fixed lower-case word per variant.
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $($(#[$vmeta:meta])* $variant:ident => $word:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [Self; [$($word),+].len()] = [$(Self::$variant),+];
            /// Every variant's word, in declaration order.
            pub const WORDS: [&'static str; [$($word),+].len()] = [$($word),+];

            /// The word stored in the database and used in the API.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(UnknownValueError {
                        kind: $kind,
                        value: s.to_owned(),
                        valid: &Self::WORDS,
                    }),
                }
            }
        }
    };
}

word_enum! {
    /// A way of reaching a subscriber.
    Channel, "channel" {
        Sms => "sms",
        Email => "email",
        Push => "push",
        /// A call read by a synthesised voice (fixed lines, and mobiles when asked).
        Voice => "voice",
    }
}

/// The providers' own name for a channel: the same words, one meaning.
impl From<Channel> for tocsin_providers::Channel {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::Sms => tocsin_providers::Channel::Sms,
            Channel::Email => tocsin_providers::Channel::Email,
            Channel::Push => tocsin_providers::Channel::Push,
            Channel::Voice => tocsin_providers::Channel::Voice,
        }
    }
}

impl From<tocsin_providers::Channel> for Channel {
    fn from(channel: tocsin_providers::Channel) -> Self {
        match channel {
            tocsin_providers::Channel::Sms => Channel::Sms,
            tocsin_providers::Channel::Email => Channel::Email,
            tocsin_providers::Channel::Push => Channel::Push,
            tocsin_providers::Channel::Voice => Channel::Voice,
        }
    }
}

word_enum! {
    /// What a key (and, with the console, a person) may do on the tenant its role was given on
    /// and every tenant below it (see [`Permission`]).
    Role, "role" {
        Admin => "admin",
        Sender => "sender",
        Drafter => "drafter",
        Reader => "reader",
    }
}

/// What a call needs. Every role reads alerts, their reports and deliveries (addresses masked),
/// topics and schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Send and cancel alerts: the elected official on duty.
    Send,
    /// Add, remove, import, list and export subscribers (personal data).
    ManageSubscribers,
    /// Topics, schedules, usage, the audit log: everything of the tenant.
    Administer,
    /// The commune's saved alert texts (the console's templates).
    ManageTemplates,
}

word_enum! {
    /// Where a tenant stands in the tree: the platform (the host) at the root, groups
    /// (départements, intercommunalities, syndicats) at any depth below it, communes as leaves.
    TenantKind, "tenant kind" {
        Platform => "platform",
        Group => "group",
        Commune => "commune",
    }
}

impl Role {
    /// Whoever may send or administer signs in to the console with a second factor.
    pub const fn needs_second_factor(self) -> bool {
        matches!(self, Self::Sender | Self::Admin)
    }

    pub const fn allows(self, permission: Permission) -> bool {
        match permission {
            Permission::Send => matches!(self, Self::Sender | Self::Admin),
            Permission::ManageSubscribers => matches!(self, Self::Drafter | Self::Admin),
            Permission::Administer => matches!(self, Self::Admin),
            Permission::ManageTemplates => matches!(self, Self::Drafter | Self::Admin),
        }
    }
}

word_enum! {
    /// Where one delivery (one message to one subscriber on one channel) stands.
    DeliveryStatus, "delivery status" {
        /// Waiting in the queue.
        Queued => "queued",
        /// Claimed by a worker, under a lease, that is calling the provider.
        Sending => "sending",
        /// A transient failure: waiting in a retry tier for its next attempt.
        Retrying => "retrying",
        /// Accepted by the provider. For e-mail, which has no delivery receipt, this is
        /// usually the last state reached.
        Sent => "sent",
        /// The provider's delivery receipt confirmed the handset or mailbox got it.
        Delivered => "delivered",
        /// Refused for good, by the provider or after the retries ran out.
        Failed => "failed",
        /// Not sent, or not confirmed, before the alert's deadline.
        Expired => "expired",
    }
}

impl DeliveryStatus {
    /// No further change is expected.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed | Self::Expired)
    }

    /// Whether a delivery in state `self` may move to `next`.
    ///
    /// `Sending` goes to `Retrying` on a transient provider error, back to `Queued` when its
    /// lease ran out or its worker let it go at shutdown, and straight to `Delivered` (a receipt
    /// can arrive before the worker records `Sent`).
    pub const fn can_move_to(self, next: Self) -> bool {
        use DeliveryStatus::*;
        matches!(
            (self, next),
            (Queued, Sending | Failed | Expired)
                | (
                    Sending,
                    Queued | Retrying | Sent | Delivered | Failed | Expired
                )
                | (Retrying, Sending | Queued | Failed | Expired)
                | (Sent, Delivered | Failed | Expired)
        )
    }

    /// Not yet handed to the provider for good: work remains.
    pub const fn is_pending(self) -> bool {
        matches!(self, Self::Queued | Self::Sending | Self::Retrying)
    }
}

word_enum! {
    /// The queue an alert's deliveries go through: urgent alerts never wait behind bulk news.
    Lane, "lane" {
        Urgent => "urgent",
        Bulk => "bulk",
    }
}

impl Lane {
    /// The lane for an alert flagged urgent or not.
    pub const fn for_urgent(urgent: bool) -> Self {
        if urgent { Self::Urgent } else { Self::Bulk }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_through_from_str_display_and_serde() {
        fn check<T>(all: &[T])
        where
            T: Copy + fmt::Debug + PartialEq + fmt::Display + FromStr + Serialize,
            for<'de> T: Deserialize<'de>,
            <T as FromStr>::Err: fmt::Debug,
        {
            for &value in all {
                let word = value.to_string();
                assert_eq!(word.parse::<T>().unwrap(), value);
                let json = serde_json::to_string(&value).unwrap();
                assert_eq!(json, format!("\"{word}\""));
                assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
            }
        }
        check(&Channel::ALL);
        check(&Role::ALL);
        check(&TenantKind::ALL);
        check(&DeliveryStatus::ALL);
        check(&Lane::ALL);
    }

    #[test]
    fn words_are_the_ones_the_database_uses() {
        assert_eq!(Channel::WORDS, ["sms", "email", "push", "voice"]);
        assert_eq!(Role::WORDS, ["admin", "sender", "drafter", "reader"]);
        assert_eq!(
            DeliveryStatus::WORDS,
            [
                "queued",
                "sending",
                "retrying",
                "sent",
                "delivered",
                "failed",
                "expired"
            ]
        );
        assert_eq!(Lane::WORDS, ["urgent", "bulk"]);
        assert_eq!(Channel::Email.as_str(), "email");
    }

    #[test]
    fn unknown_words_list_the_valid_ones() {
        let err = "fax".parse::<Channel>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown channel \"fax\"; valid values: sms, email, push, voice"
        );
        let err = "SMS".parse::<Channel>().unwrap_err();
        assert_eq!(err.value, "SMS");
        let err = "done".parse::<DeliveryStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown delivery status \"done\"; valid values: queued, sending, retrying, sent, \
             delivered, failed, expired"
        );
        assert!(serde_json::from_str::<Lane>("\"normal\"").is_err());
    }

    #[test]
    fn each_role_may_what_its_job_needs() {
        use Permission::*;
        let may = |role: Role| {
            [Send, ManageSubscribers, Administer]
                .into_iter()
                .filter(|p| role.allows(*p))
                .collect::<Vec<_>>()
        };
        assert_eq!(may(Role::Admin), [Send, ManageSubscribers, Administer]);
        assert_eq!(may(Role::Sender), [Send]);
        assert_eq!(may(Role::Drafter), [ManageSubscribers]);
        assert_eq!(may(Role::Reader), []);
    }

    #[test]
    fn final_states() {
        let finals: Vec<_> = DeliveryStatus::ALL
            .iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                &DeliveryStatus::Delivered,
                &DeliveryStatus::Failed,
                &DeliveryStatus::Expired
            ]
        );
    }

    #[test]
    fn final_states_never_move_and_only_unfinished_work_returns_to_queued() {
        for from in DeliveryStatus::ALL {
            for to in DeliveryStatus::ALL {
                if from.is_final() || from == to {
                    assert!(!from.can_move_to(to), "{from} -> {to}");
                }
                if to == DeliveryStatus::Queued {
                    assert_eq!(
                        from.can_move_to(to),
                        matches!(from, DeliveryStatus::Sending | DeliveryStatus::Retrying)
                    );
                }
            }
        }
        assert!(DeliveryStatus::Queued.can_move_to(DeliveryStatus::Sending));
        assert!(DeliveryStatus::Sent.can_move_to(DeliveryStatus::Delivered));
        assert!(!DeliveryStatus::Queued.can_move_to(DeliveryStatus::Sent));
    }

    #[test]
    fn lane_follows_the_urgent_flag() {
        assert_eq!(Lane::for_urgent(true), Lane::Urgent);
        assert_eq!(Lane::for_urgent(false), Lane::Bulk);
    }
}
