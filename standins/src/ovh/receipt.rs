//! OVH's delivery reports, sent the way OVH calls an account's `callBack` URL
//! (reference/sms-providers.md §3.4), for tests of Tocsin's receipt endpoint.

use std::time::Duration;

/// A delivery report as OVH sends it to an account's `callBack` URL (§3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OvhDlr {
    /// The SMS id, as answered in `ids`.
    pub id: String,
    /// The PTT code: 1–2 retrying, 3 accepted by the operator, 4 delivered, 5 undelivered.
    pub ptt: String,
    /// When, as `YYYY-MM-DD HH:MM:SS` (OVH's own format is not documented).
    pub date: String,
    /// A word for the status. OVH's exact descriptions are not documented; these are ours.
    pub description: String,
}

impl OvhDlr {
    /// A report for SMS `id` with this `ptt`, dated now.
    pub fn new(id: impl ToString, ptt: u16) -> OvhDlr {
        let description = match ptt {
            1 => "Not delivered yet, handset problem, retrying",
            2 => "Not delivered yet, operator problem, retrying",
            3 => "Accepted by the operator",
            4 => "Delivered",
            5 => "Undelivered",
            _ => "Cannot determine the status",
        };
        OvhDlr {
            id: id.to_string(),
            ptt: ptt.to_string(),
            date: chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
            description: description.to_owned(),
        }
    }
}

/// Calls `callback_url` the way OVH reports a status change: a GET with `id`, `ptt`, `date`
/// and `description` added to its query string, keeping whatever query it already has (a
/// token, say). Whether OVH uses GET or POST is not documented (§3.4); GET it is. Returns the
/// status answered (OVH expects 200).
pub async fn call_receipt_url(callback_url: &str, dlr: &OvhDlr) -> Result<u16, String> {
    let mut url =
        reqwest::Url::parse(callback_url).map_err(|e| format!("bad callback URL: {e}"))?;
    url.query_pairs_mut()
        .append_pair("id", &dlr.id)
        .append_pair("ptt", &dlr.ptt)
        .append_pair("date", &dlr.date)
        .append_pair("description", &dlr.description);
    let response = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("calling the callback URL: {e}"))?;
    Ok(response.status().as_u16())
}
