//! The egress boundary: where a request whose address came from outside (a browser's push
//! endpoint) may go. Nothing the public sends may make Tocsin reach anything but a push service:
//! not this machine, not the host's network, not a cloud's metadata service.
//!
//! An address is checked twice: when it is given (the URL, with [`EgressPolicy::check_url`]),
//! and when a connection is made, against the addresses the name actually resolved to
//! ([`GuardedResolver`]): the client connects to exactly the addresses that passed, so a name
//! that resolves to a public address at subscription and to 127.0.0.1 at send time (DNS
//! rebinding) is refused at send time.

mod ranges;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use url::{Host, Url};

pub use ranges::refusal as address_refusal;

/// The push services browsers use today (web-push.md §1): Chrome, Edge and other Chromium
/// browsers (FCM, formerly GCM), Firefox (Mozilla autopush), Safari (Apple), and Windows (WNS).
/// A host matches when it is one of these or ends with `.` and one of these.
pub const DEFAULT_PUSH_HOSTS: &[&str] = &[
    "fcm.googleapis.com",
    "android.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
];

/// Why an address was refused: shown to the browser that gave it and stored as a delivery's
/// reason, so it names the rule, never the address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl Refused {
    fn new(reason: impl Into<String>) -> Self {
        Refused(reason.into())
    }
}

/// Where push requests may go: `[push] allowed_hosts` and `[push] allow_loopback`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Host suffixes an endpoint may have, lower case, without a trailing dot; `None` lifts
    /// the list (`["*"]`), the address checks still apply.
    allowed_hosts: Option<Arc<[String]>>,
    /// Loopback addresses (127.0.0.0/8, ::1, `localhost`) allowed, over http or https on any
    /// port: for tests, the demo and the benchmark, whose push services run on this machine.
    allow_loopback: bool,
}

impl Default for EgressPolicy {
    /// The browsers' push services, no loopback.
    fn default() -> Self {
        EgressPolicy {
            allowed_hosts: Some(DEFAULT_PUSH_HOSTS.iter().map(|h| h.to_string()).collect()),
            allow_loopback: false,
        }
    }
}

