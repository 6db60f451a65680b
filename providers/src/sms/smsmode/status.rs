//! smsmode's message status table (`status.value`, `status.detail`) and what each means for
//! Tocsin (sms-providers.md §1.2.1 and the status normalisation table of §0).

use crate::RetryClass;

/// `status.value` of a message resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusValue {
    Scheduled,
    Enroute,
    Delivered,
    /// Rejected or impossible: permanent (a reasonable reading; smsmode does not document the
    /// difference with `Undelivered`).
    Undeliverable,
    /// Attempted but not delivered (e.g. expired): temporary per §0.
    Undelivered,
    /// Anything else (the RCS API also sends `READ`). Never read as delivered.
    Unknown(String),
}

impl StatusValue {
    pub fn parse(value: &str) -> Self {
        match value {
            "SCHEDULED" => StatusValue::Scheduled,
            "ENROUTE" => StatusValue::Enroute,
            "DELIVERED" => StatusValue::Delivered,
            "UNDELIVERABLE" => StatusValue::Undeliverable,
            "UNDELIVERED" => StatusValue::Undelivered,
            other => StatusValue::Unknown(other.to_owned()),
        }
    }
}

/// `status.detail`, the reason smsmode gives for a failed status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusDetail {
    InsufficientCredit,
    OrganisationMonthlyLimitExceeded,
    DailyLimitExceeded,
    Spam,
    InvalidPhoneNumber,
    /// The person sent STOP or is barred (sms-providers.md §1.2.5).
    Blacklisted,
    Unknown(String),
}

impl StatusDetail {
    pub fn parse(detail: &str) -> Self {
        match detail {
            "INSUFFICIENT_CREDIT" => StatusDetail::InsufficientCredit,
            "ORGANISATION_MONTHLY_LIMIT_EXCEEDED" => StatusDetail::OrganisationMonthlyLimitExceeded,
            "DAILY_LIMIT_EXCEEDED" => StatusDetail::DailyLimitExceeded,
            "SPAM" => StatusDetail::Spam,
            "INVALID_PHONE_NUMBER" => StatusDetail::InvalidPhoneNumber,
            "BLACKLISTED" => StatusDetail::Blacklisted,
            other => StatusDetail::Unknown(other.to_owned()),
        }
    }

    /// The code as smsmode spells it, for reasons and logs.
    pub fn as_str(&self) -> &str {
        match self {
            StatusDetail::InsufficientCredit => "INSUFFICIENT_CREDIT",
            StatusDetail::OrganisationMonthlyLimitExceeded => "ORGANISATION_MONTHLY_LIMIT_EXCEEDED",
            StatusDetail::DailyLimitExceeded => "DAILY_LIMIT_EXCEEDED",
            StatusDetail::Spam => "SPAM",
            StatusDetail::InvalidPhoneNumber => "INVALID_PHONE_NUMBER",
            StatusDetail::Blacklisted => "BLACKLISTED",
            StatusDetail::Unknown(other) => other,
        }
    }

    /// Account limits (credit, monthly or daily quota) stop every message until an operator
    /// acts or the day turns; they say nothing about this recipient, so the message is worth
    /// retrying later (§1.2.1: "alert the operator; retry after fixing").
    pub fn is_account_limit(&self) -> bool {
        matches!(
            self,
            StatusDetail::InsufficientCredit
                | StatusDetail::OrganisationMonthlyLimitExceeded
                | StatusDetail::DailyLimitExceeded
        )
    }
}

