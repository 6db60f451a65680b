//! Twilio's status callbacks (delivery receipts, sms-providers.md §2.3) read into what Tocsin
//! keeps: which message, and whether it was delivered, failed (temporarily or for good) or is
//! still on its way. [`parse_status_callback`] is a pure function of the form parameters;
//! [`read_reports`] checks the request's `X-Twilio-Signature` first (§2.4).

use secrecy::{ExposeSecret, SecretString};

use super::{
    codes::{OPTED_OUT, Persistence, delivery_error},
    error::{clean_text, describe_delivery_error},
    signature::validate_signature,
};
use crate::{
    Callback, CallbackError, MessageRef, Receipt, ReceiptStatus, Report, ReportStatus, RetryClass,
};

/// Where a message stands according to one status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportedState {
    /// `delivered`: the carrier confirmed delivery to the handset.
    Delivered,
    /// `undelivered` or `failed` (or `canceled`): the message will not arrive. `class` says
    /// whether one more try may help (30003 unreachable handset) or not (30005, 30006, 21610);
    /// `reason` starts `twilio ErrorCode NNNNN` and never holds a number.
    Failed { class: RetryClass, reason: String },
    /// `queued`, `sending`, `sent`, `accepted`, `scheduled`: not final, nothing to record.
    /// Callbacks arrive out of order, so this never moves a final state back.
    Pending,
    /// A status Tocsin does not read (`read`, `partially_delivered`, anything new): never taken
    /// as delivered.
    Unknown,
}

/// One status callback, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// `MessageSid` (or the deprecated `SmsSid`): the `sid` Twilio answered the send with, which
    /// the adapter returned as `provider_message_id`.
    pub message_sid: String,
    /// `AccountSid`, to check the callback is about this account.
    pub account_sid: Option<String>,
    /// `MessageStatus` (or the deprecated `SmsStatus`), as Twilio spelt it.
    pub message_status: String,
    /// `ErrorCode`, present on `failed` and `undelivered`.
    pub error_code: Option<u32>,
    /// `RawDlrDoneDate` (`YYMMDDhhmm`, no time zone, minute precision), when Twilio passed on
    /// the carrier's, as received.
    pub raw_dlr_done_date: Option<String>,
    pub state: ReportedState,
}

impl StatusReport {
    /// Whether this callback ends the message's story (delivered or failed).
    pub fn is_final(&self) -> bool {
        matches!(
            self.state,
            ReportedState::Delivered | ReportedState::Failed { .. }
        )
    }

    /// True when the message failed because the recipient replied STOP (21610): mark the
    /// subscriber opted out.
    pub fn is_opted_out(&self) -> bool {
        self.error_code == Some(OPTED_OUT) && matches!(self.state, ReportedState::Failed { .. })
    }

    /// The receipt for Tocsin's delivery `reference`, when this callback is final.
    pub fn receipt(&self, reference: impl Into<String>) -> Option<Receipt> {
        let status = match &self.state {
            ReportedState::Delivered => ReceiptStatus::Delivered,
            ReportedState::Failed { reason, .. } => ReceiptStatus::Failed {
                reason: reason.clone(),
            },
            ReportedState::Pending | ReportedState::Unknown => return None,
        };
        Some(Receipt {
            reference: reference.into(),
            provider_message_id: Some(self.message_sid.clone()),
            status,
        })
    }

    /// The delivery report, about the message Twilio knows as `message_sid`. A temporary
    /// failure (30003 unreachable handset …) is the network giving up for now: `Expired`, as
    /// smsmode's `UNDELIVERED`; a permanent one is `Failed`.
    pub fn report(&self) -> Report {
        let status = match &self.state {
            ReportedState::Delivered => ReportStatus::Delivered,
            ReportedState::Failed { reason, .. } if self.is_opted_out() => ReportStatus::OptedOut {
                reason: reason.clone(),
            },
            ReportedState::Failed {
                class: RetryClass::Permanent,
                reason,
            } => ReportStatus::Failed {
                reason: reason.clone(),
            },
            ReportedState::Failed { reason, .. } => ReportStatus::Expired {
                reason: reason.clone(),
            },
            ReportedState::Pending => ReportStatus::Pending,
            ReportedState::Unknown => ReportStatus::Unknown(self.message_status.clone()),
        };
        Report {
            message: MessageRef::ProviderId(self.message_sid.clone()),
            status,
        }
    }
}

