//! Citizens' SMS to the account (replies to the short code or a virtual number), pulled: OVH
//! documents no push format for them, only `GET /sms/{serviceName}/incoming` (their ids),
//! `GET …/incoming/{id}` (one SMS) and `DELETE …/incoming/{id}` (sms-providers.md §3.5), all
//! signed like the jobs (§3.1).
//!
//! Each SMS is deleted at OVH right after it was read, so that no later fetch returns it again.
//! Once one is deleted, a fetch no longer fails as a whole: when a later call fails, the SMS
//! taken so far are returned (the failure is logged) and the others wait at OVH for the next
//! fetch, since failing would lose SMS that OVH no longer holds. For the same reason an SMS whose
//! `DELETE` may have gone through (a timeout, a 5xx other than 503) is returned: read twice
//! rather than lost. Two processes fetching the same account at once may both return an SMS.

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::{OvhError, OvhSms, error::clean_text};
use crate::{Inbound, callback::e164_of};

/// Most SMS taken by one fetch (two requests each); the others wait at OVH for the next one.
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

/// Why taking one SMS stopped the fetch.
struct Stop {
    reason: String,
    /// The SMS, when it was read and its deletion may have gone through.
    read: Option<Inbound>,
}

impl OvhSms {
    /// Reads the SMS waiting at OVH, oldest id first, deleting each once read. `Err` only when
    /// nothing was taken off OVH; its reason holds no credential and no phone number.
    pub(super) async fn fetch_incoming(&self) -> Result<Vec<Inbound>, String> {
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

        let mut taken = Vec::new();
        for id in ids {
            match self.take(id).await {
                Ok(Some(sms)) => taken.push(sms),
                Ok(None) => {}
                Err(stop) => {
                    taken.extend(stop.read);
                    if taken.is_empty() {
                        return Err(stop.reason);
                    }
                    tracing::warn!(
                        reason = %stop.reason,
                        taken = taken.len(),
                        "stopped taking SMS from OVH; the others wait there for the next fetch"
                    );
                    break;
                }
            }
        }
        Ok(taken)
    }

    /// Reads SMS `id`, then deletes it at OVH. `Ok(None)`: nothing for Tocsin (gone already,
    /// unreadable, or from a sender that is no phone number).
    async fn take(&self, id: u64) -> Result<Option<Inbound>, Stop> {
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
            Err(error) => {
                return Err(Stop {
                    reason: error.incoming_reason(READ),
                    read: None,
                });
            }
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
        let from = sms.sender.as_deref().and_then(sender_e164);

        match self.call_without_body(Method::DELETE, &url).await {
            Ok(_) => {}
            Err(error) if is_gone(&error) => {
                tracing::debug!(
                    id,
                    "OVH's incoming SMS was deleted meanwhile by another fetch"
                );
                return Ok(None);
            }
            Err(error) => {
                let read = match (from, error.is_uncertain()) {
                    (Some(from), true) => Some(Inbound {
                        from,
                        text: sms.message,
                    }),
                    _ => None,
                };
                return Err(Stop {
                    reason: error.incoming_reason(DELETE),
                    read,
                });
            }
        }

        match from {
            Some(from) => Ok(Some(Inbound {
                from,
                text: sms.message,
            })),
            None => {
                // Deleted all the same: no reply can reach it, and keeping it would have every
                // fetch read it again. Neither the sender nor the text is logged.
                tracing::warn!(
                    id,
                    "an incoming SMS at OVH has a sender that is no phone number; deleted there, \
                     not passed on"
                );
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
