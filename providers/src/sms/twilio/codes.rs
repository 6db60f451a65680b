//! Twilio's error codes that Tocsin knows (sms-providers.md §2.2): what each means in words, and
//! for codes reported in status callbacks, whether a failure is temporary or permanent.
//!
//! Twilio refines code assignments over time and advises against hard logic on rarely seen
//! codes (§2.2, changelog of July 2024), so unknown codes fall back to a family default: 21xxx
//! (API refusals) are permanent, 3xxxx (carrier outcomes) temporary.

/// Authentication failed: bad Account SID, Auth Token or API key.
pub(crate) const AUTHENTICATION_FAILED: u32 = 20003;
/// Too many requests: the account's REST API concurrency limit.
pub(crate) const TOO_MANY_REQUESTS: u32 = 20429;
/// The recipient replied STOP to this sender or Messaging Service.
pub(crate) const OPTED_OUT: u32 = 21610;

/// What an error code returned by the REST API means, for operators; `None` for codes not in
/// the reference.
pub(crate) fn api_meaning(code: u32) -> Option<&'static str> {
    Some(match code {
        AUTHENTICATION_FAILED => {
            "authentication failed: check account_sid, and auth_token or api_key_sid and \
             api_key_secret"
        }
        TOO_MANY_REQUESTS => "too many requests at once for the account (REST concurrency limit)",
        21211 => "invalid To number",
        21408 => "sending to this region is not enabled (Messaging Geo Permissions)",
        OPTED_OUT => "the recipient opted out (replied STOP); they can text START to resubscribe",
        21612 => "this To/From combination cannot be routed by Twilio",
        21614 => "To is not a valid mobile number",
        21606 | 21659 => "the From sender is not valid for this account or destination",
        21617 => "the body exceeds Twilio's 1600-character limit",
        _ => return None,
    })
}

/// Whether a status-callback failure is worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persistence {
    /// The handset or the route may come back (30003 unreachable handset, 30008 unknown error):
    /// one or two delayed retries at most.
    Temporary,
    /// Resending the same text to the same number will meet the same answer (30005 unknown
    /// handset, 30006 landline, 21610 STOP).
    Permanent,
}

/// What an `ErrorCode` of an `undelivered` or `failed` status callback means, and whether it is
/// temporary (§2.2 table). An absent code counts as temporary, like an unknown 3xxxx.
pub(crate) fn delivery_error(code: Option<u32>) -> (Persistence, &'static str) {
    use Persistence::{Permanent, Temporary};
    let Some(code) = code else {
        return (Temporary, "no error code given");
    };
    match code {
        30001 => (Temporary, "queue overflow; lower the sending rate"),
        30002 => (Permanent, "account suspended"),
        30003 => (Temporary, "unreachable destination handset"),
        30004 => (Permanent, "message blocked by the recipient or the carrier"),
        30005 => (Permanent, "unknown destination handset"),
        30006 => (Permanent, "landline or unreachable carrier"),
        30007 => (
            Permanent,
            "message filtered as spam; review sender and content",
        ),
        30008 => (Temporary, "unknown error"),
        OPTED_OUT => (Permanent, "the recipient opted out (replied STOP)"),
        c if (30_000..40_000).contains(&c) => (Temporary, "delivery error not in Tocsin's table"),
        c if (21_000..22_000).contains(&c) => (Permanent, "refusal not in Tocsin's table"),
        // Neither family: Twilio's advice is to avoid hard logic on rare codes, so one more try
        // is allowed, as for an unknown 3xxxx.
        _ => (Temporary, "error not in Tocsin's table"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_codes_follow_the_reference_table() {
        use Persistence::{Permanent, Temporary};
        for (code, expected) in [
            (30001, Temporary),
            (30002, Permanent),
            (30003, Temporary),
            (30004, Permanent),
            (30005, Permanent),
            (30006, Permanent),
            (30007, Permanent),
            (30008, Temporary),
            (21610, Permanent),
            (30999, Temporary),
            (34001, Temporary),
            (21999, Permanent),
            (63016, Temporary),
        ] {
            assert_eq!(delivery_error(Some(code)).0, expected, "{code}");
        }
        assert_eq!(delivery_error(None).0, Temporary);
    }

    #[test]
    fn documented_api_codes_have_words() {
        for code in [
            20003, 20429, 21211, 21408, 21610, 21612, 21614, 21606, 21659, 21617,
        ] {
            assert!(api_meaning(code).is_some(), "{code}");
        }
        assert_eq!(api_meaning(21999), None);
    }
}
