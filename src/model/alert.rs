//! A new alert as submitted (`AlertDraft`) and as accepted for sending (`ValidAlert`).
//!
//! Validation checks every field and fills in the defaults (both channels, a subject drawn from
//! the text), so that what is stored and sent is exactly what was checked. The first fault found
//! is returned, naming its field for the API error.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use super::channel::{Channel, Lane};
use super::communes::{CommuneChoice, Communes};
use super::local_time::Moment;
use super::slug::Slug;
use super::sms_text::{SmsLength, to_gsm7, validate_sms_text};
use super::text::{check_body, check_line, to_safe_line};

/// Most characters in the text of an alert sent by e-mail.
pub const MAX_EMAIL_TEXT_CHARS: usize = 100_000;
/// Most characters in a subject given by the sender.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// How long an urgent alert may take to reach everyone before what is left expires: a storm
/// warning is useless the next day.
pub const URGENT_EXPIRY: Duration = Duration::from_secs(6 * 3600);
/// The same for routine alerts.
pub const ROUTINE_EXPIRY: Duration = Duration::from_secs(24 * 3600);
/// Bounds of an expiry given by the sender, in seconds: one minute to one week.
pub const EXPIRES_IN_RANGE: std::ops::RangeInclusive<u64> = 60..=7 * 24 * 3600;
/// About how many characters of the text's first line make a default subject.
const DERIVED_SUBJECT_CHARS: usize = 80;

/// A new alert as the API receives it. Unknown fields are refused, so that a misspelt
/// `"chanels": ["email"]` cannot silently send SMS as well.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertDraft {
    /// The topic's slug.
    pub topic: String,
    /// The message, sent as is by SMS and as the body of the e-mail.
    pub text: String,
    /// The e-mail subject; derived from the text when absent or blank.
    #[serde(default)]
    pub subject: Option<String>,
    /// Urgent alerts go through the urgent lane and say "Alerte" in their default subject.
    #[serde(default)]
    pub urgent: bool,
    /// `"sms"` and/or `"email"`; both when absent.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// Seconds after which nothing more is sent; 6 h for urgent alerts, 24 h for others.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// When to start, later: `2026-12-01 07:00` (the commune's local time) or RFC 3339.
    #[serde(default)]
    pub scheduled_at: Option<String>,
    /// Rewrite the text to stay in GSM-7 (`ê` → `e`, `’` → `'`…): more characters per SMS.
    #[serde(default)]
    pub gsm7: bool,
    /// For a group: the member communes it goes to (`"all"` or their slugs).
    #[serde(default)]
    pub communes: Option<Communes>,
    /// A drill: every message begins with [`EXERCISE_PREFIX`], and the alert counts apart.
    #[serde(default)]
    pub exercise: bool,
    /// Calls not confirmed (no answer, busy, hung up before the end, an answering machine) are
    /// placed again until the citizen presses 1, up to `[voice] max_calls`.
    #[serde(default)]
    pub until_acknowledged: bool,
}

/// What every message of an exercise begins with, so that no citizen takes a drill for a
/// disaster. Its dash is not GSM-7: `gsm7` rewrites it to `-`, as the dry run shows.
pub const EXERCISE_PREFIX: &str = "EXERCICE – ";

/// An alert that passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidAlert {
    pub topic: Slug,
    /// The text trimmed and NFC-normalised: what is sent and what `sms_length` measured.
    pub text: String,
    /// The e-mail subject, given or derived; one line.
    pub subject: String,
    pub lane: Lane,
    /// Deduplicated, in the order of [`Channel::ALL`]. Every channel when the request named
    /// none; see [`ValidAlert::channels_for`].
    pub channels: Vec<Channel>,
    /// The request named its channels (`channels`), rather than taking the defaults.
    pub channels_named: bool,
    /// The SMS length, when SMS is among the channels.
    pub sms_length: Option<SmsLength>,
    /// How long after its start what is left unsent expires.
    pub expires_in: Duration,
    /// When it was asked to start; at once when absent.
    #[serde(skip)]
    pub scheduled_at: Option<Moment>,
    /// For a group's alert: the member communes it goes to.
    pub communes: Option<CommuneChoice>,
    /// A drill: its text and subject begin with [`EXERCISE_PREFIX`].
    pub exercise: bool,
    /// Its calls are placed again until confirmed.
    pub until_acknowledged: bool,
    /// SHA-256 of the request as normalised (topic, text, subject as given, urgency, channels):
    /// two requests with one idempotency key must agree on it.
    pub fingerprint: [u8; 32],
}