/// What a status found in a **2xx answer to a send** means, or `None` when the message was
/// simply taken (`SCHEDULED`, `ENROUTE`, `DELIVERED`, or a value we do not know: the 2xx is what
/// counts, and resending would double the SMS).
pub(crate) fn failure_at_submission(
    value: &StatusValue,
    detail: Option<&StatusDetail>,
) -> Option<RetryClass> {
    match value {
        StatusValue::Undeliverable | StatusValue::Undelivered => {}
        _ => return None,
    }
    Some(match (value, detail) {
        (_, Some(d)) if d.is_account_limit() => RetryClass::Transient { retry_after: None },
        (_, Some(StatusDetail::Blacklisted)) => RetryClass::OptedOut,
        // A bad number, STOP, spam filtering, or no reason at all: resending the same text to
        // the same number will meet the same answer.
        (StatusValue::Undeliverable, _) => RetryClass::Permanent,
        (_, Some(StatusDetail::InvalidPhoneNumber)) => RetryClass::Permanent,
        _ => RetryClass::Transient { retry_after: None },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taken_statuses_are_not_failures() {
        for v in ["SCHEDULED", "ENROUTE", "DELIVERED", "READ"] {
            assert_eq!(
                failure_at_submission(&StatusValue::parse(v), None),
                None,
                "{v}"
            );
        }
    }

    #[test]
    fn undeliverable_is_permanent_unless_an_account_limit() {
        let undeliverable = StatusValue::parse("UNDELIVERABLE");
        for d in ["INVALID_PHONE_NUMBER", "SPAM", "SOMETHING_NEW"] {
            let class = failure_at_submission(&undeliverable, Some(&StatusDetail::parse(d)));
            assert_eq!(class, Some(RetryClass::Permanent), "{d}");
        }
        let blacklisted = StatusDetail::parse("BLACKLISTED");
        assert_eq!(
            failure_at_submission(&undeliverable, Some(&blacklisted)),
            Some(RetryClass::OptedOut)
        );
        assert_eq!(
            failure_at_submission(&undeliverable, None),
            Some(RetryClass::Permanent)
        );
        let credit = StatusDetail::parse("INSUFFICIENT_CREDIT");
        assert_eq!(
            failure_at_submission(&undeliverable, Some(&credit)),
            Some(RetryClass::Transient { retry_after: None })
        );
    }

    #[test]
    fn undelivered_is_temporary_unless_the_number_is_bad() {
        let undelivered = StatusValue::parse("UNDELIVERED");
        assert_eq!(
            failure_at_submission(&undelivered, None),
            Some(RetryClass::Transient { retry_after: None })
        );
        let bl = StatusDetail::parse("BLACKLISTED");
        assert_eq!(
            failure_at_submission(&undelivered, Some(&bl)),
            Some(RetryClass::OptedOut)
        );
    }

    #[test]
    fn details_round_trip() {
        for d in [
            "INSUFFICIENT_CREDIT",
            "DAILY_LIMIT_EXCEEDED",
            "BLACKLISTED",
            "X",
        ] {
            assert_eq!(StatusDetail::parse(d).as_str(), d);
        }
    }
}

/// Reads smsmode's status callback (§1.2.3): the message resource, POSTed as JSON. A body with
/// `direction: "MO"` is a reply, not a report: no report in it.
pub(crate) fn read_report(body: &[u8]) -> Result<Vec<crate::Report>, crate::CallbackError> {
    use crate::{CallbackError, MessageRef, Report, ReportStatus};
    let resource: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| CallbackError::Malformed(format!("not JSON: {e}")))?;
    if resource["direction"].as_str() == Some("MO") {
        return Ok(Vec::new());
    }
    let message = match (
        resource["refClient"].as_str(),
        resource["messageId"].as_str(),
    ) {
        (Some(reference), _) if !reference.is_empty() => MessageRef::Reference(reference.into()),
        (_, Some(id)) if !id.is_empty() => MessageRef::ProviderId(id.into()),
        _ => {
            return Err(CallbackError::Malformed(
                "neither refClient nor messageId".into(),
            ));
        }
    };
    let value = resource["status"]["value"]
        .as_str()
        .ok_or_else(|| CallbackError::Malformed("no status.value".into()))?;
    let detail = resource["status"]["detail"]
        .as_str()
        .map(StatusDetail::parse);
    let reason = |value: &str| match &detail {
        Some(detail) => format!("smsmode {value} {}", detail.as_str()),
        None => format!("smsmode {value}"),
    };
    let status = match StatusValue::parse(value) {
        StatusValue::Undeliverable | StatusValue::Undelivered
            if detail == Some(StatusDetail::Blacklisted) =>
        {
            ReportStatus::OptedOut {
                reason: reason(value),
            }
        }
        StatusValue::Delivered => ReportStatus::Delivered,
        StatusValue::Scheduled | StatusValue::Enroute => ReportStatus::Pending,
        StatusValue::Undeliverable => ReportStatus::Failed {
            reason: reason(value),
        },
        // Attempted but not delivered before the network gave up (§0: the temporary failure).
        StatusValue::Undelivered => ReportStatus::Expired {
            reason: reason(value),
        },
        StatusValue::Unknown(other) => ReportStatus::Unknown(other),
    };
    Ok(vec![Report { message, status }])
}

#[cfg(test)]
mod report_tests {
    use super::read_report;
    use crate::{MessageRef, Report, ReportStatus};

    fn report(body: serde_json::Value) -> Vec<Report> {
        read_report(body.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn each_status_becomes_its_report_and_unknown_values_stay_unknown() {
        let body = |value: &str, detail: Option<&str>| {
            serde_json::json!({"messageId": "67c1", "refClient": "dlv_9", "direction": "MT",
                "status": {"value": value, "detail": detail}})
        };
        let status = |value, detail| report(body(value, detail)).remove(0).status;
        assert_eq!(status("DELIVERED", None), ReportStatus::Delivered);
        assert_eq!(status("ENROUTE", None), ReportStatus::Pending);
        assert_eq!(
            status("UNDELIVERABLE", Some("BLACKLISTED")),
            ReportStatus::OptedOut {
                reason: "smsmode UNDELIVERABLE BLACKLISTED".into()
            }
        );
        assert_eq!(
            status("UNDELIVERABLE", Some("INVALID_PHONE_NUMBER")),
            ReportStatus::Failed {
                reason: "smsmode UNDELIVERABLE INVALID_PHONE_NUMBER".into()
            }
        );
        assert!(matches!(
            status("UNDELIVERED", None),
            ReportStatus::Expired { .. }
        ));
        assert_eq!(status("READ", None), ReportStatus::Unknown("READ".into()));
        assert_eq!(
            report(body("DELIVERED", None))[0].message,
            MessageRef::Reference("dlv_9".into())
        );
    }

    #[test]
    fn replies_are_not_reports_and_garbage_is_refused() {
        assert!(report(serde_json::json!({"direction": "MO", "from": "33612345678"})).is_empty());
        assert!(read_report(b"not json").is_err());
        assert!(read_report(br#"{"status": {"value": "DELIVERED"}}"#).is_err());
    }
}

/// Reads an smsmode reply (§1.2.4): a message resource with `direction: "MO"`, `from` the
/// replier's number and `body.text` the reply. A status update (`MT`) holds no reply.
pub(crate) fn read_inbound(body: &[u8]) -> Result<Vec<crate::Inbound>, crate::CallbackError> {
    use crate::CallbackError;
    let resource: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| CallbackError::Malformed(format!("not JSON: {e}")))?;
    if resource["direction"].as_str() != Some("MO") {
        return Ok(Vec::new());
    }
    let from = resource["from"]
        .as_str()
        .and_then(crate::callback::e164_of)
        .ok_or_else(|| CallbackError::Malformed("no valid from".into()))?;
    let text = resource["body"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(vec![crate::Inbound { from, text }])
}

#[cfg(test)]
mod inbound_tests {
    #[test]
    fn a_reply_is_read_and_a_status_update_is_not_one() {
        let reply = serde_json::json!({"direction": "MO", "from": "33612345678",
            "body": {"text": "STOP"}});
        let read = super::read_inbound(reply.to_string().as_bytes()).unwrap();
        assert_eq!(read[0].from, "+33612345678");
        assert_eq!(read[0].text, "STOP");
        let update = serde_json::json!({"direction": "MT", "status": {"value": "DELIVERED"}});
        assert!(
            super::read_inbound(update.to_string().as_bytes())
                .unwrap()
                .is_empty()
        );
        let bad = serde_json::json!({"direction": "MO", "from": "06 12", "body": {"text": "x"}});
        assert!(super::read_inbound(bad.to_string().as_bytes()).is_err());
    }
}
