//! What one push request carries besides its encryption, sans I/O: the JSON the service worker
//! reads, and the RFC 8030 §5 headers `TTL`, `Urgency` and `Topic`.

use std::time::Duration;

use serde::Serialize;

use crate::{Message, push::crypto::MAX_PLAINTEXT_LEN};

/// The longest `TTL` sent: 28 days, what FCM keeps a message at most. Longer would be cut by
/// the service anyway (RFC 8030 §5.2 lets it keep less and say so).
pub(crate) const MAX_TTL_SECS: u64 = 28 * 24 * 60 * 60;

/// RFC 8030 §5.4: a topic is at most 32 characters of the URL-safe base64 alphabet.
const MAX_TOPIC_LEN: usize = 32;

/// Ends a text cut to fit; the notification's `url` leads to the whole alert.
const ELLIPSIS: &str = "…";

/// The notification as the service worker receives it (decrypted `event.data.json()`).
#[derive(Serialize)]
struct Payload<'a> {
    /// The commune's name: the notification's title.
    commune: &'a str,
    subject: &'a str,
    text: &'a str,
    /// The alert's public page, opened on click.
    url: Option<&'a str>,
    urgent: bool,
    /// The notification tag: a newer message of the same alert replaces the shown one.
    tag: Option<&'a str>,
}

/// The payload cannot be made to fit even with the text cut to "…".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PayloadTooLarge {
    pub(crate) len: usize,
}