impl EgressPolicy {
    /// A policy from configuration: `hosts` are suffixes (or `"*"`, alone); an entry that is
    /// not a host name is refused with the reason.
    pub fn new(hosts: &[String], allow_loopback: bool) -> Result<Self, String> {
        if hosts.iter().any(|h| h == "*") {
            if hosts.len() > 1 {
                return Err("\"*\" lifts the list: give it alone".into());
            }
            return Ok(EgressPolicy {
                allowed_hosts: None,
                allow_loopback,
            });
        }
        if hosts.is_empty() {
            return Err("is empty: no browser could subscribe (\"*\" allows any host)".into());
        }
        let mut suffixes = Vec::with_capacity(hosts.len());
        for host in hosts {
            let suffix = host.trim().trim_end_matches('.').to_ascii_lowercase();
            let label_ok = |l: &str| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            };
            if !suffix.contains('.') || !suffix.split('.').all(label_ok) {
                return Err(format!(
                    "{host:?} is not a host name suffix (such as fcm.googleapis.com)"
                ));
            }
            suffixes.push(suffix);
        }
        Ok(EgressPolicy {
            allowed_hosts: Some(suffixes.into()),
            allow_loopback,
        })
    }

    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// Checks an endpoint as given: an absolute https URL on port 443 without credentials,
    /// whose host is a name on the list (or, for an address, a public one given as a dotted
    /// quad or in brackets). With `allow_loopback`, a loopback host may also use http and any
    /// port.
    pub fn check_url(&self, raw: &str) -> Result<Url, Refused> {
        let url = Url::parse(raw).map_err(|_| Refused::new("is not an absolute URL"))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::new("must not carry credentials"));
        }
        let host = url.host().ok_or_else(|| Refused::new("has no host"))?;
        // The URL standard reads `127.1`, `2130706433` and `0x7f000001` as 127.0.0.1: only
        // the plain dotted quad is taken, so that what a reader sees is what is reached.
        if let Host::Ipv4(ip) = host
            && written_host(raw).is_none_or(|written| written != ip.to_string())
        {
            return Err(Refused::new(
                "has a numeric host that is not a dotted quad (a.b.c.d)",
            ));
        }
        if self.allow_loopback && is_loopback_host(&host) {
            return match url.scheme() {
                "http" | "https" => Ok(url),
                _ => Err(Refused::new("must be an https URL")),
            };
        }
        // What the host is decides first: the most useful reason to whoever gave it.
        match host {
            Host::Ipv4(ip) => self.check_address(IpAddr::V4(ip))?,
            Host::Ipv6(ip) => self.check_address(IpAddr::V6(ip))?,
            Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                if name == "localhost" || name.ends_with(".localhost") {
                    return Err(Refused::new("points to this machine (localhost)"));
                }
            }
        }
        if url.scheme() != "https" {
            return Err(Refused::new("must be an https URL"));
        }
        if url.port().is_some() {
            return Err(Refused::new("must use the https port, 443"));
        }
        if !self.host_listed(&host) {
            return Err(Refused::new(
                "is not a push service this platform sends to ([push] allowed_hosts)",
            ));
        }
        Ok(url)
    }

    /// Checks an address a connection is about to be made to.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.allow_loopback && ip.is_loopback() {
            return Ok(());
        }
        match address_refusal(ip) {
            Some(kind) => Err(Refused::new(format!("points to {kind}"))),
            None => Ok(()),
        }
    }

    fn host_listed(&self, host: &Host<&str>) -> bool {
        let Some(suffixes) = &self.allowed_hosts else {
            return true;
        };
        let Host::Domain(name) = host else {
            return false;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        suffixes.iter().any(|suffix| {
            name == *suffix
                || name
                    .strip_suffix(suffix.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// The host as written in `raw` (`scheme://[userinfo@]host[:port]/…`), before the URL
/// standard rewrote it.
fn written_host(raw: &str) -> Option<String> {
    let rest = raw.trim().split_once("://")?.1;
    let authority = rest.split(['/', '?', '#', '\\']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => host_port,
    };
    Some(host.to_ascii_lowercase())
}

/// A resolver for reqwest that resolves with the system's resolver, then keeps only the
/// addresses the policy allows; reqwest connects to what it returns and nothing else. reqwest
/// does not resolve a URL whose host is an address: [`EgressPolicy::check_url`] checks those
/// before the request is made.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: EgressPolicy,
}

impl GuardedResolver {
    pub fn new(policy: EgressPolicy) -> Self {
        GuardedResolver { policy }
    }

    /// The addresses of `name` that may be connected to; an error when there are none.
    pub async fn lookup(&self, name: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((name, 0))
            .await
            .map_err(|e| ResolveError::Lookup(e.to_string()))?
            .collect();
        self.keep_allowed(found)
    }

    /// `found` without the addresses the policy refuses; an error naming the first refusal
    /// when none is left.
    pub fn keep_allowed(&self, found: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, ResolveError> {
        let mut first_refusal = None;
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|addr| match self.policy.check_address(addr.ip()) {
                Ok(()) => true,
                Err(refused) => {
                    first_refusal.get_or_insert(refused);
                    false
                }
            })
            .collect();
        match (allowed.is_empty(), first_refusal) {
            (false, _) => Ok(allowed),
            (true, Some(refused)) => Err(ResolveError::Refused(refused)),
            (true, None) => Err(ResolveError::Lookup("the name has no address".into())),
        }
    }
}

/// Why a name gave nothing to connect to.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// Every address the name has is one Tocsin must not reach.
    #[error("the push service's name {0}")]
    Refused(Refused),
    #[error("name resolution failed: {0}")]
    Lookup(String),
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolver = self.clone();
        Box::pin(async move {
            let addrs = resolver.lookup(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The refusal behind a failed request, if the resolver refused its addresses.
pub fn refusal_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut source = Some(error);
    while let Some(cause) = source {
        if let Some(ResolveError::Refused(refused)) = cause.downcast_ref::<ResolveError>() {
            return Some(refused);
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests;
