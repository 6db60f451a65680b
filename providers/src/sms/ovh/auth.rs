//! OVH's request signature and OVH's clock (sms-providers.md §3.1): every authenticated call
//! carries `X-Ovh-Timestamp` in OVH's time and `X-Ovh-Signature` over that timestamp, so the
//! offset between our clock and OVH's is learnt from `GET /auth/time`, kept, and refreshed.

use std::{
    future::Future,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use sha1::{Digest, Sha1};

/// `$1$` + lowercase hex SHA-1 of `AS+CK+METHOD+FULL_URL+BODY+TIMESTAMP`, joined by `+`, where
/// `FULL_URL` is the URL exactly as sent (root, path and query) and `BODY` the exact bytes sent
/// (empty for GET and DELETE).
pub(crate) fn signature(
    application_secret: &str,
    consumer_key: &str,
    method: &str,
    full_url: &str,
    body: &[u8],
    timestamp: i64,
) -> String {
    let mut sha1 = Sha1::new();
    for part in [
        application_secret.as_bytes(),
        consumer_key.as_bytes(),
        method.as_bytes(),
        full_url.as_bytes(),
        body,
    ] {
        sha1.update(part);
        sha1.update(b"+");
    }
    sha1.update(timestamp.to_string().as_bytes());
    format!("$1${}", hex::encode(sha1.finalize()))
}

/// How long a learnt offset is trusted before `GET /auth/time` is asked again. Clocks drift by
/// seconds a day at worst; this catches a local clock that was stepped.
pub(crate) const REFRESH_EVERY: Duration = Duration::from_secs(10 * 60);

/// After a failed periodic refresh, the old offset is used and the refresh tried again this late,
/// so that an `/auth/time` outage does not cost every send a timeout.
const RETRY_REFRESH_AFTER: Duration = Duration::from_secs(30);

/// The offset between OVH's clock and ours, learnt from `GET /auth/time`.
pub(crate) struct OvhClock {
    state: Mutex<Option<Offset>>,
    /// One `/auth/time` call at a time: a burst of sends at start-up asks once.
    fetching: tokio::sync::Mutex<()>,
    refresh_every: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Offset {
    /// OVH's time minus ours, in seconds.
    seconds: i64,
    /// Counts the offsets learnt, so that concurrent sends refused for the same stale offset
    /// resynchronise once, not once each.
    generation: u64,
    refresh_at: Instant,
}

/// A timestamp in OVH's time, and the offset it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) timestamp: i64,
    pub(crate) generation: u64,
}

impl OvhClock {
    pub(crate) fn new(refresh_every: Duration) -> Self {
        OvhClock {
            state: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            refresh_every,
        }
    }

    /// OVH's time now. Asks `fetch` (which reads `GET /auth/time`) the first time and once the
    /// offset is older than the refresh period; if a refresh fails, the old offset still serves.
    /// Fails only when OVH's time was never learnt.
    pub(crate) async fn now<F, Fut>(&self, fetch: F) -> Result<Stamp, String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<i64, String>>,
    {
        if let Some(stamp) = self.fresh() {
            return Ok(stamp);
        }
        let _one_at_a_time = self.fetching.lock().await;
        // Another send may have refreshed it while this one waited.
        if let Some(stamp) = self.fresh() {
            return Ok(stamp);
        }
        let current = *self.state.lock().unwrap();
        match fetch().await {
            Ok(ovh_time) => Ok(self.learn(ovh_time, current)),
            Err(problem) => match current {
                Some(mut offset) => {
                    tracing::warn!(
                        problem,
                        "cannot refresh OVH's clock; keeping the offset learnt before"
                    );
                    offset.refresh_at = Instant::now() + RETRY_REFRESH_AFTER;
                    *self.state.lock().unwrap() = Some(offset);
                    Ok(stamp(offset))
                }
                None => Err(problem),
            },
        }
    }

    /// Learns OVH's time again because a request signed with the offset of `stale` was refused
    /// for its timestamp or signature. Does nothing when another send already did so since.
    pub(crate) async fn resync<F, Fut>(&self, stale: u64, fetch: F) -> Result<(), String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<i64, String>>,
    {
        let _one_at_a_time = self.fetching.lock().await;
        let current = *self.state.lock().unwrap();
        if current.is_some_and(|offset| offset.generation != stale) {
            return Ok(());
        }
        let ovh_time = fetch().await?;
        self.learn(ovh_time, current);
        Ok(())
    }

    fn fresh(&self) -> Option<Stamp> {
        let offset = (*self.state.lock().unwrap())?;
        (Instant::now() < offset.refresh_at).then(|| stamp(offset))
    }

    fn learn(&self, ovh_time: i64, before: Option<Offset>) -> Stamp {
        let offset = Offset {
            seconds: ovh_time - local_unix_time(),
            generation: before.map_or(1, |b| b.generation + 1),
            refresh_at: Instant::now() + self.refresh_every,
        };
        if offset.seconds.abs() > 30 {
            // Worth knowing: the host's clock is off (or OVH's is).
            tracing::info!(
                offset_seconds = offset.seconds,
                "OVH's clock differs from ours"
            );
        }
        *self.state.lock().unwrap() = Some(offset);
        stamp(offset)
    }
}

fn stamp(offset: Offset) -> Stamp {
    Stamp {
        timestamp: local_unix_time() + offset.seconds,
        generation: offset.generation,
    }
}

fn local_unix_time() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Reads the answer of `GET /auth/time`: Unix seconds as plain text (a bare JSON number).
pub(crate) fn parse_time(body: &str) -> Option<i64> {
    body.trim().parse().ok().filter(|t| *t > 0)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn signature_reproduces_the_reference_example() {
        // sms-providers.md §3.1, "Computed example".
        let body = r#"{"message":"Alerte crue: evacuez la zone basse.","receivers":["+33612345678"],"sender":"VILLEDEX","noStopClause":true,"priority":"high"}"#;
        assert_eq!(
            signature(
                "EXAMPLEappSecret0000000000000000",
                "EXAMPLEconsumerKey00000000000000",
                "POST",
                "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/jobs",
                body.as_bytes(),
                1767225600,
            ),
            "$1$31c9cc94be6e3661f44ddd9f18c76fc8972ec04a"
        );
    }

    #[test]
    fn every_part_is_signed() {
        let base = signature("as", "ck", "POST", "https://x/1.0/a", b"{}", 1);
        for other in [
            signature("as2", "ck", "POST", "https://x/1.0/a", b"{}", 1),
            signature("as", "ck2", "POST", "https://x/1.0/a", b"{}", 1),
            signature("as", "ck", "GET", "https://x/1.0/a", b"{}", 1),
            signature("as", "ck", "POST", "https://x/1.0/b", b"{}", 1),
            signature("as", "ck", "POST", "https://x/1.0/a", b"{ }", 1),
            signature("as", "ck", "POST", "https://x/1.0/a", b"{}", 2),
        ] {
            assert_ne!(base, other);
        }
        assert!(base.starts_with("$1$") && base.len() == 3 + 40);
        assert_eq!(base[3..], base[3..].to_lowercase());
    }

    #[test]
    fn auth_time_is_plain_unix_seconds() {
        assert_eq!(parse_time("1767225600\n"), Some(1767225600));
        assert_eq!(parse_time(" 1767225600 "), Some(1767225600));
        for bad in ["", "abc", "{\"time\":1}", "-5", "0"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    /// A fetch that answers OVH's time as ours plus `ahead` seconds, counting its calls.
    fn ovh_ahead(
        ahead: i64,
        calls: &AtomicUsize,
    ) -> impl FnOnce() -> std::future::Ready<Result<i64, String>> + '_ {
        move || {
            calls.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok(local_unix_time() + ahead))
        }
    }

    fn failing() -> std::future::Ready<Result<i64, String>> {
        std::future::ready(Err("connection refused".into()))
    }

    #[tokio::test]
    async fn the_offset_is_learnt_once_then_reused() {
        let clock = OvhClock::new(REFRESH_EVERY);
        let calls = AtomicUsize::new(0);
        let first = clock.now(ovh_ahead(3600, &calls)).await.unwrap();
        let second = clock.now(ovh_ahead(0, &calls)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!((first.timestamp - local_unix_time() - 3600).abs() <= 1);
        assert!((second.timestamp - first.timestamp).abs() <= 1);
        assert_eq!(first.generation, second.generation);
    }

    #[tokio::test]
    async fn a_stale_offset_is_refreshed_and_kept_if_the_refresh_fails() {
        let clock = OvhClock::new(Duration::ZERO);
        let calls = AtomicUsize::new(0);
        let first = clock.now(ovh_ahead(100, &calls)).await.unwrap();
        let kept = clock.now(failing).await.unwrap();
        assert_eq!(kept.generation, first.generation);
        assert!((kept.timestamp - local_unix_time() - 100).abs() <= 1);
        // The failed refresh is not retried at once.
        let again = clock.now(ovh_ahead(0, &calls)).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(again.generation, first.generation);
    }

    #[tokio::test]
    async fn without_any_offset_a_failed_fetch_is_an_error() {
        let clock = OvhClock::new(REFRESH_EVERY);
        assert_eq!(clock.now(failing).await, Err("connection refused".into()));
    }

    #[tokio::test]
    async fn resync_happens_once_per_stale_offset() {
        let clock = OvhClock::new(REFRESH_EVERY);
        let calls = AtomicUsize::new(0);
        let stale = clock.now(ovh_ahead(0, &calls)).await.unwrap();
        clock
            .resync(stale.generation, ovh_ahead(500, &calls))
            .await
            .unwrap();
        // A second send refused with the same stale offset finds it already replaced.
        clock
            .resync(stale.generation, ovh_ahead(900, &calls))
            .await
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let now = clock.now(ovh_ahead(0, &calls)).await.unwrap();
        assert_eq!(now.generation, stale.generation + 1);
        assert!((now.timestamp - local_unix_time() - 500).abs() <= 1);
        assert!(clock.resync(now.generation, failing).await.is_err());
    }
}
