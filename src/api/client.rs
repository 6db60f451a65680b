//! Who is asking the public routes: the client's address, read from `Forwarded` /
//! `X-Forwarded-For` only when the peer is a trusted proxy (`[http] trusted_proxies`) and
//! counted per IPv4 address or IPv6 /64 (one subscriber line holds a whole /64); whether the
//! request comes from another site, which the public routes refuse (any web page could
//! otherwise make its visitors ask for codes); and the token the commune page's forms carry.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, header, request::Parts},
};
use ipnet::IpNet;

use super::{AppState, error::ApiError};
use crate::model::keys::{Purpose, same_tag};

/// The cookie a form token is bound to (double submit: a page elsewhere can neither read it nor
/// set it, so it cannot forge the token that goes with it).
pub const FORM_COOKIE: &str = "tocsin_form";
/// The hidden field of the commune page's forms.
pub const FORM_TOKEN_FIELD: &str = "form_token";

/// A client of the public routes, from the same site: what its requests are counted under.
#[derive(Debug, Clone)]
pub struct PublicClient {
    /// `203.0.113.7`, or `2001:db8:1:2::/64`.
    pub key: String,
}

impl FromRequestParts<AppState> for PublicClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        refuse_cross_site(&parts.headers, &state.public_url)?;
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
            .ok_or_else(|| ApiError::internal("no peer address on a public route"))?;
        let ip = client_ip(peer, &parts.headers, &state.trusted_proxies);
        Ok(PublicClient {
            key: counted_as(ip),
        })
    }
}

/// 403 for a request a browser says comes from another site (`Sec-Fetch-Site: cross-site`), or
/// whose `Origin` is not the public URL's. A browser that says the request comes from the page's
/// own origin (`Sec-Fetch-Site: same-origin`) is believed whatever name it reached us by.
pub fn refuse_cross_site(headers: &HeaderMap, public_url: &url::Url) -> Result<(), ApiError> {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase);
    let refused = || {
        ApiError::forbidden("cross-site request refused: use the commune's page on this platform")
    };
    if site.as_deref() == Some("cross-site") {
        return Err(refused());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ours = public_url.origin().ascii_serialization();
        let same = origin
            .to_str()
            .is_ok_and(|o| o.trim_end_matches('/').eq_ignore_ascii_case(&ours));
        if !same && site.as_deref() != Some("same-origin") {
            return Err(refused());
        }
    }
    Ok(())
}

/// The client's address: the peer's, or when the peer is a trusted proxy, the last address the
/// proxies' chain names that is not itself a trusted proxy. An entry that cannot be read stops
/// the walk at the proxy that wrote it (counted as that proxy: never as a forged address).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_chain(headers).into_iter().rev() {
        let Some(ip) = hop else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The addresses the proxies appended, oldest first: RFC 7239 `Forwarded: for=…` when present,
/// else `X-Forwarded-For`. `None` for an entry that is not an address (`unknown`, `_hidden`).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: header::HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().map(str::to_string).unwrap_or_default())
            .collect()
    };
    let forwarded = values(header::FORWARDED);
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then(|| node_address(value.trim().trim_matches('"')))
                })?
            })
            .collect();
    }
    values(header::HeaderName::from_static("x-forwarded-for"))
        .iter()
        .flat_map(|v| v.split(','))
        .map(|hop| node_address(hop.trim()))
        .collect()
}

/// `192.0.2.60`, `192.0.2.60:4711`, `[2001:db8::17]:4711`, `2001:db8::17`.
fn node_address(text: &str) -> Option<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    text.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// IPv4 clients seen through an IPv6 socket (`::ffff:192.0.2.1`) are IPv4 clients.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// What a client is counted under: its IPv4 address, or its IPv6 /64.
pub fn counted_as(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => IpNet::new(IpAddr::V6(v6), 64)
            .expect("64 is a valid IPv6 prefix")
            .trunc()
            .to_string(),
    }
}