impl ValidAlert {
    /// The channels the alert goes on for a commune: those it named, or, when it named none,
    /// every channel but voice unless the commune turned voice on (calls cost more and wake
    /// people).
    pub fn channels_for(&self, voice_enabled: bool) -> Vec<Channel> {
        self.channels
            .iter()
            .copied()
            .filter(|&c| c != Channel::Voice || self.channels_named || voice_enabled)
            .collect()
    }

    /// Its calls go to mobiles too, not only to fixed lines: it named voice itself.
    pub fn calls_mobiles(&self) -> bool {
        self.channels_named && self.channels.contains(&Channel::Voice)
    }
}

/// A field of a draft that cannot be accepted, with a message for the API user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The field at fault: `topic`, `channels`, `text` or `subject`.
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl AlertDraft {
    /// Checks the draft and fills in its defaults.
    pub fn validate(&self) -> Result<ValidAlert, FieldError> {
        let topic =
            Slug::parse(&self.topic).map_err(|err| FieldError::new("topic", err.to_string()))?;
        let channels = parse_channels(self.channels.as_deref())?;

        let given: String = self.text.trim().nfc().collect();
        if given.is_empty() {
            return Err(FieldError::new("text", "text is empty"));
        }
        let rewrite = |text: &str| {
            if self.gsm7 {
                to_gsm7(text)
            } else {
                text.to_owned()
            }
        };
        let given = rewrite(&given);
        let text = if self.exercise {
            format!("{}{given}", rewrite(EXERCISE_PREFIX))
        } else {
            given.clone()
        };
        check_body(&text).map_err(|err| FieldError::new("text", format!("text {err}")))?;
        let sms_length = if channels.contains(&Channel::Sms) {
            Some(validate_sms_text(&text).map_err(|err| FieldError::new("text", err.to_string()))?)
        } else {
            None
        };
        if channels.contains(&Channel::Email) {
            let chars = text.chars().count();
            if chars > MAX_EMAIL_TEXT_CHARS {
                return Err(FieldError::new(
                    "text",
                    format!(
                        "text is {chars} characters long; at most {MAX_EMAIL_TEXT_CHARS} are \
                         allowed for e-mail"
                    ),
                ));
            }
        }

        let given_subject = match self.subject.as_deref().map(str::trim) {
            Some(subject) if !subject.is_empty() => Some(check_subject(subject)?),
            _ => None,
        };
        let expires_in = match self.expires_in {
            None if self.urgent => URGENT_EXPIRY,
            None => ROUTINE_EXPIRY,
            Some(seconds) if EXPIRES_IN_RANGE.contains(&seconds) => Duration::from_secs(seconds),
            Some(_) => {
                return Err(FieldError::new(
                    "expires_in",
                    format!(
                        "must be between {} and {} seconds (one minute to one week)",
                        EXPIRES_IN_RANGE.start(),
                        EXPIRES_IN_RANGE.end()
                    ),
                ));
            }
        };
        let scheduled_at = self
            .scheduled_at
            .as_deref()
            .map(|text| text.parse::<Moment>())
            .transpose()
            .map_err(|problem| FieldError::new("scheduled_at", problem))?;
        let communes = self
            .communes
            .as_ref()
            .map(Communes::validate)
            .transpose()
            .map_err(|problem| FieldError::new("communes", problem))?;
        let fingerprint = fingerprint(
            self,
            &topic,
            &text,
            given_subject.as_deref(),
            &channels,
            scheduled_at,
            communes.as_ref(),
        );
        let subject = given_subject.unwrap_or_else(|| derive_subject(&given, self.urgent));
        let subject = if self.exercise {
            format!("{EXERCISE_PREFIX}{subject}")
        } else {
            subject
        };

        Ok(ValidAlert {
            topic,
            text,
            subject,
            lane: Lane::for_urgent(self.urgent),
            channels,
            channels_named: self.channels.is_some(),
            sms_length,
            expires_in,
            scheduled_at,
            communes,
            exercise: self.exercise,
            until_acknowledged: self.until_acknowledged,
            fingerprint,
        })
    }
}

