//! OVH's delivery receipts (sms-providers.md §3.4): the account's `callBack` URL is called with
//! `id`, `ptt`, `date` and `description` in the query string. Receipts match a delivery by
//! `id`, the number OVH returned in `ids` when it took the job (our `provider_message_id`); the
//! job's `tag` is only a campaign tag. OVH does not sign these calls: the URL must carry an
//! unguessable token, checked by whoever serves it (§0).

use std::borrow::Cow;

use super::error::clean_text;
use crate::{Callback, CallbackError, MessageRef, Report, ReportStatus};

/// Longest `id` accepted: OVH's ids are numbers of a dozen digits.
const MAX_ID_CHARS: usize = 64;

/// One delivery report, as OVH calls the callback URL with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvhReceipt {
    /// The SMS id, as returned in `ids` by the send (our `provider_message_id`).
    pub id: String,
    pub status: PttStatus,
    /// `date`, as OVH wrote it (its format is not documented): for logs only.
    pub date: Option<String>,
    /// `description`, OVH's word for the status, masked of phone numbers and bounded.
    pub description: Option<String>,
}

/// What OVH's `ptt` code says of the SMS (§3.4: codes 1 to 5 are documented; 6 and above exist
/// but are described only by `GET /sms/ptts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PttStatus {
    /// 1 (a handset problem) or 2 (an operator problem): not delivered yet, being retried.
    /// Not final.
    Retrying { ptt: u8 },
    /// 3: accepted by the operator. Not final.
    Accepted,
    /// 4: delivered to the handset. Final.
    Delivered,
    /// 5: confirmed undelivered, no details. Final and permanent.
    Failed,
    /// Any other code, or a value that is not a code (kept, bounded): never read as delivered.
    Unknown(String),
}

impl PttStatus {
    pub fn parse(ptt: &str) -> Self {
        match ptt.trim() {
            "1" => PttStatus::Retrying { ptt: 1 },
            "2" => PttStatus::Retrying { ptt: 2 },
            "3" => PttStatus::Accepted,
            "4" => PttStatus::Delivered,
            "5" => PttStatus::Failed,
            other => PttStatus::Unknown(other.chars().take(16).collect()),
        }
    }

    /// Whether no later receipt is expected for this SMS.
    pub fn is_final(&self) -> bool {
        matches!(self, PttStatus::Delivered | PttStatus::Failed)
    }

    /// What the code means for the delivery: delivered or failed for good (final), still on
    /// its way (1, 2, 3), or unknown (never read as delivered).
    pub fn report_status(&self) -> ReportStatus {
        match self {
            PttStatus::Delivered => ReportStatus::Delivered,
            PttStatus::Failed => ReportStatus::Failed {
                reason: "OVH ptt 5: confirmed undelivered".to_owned(),
            },
            PttStatus::Retrying { .. } | PttStatus::Accepted => ReportStatus::Pending,
            PttStatus::Unknown(ptt) => ReportStatus::Unknown(format!("OVH ptt {ptt:?}")),
        }
    }
}

/// The callback's query string cannot be a receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("OVH receipt without an id")]
    MissingId,
    #[error("OVH receipt id is not an SMS id (empty, too long or not printable)")]
    BadId,
}

impl OvhReceipt {
    /// Reads the raw query string of a callback call (`id=26929925&ptt=4&date=…`, without the
    /// `?`). Unknown parameters are ignored; of a repeated one, the first counts.
    pub fn from_query(query: &str) -> Result<OvhReceipt, ReceiptError> {
        Self::from_pairs(url::form_urlencoded::parse(
            query.trim_start_matches('?').as_bytes(),
        ))
    }

    /// Reads the callback's parameters already split into names and values.
    pub fn from_pairs<'a, I>(pairs: I) -> Result<OvhReceipt, ReceiptError>
    where
        I: IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    {
        let (mut id, mut ptt, mut date, mut description) = (None, None, None, None);
        for (name, value) in pairs {
            let slot = match name.as_ref() {
                "id" => &mut id,
                "ptt" => &mut ptt,
                "date" => &mut date,
                "description" => &mut description,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(value.into_owned());
            }
        }
        let id = id.ok_or(ReceiptError::MissingId)?.trim().to_owned();
        if id.is_empty()
            || id.chars().count() > MAX_ID_CHARS
            || !id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ReceiptError::BadId);
        }
        let text = |value: Option<String>| {
            value
                .map(|v| clean_text(&v, ""))
                .filter(|v| !v.trim().is_empty())
        };
        Ok(OvhReceipt {
            id,
            status: PttStatus::parse(ptt.as_deref().unwrap_or("")),
            date: date.map(|d| d.chars().take(40).collect()),
            description: text(description),
        })
    }
}