/// Reads a status callback Twilio made to Tocsin: refused unless its `X-Twilio-Signature` is
/// the account's (over the URL and every parameter received, §2.4) and it is about
/// `account_sid`. Without an Auth Token nothing can be checked, so nothing is read.
pub(crate) fn read_reports(
    callback: &Callback<'_>,
    auth_token: Option<&SecretString>,
    account_sid: &str,
) -> Result<Vec<Report>, CallbackError> {
    let params = signed_params(callback, auth_token)?;
    let report = parse_status_callback(&params)?;
    if report
        .account_sid
        .as_deref()
        .is_some_and(|sid| sid != account_sid)
    {
        return Err(CallbackError::Malformed(
            "twilio status callback for another account".into(),
        ));
    }
    Ok(vec![report.report()])
}

/// Reads an incoming-message webhook (§2.5), signed like status callbacks: `From` and `Body`.
pub(crate) fn read_inbound(
    callback: &Callback<'_>,
    auth_token: Option<&SecretString>,
    account_sid: &str,
) -> Result<Vec<crate::Inbound>, CallbackError> {
    let params = signed_params(callback, auth_token)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("AccountSid").is_some_and(|sid| sid != account_sid) {
        return Err(CallbackError::Malformed(
            "twilio message webhook for another account".into(),
        ));
    }
    let from = get("From")
        .and_then(crate::callback::e164_of)
        .ok_or_else(|| CallbackError::Malformed("no valid From".into()))?;
    let text = get("Body").unwrap_or_default().to_string();
    Ok(vec![crate::Inbound { from, text }])
}

/// TwiML that has Twilio send `reply` back to the citizen (§2.5).
pub(crate) fn twiml_reply(reply: &str) -> String {
    let escaped = reply
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{escaped}</Message></Response>"
    )
}

/// The parameters of a callback whose `X-Twilio-Signature` is the account's, over the URL and
/// every parameter received (§2.4). Without an Auth Token nothing can be checked.
pub(crate) fn signed_params(
    callback: &Callback<'_>,
    auth_token: Option<&SecretString>,
) -> Result<Vec<(String, String)>, CallbackError> {
    let Some(auth_token) = auth_token else {
        return Err(CallbackError::Forged(
            "cannot check X-Twilio-Signature: set auth_token for this account".into(),
        ));
    };
    let Some(header) = callback.header("x-twilio-signature") else {
        return Err(CallbackError::Forged("no X-Twilio-Signature".into()));
    };
    // A POST signs its form parameters; a GET carries them in the URL, which is signed whole.
    let (signed, params) = if callback.method.eq_ignore_ascii_case("GET") {
        (Vec::new(), callback.query())
    } else {
        let form = callback.form();
        (form.clone(), form)
    };
    if !validate_signature(auth_token.expose_secret(), callback.url, &signed, header) {
        return Err(CallbackError::Forged(
            "X-Twilio-Signature does not match".into(),
        ));
    }
    Ok(params)
}

/// Reads the form parameters of a status callback (§2.3). Parameters Tocsin does not use are
/// ignored (Twilio adds new ones without notice); for a repeated name the first counts.
pub fn parse_status_callback<K, V>(params: &[(K, V)]) -> Result<StatusReport, CallbackError>
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_ref().trim())
            .filter(|v| !v.is_empty())
    };
    let message_sid = get("MessageSid")
        .or_else(|| get("SmsSid"))
        .ok_or_else(|| malformed("no MessageSid"))?;
    if message_sid.len() > 64 || !message_sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(malformed("MessageSid is not a Twilio SID"));
    }
    let message_status = get("MessageStatus")
        .or_else(|| get("SmsStatus"))
        .ok_or_else(|| malformed("no MessageStatus"))?;
    let error_code = get("ErrorCode").and_then(|c| c.parse::<u32>().ok());
    let state = state_of(message_status, error_code);
    Ok(StatusReport {
        message_sid: message_sid.to_owned(),
        account_sid: get("AccountSid").map(str::to_owned),
        // Bounded and masked: it may end up in a reason or a log.
        message_status: clean_text(message_status, ""),
        error_code,
        raw_dlr_done_date: get("RawDlrDoneDate").map(str::to_owned),
        state,
    })
}

