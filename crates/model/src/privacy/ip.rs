//! What is kept of a client IP address: nothing by default, or its network if a site asks.
//!
//! A full IP address identifies a household or a device, so Heatlake never stores one (DESIGN.md,
//! "Privacy at the door"). A site that wants coarse location or network analytics can opt into
//! [`IpMode::Truncate`], which keeps the /24 of an IPv4 address (256 hosts) or the /48 of an IPv6
//! address (one site's allocation), the granularity commonly used for IP anonymisation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// Bits kept of an IPv4 address in [`IpMode::Truncate`].
const IPV4_PREFIX_BITS: u8 = 24;
/// Bits kept of an IPv6 address in [`IpMode::Truncate`].
const IPV6_PREFIX_BITS: u8 = 48;

/// What to do with a client IP address. Written `"drop"` or `"truncate"` in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpMode {
    /// Store nothing of the address. The default.
    #[default]
    Drop,
    /// Store the network prefix: IPv4 /24, IPv6 /48.
    Truncate,
}

/// An IP address that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid IP address {value:?}: expected an IPv4 address like 203.0.113.7 or an IPv6 address like 2001:db8::7, without port or brackets"
)]
pub struct InvalidIp {
    /// The value as given.
    pub value: String,
}

/// The part of `ip` to store under `mode`, written as a CIDR network (`203.0.113.0/24`).
///
/// [`IpMode::Drop`] gives `Ok(None)` for any input, valid or not, since the value is discarded
/// anyway. [`IpMode::Truncate`] keeps the first 24 bits of an IPv4 address and the first 48 of an
/// IPv6 address. An IPv6 address that carries a whole IPv4 address (IPv4-mapped
/// `::ffff:203.0.113.7`, as dual-stack sockets report IPv4 clients; IPv4-compatible; 6to4; Teredo)
/// is truncated as the IPv4 address it carries, since its /48 would keep all of it. Surrounding ASCII
/// whitespace is ignored.
///
/// ```
/// use heatlake_model::privacy::ip::{ip_prefix, IpMode};
///
/// assert_eq!(ip_prefix("203.0.113.77", IpMode::Truncate).unwrap().as_deref(), Some("203.0.113.0/24"));
/// assert_eq!(ip_prefix("203.0.113.77", IpMode::Drop).unwrap(), None);
/// assert!(ip_prefix("203.0.113", IpMode::Truncate).is_err());
/// ```
pub fn ip_prefix(ip: &str, mode: IpMode) -> Result<Option<String>, InvalidIp> {
    match mode {
        IpMode::Drop => Ok(None),
        IpMode::Truncate => {
            let parsed: IpAddr = ip.trim_ascii().parse().map_err(|_| InvalidIp {
                value: ip.to_owned(),
            })?;
            Ok(Some(truncate(parsed)))
        }
    }
}

fn truncate(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => truncate_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => truncate_v4(v4),
            None => {
                let mask = u128::MAX << (128 - u32::from(IPV6_PREFIX_BITS));
                let network = Ipv6Addr::from_bits(v6.to_bits() & mask);
                format!("{network}/{IPV6_PREFIX_BITS}")
            }
        },
    }
}

/// The IPv4 address an IPv6 address carries whole, if it is of a kind that does.
///
/// A /48 of these would keep the whole IPv4 address (6to4 `2002:AABB:CCDD::/48` *is* the IPv4
/// address `AA.BB.CC.DD`), so they are truncated as the IPv4 address they carry: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated; not `::` or `::1`), 6to4
/// (`2002::/16`, the IPv4 address in bits 16..48) and Teredo (`2001:0::/32`, the client's IPv4
/// address inverted in the last 32 bits).
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let bits = ip.to_bits();
    let segments = ip.segments();
    let low = bits as u32;
    match segments {
        [0x2002, ..] => Some(Ipv4Addr::from_bits((bits >> 80) as u32)),
        [0x2001, 0, ..] => Some(Ipv4Addr::from_bits(!low)),
        _ if bits >> 32 == 0 && low >> 24 != 0 => Some(Ipv4Addr::from_bits(low)),
        _ => None,
    }
}

