//! The egress checks on their own: every refused range is tested here, by the function that
//! decides, never by connecting to it.

use std::net::{IpAddr, SocketAddr};

use super::*;

fn strict() -> EgressPolicy {
    EgressPolicy::default()
}

fn loopback_allowed() -> EgressPolicy {
    EgressPolicy::new(&["*".into()], true).unwrap()
}

fn refused(policy: &EgressPolicy, url: &str) -> String {
    match policy.check_url(url) {
        Ok(_) => panic!("{url} was accepted"),
        Err(Refused(reason)) => {
            assert!(!reason.contains(url), "the reason echoes the URL: {reason}");
            reason
        }
    }
}

#[test]
fn push_services_of_the_browsers_are_accepted() {
    for url in [
        "https://fcm.googleapis.com/fcm/send/abc:APA91b",
        "https://android.googleapis.com/gcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
        "https://web.push.apple.com/QGuQyavXutnMH",
        "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA",
        "https://FCM.googleapis.com./fcm/send/abc",
        "https://fcm.googleapis.com:443/fcm/send/abc",
    ] {
        assert!(strict().check_url(url).is_ok(), "{url}");
    }
}

#[test]
fn other_hosts_are_refused_unless_the_list_is_lifted() {
    for url in [
        "https://push.example.net/p/abc",
        "https://evilfcm.googleapis.com.example.net/x",
        "https://notfcm.googleapis.com/x",
        "https://googleapis.com/x",
    ] {
        let reason = refused(&strict(), url);
        assert!(reason.contains("allowed_hosts"), "{url}: {reason}");
    }
    let any = EgressPolicy::new(&["*".into()], false).unwrap();
    assert!(any.check_url("https://push.example.net/p/abc").is_ok());
    let own = EgressPolicy::new(&["push.example.net".into()], false).unwrap();
    assert!(own.check_url("https://a.push.example.net/p").is_ok());
    assert!(own.check_url("https://fcm.googleapis.com/p").is_err());
}

#[test]
fn the_list_must_be_host_suffixes() {
    for bad in [
        vec![],
        vec!["https://fcm.googleapis.com".to_string()],
        vec!["fcm".to_string()],
        vec!["*".to_string(), "fcm.googleapis.com".to_string()],
        vec!["fcm..googleapis.com".to_string()],
    ] {
        assert!(EgressPolicy::new(&bad, false).is_err(), "{bad:?}");
    }
}

#[test]
fn every_loopback_form_is_refused_without_allow_loopback() {
    for url in [
        "http://127.0.0.1:4000/push/1",
        "http://localhost:4000/push/1",
        "http://[::1]:4000/push/1",
        "http://127.1:4000/push/1",
        "http://2130706433:4000/push/1",
        "http://0x7f000001:4000/push/1",
        "https://127.0.0.1/push/1",
        "https://localhost/push/1",
        "https://a.localhost/push/1",
        "https://[::1]/push/1",
        "https://127.1/push/1",
        "https://2130706433/push/1",
        "https://0x7f000001/push/1",
        "https://0177.0.0.1/push/1",
        "https://[::ffff:127.0.0.1]/push/1",
        "https://[::127.0.0.1]/push/1",
        "https://0.0.0.0/push/1",
    ] {
        let any = EgressPolicy::new(&["*".into()], false).unwrap();
        refused(&any, url);
        refused(&strict(), url);
    }
}

#[test]
fn allow_loopback_opens_loopback_and_nothing_else() {
    let policy = loopback_allowed();
    for url in [
        "http://127.0.0.1:4000/push/1",
        "http://127.3.2.1:4000/push/1",
        "http://localhost:4000/push/1",
        "http://[::1]:4000/push/1",
        "https://127.0.0.1:8443/push/1",
    ] {
        assert!(policy.check_url(url).is_ok(), "{url}");
    }
    for url in [
        "http://127.1:4000/push/1",
        "http://10.0.0.1/push/1",
        "https://10.0.0.1/push/1",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.1.1/",
        "http://push.example.net/p",
        "https://push.example.net:8443/p",
        "ftp://127.0.0.1/x",
    ] {
        refused(&policy, url);
    }
}

#[test]
fn endpoints_are_https_on_443_without_credentials() {
    let any = EgressPolicy::new(&["*".into()], false).unwrap();
    assert!(refused(&any, "http://push.example.net/p").contains("https"));
    assert!(refused(&any, "https://push.example.net:8443/p").contains("443"));
    assert!(refused(&any, "https://user:pw@push.example.net/p").contains("credentials"));
    assert!(refused(&any, "https://user@push.example.net/p").contains("credentials"));
    assert!(refused(&any, "/push/abc").contains("absolute URL"));
    assert!(refused(&any, "mailto:someone@example.net").contains("no host"));
}