fn malformed(what: &str) -> CallbackError {
    CallbackError::Malformed(format!("twilio status callback: {what}"))
}

/// `MessageStatus` and `ErrorCode` to a state (§0 normalisation table, §2.2 code table).
fn state_of(status: &str, error_code: Option<u32>) -> ReportedState {
    match status {
        "delivered" => ReportedState::Delivered,
        "undelivered" | "failed" => {
            let class = match delivery_error(error_code).0 {
                Persistence::Temporary => RetryClass::Transient { retry_after: None },
                Persistence::Permanent => RetryClass::Permanent,
            };
            ReportedState::Failed {
                class,
                reason: describe_delivery_error(status, error_code),
            }
        }
        // Only scheduled messages can be canceled, and then they are never sent.
        "canceled" => ReportedState::Failed {
            class: RetryClass::Permanent,
            reason: "twilio canceled the message before sending it".to_owned(),
        },
        "queued" | "sending" | "sent" | "accepted" | "scheduled" => ReportedState::Pending,
        // `read` and `partially_delivered` belong to WhatsApp/RCS and groups, `receiving` and
        // `received` to inbound messages: none is an SMS receipt Tocsin can trust.
        _ => ReportedState::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    /// The parameters of a real-looking callback (§2.3 example body).
    fn callback(status: &str, error_code: Option<&str>) -> Vec<(String, String)> {
        let mut params = vec![
            ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
            ("ApiVersion", "2010-04-01"),
            ("From", "+33700000000"),
            ("MessageSid", SID),
            ("MessageStatus", status),
            ("SmsSid", SID),
            ("SmsStatus", status),
            ("To", "+33612345678"),
        ];
        if let Some(code) = error_code {
            params.push(("ErrorCode", code));
        }
        params
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn state(status: &str, error_code: Option<&str>) -> ReportedState {
        parse_status_callback(&callback(status, error_code))
            .unwrap()
            .state
    }

    fn failed(class: RetryClass, reason: &str) -> ReportedState {
        ReportedState::Failed {
            class,
            reason: reason.to_owned(),
        }
    }

    const TEMPORARY: RetryClass = RetryClass::Transient { retry_after: None };

    #[test]
    fn delivered_is_delivered_and_gives_a_receipt() {
        let report = parse_status_callback(&callback("delivered", None)).unwrap();
        assert_eq!(report.state, ReportedState::Delivered);
        assert_eq!(report.message_sid, SID);
        assert_eq!(
            report.account_sid.as_deref(),
            Some("AC0123456789abcdef0123456789abcdef")
        );
        assert!(report.is_final());
        assert_eq!(
            report.receipt("dlv_42"),
            Some(Receipt {
                reference: "dlv_42".into(),
                provider_message_id: Some(SID.into()),
                status: ReceiptStatus::Delivered,
            })
        );
    }

    #[test]
    fn unreachable_handset_is_a_temporary_failure() {
        assert_eq!(
            state("undelivered", Some("30003")),
            failed(
                TEMPORARY,
                "twilio ErrorCode 30003 (undelivered): unreachable destination handset"
            )
        );
    }

    #[test]
    fn unknown_handset_landline_and_stop_are_permanent() {
        assert_eq!(
            state("undelivered", Some("30005")),
            failed(
                RetryClass::Permanent,
                "twilio ErrorCode 30005 (undelivered): unknown destination handset"
            )
        );
        assert_eq!(
            state("failed", Some("30006")),
            failed(
                RetryClass::Permanent,
                "twilio ErrorCode 30006 (failed): landline or unreachable carrier"
            )
        );
        let stop = parse_status_callback(&callback("failed", Some("21610"))).unwrap();
        assert_eq!(
            stop.state,
            failed(
                RetryClass::Permanent,
                "twilio ErrorCode 21610 (failed): the recipient opted out (replied STOP)"
            )
        );
        assert!(stop.is_opted_out());
        assert_eq!(
            stop.receipt("dlv_1").unwrap().status,
            ReceiptStatus::Failed {
                reason: "twilio ErrorCode 21610 (failed): the recipient opted out (replied STOP)"
                    .into()
            }
        );
    }

    #[test]
    fn unknown_3xxxx_codes_and_missing_codes_are_temporary() {
        assert_eq!(
            state("undelivered", Some("30999")),
            failed(
                TEMPORARY,
                "twilio ErrorCode 30999 (undelivered): delivery error not in Tocsin's table"
            )
        );
        assert_eq!(
            state("undelivered", None),
            failed(TEMPORARY, "twilio undelivered without ErrorCode")
        );
        assert_eq!(
            state("failed", Some("not-a-number")),
            failed(TEMPORARY, "twilio failed without ErrorCode")
        );
    }

    #[test]
    fn statuses_on_the_way_are_not_final() {
        for status in ["queued", "sending", "sent", "accepted", "scheduled"] {
            let report = parse_status_callback(&callback(status, None)).unwrap();
            assert_eq!(report.state, ReportedState::Pending, "{status}");
            assert!(!report.is_final());
            assert_eq!(report.receipt("dlv_1"), None);
        }
    }

    #[test]
    fn unknown_statuses_are_never_delivered() {
        for status in [
            "read",
            "partially_delivered",
            "received",
            "teleported",
            "DELIVERED",
        ] {
            let report = parse_status_callback(&callback(status, None)).unwrap();
            assert_eq!(report.state, ReportedState::Unknown, "{status}");
            assert_eq!(report.receipt("dlv_1"), None);
        }
        assert_eq!(
            state("canceled", None),
            failed(
                RetryClass::Permanent,
                "twilio canceled the message before sending it"
            )
        );
    }

    #[test]
    fn deprecated_names_are_read_and_new_parameters_ignored() {
        let params = [
            ("SmsSid", SID),
            ("SmsStatus", "delivered"),
            ("RawDlrDoneDate", "2611141205"),
            ("SomethingTwilioAddedLater", "x"),
        ];
        let report = parse_status_callback(&params).unwrap();
        assert_eq!(report.message_sid, SID);
        assert_eq!(report.state, ReportedState::Delivered);
        assert_eq!(report.raw_dlr_done_date.as_deref(), Some("2611141205"));
    }

    #[test]
    fn callbacks_without_sid_or_status_are_refused() {
        assert_eq!(
            parse_status_callback(&[("MessageStatus", "delivered")]),
            Err(malformed("no MessageSid"))
        );
        assert_eq!(
            parse_status_callback(&[("MessageSid", SID)]),
            Err(malformed("no MessageStatus"))
        );
        assert_eq!(
            parse_status_callback(&[("MessageSid", "SM../x"), ("MessageStatus", "sent")]),
            Err(malformed("MessageSid is not a Twilio SID"))
        );
    }

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "12345";
    const URL: &str = "https://tocsin.example/cb/twilio/status?account=bras";

    /// A POST as Twilio makes it: form body, signed over the URL and every parameter.
    fn read(
        method: &str,
        url: &str,
        params: &[(String, String)],
        signature: Option<String>,
        token: Option<&str>,
    ) -> Result<Vec<Report>, CallbackError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let headers: Vec<(String, String)> = signature
            .map(|s| ("x-twilio-signature".to_owned(), s))
            .into_iter()
            .collect();
        let callback = Callback {
            url,
            method,
            headers: &headers,
            body: body.as_bytes(),
        };
        let token = token.map(|t| SecretString::from(t.to_owned()));
        read_reports(&callback, token.as_ref(), ACCOUNT)
    }

    #[test]
    fn a_signed_callback_becomes_a_report() {
        let params = callback("undelivered", Some("30003"));
        let signed = super::super::signature(TOKEN, URL, &params);
        assert_eq!(
            read("POST", URL, &params, Some(signed), Some(TOKEN)),
            Ok(vec![Report {
                message: MessageRef::ProviderId(SID.into()),
                status: ReportStatus::Expired {
                    reason: "twilio ErrorCode 30003 (undelivered): unreachable destination \
                             handset"
                        .into()
                },
            }])
        );
        let params = callback("failed", Some("30005"));
        let signed = super::super::signature(TOKEN, URL, &params);
        let reports = read("POST", URL, &params, Some(signed), Some(TOKEN)).unwrap();
        assert!(matches!(reports[0].status, ReportStatus::Failed { .. }));
        let params = callback("sent", None);
        let signed = super::super::signature(TOKEN, URL, &params);
        let reports = read("POST", URL, &params, Some(signed), Some(TOKEN)).unwrap();
        assert_eq!(reports[0].status, ReportStatus::Pending);
        let params = callback("read", None);
        let signed = super::super::signature(TOKEN, URL, &params);
        let reports = read("POST", URL, &params, Some(signed), Some(TOKEN)).unwrap();
        assert_eq!(reports[0].status, ReportStatus::Unknown("read".into()));
    }

    #[test]
    fn unsigned_forged_or_foreign_callbacks_are_refused() {
        let params = callback("delivered", None);
        let signed = super::super::signature(TOKEN, URL, &params);
        let forged = |result: Result<Vec<Report>, CallbackError>| {
            assert!(
                matches!(result, Err(CallbackError::Forged(_))),
                "{result:?}"
            );
        };
        forged(read("POST", URL, &params, None, Some(TOKEN)));
        forged(read(
            "POST",
            URL,
            &params,
            Some(signed.clone()),
            Some("54321"),
        ));
        forged(read("POST", URL, &params, Some(signed.clone()), None));
        forged(read(
            "POST",
            "https://tocsin.example/cb/twilio/status?account=other",
            &params,
            Some(signed.clone()),
            Some(TOKEN),
        ));
        let mut tampered = params.clone();
        tampered[4].1 = "delivered ".into();
        forged(read("POST", URL, &tampered, Some(signed), Some(TOKEN)));

        let mut foreign = params.clone();
        foreign[0].1 = "ACffffffffffffffffffffffffffffffff".into();
        let signed = super::super::signature(TOKEN, URL, &foreign);
        assert!(matches!(
            read("POST", URL, &foreign, Some(signed), Some(TOKEN)),
            Err(CallbackError::Malformed(_))
        ));
    }

    #[test]
    fn a_get_callback_is_signed_over_its_url_alone() {
        let url = format!(
            "https://tocsin.example/cb/twilio/status?MessageSid={SID}&MessageStatus=delivered"
        );
        let no_params: [(&str, &str); 0] = [];
        let signed = super::super::signature(TOKEN, &url, &no_params);
        let reports = read("GET", &url, &[], Some(signed), Some(TOKEN)).unwrap();
        assert_eq!(reports[0].status, ReportStatus::Delivered);
    }

    #[test]
    fn a_status_echoing_a_number_is_masked() {
        let report = parse_status_callback(&[
            ("MessageSid", SID),
            ("MessageStatus", "failed +33612345678"),
        ])
        .unwrap();
        assert_eq!(report.state, ReportedState::Unknown);
        assert!(!report.message_status.contains("612345678"));
    }
}

#[cfg(test)]
mod inbound_tests {
    use secrecy::SecretString;

    use super::{read_inbound, twiml_reply};
    use crate::{Callback, CallbackError, sms::twilio::signature};

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const URL: &str = "https://alertes.example.fr/cb/twilio/t0k3n/inbound";

    fn webhook(params: &[(&str, &str)], signed_with: &str) -> (Vec<(String, String)>, Vec<u8>) {
        let headers = vec![(
            "x-twilio-signature".to_string(),
            signature(signed_with, URL, params),
        )];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        (headers, body.into_bytes())
    }

    #[test]
    fn a_signed_reply_is_read_and_a_forged_one_is_not() {
        let token = SecretString::from("auth-token");
        let params = [
            ("AccountSid", SID),
            ("From", "+33612345678"),
            ("Body", " Stop "),
        ];
        let (headers, body) = webhook(&params, "auth-token");
        let callback = Callback {
            url: URL,
            method: "POST",
            headers: &headers,
            body: &body,
        };
        let read = read_inbound(&callback, Some(&token), SID).unwrap();
        assert_eq!(read[0].from, "+33612345678");
        assert_eq!(read[0].text, " Stop ");
        let (headers, body) = webhook(&params, "another-token");
        let forged = Callback {
            url: URL,
            method: "POST",
            headers: &headers,
            body: &body,
        };
        assert!(matches!(
            read_inbound(&forged, Some(&token), SID),
            Err(CallbackError::Forged(_))
        ));
    }

    #[test]
    fn the_reply_is_twiml_with_the_text_escaped() {
        assert_eq!(
            twiml_reply("Inscrit <OK> & merci"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Inscrit &lt;OK&gt; \
             &amp; merci</Message></Response>"
        );
    }
}