/// The JSON payload of `message`, at most [`MAX_PLAINTEXT_LEN`] octets so that the encrypted
/// body stays within the 4096 octets every push service must accept (RFC 8291 §4). A text too
/// long for that is cut at a character boundary and ends with "…"; the other fields are kept
/// whole, and if they alone are too long the message cannot be sent.
pub(crate) fn payload(message: &Message<'_>) -> Result<Vec<u8>, PayloadTooLarge> {
    let build = |text: &str| {
        serde_json::to_vec(&Payload {
            commune: message.commune.unwrap_or(""),
            subject: message.subject,
            text,
            url: message.link,
            urgent: message.urgent,
            tag: message.collapse_key,
        })
        .expect("the payload serializes")
    };
    let whole = build(message.text);
    if whole.len() <= MAX_PLAINTEXT_LEN {
        return Ok(whole);
    }
    // JSON escaping makes the size of a prefix hard to predict, but it only grows with the
    // prefix: search the longest prefix (in characters) that fits with the ellipsis.
    let boundaries: Vec<usize> = message.text.char_indices().map(|(i, _)| i).collect();
    let cut = |chars: usize| format!("{}{ELLIPSIS}", &message.text[..boundaries[chars]]);
    let fits = |chars: usize| build(&cut(chars)).len() <= MAX_PLAINTEXT_LEN;
    if !fits(0) {
        return Err(PayloadTooLarge {
            len: build(ELLIPSIS).len(),
        });
    }
    // Invariant: `low` characters fit; `high` do not (the whole text did not).
    let (mut low, mut high) = (0, boundaries.len());
    while high - low > 1 {
        let mid = low + (high - low) / 2;
        if fits(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(build(&cut(low)))
}

/// `TTL` (RFC 8030 §5.2): what is left of the alert's life in whole seconds, rounded down, at
/// most [`MAX_TTL_SECS`]. No validity means deliver now or never (0), as does less than a
/// second: an alert past its end must not reach a phone that wakes tomorrow.
pub(crate) fn ttl(validity: Option<Duration>) -> u64 {
    validity.map_or(0, |left| left.as_secs().min(MAX_TTL_SECS))
}

/// `Urgency` (RFC 8030 §5.3): `high` is for "time-sensitive alerts" and may wake a device in
/// power saving; routine news waits for `normal`.
pub(crate) fn urgency(urgent: bool) -> &'static str {
    if urgent { "high" } else { "normal" }
}

/// `Topic` (RFC 8030 §5.4), when the collapse key is a valid one: 1 to 32 characters of
/// `A–Z a–z 0–9 - _`. A push service answers anything else with 400, so an unusable key is
/// left out rather than sent (the payload's `tag` still groups the notifications).
pub(crate) fn topic(collapse_key: Option<&str>) -> Option<&str> {
    collapse_key.filter(|key| {
        (1..=MAX_TOPIC_LEN).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn message(text: &str) -> Message<'_> {
        Message {
            to: "{}",
            subject: "Crue de la Loire",
            text,
            commune: Some("Bras"),
            link: Some("https://alertes.bras.fr/a/alr_01J9"),
            urgent: true,
            collapse_key: Some("alr_01J9"),
            ..Message::default()
        }
    }

    /// The fields of [`message`] as a payload, text aside.
    fn expected_fields() -> Payload<'static> {
        Payload {
            commune: "Bras",
            subject: "Crue de la Loire",
            text: "",
            url: Some("https://alertes.bras.fr/a/alr_01J9"),
            urgent: true,
            tag: Some("alr_01J9"),
        }
    }

    fn json_of(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn the_payload_carries_what_a_notification_shows() {
        let bytes = payload(&message("Évacuez les quais.")).unwrap();
        assert_eq!(
            json_of(&bytes),
            json!({"commune": "Bras", "subject": "Crue de la Loire",
                   "text": "Évacuez les quais.", "url": "https://alertes.bras.fr/a/alr_01J9",
                   "urgent": true, "tag": "alr_01J9"})
        );
        let bare = Message {
            subject: "Info",
            text: "Marché annulé",
            ..Message::default()
        };
        assert_eq!(
            json_of(&payload(&bare).unwrap()),
            json!({"commune": "", "subject": "Info", "text": "Marché annulé", "url": null,
                   "urgent": false, "tag": null})
        );
    }

    #[test]
    fn a_payload_that_fits_is_not_touched() {
        let base = payload(&message("")).unwrap().len();
        let text = "x".repeat(MAX_PLAINTEXT_LEN - base);
        let bytes = payload(&message(&text)).unwrap();
        assert_eq!(bytes.len(), MAX_PLAINTEXT_LEN);
        assert_eq!(json_of(&bytes)["text"], text.as_str());
    }

    #[test]
    fn a_long_text_is_cut_at_a_char_boundary_and_ends_with_an_ellipsis() {
        // Multi-octet characters and characters JSON escapes, so that no simple count works.
        for unit in ["é", "a", "\"", "\n", "🚨", "\u{1}", "ab€"] {
            let text = unit.repeat(5000);
            let bytes = payload(&message(&text)).unwrap();
            assert!(
                bytes.len() <= MAX_PLAINTEXT_LEN,
                "{unit:?}: {}",
                bytes.len()
            );
            let sent = json_of(&bytes)["text"].as_str().unwrap().to_owned();
            let kept = sent.strip_suffix(ELLIPSIS).expect("ends with …");
            assert!(text.starts_with(kept), "{unit:?}");
            // The longest cut: one character more would not fit.
            let next = text[kept.len()..].chars().next().unwrap();
            let one_more = format!("{kept}{next}{ELLIPSIS}");
            let too_long = serde_json::to_vec(&Payload {
                text: &one_more,
                ..expected_fields()
            })
            .unwrap();
            assert!(
                too_long.len() > MAX_PLAINTEXT_LEN,
                "{unit:?}: not the longest cut"
            );
            // The other fields are whole.
            let value = json_of(&bytes);
            assert_eq!(value["url"], "https://alertes.bras.fr/a/alr_01J9");
            assert_eq!(value["subject"], "Crue de la Loire");
        }
    }

    #[test]
    fn the_cut_payload_encrypts_into_one_4096_octet_record() {
        let bytes = payload(&message(&"é".repeat(4000))).unwrap();
        use p256::elliptic_curve::Generate;
        let ua = p256::SecretKey::generate();
        let p256dh: [u8; 65] = ua.public_key().to_sec1_bytes().as_ref().try_into().unwrap();
        let auth = [7; 16];
        let body = crate::push::crypto::encrypt(&p256dh, &auth, &bytes, 4096).unwrap();
        assert!(body.len() <= 4096, "{}", body.len());
        let opened =
            crate::push::crypto::decrypt(&ua.to_bytes().into(), &p256dh, &auth, &body).unwrap();
        assert_eq!(opened, bytes);
    }

    #[test]
    fn fields_too_long_to_fit_refuse_the_message() {
        let link = format!("https://alertes.bras.fr/a/{}", "x".repeat(4000));
        let huge = Message {
            link: Some(&link),
            ..message("text")
        };
        let error = payload(&huge).unwrap_err();
        assert!(error.len > MAX_PLAINTEXT_LEN);
    }

    #[test]
    fn ttl_is_what_is_left_in_whole_seconds_up_to_28_days() {
        assert_eq!(ttl(None), 0);
        assert_eq!(ttl(Some(Duration::ZERO)), 0);
        assert_eq!(ttl(Some(Duration::from_millis(999))), 0);
        assert_eq!(ttl(Some(Duration::from_millis(1999))), 1);
        assert_eq!(ttl(Some(Duration::from_secs(3600))), 3600);
        assert_eq!(ttl(Some(Duration::from_secs(2_419_200))), 2_419_200);
        assert_eq!(ttl(Some(Duration::from_secs(2_419_201))), 2_419_200);
        assert_eq!(ttl(Some(Duration::MAX)), MAX_TTL_SECS);
    }

    #[test]
    fn urgency_is_high_for_urgent_alerts_only() {
        assert_eq!(urgency(true), "high");
        assert_eq!(urgency(false), "normal");
    }

    #[test]
    fn topic_is_sent_only_when_a_push_service_would_take_it() {
        for good in ["alr_01J9", "a", "A-Z_a-z_0-9", &"x".repeat(32)] {
            assert_eq!(topic(Some(good)), Some(good), "{good}");
        }
        for bad in [
            "",
            &"x".repeat(33),
            "alr 01",
            "alr.01",
            "alr/01",
            "alerte-crue-é",
            "a=b",
        ] {
            assert_eq!(topic(Some(bad)), None, "{bad}");
        }
        assert_eq!(topic(None), None);
    }
}