#[test]
fn numeric_hosts_other_than_dotted_quads_are_refused() {
    let any = EgressPolicy::new(&["*".into()], false).unwrap();
    for url in [
        "https://1.1/p",
        "https://16843009/p",
        "https://0x01010101/p",
        "https://01.01.01.01/p",
        "https://1.1.1.1./p",
    ] {
        assert!(refused(&any, url).contains("dotted quad"), "{url}");
    }
    // A public address written plainly passes the address check (the host list still
    // applies: names only, unless lifted).
    assert!(any.check_url("https://1.1.1.1/p").is_ok());
    assert!(any.check_url("https://[2606:4700::1111]/p").is_ok());
    assert!(strict().check_url("https://1.1.1.1/p").is_err());
}

#[test]
fn private_and_special_ranges_are_refused() {
    for (ip, kind) in [
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "carrier-grade"),
        ("100.127.255.255", "carrier-grade"),
        ("169.254.169.254", "link-local"),
        ("192.0.0.8", "IETF"),
        ("192.0.2.1", "documentation"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.9", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.255", "benchmarking"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "broadcast"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("febf::1", "link-local"),
        ("fc00::1", "unique local"),
        ("fd12:3456::1", "unique local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("3fff::1", "documentation"),
        ("2001:2::1", "benchmarking"),
        ("100::1", "discard"),
        ("2001::1", "Teredo"),
        ("64:ff9b:1::1", "NAT64"),
        ("4000::1", "reserved"),
        // IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms of refused IPv4 addresses.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::127.0.0.1", "loopback"),
        ("::10.1.2.3", "private"),
        ("64:ff9b::7f00:1", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::1", "loopback"),
        ("2002:c0a8:101::1", "private"),
        // A public IPv4 address written as IPv6 is not taken either.
        ("::ffff:8.8.8.8", "IPv4 address written as IPv6"),
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        let reason = address_refusal(ip).unwrap_or_else(|| panic!("{ip} was accepted"));
        assert!(reason.contains(kind), "{ip}: {reason}");
        assert!(strict().check_address(ip).is_err(), "{ip}");
    }
}

#[test]
fn public_addresses_pass() {
    for ip in [
        "8.8.8.8",
        "1.1.1.1",
        "172.15.255.255",
        "172.32.0.1",
        "100.63.255.255",
        "100.128.0.1",
        "192.0.3.1",
        "198.20.0.1",
        "223.255.255.255",
        "2606:4700::1111",
        "2a00:1450:4007:80e::200a",
        "2002:808:808::1",
        "64:ff9b::808:808",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        assert_eq!(address_refusal(ip), None, "{ip}");
    }
}

/// A resolver answering with refused addresses (DNS rebinding, a name pointed at the host's
/// network) leaves nothing to connect to; public answers are kept, refused ones dropped.
#[test]
fn the_resolver_keeps_only_allowed_addresses() {
    let resolver = GuardedResolver::new(strict());
    let addr = |s: &str| SocketAddr::new(s.parse().unwrap(), 0);
    let err = resolver
        .keep_allowed(vec![addr("127.0.0.1"), addr("10.0.0.1")])
        .unwrap_err();
    assert!(
        matches!(&err, ResolveError::Refused(Refused(r)) if r.contains("loopback")),
        "{err}"
    );
    let err = resolver
        .keep_allowed(vec![addr("169.254.169.254"), addr("fd00::1")])
        .unwrap_err();
    assert!(matches!(err, ResolveError::Refused(_)), "{err}");
    let kept = resolver
        .keep_allowed(vec![addr("10.0.0.1"), addr("8.8.8.8"), addr("::1")])
        .unwrap();
    assert_eq!(kept, vec![addr("8.8.8.8")]);
    assert!(matches!(
        resolver.keep_allowed(vec![]),
        Err(ResolveError::Lookup(_))
    ));
    let open = GuardedResolver::new(loopback_allowed());
    assert_eq!(
        open.keep_allowed(vec![addr("127.0.0.1"), addr("10.0.0.1")])
            .unwrap(),
        vec![addr("127.0.0.1")]
    );
}

/// `localhost` resolves on every machine, to loopback: the guarded resolver refuses it.
#[tokio::test]
async fn a_name_that_resolves_to_this_machine_is_refused() {
    let err = GuardedResolver::new(strict())
        .lookup("localhost")
        .await
        .unwrap_err();
    assert!(matches!(err, ResolveError::Refused(_)), "{err}");
    let ok = GuardedResolver::new(loopback_allowed())
        .lookup("localhost")
        .await
        .unwrap();
    assert!(ok.iter().all(|a| a.ip().is_loopback()));
}

/// Through reqwest: the refusal comes back out of the request's error chain, and nothing
/// connects. The listener is on loopback; a name resolving to it is refused.
#[tokio::test]
async fn a_client_with_the_guarded_resolver_never_connects_to_a_refused_address() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver::new(strict())))
        .build()
        .unwrap();
    let error = client
        .post(format!("http://localhost:{port}/push/1"))
        .send()
        .await
        .unwrap_err();
    let refused = refusal_in(&error).expect("the resolver's refusal in the error chain");
    assert!(refused.0.contains("loopback"), "{refused}");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
    server.abort();
}
