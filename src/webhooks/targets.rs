//! Where webhooks may be sent: `https` only (unless `WEBHOOK_ALLOW_HTTP`), and never to
//! a loopback, private, link-local, multicast or unspecified address (unless
//! `WEBHOOK_ALLOW_PRIVATE_TARGETS`). Checked when an endpoint is registered and again at
//! every delivery: the delivery client resolves names through [`GuardedResolver`], which
//! drops forbidden addresses, and connects only to what it returned — a DNS rebinding
//! between the check and the connection cannot slip through.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long a registration waits for the name of its URL to resolve.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The rules a target must meet.
#[derive(Debug, Clone, Copy)]
pub struct TargetPolicy {
    pub allow_http: bool,
    pub allow_private: bool,
}

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not an absolute http(s) URL")]
    Malformed,
    #[error("only https URLs are called")]
    NotHttps,
    #[error("the URL carries a user name or password")]
    Credentials,
    #[error("the host does not resolve")]
    Unresolvable,
    #[error(
        "the host resolves to a private, loopback, link-local, multicast or unspecified address"
    )]
    PrivateTarget,
}

/// Whether an address is one no webhook may reach unless private targets are allowed.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 0.0.0.0/8 ("this network") and 100.64.0.0/10 (carrier-grade NAT).
                || a == 0
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_forbidden(IpAddr::V4(v4)),
            None => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
            }
        },
    }
}

impl TargetPolicy {
    /// The URL, if its scheme and form are acceptable (the addresses are checked by
    /// [`TargetPolicy::check_addresses`]).
    pub fn parse(&self, raw: &str) -> Result<Url, Refusal> {
        let url = Url::parse(raw.trim()).map_err(|_| Refusal::Malformed)?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err(Refusal::NotHttps),
            _ => return Err(Refusal::Malformed),
        }
        if url.host().is_none() {
            return Err(Refusal::Malformed);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal::Credentials);
        }
        Ok(url)
    }

    /// Resolves the URL's host and refuses it when any address is forbidden.
    pub async fn check_addresses(&self, url: &Url) -> Result<(), Refusal> {
        if self.allow_private {
            return Ok(());
        }
        let host = url.host_str().ok_or(Refusal::Malformed)?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return match is_forbidden(ip) {
                true => Err(Refusal::PrivateTarget),
                false => Ok(()),
            };
        }
        let port = url.port_or_known_default().unwrap_or(443);
        // A resolver that does not answer must not hold the request.
        let lookup = tokio::net::lookup_host((host, port));
        let addresses: Vec<SocketAddr> = tokio::time::timeout(LOOKUP_TIMEOUT, lookup)
            .await
            .map_err(|_| Refusal::Unresolvable)?
            .map_err(|_| Refusal::Unresolvable)?
            .collect();
        if addresses.is_empty() {
            return Err(Refusal::Unresolvable);
        }
        if addresses.iter().any(|a| is_forbidden(a.ip())) {
            return Err(Refusal::PrivateTarget);
        }
        Ok(())
    }
}

/// The delivery client's resolver: the system's answers without forbidden addresses.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|a| !is_forbidden(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{host} resolves only to forbidden addresses"),
                ))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The client that delivers: 5 s timeout, no redirects, names resolved through the
/// guard unless private targets are allowed.
pub fn delivery_client(policy: TargetPolicy) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Firmenportal-Webhooks/", env!("CARGO_PKG_VERSION")));
    let builder = match policy.allow_private {
        true => builder,
        false => builder.dns_resolver(Arc::new(GuardedResolver)),
    };
    builder.build().unwrap_or_else(|_| reqwest::Client::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_forbidden_and_public_ones_not() {
        for forbidden in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "224.0.0.1",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_forbidden(forbidden.parse().unwrap()), "{forbidden}");
        }
        for public in [
            "93.184.216.34",
            "2606:4700::1111",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert!(!is_forbidden(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn only_https_without_credentials_unless_http_is_allowed() {
        let strict = TargetPolicy {
            allow_http: false,
            allow_private: false,
        };
        assert!(strict.parse("https://hr.example.com/hooks").is_ok());
        assert_eq!(
            strict.parse("http://hr.example.com/").unwrap_err(),
            Refusal::NotHttps
        );
        assert_eq!(
            strict.parse("ftp://hr.example.com/").unwrap_err(),
            Refusal::Malformed
        );
        assert_eq!(
            strict.parse("https://user:pw@hr.example.com/").unwrap_err(),
            Refusal::Credentials
        );
        assert_eq!(
            strict.parse("hr.example.com").unwrap_err(),
            Refusal::Malformed
        );
        let lax = TargetPolicy {
            allow_http: true,
            allow_private: false,
        };
        assert!(lax.parse("http://hr.example.com/").is_ok());
    }

    #[tokio::test]
    async fn literal_and_resolved_private_targets_are_refused() {
        let strict = TargetPolicy {
            allow_http: true,
            allow_private: false,
        };
        for url in [
            "https://127.0.0.1/",
            "https://[::1]:8443/",
            "http://localhost:9/",
            "https://169.254.169.254/latest",
        ] {
            let url = strict.parse(url).unwrap();
            assert_eq!(
                strict.check_addresses(&url).await.unwrap_err(),
                Refusal::PrivateTarget,
                "{url}"
            );
        }
        let open = TargetPolicy {
            allow_http: true,
            allow_private: true,
        };
        assert!(
            open.check_addresses(&open.parse("http://127.0.0.1:9/").unwrap())
                .await
                .is_ok()
        );
    }
}