/// Parses channel names (case and surrounding spaces ignored); both channels when absent.
fn parse_channels(names: Option<&[String]>) -> Result<Vec<Channel>, FieldError> {
    let Some(names) = names else {
        return Ok(Channel::ALL.to_vec());
    };
    let valid = Channel::WORDS.join(", ");
    if names.is_empty() {
        return Err(FieldError::new(
            "channels",
            format!("at least one channel is required; valid channels: {valid}"),
        ));
    }
    let mut wanted = Vec::with_capacity(names.len());
    for name in names {
        let channel = name
            .trim()
            .to_ascii_lowercase()
            .parse::<Channel>()
            .map_err(|_| {
                FieldError::new(
                    "channels",
                    format!("unknown channel {name:?}; valid channels: {valid}"),
                )
            })?;
        wanted.push(channel);
    }
    Ok(Channel::ALL
        .iter()
        .copied()
        .filter(|c| wanted.contains(c))
        .collect())
}

/// Hashes what a request asks for, after normalisation, so that the same request sent again
/// (spaces, channel order or case aside) matches and any other request does not.
fn fingerprint(
    draft: &AlertDraft,
    topic: &Slug,
    text: &str,
    subject: Option<&str>,
    channels: &[Channel],
    scheduled_at: Option<Moment>,
    communes: Option<&CommuneChoice>,
) -> [u8; 32] {
    let AlertDraft {
        urgent,
        expires_in,
        gsm7,
        exercise,
        until_acknowledged,
        ..
    } = *draft;
    // A request that names no channels is fingerprinted with the defaults it had before voice
    // existed, so that one replayed across that upgrade still matches.
    let channels: Vec<Channel> = if draft.channels.is_some() {
        channels.to_vec()
    } else {
        channels
            .iter()
            .copied()
            .filter(|&c| c != Channel::Voice)
            .collect()
    };
    let mut canonical = serde_json::json!({
        "v": 1,
        "topic": topic.as_str(),
        "text": text,
        "subject": subject,
        "urgent": urgent,
        "channels": channels,
    });
    // Only when given, so that requests fingerprinted before the field existed still match.
    if let Some(seconds) = expires_in {
        canonical["expires_in"] = seconds.into();
    }
    match scheduled_at {
        Some(Moment::Absolute(at)) => canonical["scheduled_at"] = at.to_rfc3339().into(),
        Some(Moment::Local(at)) => canonical["scheduled_at_local"] = at.to_string().into(),
        None => {}
    }
    if gsm7 {
        canonical["gsm7"] = true.into();
    }
    if exercise {
        canonical["exercise"] = true.into();
    }
    if until_acknowledged {
        canonical["until_acknowledged"] = true.into();
    }
    match communes {
        Some(CommuneChoice::All) => canonical["communes"] = "all".into(),
        Some(CommuneChoice::Only(slugs)) => {
            canonical["communes"] = slugs.iter().map(Slug::as_str).collect::<Vec<_>>().into();
        }
        None => {}
    }
    Sha256::digest(canonical.to_string().as_bytes()).into()
}

/// Checks a subject given by the sender (already trimmed and not empty) against the rule every
/// subject follows ([`check_line`]).
fn check_subject(subject: &str) -> Result<String, FieldError> {
    check_line(subject).map_err(|err| FieldError::new("subject", format!("subject {err}")))?;
    let subject: String = subject.nfc().collect();
    let chars = subject.chars().count();
    if chars > MAX_SUBJECT_CHARS {
        return Err(FieldError::new(
            "subject",
            format!("subject is {chars} characters long; at most {MAX_SUBJECT_CHARS} are allowed"),
        ));
    }
    Ok(subject)
}

