//! Who a request came from, for the audit trail. Behind a reverse proxy the connection's peer is
//! the proxy; the client is then read from `X-Forwarded-For`, but only when the peer is one of
//! `--trusted-proxies`, since anyone can send that header.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The address of the peer of a request's connection (set by the connection loop).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub SocketAddr);

/// The proxies whose `X-Forwarded-For` is believed (`--trusted-proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses `--trusted-proxies`: addresses (`10.0.0.5`) and networks (`10.0.0.0/8`), separated
    /// by commas; an empty list trusts nobody.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let entries = list.split(',').map(str::trim).filter(|entry| !entry.is_empty());
        let parse = |entry: &str| {
            entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{entry}` is neither an IP address nor a network such as 10.0.0.0/8"))
        };
        entries.map(parse).collect::<Result<_, _>>().map(TrustedProxies)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client as the audit trail names it: the peer (`IP:port`), or behind trusted proxies
    /// `CLIENT_IP via PEER`. The client is the last forwarded address that is not itself a trusted
    /// proxy, reading from the right, since each proxy appends the address it saw; a malformed
    /// entry ends the reading there.
    pub fn describe(&self, peer: Option<ClientAddress>, headers: &HeaderMap) -> String {
        let Some(ClientAddress(peer)) = peer else { return String::new() };
        if !self.trusts(peer.ip()) {
            return peer.to_string();
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect();
        let mut client = None;
        for entry in forwarded.iter().rev() {
            match entry.parse::<IpAddr>() {
                Ok(address) => {
                    client = Some(address);
                    if !self.trusts(address) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        match client {
            Some(client) => format!("{} via {peer}", client.to_canonical()),
            None => peer.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    fn describe(trusted: &TrustedProxies, peer: &str, forwarded: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        trusted.describe(Some(ClientAddress(peer.parse().unwrap())), &headers)
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let none = TrustedProxies::default();
        assert_eq!(describe(&none, "10.0.0.5:4000", &["203.0.113.9"]), "10.0.0.5:4000");
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(describe(&trusted, "192.0.2.1:4000", &["203.0.113.9"]), "192.0.2.1:4000");
        assert_eq!(describe(&trusted, "10.0.0.5:4000", &["203.0.113.9"]), "203.0.113.9 via 10.0.0.5:4000");
        assert_eq!(describe(&trusted, "10.0.0.5:4000", &[]), "10.0.0.5:4000");
    }

    #[test]
    fn the_client_is_the_last_address_no_trusted_proxy_added() {
        let trusted = proxies("10.0.0.0/8, 2001:db8::1");
        // A client-supplied first entry is not believed: the proxy appended the real one.
        assert_eq!(
            describe(&trusted, "10.0.0.5:4000", &["198.51.100.7, 203.0.113.9, 10.1.1.1"]),
            "203.0.113.9 via 10.0.0.5:4000"
        );
        assert_eq!(
            describe(&trusted, "10.0.0.5:4000", &["198.51.100.7", "203.0.113.9"]),
            "203.0.113.9 via 10.0.0.5:4000"
        );
        assert_eq!(describe(&trusted, "10.0.0.5:4000", &["10.2.2.2, 10.1.1.1"]), "10.2.2.2 via 10.0.0.5:4000");
        assert_eq!(
            describe(&trusted, "[2001:db8::1]:4000", &["::ffff:203.0.113.9"]),
            "203.0.113.9 via [2001:db8::1]:4000"
        );
        assert_eq!(describe(&trusted, "10.0.0.5:4000", &["203.0.113.9, garbage"]), "10.0.0.5:4000");
        assert_eq!(describe(&trusted, "10.0.0.5:4000", &["garbage, 203.0.113.9"]), "203.0.113.9 via 10.0.0.5:4000");
    }

    #[test]
    fn the_list_holds_addresses_and_networks() {
        assert_eq!(proxies("10.0.0.5").0, ["10.0.0.5/32".parse::<IpNet>().unwrap()]);
        assert_eq!(proxies(" 127.0.0.1, fd00::/8 ,").0.len(), 2);
        assert!(proxies("").0.is_empty());
        assert!(TrustedProxies::parse("10.0.0.1,proxy.local").unwrap_err().contains("`proxy.local`"));
    }
}
