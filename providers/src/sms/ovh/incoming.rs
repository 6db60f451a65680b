//! Citizens' SMS to the account (replies to the short code or a virtual number), pulled: OVH
//! documents no push format for them, only `GET /sms/{serviceName}/incoming` (their ids),
//! `GET …/incoming/{id}` (one SMS) and `DELETE …/incoming/{id}` (sms-providers.md §3.5), all
//! signed like the jobs (§3.1).
//!
//! A fetch only reads: each SMS stays at OVH until the daemon recorded it and asks for its
//! removal ([`OvhSms::remove_incoming`]), so that a database hiccup between the two never loses
//! one (a STOP above all); an SMS whose removal failed is read again by the next fetch. When a
//! read fails after others succeeded, those read are returned and the rest wait at OVH. Only an
//! SMS from a sender that is no phone number is deleted by the fetch itself: it is passed on to
//! no one. Two processes fetching the same account at once may both return an SMS.

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::{OvhError, OvhSms, error::clean_text};
use crate::{HeldInbound, Inbound, callback::e164_of};

/// Most SMS taken by one fetch (one request each); the others wait at OVH for the next one.
pub(crate) const MAX_PER_FETCH: usize = 100;

/// The calls, as named in reasons (the id and the account are left out).
const LIST: &str = "GET /sms/{serviceName}/incoming";
const READ: &str = "GET /sms/{serviceName}/incoming/{id}";
const DELETE: &str = "DELETE /sms/{serviceName}/incoming/{id}";

/// `sms.Incoming` (§3.5): `{creationDatetime, credits, id, message, sender, tag}`, of which
/// Tocsin needs two.
#[derive(Deserialize)]
struct IncomingSms {
    message: String,
    #[serde(default)]
    sender: Option<String>,
}

impl OvhSms {
    /// Reads the SMS waiting at OVH, oldest id first, leaving them there. `Err` only when none
    /// could be read; its reason holds no credential and no phone number.
    pub(super) async fn fetch_incoming(&self) -> Result<Vec<HeldInbound>, String> {
        let list = self
            .call_without_body(Method::GET, self.incoming_url())
            .await
            .map_err(|e| e.incoming_reason(LIST))?;
        let mut ids: Vec<u64> = serde_json::from_slice(&list)
            .map_err(|_| format!("{LIST}: OVH's answer is not a list of numeric ids"))?;
        // Ids grow with time (not documented, but so OVH's examples go): the oldest reply first,
        // so that a citizen's STOP then START keep their order.
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > MAX_PER_FETCH {
            tracing::info!(
                waiting = ids.len(),
                taken = MAX_PER_FETCH,
                "many SMS wait at OVH; the others are left for the next fetch"
            );
            ids.truncate(MAX_PER_FETCH);
        }

        let mut read = Vec::new();
        for id in ids {
            match self.read(id).await {
                Ok(Some(sms)) => read.push(HeldInbound {
                    id: id.to_string(),
                    sms,
                }),
                Ok(None) => {}
                Err(reason) if read.is_empty() => return Err(reason),
                Err(reason) => {
                    tracing::warn!(
                        %reason,
                        read = read.len(),
                        "stopped reading SMS from OVH; the others wait there for the next fetch"
                    );
                    break;
                }
            }
        }
        Ok(read)
    }

    /// Removes SMS `id` (as [`fetch_incoming`](Self::fetch_incoming) gave it) from OVH; one
    /// that is gone already counts as removed.
    pub(super) async fn remove_incoming(&self, id: &str) -> Result<(), String> {
        let id: u64 = id
            .parse()
            .map_err(|_| format!("{DELETE}: not an id OVH gave"))?;
        let url = entry_url(self.incoming_url(), id);
        match self.call_without_body(Method::DELETE, &url).await {
            Ok(_) => Ok(()),
            Err(error) if is_gone(&error) => Ok(()),
            Err(error) => Err(error.incoming_reason(DELETE)),
        }
    }

    /// Reads SMS `id`. `Ok(None)`: nothing for Tocsin (gone already, unreadable, or from a
    /// sender that is no phone number).
    async fn read(&self, id: u64) -> Result<Option<Inbound>, String> {
        let url = entry_url(self.incoming_url(), id);
        let body = match self.call_without_body(Method::GET, &url).await {
            Ok(body) => body,
            Err(error) if is_gone(&error) => {
                tracing::debug!(
                    id,
                    "OVH's incoming SMS is gone already (taken by another fetch)"
                );
                return Ok(None);
            }
            Err(error) => return Err(error.incoming_reason(READ)),
        };
        let sms: IncomingSms = match serde_json::from_slice(&body) {
            Ok(sms) => sms,
            Err(error) => {
                // Left at OVH: the answer may be a proxy's, and the SMS readable next time.
                // serde's words may quote a value: masked like any provider text.
                tracing::warn!(
                    id,
                    error = %clean_text(&error.to_string(), ""),
                    "cannot read an incoming SMS of OVH; left there"
                );
                return Ok(None);
            }
        };
        match sms.sender.as_deref().and_then(sender_e164) {
            Some(from) => Ok(Some(Inbound {
                from,
                text: sms.message,
            })),
            None => {
                // Deleted at once: no reply can reach it, and keeping it would have every fetch
                // read it again. Neither the sender nor the text is logged.
                tracing::warn!(
                    id,
                    "an incoming SMS at OVH has a sender that is no phone number; deleted there, \
                     not passed on"
                );
                if let Err(error) = self.call_without_body(Method::DELETE, &url).await {
                    tracing::warn!(id, reason = %error.incoming_reason(DELETE),
                        "could not delete it; the next fetch tries again");
                }
                Ok(None)
            }
        }
    }
}

/// `{base}/sms/{serviceName}/incoming/{id}`.
fn entry_url(incoming: &Url, id: u64) -> Url {
    let mut url = incoming.clone();
    url.path_segments_mut()
        .expect("an http(s) URL has a path")
        .push(&id.to_string());
    url
}

/// A 404 on one SMS: it is no longer at OVH.
fn is_gone(error: &OvhError) -> bool {
    matches!(error, OvhError::Http { status: 404, .. })
}

/// OVH gives senders as `+33612345678` or `0033612345678`: E.164 either way (digits alone,
/// `33612345678`, are read as international too). `None` for anything else: a national
/// `0612345678`, a name.
fn sender_e164(sender: &str) -> Option<String> {
    let sender = sender.trim();
    match sender.strip_prefix("00") {
        Some(international) if international.starts_with(|c: char| c.is_ascii_digit()) => {
            e164_of(international)
        }
        Some(_) => None,
        None => e164_of(sender),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn senders_become_e164() {
        for (sender, e164) in [
            ("+33612345678", "+33612345678"),
            ("0033612345678", "+33612345678"),
            (" 0033612345678 ", "+33612345678"),
            ("33612345678", "+33612345678"),
            ("00262692123456", "+262692123456"),
        ] {
            assert_eq!(sender_e164(sender).as_deref(), Some(e164), "{sender}");
        }
        for bad in [
            "0612345678",
            "000612345678",
            "00+33612345678",
            "+33 6 12 34 56 78",
            "VILLEDEX",
            "",
            "00",
            "+0033612345678",
        ] {
            assert_eq!(sender_e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn entry_urls_keep_the_prefix() {
        let incoming: Url = "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/incoming"
            .parse()
            .unwrap();
        assert_eq!(
            entry_url(&incoming, 42).as_str(),
            "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/incoming/42"
        );
    }
}
