//! Address ranges no request from outside may reach (IANA special-purpose registries,
//! RFC 6890 and its updates): everything but globally routable unicast.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address `ip` is when Tocsin must not connect to it; `None` for a public one.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_refusal(v4),
        IpAddr::V6(v6) => v6_refusal(v6),
    }
}

/// IPv4 ranges, the first that holds the address names it.
const V4_RANGES: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "an unspecified address (0.0.0.0/8)"),
    ([127, 0, 0, 0], 8, "this machine (loopback)"),
    ([10, 0, 0, 0], 8, "a private network (RFC 1918)"),
    ([172, 16, 0, 0], 12, "a private network (RFC 1918)"),
    ([192, 168, 0, 0], 16, "a private network (RFC 1918)"),
    (
        [100, 64, 0, 0],
        10,
        "a carrier-grade NAT network (100.64.0.0/10)",
    ),
    (
        [169, 254, 0, 0],
        16,
        "a link-local address (169.254.0.0/16, cloud metadata services)",
    ),
    (
        [192, 0, 0, 0],
        24,
        "an IETF protocol assignment (192.0.0.0/24)",
    ),
    ([192, 0, 2, 0], 24, "a documentation range (RFC 5737)"),
    ([198, 51, 100, 0], 24, "a documentation range (RFC 5737)"),
    ([203, 0, 113, 0], 24, "a documentation range (RFC 5737)"),
    ([198, 18, 0, 0], 15, "a benchmarking range (RFC 2544)"),
    ([192, 88, 99, 0], 24, "a 6to4 relay range (deprecated)"),
    ([224, 0, 0, 0], 4, "a multicast address"),
    (
        [240, 0, 0, 0],
        4,
        "a reserved or broadcast address (240.0.0.0/4)",
    ),
];

fn v4_refusal(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4_RANGES
        .iter()
        .find(|(net, len, _)| in_prefix(bits, u32::from(Ipv4Addr::from(*net)), *len))
        .map(|(_, _, kind)| *kind)
}

fn in_prefix(bits: u32, net: u32, len: u8) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    bits & mask == net & mask
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

const fn v6(segments: [u16; 8]) -> Ipv6Addr {
    Ipv6Addr::new(
        segments[0],
        segments[1],
        segments[2],
        segments[3],
        segments[4],
        segments[5],
        segments[6],
        segments[7],
    )
}

/// IPv6 ranges that are not public; checked after the forms that embed an IPv4 address.
const V6_RANGES: &[([u16; 8], u8, &str)] = &[
    (
        [0x100, 0, 0, 0, 0, 0, 0, 0],
        64,
        "a discard-only range (100::/64)",
    ),
    (
        [0x64, 0xff9b, 1, 0, 0, 0, 0, 0],
        48,
        "a local NAT64 range (64:ff9b:1::/48)",
    ),
    (
        [0x2001, 0, 0, 0, 0, 0, 0, 0],
        32,
        "a Teredo tunnel address (2001::/32)",
    ),
    (
        [0x2001, 0x2, 0, 0, 0, 0, 0, 0],
        48,
        "a benchmarking range (2001:2::/48)",
    ),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "a documentation range (2001:db8::/32)",
    ),
    (
        [0x3fff, 0, 0, 0, 0, 0, 0, 0],
        20,
        "a documentation range (3fff::/20)",
    ),
    (
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        "a unique local address (fc00::/7)",
    ),
    (
        [0xfe80, 0, 0, 0, 0, 0, 0, 0],
        10,
        "a link-local address (fe80::/10)",
    ),
    (
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        "a site-local address (fec0::/10)",
    ),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "a multicast address"),
];

fn v6_refusal(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_unspecified() {
        return Some("an unspecified address (::)");
    }
    if ip.is_loopback() {
        return Some("this machine (loopback)");
    }
    // Forms that carry an IPv4 address: judged by that address, since that is what a
    // dual-stack socket, a NAT64 gateway or a 6to4 relay would reach.
    if let Some(v4) = embedded_v4(ip) {
        if let Some(kind) = v4_refusal(v4) {
            return Some(kind);
        }
        // NAT64 (a DNS64 resolver's answers) and 6to4 are how IPv6 reaches a public IPv4
        // address; a mapped or compatible form of one is only an odd way to write it.
        let translated = v6_in(ip, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96)
            || v6_in(ip, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16);
        return (!translated).then_some("an IPv4 address written as IPv6");
    }
    if let Some((_, _, kind)) = V6_RANGES
        .iter()
        .find(|(net, len, _)| v6_in(ip, v6(*net), *len))
    {
        return Some(kind);
    }
    // Global unicast is 2000::/3; the rest of the space is reserved.
    if !v6_in(ip, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return Some("a reserved IPv6 range");
    }
    None
}

/// The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64
/// (64:ff9b::/96) or 6to4 (2002::/16) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from(bits as u32);
    if v6_in(ip, v6([0, 0, 0, 0, 0, 0xffff, 0, 0]), 96)
        || v6_in(ip, v6([0, 0, 0, 0, 0, 0, 0, 0]), 96)
        || v6_in(ip, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96)
    {
        return Some(low);
    }
    if v6_in(ip, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}
