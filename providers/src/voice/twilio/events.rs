//! What Twilio sends about a call, each signed with `X-Twilio-Signature`: its status callbacks
//! (`CallStatus`, `AnsweredBy`, `CallDuration`), the fetch of its TwiML and the key pressed
//! (`Digits`, posted to the `<Gather>`'s action).

use secrecy::SecretString;

use crate::{
    Callback, CallbackError, MessageRef, Report, ReportStatus,
    sms::twilio::status::signed_params,
    voice::{AnsweredBy, CallEnd, CallEvent},
};

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The signed parameters of a request about a call of this account.
fn read(
    callback: &Callback<'_>,
    auth_token: Option<&SecretString>,
    account_sid: &str,
) -> Result<Vec<(String, String)>, CallbackError> {
    let params = signed_params(callback, auth_token)?;
    if param(&params, "AccountSid").is_some_and(|sid| sid != account_sid) {
        return Err(CallbackError::Malformed(
            "twilio call request for another account".into(),
        ));
    }
    if param(&params, "CallSid").is_none_or(str::is_empty) {
        return Err(CallbackError::Malformed("no CallSid".into()));
    }
    Ok(params)
}

/// A status callback: how the call stands or ended.
pub(crate) fn read_status(
    callback: &Callback<'_>,
    auth_token: Option<&SecretString>,
    account_sid: &str,
) -> Result<Vec<Report>, CallbackError> {
    let params = read(callback, auth_token, account_sid)?;
    let sid = param(&params, "CallSid").unwrap_or_default().to_owned();
    let status = param(&params, "CallStatus")
        .ok_or_else(|| CallbackError::Malformed("no CallStatus".into()))?;
    let unanswered = |reason: &str| {
        ReportStatus::Call(CallEnd::Unanswered {
            reason: reason.to_owned(),
        })
    };
    let failed = |reason: String| ReportStatus::Call(CallEnd::Failed { reason });
    let status = match status {
        "queued" | "initiated" | "ringing" | "in-progress" => ReportStatus::Pending,
        "completed" => ReportStatus::Call(CallEnd::Answered {
            by: answered_by(&params),
            seconds: param(&params, "CallDuration")
                .and_then(|d| d.parse().ok())
                .unwrap_or(0),
        }),
        "busy" => unanswered("busy: the line was engaged"),
        "no-answer" => unanswered("no answer"),
        "canceled" => failed("call canceled".into()),
        "failed" => failed(match param(&params, "ErrorCode") {
            Some(code) => format!("the call could not be placed (Twilio error {code})"),
            None => "the call could not be placed".into(),
        }),
        other => ReportStatus::Unknown(other.chars().take(40).collect()),
    };
    Ok(vec![Report {
        message: MessageRef::ProviderId(sid),
        status,
    }])
}

/// Who answered, by answering-machine detection (`AnsweredBy`).
fn answered_by(params: &[(String, String)]) -> AnsweredBy {
    match param(params, "AnsweredBy") {
        Some("human") => AnsweredBy::Person,
        Some(machine) if machine.starts_with("machine") || machine == "fax" => AnsweredBy::Machine,
        _ => AnsweredBy::Unknown,
    }
}

/// The fetch of the call's TwiML, or the key pressed.
pub(crate) fn read_call_event(
    callback: &Callback<'_>,
    auth_token: Option<&SecretString>,
    account_sid: &str,
) -> Result<CallEvent, CallbackError> {
    let params = read(callback, auth_token, account_sid)?;
    Ok(CallEvent {
        call_id: param(&params, "CallSid").unwrap_or_default().to_owned(),
        answered_by: answered_by(&params),
        digits: param(&params, "Digits").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::twilio::signature;

    const SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn signed(url: &str, params: &[(&str, &str)]) -> (Vec<(String, String)>, Vec<u8>) {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let header = signature("token", url, &owned);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&owned)
            .finish()
            .into_bytes();
        (vec![("x-twilio-signature".into(), header)], body)
    }

    #[test]
    fn a_call_that_ended_is_read_from_its_signed_callback() {
        let url = "https://tocsin.example/cb/twilio/t/status?ref=dlv_1";
        let token = SecretString::from("token".to_owned());
        for (status, expected) in [
            (
                "completed",
                ReportStatus::Call(CallEnd::Answered {
                    by: AnsweredBy::Unknown,
                    seconds: 0,
                }),
            ),
            ("ringing", ReportStatus::Pending),
            (
                "no-answer",
                ReportStatus::Call(CallEnd::Unanswered {
                    reason: "no answer".into(),
                }),
            ),
        ] {
            let (headers, body) = signed(
                url,
                &[
                    ("AccountSid", SID),
                    ("CallSid", "CA1"),
                    ("CallStatus", status),
                ],
            );
            let callback = Callback {
                url,
                method: "POST",
                headers: &headers,
                body: &body,
            };
            let reports = read_status(&callback, Some(&token), SID).unwrap();
            assert_eq!(reports[0].status, expected, "{status}");
        }
        let (headers, body) = signed(url, &[("CallSid", "CA1"), ("CallStatus", "completed")]);
        let forged = Callback {
            url: "https://tocsin.example/cb/twilio/t/status?ref=dlv_2",
            method: "POST",
            headers: &headers,
            body: &body,
        };
        assert!(matches!(
            read_status(&forged, Some(&token), SID),
            Err(CallbackError::Forged(_))
        ));
    }

    #[test]
    fn the_key_pressed_and_who_answered_are_read() {
        let url = "https://tocsin.example/cb/twilio/t/voice/dlv_1/keypad";
        let token = SecretString::from("token".to_owned());
        let (headers, body) = signed(
            url,
            &[
                ("AccountSid", SID),
                ("CallSid", "CA1"),
                ("Digits", "1"),
                ("AnsweredBy", "human"),
            ],
        );
        let callback = Callback {
            url,
            method: "POST",
            headers: &headers,
            body: &body,
        };
        let event = read_call_event(&callback, Some(&token), SID).unwrap();
        assert_eq!(event.digits.as_deref(), Some("1"));
        assert_eq!(event.answered_by, AnsweredBy::Person);
    }
}
