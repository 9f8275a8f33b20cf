//! The egress guard: where a tenant's URL (a webhook target, a bot's own LLM base URL) may
//! send the server's requests. Public addresses, and the networks the operator allows; checked
//! when the URL is set and again at every request (a resolver that hands the connector only
//! permitted addresses), so DNS rebinding does not help. Also how a failed outgoing request is
//! described without leaking its URL.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Which addresses a tenant's URL may reach: public ones, and those the operator allows.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    allowed: Vec<IpNet>,
}

impl TargetPolicy {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        TargetPolicy { allowed }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Checks a target URL: `http(s)`, a host, and every address it resolves to permitted.
    /// The error says why, for the 422.
    pub async fn check_url(&self, url: &str) -> Result<(), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("only http and https URLs are accepted".into());
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("credentials in the URL are not accepted".into());
        }
        let host = parsed.host_str().ok_or("the URL has no host")?;
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses: Vec<IpAddr> = match literal_address(&parsed) {
            Some(ip) => vec![ip],
            None => tokio::net::lookup_host((host, port))
                .await
                .map_err(|_| format!("{host} does not resolve"))?
                .map(|a| a.ip())
                .collect(),
        };
        if addresses.is_empty() {
            return Err("the host resolves to no address".into());
        }
        match addresses.iter().find(|ip| !self.permits(**ip)) {
            Some(ip) => Err(format!(
                "the target resolves to {ip}, a private, loopback, link-local or reserved \
                 address (allowed only by BOTWIRE_WEBHOOK_ALLOWED_CIDRS)"
            )),
            None => Ok(()),
        }
    }
}

/// The address a URL names literally (`http://10.0.0.1/`, `http://[::1]/`), if it does.
pub fn literal_address(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Whether an address is globally routable: not private, loopback, link-local, unique-local,
/// unspecified, multicast, shared (CGNAT), documentation, benchmarking or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            let special = v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link local fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site local fec0::/10
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || (segments[0] == 0x0064 && segments[1] == 0xff9b) // NAT64
                || (segments[0] == 0x2002) // 6to4, which embeds any IPv4 address
                || segments[..6] == [0, 0, 0, 0, 0, 0]; // IPv4-compatible
            !special
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240; // reserved
    !special
}

/// reqwest's resolver for deliveries (and for bots' own LLM URLs): names resolve as usual,
/// and only permitted addresses are handed to the connector, so a name that changed to a
/// private address since the webhook was checked (DNS rebinding) fails the attempt.
pub struct GuardedResolver {
    policy: TargetPolicy,
}

impl GuardedResolver {
    pub fn new(policy: TargetPolicy) -> Self {
        GuardedResolver { policy }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to refused addresses (private, loopback, link-local or reserved)")]
struct RefusedTarget(String);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if permitted.is_empty() {
                return Err(Box::new(RefusedTarget(host)) as Box<_>);
            }
            Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A failed outgoing request (webhook attempts, LLM requests) as text for logs: its kind and
/// its causes, never its URL (which may carry a token); at most 500 characters.
pub fn describe_request_error(error: reqwest::Error) -> String {
    let mut text = if error.is_connect() {
        "connection failed".to_string()
    } else if error.is_timeout() {
        "timed out".to_string()
    } else {
        "request failed".to_string()
    };
    let error = error.without_url();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_not_public() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(!is_public(refused.parse().unwrap()), "{refused}");
        }
        for public in ["93.184.215.14", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        let allowed = TargetPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(allowed.permits("127.0.0.1".parse().unwrap()));
        assert!(!allowed.permits("10.0.0.1".parse().unwrap()));
    }
}