/// The value of the cookie `name` the request carries, if any.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// Whether a cookie's value is `len` hex digits, as the random values we set are.
pub fn is_hex_of(value: &str, len: usize) -> bool {
    value.len() == len && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The value of the form cookie the request carries, if it looks like one of ours.
pub fn form_cookie(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, FORM_COOKIE).filter(|v| is_hex_of(v, 32))
}

/// A new value for the form cookie.
pub fn new_form_cookie() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The `Set-Cookie` header of a form cookie: only our pages send it back (SameSite), scripts
/// cannot read it.
pub fn set_form_cookie(value: &str) -> String {
    format!("{FORM_COOKIE}={value}; Path=/c/; HttpOnly; SameSite=Strict")
}

fn form_token_message(cookie: &str) -> Vec<u8> {
    format!("form-token:{cookie}").into_bytes()
}

/// The token a form carries with this cookie.
pub fn form_token(state: &AppState, cookie: &str) -> String {
    let mac = state
        .keys
        .ring()
        .mac(Purpose::CitizenCodes, &form_token_message(cookie));
    hex::encode(&mac[..16])
}

/// Whether a form's token goes with the cookie the request carries (under any live key version:
/// a page loaded before a rotation still submits).
pub fn form_token_ok(state: &AppState, headers: &HeaderMap, token: &str) -> bool {
    let Some(cookie) = form_cookie(headers) else {
        return false;
    };
    state
        .keys
        .ring()
        .macs(Purpose::CitizenCodes, &form_token_message(&cookie))
        .iter()
        .any(|mac| same_tag(&hex::encode(&mac[..16]), token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_are_read_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let forged = headers(&[("x-forwarded-for", "198.51.100.1, 203.0.113.9")]);
        // A client that is no proxy of ours names whatever it likes: its own address counts.
        assert_eq!(
            client_ip(ip("192.0.2.7"), &forged, &trusted),
            ip("192.0.2.7")
        );
        // Through our proxy: the last address it appended, not what the client prepended.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &forged, &trusted),
            ip("203.0.113.9")
        );
        // Through two of our proxies.
        let two = headers(&[("x-forwarded-for", "203.0.113.9, 10.9.9.9")]);
        assert_eq!(client_ip(ip("10.1.2.3"), &two, &trusted), ip("203.0.113.9"));
        // RFC 7239 first, with ports and brackets.
        let rfc = headers(&[
            (
                "forwarded",
                "for=198.51.100.1;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
            ),
            ("x-forwarded-for", "192.0.2.99"),
        ]);
        assert_eq!(
            client_ip(ip("10.1.2.3"), &rfc, &trusted),
            ip("2001:db8:cafe::17")
        );
        // An unreadable entry: the proxy itself is counted.
        let hidden = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(client_ip(ip("10.1.2.3"), &hidden, &trusted), ip("10.1.2.3"));
        assert_eq!(
            client_ip(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(counted_as(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(counted_as(ip("2001:db8:1:2:bbbb::9")), "2001:db8:1:2::/64");
        assert_eq!(counted_as(ip("2001:db8:1:3::1")), "2001:db8:1:3::/64");
        assert_eq!(counted_as(canonical(ip("::ffff:192.0.2.1"))), "192.0.2.1");
    }

    #[test]
    fn requests_from_other_sites_are_refused() {
        let ours = url::Url::parse("https://alertes.example.fr").unwrap();
        let fine = [
            headers(&[]),
            headers(&[("origin", "https://alertes.example.fr")]),
            headers(&[
                ("sec-fetch-site", "same-origin"),
                ("origin", "http://127.0.0.1:4000"),
            ]),
            headers(&[("sec-fetch-site", "none")]),
        ];
        for h in &fine {
            assert!(refuse_cross_site(h, &ours).is_ok(), "{h:?}");
        }
        let refused = [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "null")]),
            headers(&[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://x.example.fr"),
            ]),
            headers(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://alertes.example.fr"),
            ]),
        ];
        for h in &refused {
            let error = refuse_cross_site(h, &ours).unwrap_err();
            assert_eq!(error.status, axum::http::StatusCode::FORBIDDEN, "{h:?}");
        }
    }
}