/// "Alerte : " or "Information : " followed by the text's first non-blank line, made safe by the
/// same rule as a given subject ([`to_safe_line`]), cut at a word boundary near
/// [`DERIVED_SUBJECT_CHARS`] characters.
fn derive_subject(text: &str, urgent: bool) -> String {
    let prefix = if urgent {
        "Alerte : "
    } else {
        "Information : "
    };
    let line = text
        .lines()
        .map(to_safe_line)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    if line.chars().count() <= DERIVED_SUBJECT_CHARS {
        return format!("{prefix}{line}");
    }
    let cut: String = line.chars().take(DERIVED_SUBJECT_CHARS).collect();
    // Cut before the word that straddles the limit; a single word longer than the limit is cut
    // where it stands.
    let next_is_space = line
        .chars()
        .nth(DERIVED_SUBJECT_CHARS)
        .is_some_and(char::is_whitespace);
    let kept = if next_is_space {
        cut.as_str()
    } else {
        cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head)
    };
    let kept = kept.trim_end_matches([' ', ',', ';', ':', '-', '–', '—']);
    format!("{prefix}{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sms_text::SmsEncoding;

    fn draft(text: &str) -> AlertDraft {
        AlertDraft {
            topic: "crue-garonne".into(),
            text: text.into(),
            ..AlertDraft::default()
        }
    }

    fn field_error(draft: &AlertDraft) -> FieldError {
        draft.validate().expect_err("draft should be refused")
    }

    #[test]
    fn an_exercise_says_so_first_in_its_text_and_subject() {
        let exercise = AlertDraft {
            exercise: true,
            urgent: true,
            ..draft("Crue de la Meuse.")
        };
        let alert = exercise.validate().unwrap();
        assert_eq!(alert.text, "EXERCICE – Crue de la Meuse.");
        assert_eq!(alert.subject, "EXERCICE – Alerte : Crue de la Meuse.");
        // The dash is UCS-2; the GSM-7 rewrite keeps the drill one segment cheaper.
        assert_eq!(alert.sms_length.unwrap().encoding, SmsEncoding::Ucs2);
        let rewritten = AlertDraft {
            gsm7: true,
            ..exercise.clone()
        };
        assert_eq!(
            rewritten.validate().unwrap().text,
            "EXERCICE - Crue de la Meuse."
        );
        // A drill and a real alert are different requests.
        let real = AlertDraft {
            exercise: false,
            ..exercise
        };
        assert_ne!(real.validate().unwrap().fingerprint, alert.fingerprint);
    }

    #[test]
    fn a_minimal_draft_gets_every_channel_bulk_lane_and_a_subject() {
        let alert = draft("  Coupure d'eau demain de 8h a 12h.\nMerci.  ")
            .validate()
            .unwrap();
        assert_eq!(alert.topic.as_str(), "crue-garonne");
        assert_eq!(alert.text, "Coupure d'eau demain de 8h a 12h.\nMerci.");
        assert_eq!(
            alert.subject,
            "Information : Coupure d'eau demain de 8h a 12h."
        );
        assert_eq!(alert.lane, Lane::Bulk);
        // Every channel, voice only where the commune turned it on, and then to fixed lines.
        assert_eq!(
            alert.channels_for(false),
            [Channel::Sms, Channel::Email, Channel::Push]
        );
        assert_eq!(alert.channels_for(true), Channel::ALL);
        assert!(!alert.calls_mobiles());
        let length = alert.sms_length.unwrap();
        assert_eq!(
            (length.encoding, length.units, length.segments),
            (SmsEncoding::Gsm7, 40, 1)
        );
    }

    #[test]
    fn urgent_alerts_use_the_urgent_lane_and_say_alerte() {
        let mut d = draft("Crue : évacuez les quais.");
        d.urgent = true;
        let alert = d.validate().unwrap();
        assert_eq!(alert.lane, Lane::Urgent);
        assert_eq!(alert.subject, "Alerte : Crue : évacuez les quais.");
    }

    #[test]
    fn topic_must_be_a_slug() {
        let mut d = draft("x");
        d.topic = "Crue Garonne".into();
        let err = field_error(&d);
        assert_eq!(err.field, "topic");
        assert!(err.message.contains("'C'"), "{err}");
    }

    #[test]
    fn text_must_not_be_blank() {
        let err = field_error(&draft(" \n\t "));
        assert_eq!(err, FieldError::new("text", "text is empty"));
        let mut d = draft("");
        d.channels = Some(vec!["email".into()]);
        assert_eq!(field_error(&d).field, "text");
    }

    #[test]
    fn channels_are_parsed_deduplicated_and_ordered() {
        let mut d = draft("x");
        d.channels = Some(vec!["email".into(), " SMS ".into(), "email".into()]);
        assert_eq!(
            d.validate().unwrap().channels,
            [Channel::Sms, Channel::Email]
        );
        d.channels = Some(vec!["email".into()]);
        let alert = d.validate().unwrap();
        assert_eq!(alert.channels, [Channel::Email]);
        assert_eq!(alert.sms_length, None);
    }

    #[test]
    fn unknown_or_missing_channels_are_refused() {
        let mut d = draft("x");
        d.channels = Some(vec!["sms".into(), "fax".into()]);
        assert_eq!(
            field_error(&d),
            FieldError::new(
                "channels",
                "unknown channel \"fax\"; valid channels: sms, email, push, voice"
            )
        );
        d.channels = Some(vec![]);
        assert_eq!(
            field_error(&d).to_string(),
            "channels: at least one channel is required; valid channels: sms, email, push, voice"
        );
    }

    #[test]
    fn sms_length_is_checked_only_when_sms_is_sent() {
        let long = "ê".repeat(700);
        let err = field_error(&draft(&long));
        assert_eq!(err.field, "text");
        assert!(
            err.message
                .starts_with("text needs 11 SMS segments in UCS-2"),
            "{err}"
        );

        let mut d = draft(&long);
        d.channels = Some(vec!["email".into()]);
        assert!(d.validate().is_ok());
    }

    #[test]
    fn email_text_is_limited() {
        let mut d = draft(&"a".repeat(MAX_EMAIL_TEXT_CHARS + 1));
        d.channels = Some(vec!["email".into()]);
        let err = field_error(&d);
        assert_eq!(err.field, "text");
        assert_eq!(
            err.message,
            "text is 100001 characters long; at most 100000 are allowed for e-mail"
        );
        d.text.pop();
        assert!(d.validate().is_ok());
    }

    #[test]
    fn text_is_nfc_normalised() {
        let alert = draft("e\u{301}cole").validate().unwrap();
        assert_eq!(alert.text, "école");
        assert_eq!(alert.sms_length.unwrap().encoding, SmsEncoding::Gsm7);
    }

    #[test]
    fn given_subject_is_trimmed_and_checked() {
        let mut d = draft("x");
        d.subject = Some("  Travaux rue Pasteur ".into());
        assert_eq!(d.validate().unwrap().subject, "Travaux rue Pasteur");

        d.subject = Some("   ".into());
        assert_eq!(d.validate().unwrap().subject, "Information : x");

        d.subject = Some("Ligne 1\nLigne 2".into());
        assert_eq!(
            field_error(&d),
            FieldError::new("subject", "subject must be a single line")
        );
        for nasty in [
            "a\u{202E}b",
            "a\u{2028}b",
            "=?utf-8?b?QQ0KQmNjOiB4QHkuZnI=?=",
        ] {
            d.subject = Some(nasty.into());
            assert_eq!(field_error(&d).field, "subject", "{nasty:?}");
        }

        d.subject = Some("Tab\there".into());
        assert_eq!(field_error(&d).field, "subject");

        d.subject = Some("é".repeat(MAX_SUBJECT_CHARS));
        assert!(d.validate().is_ok());
        d.subject = Some("é".repeat(MAX_SUBJECT_CHARS + 1));
        assert_eq!(
            field_error(&d).message,
            "subject is 201 characters long; at most 200 are allowed"
        );
    }

    #[test]
    fn control_characters_in_the_text_are_refused_naming_the_text() {
        let err = field_error(&draft("Alerte\0crue"));
        assert_eq!(err.field, "text");
        assert!(err.message.contains("U+0000"), "{err}");
    }

    #[test]
    fn every_subject_follows_one_rule_however_it_was_made() {
        // The text may hold what a subject may not (a tab, a bidi override, U+2028, an encoded
        // word): the derived subject is made safe by the same rule a given one is checked by.
        let d = draft("Crue\t\u{202E}urgente\u{2028}=?utf-8?q?A=0D=0AX?= fin");
        let subject = d.validate().unwrap().subject;
        assert_eq!(super::check_line(&subject), Ok(()), "{subject:?}");
        let mut d = draft("\u{1b}[2J Crue");
        d.channels = Some(vec!["email".into()]);
        assert_eq!(field_error(&d).field, "text");
    }

    #[test]
    fn the_fingerprint_tells_the_same_request_from_another() {
        let base = draft("Crue : évacuez les quais.");
        let same = AlertDraft {
            text: "  Crue : évacuez les quais. ".into(),
            channels: Some(vec!["push".into(), "email".into(), "SMS".into()]),
            ..base.clone()
        };
        let fp = |d: &AlertDraft| d.validate().unwrap().fingerprint;
        assert_eq!(fp(&base), fp(&same));
        for other in [
            AlertDraft {
                urgent: true,
                ..base.clone()
            },
            AlertDraft {
                channels: Some(vec!["email".into()]),
                ..base.clone()
            },
            AlertDraft {
                topic: "travaux".into(),
                ..base.clone()
            },
            AlertDraft {
                text: "EVACUATION IMMEDIATE".into(),
                ..base.clone()
            },
            AlertDraft {
                subject: Some("Crue".into()),
                ..base.clone()
            },
        ] {
            assert_ne!(fp(&base), fp(&other), "{other:?}");
        }
    }

    #[test]
    fn derived_subject_uses_the_first_non_blank_line_with_spaces_collapsed() {
        assert_eq!(
            derive_subject("\n\n  Route   de Lyon\tfermée  \nDétails…", false),
            "Information : Route de Lyon fermée"
        );
    }

    #[test]
    fn derived_subject_is_cut_at_a_word_boundary() {
        let text = "Suite aux fortes pluies de la nuit, la route départementale 12 est fermée \
                    jusqu'à nouvel ordre entre le pont et la mairie.";
        let subject = derive_subject(text, true);
        assert_eq!(
            subject,
            "Alerte : Suite aux fortes pluies de la nuit, la route départementale 12 est fermée…"
        );
        assert!(subject.chars().count() <= "Alerte : ".len() + DERIVED_SUBJECT_CHARS + 1);
    }

    #[test]
    fn derived_subject_keeps_a_word_ending_exactly_at_the_limit() {
        let text = format!("{} suite", "a".repeat(DERIVED_SUBJECT_CHARS));
        assert_eq!(
            derive_subject(&text, false),
            format!("Information : {}…", "a".repeat(DERIVED_SUBJECT_CHARS))
        );
    }

    #[test]
    fn derived_subject_cuts_a_single_long_word() {
        let text = "x".repeat(200);
        assert_eq!(
            derive_subject(&text, false),
            format!("Information : {}…", "x".repeat(DERIVED_SUBJECT_CHARS))
        );
    }

    #[test]
    fn draft_deserialises_with_defaults_and_refuses_unknown_fields() {
        let d: AlertDraft =
            serde_json::from_str(r#"{"topic": "crue", "text": "Bonjour"}"#).unwrap();
        assert_eq!((d.subject, d.urgent, d.channels), (None, false, None));
        let err = serde_json::from_str::<AlertDraft>(
            r#"{"topic": "crue", "text": "Bonjour", "chanels": ["email"]}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("chanels"), "{err}");
    }
}