fn truncate_v4(ip: Ipv4Addr) -> String {
    let mask = u32::MAX << (32 - u32::from(IPV4_PREFIX_BITS));
    let network = Ipv4Addr::from_bits(ip.to_bits() & mask);
    format!("{network}/{IPV4_PREFIX_BITS}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truncated(ip: &str) -> String {
        ip_prefix(ip, IpMode::Truncate)
            .expect("valid IP")
            .expect("truncate keeps a prefix")
    }

    #[test]
    fn ipv4_keeps_the_slash_24() {
        assert_eq!(truncated("203.0.113.77"), "203.0.113.0/24");
        assert_eq!(truncated("203.0.113.0"), "203.0.113.0/24");
        assert_eq!(truncated("255.255.255.255"), "255.255.255.0/24");
        assert_eq!(truncated("0.0.0.0"), "0.0.0.0/24");
        assert_eq!(truncated(" 10.1.2.3\n"), "10.1.2.0/24");
    }

    #[test]
    fn ipv6_keeps_the_slash_48() {
        assert_eq!(truncated("2001:db8:abcd:12:1:2:3:4"), "2001:db8:abcd::/48");
        assert_eq!(truncated("2001:DB8:ABCD:FFFF::1"), "2001:db8:abcd::/48");
        assert_eq!(truncated("2001:db8::1"), "2001:db8::/48");
        assert_eq!(truncated("::1"), "::/48");
        assert_eq!(truncated("fe80::1:2:3:4"), "fe80::/48");
        assert_eq!(
            truncated("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            "ffff:ffff:ffff::/48"
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_is_truncated_as_ipv4() {
        assert_eq!(truncated("::ffff:203.0.113.77"), "203.0.113.0/24");
        assert_eq!(truncated("::ffff:cb00:714d"), "203.0.113.0/24");
    }

    #[test]
    fn ipv6_addresses_embedding_a_whole_ipv4_are_truncated_as_that_ipv4() {
        // 6to4: 2002:AABB:CCDD::/48 is exactly the IPv4 address AA.BB.CC.DD.
        assert_eq!(truncated("2002:cb00:714d::1"), "203.0.113.0/24");
        assert_eq!(truncated("2002:cb00:714d:1234:5678::9"), "203.0.113.0/24");
        // Teredo: the client's IPv4 is the last 32 bits, inverted (here 203.0.113.77).
        assert_eq!(
            truncated("2001:0:4136:e378:8000:63bf:34ff:8eb2"),
            "203.0.113.0/24"
        );
        // IPv4-compatible (deprecated, `::a.b.c.d`).
        assert_eq!(truncated("::203.0.113.77"), "203.0.113.0/24");
        // Not embedding addresses: kept as IPv6 /48.
        assert_eq!(truncated("2001:db8::1"), "2001:db8::/48");
        assert_eq!(truncated("::1"), "::/48");
        assert_eq!(truncated("::"), "::/48");
    }

    #[test]
    fn drop_discards_any_input() {
        for ip in ["203.0.113.77", "2001:db8::1", "not an ip", ""] {
            assert_eq!(ip_prefix(ip, IpMode::Drop), Ok(None), "{ip:?}");
        }
    }

    #[test]
    fn invalid_addresses_are_refused_with_the_value() {
        for ip in [
            "",
            "203.0.113",
            "203.0.113.256",
            "203.0.113.7:443",
            "[2001:db8::1]",
            "fe80::1%eth0",
            "2001:db8::g",
            "localhost",
        ] {
            assert_eq!(
                ip_prefix(ip, IpMode::Truncate),
                Err(InvalidIp {
                    value: ip.to_owned()
                }),
                "{ip:?}"
            );
        }
        let error = ip_prefix("203.0.113", IpMode::Truncate).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid IP address \"203.0.113\": expected an IPv4 address like 203.0.113.7 or an IPv6 \
             address like 2001:db8::7, without port or brackets"
        );
    }

    #[test]
    fn mode_is_configured_in_lowercase_and_defaults_to_drop() {
        assert_eq!(IpMode::default(), IpMode::Drop);
        assert_eq!(serde_json::to_string(&IpMode::Drop).unwrap(), "\"drop\"");
        assert_eq!(
            serde_json::to_string(&IpMode::Truncate).unwrap(),
            "\"truncate\""
        );
        assert_eq!(
            serde_json::from_str::<IpMode>("\"truncate\"").unwrap(),
            IpMode::Truncate
        );
        assert!(serde_json::from_str::<IpMode>("\"Truncate\"").is_err());
    }
}
