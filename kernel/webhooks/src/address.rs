//! Which addresses a webhook may not be delivered to: those that reach the
//! kernel's own machine or its private network rather than the internet
//! (server-side request forgery). Pure.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address `ip` is, if webhooks may not go there by default.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => forbidden_v4(ip),
        IpAddr::V6(ip) => forbidden_v6(ip),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "cloud metadata",
        (0, ..) => "unspecified (\"this network\")",
        (127, ..) => "loopback",
        (10, ..) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (carrier-grade NAT)",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, ..) => "multicast",
        (240..=255, ..) => "reserved or broadcast",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return forbidden_v4(embedded_v4(segments[1], segments[2]));
    }
    // SIIT's IPv4-translated addresses, ::ffff:0:a.b.c.d.
    if segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return forbidden_v4(embedded_v4(segments[6], segments[7]));
    }
    Some(match segments[0] {
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "cloud metadata",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        // The deprecated IPv4-compatible addresses, ::a.b.c.d.
        _ if segments[..6] == [0; 6] => "IPv4-compatible (deprecated)",
        0xfc00..=0xfdff => "unique local (private)",
        0xfe80..=0xfebf => "link-local",
        0xfec0..=0xfeff => "site-local (deprecated)",
        0xff00..=0xffff => "multicast",
        0x2001 if segments[1] == 0xdb8 => "documentation",
        0x2001 if segments[1] == 0 => "Teredo",
        0x64 if segments[1] == 0xff9b && segments[2] == 1 => "NAT64 (local use)",
        0x100 if segments[1..4] == [0, 0, 0] => "discard-only",
        0x5f00 => "segment routing (SRv6)",
        _ => return None,
    })
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(text: &str) -> Option<&'static str> {
        forbidden(text.parse().unwrap())
    }

    #[test]
    fn the_addresses_of_this_machine_and_its_networks_are_refused() {
        for (address, expected) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("0.0.0.0", "unspecified (\"this network\")"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("169.254.1.1", "link-local"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "reserved or broadcast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("64:ff9b::a9fe:a9fe", "cloud metadata"),
            ("2002:7f00:1::", "loopback"),
            ("::7f00:1", "IPv4-compatible (deprecated)"),
            ("fd00:ec2::254", "cloud metadata"),
            ("fc00::1", "unique local (private)"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
            ("64:ff9b:1::a00:1", "NAT64 (local use)"),
            ("100::1", "discard-only"),
            ("5f00::1", "segment routing (SRv6)"),
            ("::ffff:0:7f00:1", "loopback"),
        ] {
            assert_eq!(kind(address), Some(expected), "{address}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for address in [
            "93.184.215.14",
            "1.1.1.1",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4007:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(kind(address), None, "{address}");
        }
    }

    proptest! {
        /// An IPv4 address is judged the same however IPv6 carries it.
        #[test]
        fn an_ipv4_address_mapped_into_ipv6_is_judged_as_itself(raw in any::<u32>()) {
            let v4 = Ipv4Addr::from(raw);
            let v4_kind = forbidden(IpAddr::V4(v4));
            prop_assert_eq!(forbidden(IpAddr::V6(v4.to_ipv6_mapped())), v4_kind);
            let [a, b, c, d] = v4.octets();
            let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]));
            prop_assert_eq!(forbidden(IpAddr::V6(nat64)), v4_kind);
        }
    }
}
