//! Requests to addresses a workspace typed in: Slack incoming webhooks and
//! the outgoing webhooks of rules. An admin's URL must not turn Hark into a
//! way to reach what only the server can reach (its database, the cloud's
//! metadata service, other hosts on the private network), so by default
//! these requests go only to public addresses: an IP literal is checked
//! before the request, a name is checked as it resolves (every address it
//! resolves to must be public, which also defeats a name that resolves
//! differently the second time), and redirects are not followed.
//! `allow_private_hooks` in the configuration lifts this for a deployment
//! whose hooks live on its own network (and for tests with local receivers).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The client for hook requests.
pub fn client(allow_private: bool) -> reqwest::Client {
    hark_channels::http::install_crypto_provider();
    let builder = reqwest::Client::builder()
        .tls_backend_rustls()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(15))
        .user_agent(concat!("Hark/", env!("CARGO_PKG_VERSION")));
    let builder = if allow_private { builder } else { builder.dns_resolver(PublicOnly) };
    // As with the platforms' client, which is built the same way at start:
    // this fails only when TLS cannot start at all.
    builder.build().unwrap_or_else(|e| panic!("cannot build the HTTP client for hooks: {e}"))
}

/// Refuses a hook URL that names a private address outright (a name is
/// checked by [`client`]'s resolver when the request is made).
pub fn check_url(url: &str, allow_private: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?} is not an http(s) URL"));
    }
    if allow_private {
        return Ok(());
    }
    let host = parsed.host_str().ok_or_else(|| format!("{url:?} names no host"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let literal = match bare.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) if bare.eq_ignore_ascii_case("localhost") || bare.to_ascii_lowercase().ends_with(".localhost") => {
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
        Err(_) => None,
    };
    match literal {
        Some(ip) if !is_public(ip) => Err(format!("{url:?} is a private address; hooks go to public hosts only")),
        _ => Ok(()),
    }
}

/// Whether an address is reachable on the public internet: not loopback,
/// private, link-local (cloud metadata), shared (carrier NAT), unspecified,
/// multicast, documentation or reserved, in IPv4 or IPv6 (IPv4-mapped
/// addresses are judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

/// Resolves with the system resolver and keeps only public addresses; a
/// name with none is refused, so the connection is never attempted.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.iter().any(|a| !is_public(a.ip())) {
                let refused: Box<dyn std::error::Error + Send + Sync> =
                    format!("{host} resolves to a private address; hooks go to public hosts only").into();
                return Err(refused);
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = private.parse().unwrap_or_else(|e| panic!("{private}: {e}"));
            assert!(!is_public(ip), "{private} is not public");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            let ip: IpAddr = public.parse().unwrap_or_else(|e| panic!("{public}: {e}"));
            assert!(is_public(ip), "{public} is public");
        }
    }

    #[test]
    fn hook_urls_naming_private_hosts_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5/x",
        ] {
            assert!(check_url(url, false).is_err(), "{url}");
            assert!(check_url(url, true).is_ok(), "{url} when allowed");
        }
        assert!(check_url("https://hooks.slack.com/services/T/B/X", false).is_ok());
        assert!(check_url("ftp://example.com/x", true).is_err());
        assert!(check_url("not a url", true).is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_when_the_request_is_made() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        // "localhost" resolves to loopback: the resolver refuses it, so the
        // listener is never reached.
        let url = format!("http://localhost:{port}/hook");
        let refused = client(false).post(&url).body("{}").send().await.err().map(|e| format!("{e:?}"));
        assert!(refused.is_some_and(|e| e.contains("private address")), "refused by the resolver");
        let allowed = tokio::spawn(async move { listener.accept().await.is_ok() });
        let _ = client(true).post(&url).body("{}").timeout(std::time::Duration::from_millis(500)).send().await;
        assert!(allowed.await.unwrap_or(false), "allowed, it connects");
    }
}
