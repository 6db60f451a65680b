//! `X-Twilio-Signature`, the HMAC-SHA1 Twilio puts on its callbacks (sms-providers.md §2.4): how
//! to compute it and how to check a request's, in constant time. Pure functions; the caller
//! rebuilds the public URL Twilio requested (behind a proxy: from `X-Forwarded-Proto`/`Host`).

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The signature Twilio computes for a form-encoded `POST` to `url` with `params`, keyed with
/// the account's Auth Token: Base64 of HMAC-SHA1 over the URL followed by every parameter's
/// name and value, sorted by name then value, with no separators.
pub fn signature<K, V>(auth_token: &str, url: &str, params: &[(K, V)]) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    STANDARD.encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `header` (the request's `X-Twilio-Signature`) is Twilio's signature of this request,
/// compared in constant time. As Twilio's SDKs do, the URL is also tried with its default port
/// (`:443`, `:80`) added or removed, since proxies disagree on writing it. Signing covers every
/// parameter received, not a fixed list: Twilio adds new ones without notice (§2.3). With
/// several auth tokens (after a rotation), call once per token.
pub fn validate_signature<K, V>(
    auth_token: &str,
    url: &str,
    params: &[(K, V)],
    header: &str,
) -> bool
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let Ok(expected) = STANDARD.decode(header.trim()) else {
        return false;
    };
    let matches = |url: &str| {
        // `verify_slice` compares in constant time.
        mac(auth_token, url, params).verify_slice(&expected).is_ok()
    };
    matches(url) || port_toggled(url).is_some_and(|other| matches(&other))
}

fn mac<K, V>(auth_token: &str, url: &str, params: &[(K, V)]) -> HmacSha1
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect();
    // Byte order, by name then by value for repeated names.
    sorted.sort_unstable();
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// `url` with its scheme's default port removed if written, or added if not; `None` for other
/// ports and schemes. Works on the text, since a URL parser would drop a default port.
fn port_toggled(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let host_port = &authority[host_start..];
    // A colon inside `[…]` belongs to an IPv6 address, not to a port.
    let port_colon = host_port
        .rfind(':')
        .filter(|&i| !host_port[i..].contains(']'));
    let authority = match port_colon {
        Some(i) if &host_port[i + 1..] == default => authority[..host_start + i].to_owned(),
        Some(_) => return None,
        None => format!("{authority}:{default}"),
    };
    Some(format!("{scheme}://{authority}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const PARAMS: [(&str, &str); 5] = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ];

    #[test]
    fn reproduces_the_reference_test_vector() {
        assert_eq!(
            signature(TOKEN, URL, &PARAMS),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert!(validate_signature(
            TOKEN,
            URL,
            &PARAMS,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
    }

    #[test]
    fn parameters_are_sorted_whatever_their_order() {
        let mut shuffled = PARAMS;
        shuffled.reverse();
        assert_eq!(
            signature(TOKEN, URL, &shuffled),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn anything_changed_fails_the_check() {
        let good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        assert!(!validate_signature("54321", URL, &PARAMS, good));
        assert!(!validate_signature(
            TOKEN,
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &PARAMS,
            good
        ));
        let mut tampered = PARAMS;
        tampered[2].1 = "1235";
        assert!(!validate_signature(TOKEN, URL, &tampered, good));
        assert!(!validate_signature(TOKEN, URL, &PARAMS[..4], good));
        assert!(!validate_signature(TOKEN, URL, &PARAMS, "not base64!"));
        assert!(!validate_signature(TOKEN, URL, &PARAMS, ""));
        assert!(!validate_signature(
            TOKEN,
            URL,
            &PARAMS,
            "0/KCTR6DLpKmkAf8muzZqo1nDgA="
        ));
    }

    #[test]
    fn an_explicit_default_port_is_tried_both_ways() {
        let good = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert!(validate_signature(TOKEN, with_port, &PARAMS, good));
        let signed_with_port = signature(TOKEN, with_port, &PARAMS);
        assert!(validate_signature(TOKEN, URL, &PARAMS, &signed_with_port));
        // Another port is another URL.
        let other = "https://mycompany.com:8443/myapp.php?foo=1&bar=2";
        assert!(!validate_signature(TOKEN, other, &PARAMS, good));
    }

    #[test]
    fn port_toggling_leaves_the_rest_alone() {
        assert_eq!(
            port_toggled("https://h.example/cb?x=1").as_deref(),
            Some("https://h.example:443/cb?x=1")
        );
        assert_eq!(
            port_toggled("http://h.example:80").as_deref(),
            Some("http://h.example")
        );
        assert_eq!(
            port_toggled("https://[::1]/cb").as_deref(),
            Some("https://[::1]:443/cb")
        );
        assert_eq!(
            port_toggled("https://[::1]:443/cb").as_deref(),
            Some("https://[::1]/cb")
        );
        assert_eq!(port_toggled("https://h.example:8443/cb"), None);
        assert_eq!(port_toggled("ftp://h.example/cb"), None);
    }

    #[test]
    fn repeated_names_are_sorted_by_value() {
        let a = [("MediaUrl", "b"), ("MediaUrl", "a")];
        let b = [("MediaUrl", "a"), ("MediaUrl", "b")];
        assert_eq!(signature(TOKEN, URL, &a), signature(TOKEN, URL, &b));
    }
}
