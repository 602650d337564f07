//! The operator's policy on where webhooks may be delivered: http or https
//! endpoints on hosts that resolve only to public addresses, unless the
//! operator allows the host by name (`--webhook-allow-host`).

use std::net::{IpAddr, ToSocketAddrs};

use reqwest::Url;
use url::Host;

use crate::address::forbidden;

/// Where webhooks may go.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Hosts allowed whatever they resolve to: lower case, IPv6 without brackets.
    allowed: Vec<String>,
}

impl Policy {
    /// The default policy, and `hosts` allowed whatever they resolve to
    /// (names or IP addresses, in any form a URL accepts); an error names
    /// one that is neither.
    pub fn allowing(hosts: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let allowed = hosts
            .into_iter()
            .map(|host| {
                let bare = host.trim().trim_start_matches('[').trim_end_matches(']');
                if let Ok(ip) = bare.parse::<IpAddr>() {
                    return Ok(ip.to_string());
                }
                match Host::parse(bare) {
                    Ok(Host::Domain(domain)) => Ok(normal(&domain)),
                    Ok(Host::Ipv4(ip)) => Ok(ip.to_string()),
                    Ok(Host::Ipv6(ip)) => Ok(ip.to_string()),
                    Err(err) => Err(format!("{host:?} is not a host name or IP address: {err}")),
                }
            })
            .collect::<Result<_, String>>()?;
        Ok(Self { allowed })
    }

    /// Whether the operator allowed `host` by name.
    pub fn allows(&self, host: &str) -> bool {
        let host = normal(host);
        self.allowed.contains(&host)
    }

    /// `url` parsed and checked, without resolving its host: its scheme,
    /// no credentials, and a literal address that is not refused.
    pub fn endpoint(&self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|err| format!("{url:?} is not a URL: {err}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "only http and https endpoints can receive webhooks, not {}",
                parsed.scheme()
            ));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err("put no credentials in the URL: the signature tells the receiver that \
                        a delivery is Keel's"
                .to_owned());
        }
        match parsed.host() {
            None => return Err(format!("{url:?} names no host")),
            Some(Host::Ipv4(ip)) => self.vet(&ip.to_string(), &[IpAddr::V4(ip)])?,
            Some(Host::Ipv6(ip)) => self.vet(&ip.to_string(), &[IpAddr::V6(ip)])?,
            Some(Host::Domain(_)) => {}
        }
        Ok(parsed)
    }

    /// Checks the addresses `host` resolved to: every one must be allowed.
    pub fn vet(&self, host: &str, addresses: &[IpAddr]) -> Result<(), String> {
        if self.allows(host) {
            return Ok(());
        }
        if addresses.is_empty() {
            return Err(format!("{host} resolves to no address"));
        }
        for ip in addresses {
            if let Some(kind) = forbidden(*ip) {
                // Not which address: tenants' administrators see this, and
                // need not learn the operator's internal addresses.
                let what = if normal(host) == ip.to_string() {
                    format!("{ip} is a {kind} address")
                } else {
                    format!("{host} resolves to a {kind} address")
                };
                return Err(format!(
                    "{what}: webhooks are not delivered to this machine or its private networks \
                     unless the operator allows the host (keel serve --webhook-allow-host {host})"
                ));
            }
        }
        Ok(())
    }

    /// `url` checked as [`Policy::endpoint`] does, and its host resolved
    /// and vetted. Blocking.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let parsed = self.endpoint(url)?;
        let Some(Host::Domain(host)) = parsed.host() else { return Ok(()) };
        if self.allows(host) {
            return Ok(());
        }
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses: Vec<IpAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|err| format!("cannot resolve {host}: {err}"))?
            .map(|address| address.ip())
            .collect();
        self.vet(host, &addresses)
    }
}

/// A host as the policy compares it.
fn normal(host: &str) -> String {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    host.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_on_this_machine_or_its_networks_are_refused_unless_allowed() {
        let policy = Policy::default();
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://[::1]/hook",
            "http://10.0.0.7/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://[::ffff:192.168.0.1]/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://localhost:9000/hook",
        ] {
            let err = policy.check(url).unwrap_err();
            assert!(err.contains("--webhook-allow-host"), "{url}: {err}");
        }

        let allowed = Policy::allowing(["LOCALHOST.".to_owned(), "[::1]".to_owned()]).unwrap();
        allowed.check("http://localhost:9000/hook").unwrap();
        allowed.check("http://[::1]:9000/hook").unwrap();
        assert!(allowed.check("http://127.0.0.1:9000/hook").is_err(), "only the hosts named");

        // However an allowed address is written, it is the same address.
        let allowed = Policy::allowing(["0x7f000001".to_owned(), "::FFFF:10.0.0.1".to_owned()]);
        let allowed = allowed.unwrap();
        allowed.check("http://127.0.0.1:9000/hook").unwrap();
        allowed.check("http://[::ffff:a00:1]/hook").unwrap();
        let err = Policy::allowing(["exa mple.com".to_owned()]).unwrap_err();
        assert!(err.contains("not a host name"), "{err}");
    }

    #[test]
    fn only_plain_http_and_https_urls_without_credentials_are_endpoints() {
        let policy = Policy::allowing(["example.com".to_owned()]).unwrap();
        policy.endpoint("https://example.com/hooks/keel?x=1").unwrap();
        policy.endpoint("http://example.com:8080/").unwrap();
        for (url, expected) in [
            ("ftp://example.com/", "only http and https"),
            ("file:///etc/passwd", "only http and https"),
            ("https://user:pass@example.com/", "no credentials"),
            ("example.com/hook", "not a URL"),
            ("http://", "not a URL"),
        ] {
            let err = policy.endpoint(url).unwrap_err();
            assert!(err.contains(expected), "{url}: {err}");
        }
    }
}
