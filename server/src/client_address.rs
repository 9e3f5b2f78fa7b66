//! The address a request comes from, as failed authentications are counted and the
//! provisioning log records it: the peer's, or, when the peer is a proxy the operator
//! trusts (`--trusted-proxies`), the address that proxy says it forwarded for. Only then:
//! `X-Forwarded-For` from anyone else is the client's own say and is ignored, or any client
//! could pick the address its failures count against.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use poem::http::HeaderMap;

/// Addresses and networks whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

/// Nobody's: what a request without the application's state is judged by.
pub static NO_PROXIES: TrustedProxies = TrustedProxies(Vec::new());

impl TrustedProxies {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    /// The client's address for a request from `peer` with `headers`. With no proxy
    /// trusted (the default) the headers are not read at all.
    pub fn client_of(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> String {
        if self.0.is_empty() {
            return self.client(peer, std::iter::empty());
        }
        // A byte that is not ASCII must not hide the hops a proxy appended after it.
        let values: Vec<_> = headers
            .get_all("x-forwarded-for")
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()))
            .collect();
        self.client(peer, values.iter().map(AsRef::as_ref))
    }

    fn trust(&self, addr: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&addr))
    }

    /// The client's address for a request from `peer` carrying `forwarded_for` (every
    /// `X-Forwarded-For` value, in order). Walks the chain from the nearest hop back,
    /// past every trusted proxy, to the first address no trusted proxy vouches for.
    pub fn client<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> String {
        // With a dual-stack listener IPv4 peers arrive as `::ffff:a.b.c.d`.
        let Some(mut client) = peer.map(|ip| ip.to_canonical()) else {
            return "unknown".to_owned();
        };
        if self.0.is_empty() {
            return client.to_string();
        }
        let hops: Vec<&str> = forwarded_for
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.into_iter().rev() {
            if !self.trust(client) {
                break;
            }
            match parse_hop(hop) {
                Some(addr) => client = addr.to_canonical(),
                // Garbage from a trusted proxy: the last hop known is the proxy itself.
                None => break,
            }
        }
        client.to_string()
    }
}

/// A parsed `TrustedProxies` entry: a network (`10.0.0.0/8`) or one address.
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is neither an IP address nor a network like 10.0.0.0/8"))
}

/// One `X-Forwarded-For` entry: an address, with a port or in brackets as some proxies
/// write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(networks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(networks.iter().map(|n| parse_network(n).unwrap()).collect())
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_peer() {
        let proxies = trusted(&["10.0.0.0/8", "192.0.2.1"]);
        let chain = ["198.51.100.9, 203.0.113.7"];
        assert_eq!(
            proxies.client(ip("10.1.2.3"), chain.into_iter()),
            "203.0.113.7"
        );
        assert_eq!(
            proxies.client(ip("198.51.100.20"), chain.into_iter()),
            "198.51.100.20",
            "an untrusted peer's header is its own say"
        );
        assert_eq!(
            TrustedProxies::default().client(ip("10.1.2.3"), chain.into_iter()),
            "10.1.2.3",
            "nobody is trusted by default"
        );
    }

    #[test]
    fn the_chain_is_walked_past_trusted_hops_only() {
        let proxies = trusted(&["10.0.0.0/8", "192.0.2.1"]);
        // The client forged the first entry; two trusted proxies added the rest.
        let chain = ["1.1.1.1, 203.0.113.7", "192.0.2.1"];
        assert_eq!(
            proxies.client(ip("10.0.0.5"), chain.into_iter()),
            "203.0.113.7"
        );
        // Every hop trusted: the farthest one is the client.
        assert_eq!(
            proxies.client(ip("10.0.0.5"), ["10.9.9.9"].into_iter()),
            "10.9.9.9"
        );
        // No header: the proxy itself.
        assert_eq!(proxies.client(ip("10.0.0.5"), [].into_iter()), "10.0.0.5");
    }

    #[test]
    fn hops_with_ports_brackets_or_garbage() {
        let proxies = trusted(&["10.0.0.0/8"]);
        assert_eq!(
            proxies.client(ip("10.0.0.5"), ["203.0.113.7:4711"].into_iter()),
            "203.0.113.7"
        );
        assert_eq!(
            proxies.client(ip("10.0.0.5"), ["[2001:db8::1]"].into_iter()),
            "2001:db8::1"
        );
        assert_eq!(
            proxies.client(ip("10.0.0.5"), ["unknown"].into_iter()),
            "10.0.0.5"
        );
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.5"), ["203.0.113.7"].into_iter()),
            "203.0.113.7",
            "an IPv4 proxy seen through a dual-stack listener"
        );
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("proxy.internal").is_err());
    }
}
