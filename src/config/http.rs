//! `[http]`: how the HTTP listeners bound their clients (connections, deadlines), where the
//! API's own listener is, and which proxies name the client.

use std::{net::SocketAddr, time::Duration};

use serde::Deserialize;

use super::{ConfigError, invalid};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    #[serde(default)]
    trusted_proxies: Vec<String>,
    api_addr: Option<String>,
    max_connections: Option<usize>,
    #[serde(default = "default_max_connections_per_client")]
    max_connections_per_client: usize,
    #[serde(default = "default_api_max_connections")]
    api_max_connections: usize,
    #[serde(default = "default_header_timeout_ms")]
    header_timeout_ms: u64,
    #[serde(default = "default_body_timeout_ms")]
    body_timeout_ms: u64,
}

impl Default for RawHttp {
    fn default() -> Self {
        RawHttp {
            trusted_proxies: Vec::new(),
            api_addr: None,
            max_connections: None,
            max_connections_per_client: default_max_connections_per_client(),
            api_max_connections: default_api_max_connections(),
            header_timeout_ms: default_header_timeout_ms(),
            body_timeout_ms: default_body_timeout_ms(),
        }
    }
}

const fn default_max_connections_per_client() -> usize {
    128
}
const fn default_api_max_connections() -> usize {
    256
}
const fn default_header_timeout_ms() -> u64 {
    10_000
}
const fn default_body_timeout_ms() -> u64 {
    30_000
}

/// `[http]`, checked.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client; their own address is no
    /// client's, so the per-client connection cap does not count them either.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// A second listener for the API (and everything else), with connections of its own: the
    /// reserve that keeps the API answering when the public listener is full.
    pub api_addr: Option<SocketAddr>,
    /// Connections the public listener holds at once; `None`: sized at start-up from the
    /// process's file limit.
    pub max_connections: Option<usize>,
    pub max_connections_per_client: usize,
    /// Connections the API listener holds at once.
    pub api_max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        RawHttp::default()
            .validate(None)
            .expect("the defaults are valid")
    }
}

impl RawHttp {
    /// CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses.
    fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|text| {
                let text = text.trim();
                text.parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "http.trusted_proxies",
                            format!("{text:?} is not a CIDR such as 10.0.0.0/8 or an address"),
                        )
                    })
            })
            .collect()
    }

    pub(super) fn validate(
        self,
        http_addr: Option<&SocketAddr>,
    ) -> Result<HttpSettings, ConfigError> {
        let trusted_proxies = self.trusted_proxies()?;
        let api_addr = match self.api_addr {
            None => None,
            Some(text) => {
                let addr: SocketAddr = text.parse().map_err(|_| {
                    invalid(
                        "http.api_addr",
                        format!("{text:?} is not an address such as 127.0.0.1:8081"),
                    )
                })?;
                if http_addr == Some(&addr) && addr.port() != 0 {
                    return Err(invalid(
                        "http.api_addr",
                        "must differ from http_addr: it is a second listener",
                    ));
                }
                Some(addr)
            }
        };
        if self.max_connections == Some(0) {
            return Err(invalid("http.max_connections", "must be at least 1"));
        }
        if self.max_connections_per_client == 0 {
            return Err(invalid(
                "http.max_connections_per_client",
                "must be at least 1",
            ));
        }
        if self.api_max_connections == 0 {
            return Err(invalid("http.api_max_connections", "must be at least 1"));
        }
        let timeout = |field: &str, ms: u64| {
            if (100..=600_000).contains(&ms) {
                Ok(Duration::from_millis(ms))
            } else {
                Err(invalid(
                    format!("http.{field}"),
                    "must be between 100 and 600000 milliseconds",
                ))
            }
        };
        Ok(HttpSettings {
            trusted_proxies,
            api_addr,
            max_connections: self.max_connections,
            max_connections_per_client: self.max_connections_per_client,
            api_max_connections: self.api_max_connections,
            header_timeout: timeout("header_timeout_ms", self.header_timeout_ms)?,
            body_timeout: timeout("body_timeout_ms", self.body_timeout_ms)?,
        })
    }
}