/// Reads an OVH status callback into one report about OVH's id (§3.4). The values come in the
/// query string; a form body is read too, since whether OVH GETs or POSTs is not documented.
pub(crate) fn read_report(callback: &Callback<'_>) -> Result<Vec<Report>, CallbackError> {
    let query = callback.query();
    let pairs = if query.iter().any(|(name, _)| name == "id") {
        query
    } else {
        callback.form()
    };
    let receipt = OvhReceipt::from_pairs(
        pairs
            .into_iter()
            .map(|(name, value)| (Cow::Owned(name), Cow::Owned(value))),
    )
    .map_err(|e| CallbackError::Malformed(e.to_string()))?;
    let status = match (receipt.status.report_status(), &receipt.description) {
        (ReportStatus::Failed { reason }, Some(description)) => ReportStatus::Failed {
            reason: format!("{reason} ({description})"),
        },
        (status, _) => status,
    };
    Ok(vec![Report {
        message: MessageRef::ProviderId(receipt.id),
        status,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(ptt: &str) -> PttStatus {
        OvhReceipt::from_query(&format!("id=26929925&ptt={ptt}"))
            .unwrap()
            .status
    }

    #[test]
    fn a_full_receipt_is_read() {
        let receipt = OvhReceipt::from_query(
            "id=26929925&ptt=4&date=2026-11-14+12%3A00%3A00&description=DELIVERED&extra=1",
        )
        .unwrap();
        assert_eq!(
            receipt,
            OvhReceipt {
                id: "26929925".into(),
                status: PttStatus::Delivered,
                date: Some("2026-11-14 12:00:00".into()),
                description: Some("DELIVERED".into()),
            }
        );
    }

    #[test]
    fn ptt_4_is_delivered_and_final() {
        assert_eq!(status("4"), PttStatus::Delivered);
        assert!(status("4").is_final());
        assert_eq!(status("4").report_status(), ReportStatus::Delivered);
    }

    #[test]
    fn ptt_5_is_a_permanent_failure() {
        assert_eq!(status("5"), PttStatus::Failed);
        assert!(status("5").is_final());
        assert!(matches!(
            status("5").report_status(),
            ReportStatus::Failed { .. }
        ));
    }

    #[test]
    fn ptt_1_and_2_are_temporary_not_final() {
        for ptt in [1, 2] {
            let s = status(&ptt.to_string());
            assert_eq!(s, PttStatus::Retrying { ptt });
            assert!(!s.is_final());
            assert_eq!(s.report_status(), ReportStatus::Pending);
        }
    }

    #[test]
    fn ptt_3_is_accepted_not_final() {
        assert_eq!(status("3"), PttStatus::Accepted);
        assert!(!status("3").is_final());
        assert_eq!(status("3").report_status(), ReportStatus::Pending);
    }

    #[test]
    fn other_or_unreadable_codes_are_unknown_never_delivered() {
        for ptt in ["0", "6", "13", "04", "delivered", "", "4.0", "-4"] {
            let s = status(ptt);
            assert!(matches!(s, PttStatus::Unknown(_)), "{ptt}: {s:?}");
            assert!(!s.is_final(), "{ptt}");
            assert!(
                matches!(s.report_status(), ReportStatus::Unknown(_)),
                "{ptt}"
            );
        }
        let without_ptt = OvhReceipt::from_query("id=1").unwrap();
        assert_eq!(without_ptt.status, PttStatus::Unknown(String::new()));
    }

    #[test]
    fn a_receipt_needs_an_id() {
        assert_eq!(
            OvhReceipt::from_query("ptt=4"),
            Err(ReceiptError::MissingId)
        );
        for bad in [
            "id=&ptt=4",
            "id=a%20b&ptt=4",
            &format!("id={}", "9".repeat(65)),
        ] {
            assert_eq!(
                OvhReceipt::from_query(bad),
                Err(ReceiptError::BadId),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_first_of_repeated_parameters_counts_and_a_leading_question_mark_is_fine() {
        let receipt = OvhReceipt::from_query("?id=7&ptt=5&ptt=4").unwrap();
        assert_eq!(receipt.id, "7");
        assert_eq!(receipt.status, PttStatus::Failed);
    }

    #[test]
    fn descriptions_are_masked_and_bounded() {
        let receipt =
            OvhReceipt::from_query("id=7&ptt=5&description=refused+for+%2B33612345678").unwrap();
        assert_eq!(
            receipt.description.as_deref(),
            Some("refused for +<number>")
        );
        let long = format!("id=7&ptt=5&description={}", "x".repeat(500));
        let receipt = OvhReceipt::from_query(&long).unwrap();
        assert!(receipt.description.unwrap().chars().count() <= 201);
    }

    fn callback<'a>(url: &'a str, method: &'a str, body: &'a [u8]) -> Callback<'a> {
        Callback {
            url,
            method,
            headers: &[],
            body,
        }
    }

    #[test]
    fn a_callback_becomes_a_report_about_ovh_s_id() {
        let url = "https://tocsin.example/cb/ovh/t0k3n/status?id=26929925&ptt=5\
                   &date=2026-11-14+12%3A00%3A00&description=Undelivered";
        assert_eq!(
            read_report(&callback(url, "GET", b"")),
            Ok(vec![Report {
                message: MessageRef::ProviderId("26929925".into()),
                status: ReportStatus::Failed {
                    reason: "OVH ptt 5: confirmed undelivered (Undelivered)".into()
                },
            }])
        );
        let posted = callback(
            "https://tocsin.example/cb/ovh/t0k3n/status",
            "POST",
            b"id=7&ptt=4",
        );
        assert_eq!(
            read_report(&posted).unwrap()[0].status,
            ReportStatus::Delivered
        );
        let garbage = callback("https://tocsin.example/cb/ovh/t0k3n/status", "POST", b"{}");
        assert!(matches!(
            read_report(&garbage),
            Err(CallbackError::Malformed(_))
        ));
    }
}
