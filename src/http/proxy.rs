//! Which client a request comes from, behind reverse proxies. The peer of
//! the TCP connection is the client, unless it is one of
//! `http.trusted_proxies`: then the header `http.forwarded_header` names
//! (`X-Forwarded-For`, or RFC 7239 `Forwarded`) is read from the right, each
//! hop added by the proxy to its right, and the first hop that is not a
//! trusted proxy is the client. Everything left of it was written by the
//! client and is ignored, so a client cannot pick its own address. Only the
//! configured header is read: a proxy that maintains one passes the other
//! through as the client sent it. Pure; no IO.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::config::ForwardedHeader;

/// The trusted proxies and the header they maintain.
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    trusted: Vec<IpNet>,
    header: ForwardedHeader,
}

impl Proxies {
    pub fn new(trusted: Vec<IpNet>, header: ForwardedHeader) -> Proxies {
        Proxies { trusted, header }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, or, when the peer is a trusted
    /// proxy, the right-most hop of the forwarded chain that is not one. A
    /// hop that is not an address (`unknown`, an obfuscated name, garbage)
    /// ends the walk at the proxy that wrote it; so does a chain made only
    /// of trusted proxies, at its left-most one.
    pub fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer.map(canonical)?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for hop in self.hops(headers).iter().rev() {
            let Some(ip) = hop.as_deref().and_then(parse_hop) else {
                break;
            };
            client = canonical(ip);
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }

    /// The hops of the configured header, left to right, across all its
    /// lines. `None` for a hop that cannot be read.
    fn hops(&self, headers: &HeaderMap) -> Vec<Option<String>> {
        let mut hops = Vec::new();
        for value in headers.get_all(self.header.name()) {
            let Ok(value) = value.to_str() else {
                hops.push(None);
                continue;
            };
            for element in value.split(',') {
                hops.push(match self.header {
                    ForwardedHeader::XForwardedFor => Some(element.trim().to_owned()),
                    ForwardedHeader::Forwarded => forwarded_for(element),
                });
            }
        }
        hops
    }
}

/// The `for=` parameter of one `Forwarded` element, unquoted.
fn forwarded_for(element: &str) -> Option<String> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// An address as a hop gives it: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    let (host, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// IPv4 addresses mapped into IPv6 (a dual-stack socket's peers) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(header: ForwardedHeader) -> Proxies {
        Proxies::new(
            vec!["127.0.0.1/32".parse().unwrap(), "10.0.0.0/8".parse().unwrap()],
            header,
        )
    }

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = proxies(ForwardedHeader::XForwardedFor);
        let h = headers("x-forwarded-for", &["198.51.100.1"]);
        assert_eq!(p.client(ip("203.0.113.9"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn behind_proxies_the_right_most_untrusted_hop_is_the_client() {
        let p = proxies(ForwardedHeader::XForwardedFor);
        // The client claimed 1.1.1.1; the edge proxy appended what it saw,
        // then an inner proxy appended the edge's address.
        let h = headers("x-forwarded-for", &["1.1.1.1, 203.0.113.9", "10.1.2.3"]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("203.0.113.9"));
        let h = headers("x-forwarded-for", &["[2001:db8::7]:443", "192.0.2.4:5000"]);
        assert_eq!(p.client(ip("::ffff:127.0.0.1"), &h), ip("192.0.2.4"));
        // No header: the proxy itself.
        assert_eq!(p.client(ip("127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
        // Garbage stops the walk at the proxy that wrote it.
        let h = headers("x-forwarded-for", &["203.0.113.9, unknown, 10.0.0.5"]);
        assert_eq!(p.client(ip("127.0.0.1"), &h), ip("10.0.0.5"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        let p = proxies(ForwardedHeader::Forwarded);
        let h = headers(
            "forwarded",
            &[r#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711";by=10.0.0.1"#],
        );
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let xff = headers("x-forwarded-for", &["192.0.2.99"]);
        assert_eq!(p.client(ip("10.0.0.1"), &xff), ip("10.0.0.1"));
    }
}
