//! Which requests prove they come from a configured gateway (a shared-secret header and/or a
//! source-address allow-list), so their `X-NMP-Principal-*` headers may be believed.

use std::net::IpAddr;

use subtle::ConstantTimeEq;

use crate::config::{ConfigError, GatewayConfig};

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, message: message.into() }
}

/// What proves a request comes from a configured gateway.
#[derive(Clone, Default)]
pub struct TrustedGateway {
    pub secret: Option<(axum::http::HeaderName, String)>,
    pub networks: Vec<ipnet::IpNet>,
}

impl std::fmt::Debug for TrustedGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedGateway")
            .field("secret_header", &self.secret.as_ref().map(|(h, _)| h))
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("networks", &self.networks)
            .finish()
    }
}

impl TrustedGateway {
    pub fn is_configured(&self) -> bool {
        self.secret.is_some() || !self.networks.is_empty()
    }

    /// True when the request proves it comes from a trusted gateway: every configured proof must hold.
    pub fn trusts(&self, peer: Option<IpAddr>, headers: &axum::http::HeaderMap) -> bool {
        if !self.is_configured() {
            return false;
        }
        if let Some((name, secret)) = &self.secret {
            let presented = headers.get(name).map(|v| v.as_bytes()).unwrap_or_default();
            if !bool::from(presented.ct_eq(secret.as_bytes())) {
                return false;
            }
        }
        if !self.networks.is_empty() {
            let Some(peer) = peer else { return false };
            let peer = match peer {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
                v4 => v4,
            };
            if !self.networks.iter().any(|n| n.contains(&peer)) {
                return false;
            }
        }
        true
    }
}

impl TrustedGateway {
    /// The trusted-gateway proofs of `auth.gateway`, checked.
    pub fn from_config(config: &GatewayConfig) -> Result<TrustedGateway, ConfigError> {
        let secret_value = match (&config.shared_secret, &config.shared_secret_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "auth.gateway.shared_secret",
                    "set shared_secret or shared_secret_file, not both",
                ))
            }
            (Some(secret), None) => Some(secret.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        invalid(
                            "auth.gateway.shared_secret_file",
                            format!("cannot read `{}`: {e}", path.display()),
                        )
                    })?
                    .trim()
                    .to_string(),
            ),
            (None, None) => None,
        };
        let secret = match (secret_value, &config.shared_secret_header) {
            (Some(secret), header) => {
                if secret.len() < 16 {
                    return Err(invalid("auth.gateway.shared_secret", "must be at least 16 characters"));
                }
                let header = header.clone().unwrap_or_else(|| "X-NMP-Gateway-Secret".to_string());
                let name = axum::http::HeaderName::try_from(header.as_str()).map_err(|_| {
                    invalid("auth.gateway.shared_secret_header", format!("`{header}` is not a header name"))
                })?;
                Some((name, secret))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "auth.gateway.shared_secret_header",
                    "set auth.gateway.shared_secret or shared_secret_file too",
                ))
            }
            (None, None) => None,
        };
        let networks = config
            .trusted_cidrs
            .iter()
            .map(|cidr| {
                cidr.parse::<ipnet::IpNet>()
                    .or_else(|_| cidr.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        invalid(
                            "auth.gateway.trusted_cidrs",
                            format!("`{cidr}` is not a CIDR or an IP address"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedGateway { secret, networks })
    }
}
