//! What Vonage posts about a call, as JSON, each request signed with `Authorization: Bearer`
//! and a JWT (HS256, the account's signature secret) whose `payload_hash` is the SHA-256 of the
//! body (reference/voice.md, "Signed webhooks"): the call's events (`status`), and the result of
//! its `input` (`dtmf.digits`).

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    Callback, CallbackError, MessageRef, Report, ReportStatus,
    voice::{AnsweredBy, CallEnd, CallEvent},
};

#[derive(serde::Deserialize)]
struct Signed {
    payload_hash: Option<String>,
}

/// The body of a request signed by Vonage with `secret`, as JSON.
fn signed_body(callback: &Callback<'_>, secret: &SecretString) -> Result<Value, CallbackError> {
    let token = callback
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| CallbackError::Forged("no signed token".into()))?;
    let key = jsonwebtoken::DecodingKey::from_secret(secret.expose_secret().as_bytes())
        .map_err(|_| CallbackError::Forged("unusable signature secret".into()))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Signed>(token, &key, &validation)
        .map_err(|_| CallbackError::Forged("the token is not signed by the account".into()))?
        .claims;
    let hash = hex::encode(Sha256::digest(callback.body));
    if claims.payload_hash.as_deref() != Some(hash.as_str()) {
        return Err(CallbackError::Forged(
            "the body is not the one signed".into(),
        ));
    }
    serde_json::from_slice(callback.body).map_err(|_| CallbackError::Malformed("not JSON".into()))
}

/// A call event: how the call stands or ended.
pub(crate) fn read_status(
    callback: &Callback<'_>,
    secret: &SecretString,
) -> Result<Vec<Report>, CallbackError> {
    let event = signed_body(callback, secret)?;
    let uuid = event["uuid"]
        .as_str()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| CallbackError::Malformed("no uuid".into()))?;
    let status = event["status"]
        .as_str()
        .ok_or_else(|| CallbackError::Malformed("no status".into()))?;
    let unanswered = |reason: &str| {
        ReportStatus::Call(CallEnd::Unanswered {
            reason: reason.to_owned(),
        })
    };
    let status = match status {
        "started" | "ringing" | "answered" => ReportStatus::Pending,
        // The machine takes the message (`machine_detection: continue`): the call counts as
        // answered by it now; its `completed` that follows changes nothing more.
        "machine" => ReportStatus::Call(CallEnd::Answered {
            by: AnsweredBy::Machine,
            seconds: 0,
        }),
        "completed" => ReportStatus::Call(CallEnd::Answered {
            by: AnsweredBy::Unknown,
            seconds: event["duration"]
                .as_str()
                .and_then(|d| d.parse().ok())
                .or_else(|| {
                    event["duration"]
                        .as_u64()
                        .and_then(|d| u32::try_from(d).ok())
                })
                .unwrap_or(0),
        }),
        "busy" => unanswered("busy: the line was engaged"),
        "timeout" | "unanswered" => unanswered("no answer"),
        "rejected" => unanswered("the call was rejected"),
        "failed" => ReportStatus::Call(CallEnd::Failed {
            reason: "the call could not be placed".into(),
        }),
        "cancelled" => ReportStatus::Call(CallEnd::Failed {
            reason: "call cancelled".into(),
        }),
        other => ReportStatus::Unknown(other.chars().take(40).collect()),
    };
    Ok(vec![Report {
        message: MessageRef::ProviderId(uuid.to_owned()),
        status,
    }])
}

/// The result of the call's `input`: the key pressed.
pub(crate) fn read_input(
    callback: &Callback<'_>,
    secret: &SecretString,
) -> Result<CallEvent, CallbackError> {
    let input = signed_body(callback, secret)?;
    let uuid = input["uuid"]
        .as_str()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| CallbackError::Malformed("no uuid".into()))?;
    Ok(CallEvent {
        call_id: uuid.to_owned(),
        answered_by: AnsweredBy::Unknown,
        digits: input["dtmf"]["digits"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(secret: &str, body: &[u8]) -> Vec<(String, String)> {
        let claims = serde_json::json!({
            "iat": 1, "jti": "x", "payload_hash": hex::encode(Sha256::digest(body)),
        });
        let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap();
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &key,
        )
        .unwrap();
        vec![("authorization".into(), format!("Bearer {token}"))]
    }

    #[test]
    fn events_are_read_only_when_signed_over_their_body() {
        let secret = SecretString::from("signature-secret".to_owned());
        let body = br#"{"uuid":"u-1","status":"completed","duration":"12"}"#;
        let headers = signed("signature-secret", body);
        let callback = Callback {
            url: "https://t.example/cb/vonage/t/status?ref=dlv_1",
            method: "POST",
            headers: &headers,
            body,
        };
        let reports = read_status(&callback, &secret).unwrap();
        assert_eq!(
            reports[0].status,
            ReportStatus::Call(CallEnd::Answered {
                by: AnsweredBy::Unknown,
                seconds: 12
            })
        );
        // Another body under the same token, or another secret: refused.
        let other = br#"{"uuid":"u-1","status":"busy"}"#;
        let swapped = Callback {
            body: other,
            ..callback
        };
        assert!(matches!(
            read_status(&swapped, &secret),
            Err(CallbackError::Forged(_))
        ));
        let forged = signed("wrong", body);
        let forged = Callback {
            headers: &forged,
            ..callback
        };
        assert!(matches!(
            read_status(&forged, &secret),
            Err(CallbackError::Forged(_))
        ));
    }

    #[test]
    fn the_key_pressed_is_read() {
        let secret = SecretString::from("s".to_owned());
        let body = br#"{"uuid":"u-1","dtmf":{"digits":"1","timed_out":false}}"#;
        let headers = signed("s", body);
        let callback = Callback {
            url: "https://t.example/cb/vonage/t/voice/dlv_1/keypad",
            method: "POST",
            headers: &headers,
            body,
        };
        assert_eq!(
            read_input(&callback, &secret).unwrap().digits.as_deref(),
            Some("1")
        );
    }
}
