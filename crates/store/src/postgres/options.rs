//! How to reach PostgreSQL: the parsed `postgres://` URL, the TLS mode (rustls), pool and timeout
//! settings. Nothing here ever prints the password: `Debug` and [`PostgresOptions::redacted`]
//! leave it out, and URL errors never echo the URL.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::{StoreError, StoreResult};

/// libpq's `sslmode`, as far as nmp supports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, without verifying its certificate (libpq's default).
    Prefer,
    /// TLS always, without verifying the certificate (protects against eavesdropping only).
    Require,
    /// TLS always; the certificate must chain to a trusted root (the system's well-known roots,
    /// or `sslrootcert`) and name the host.
    VerifyFull,
}

#[derive(Clone)]
pub struct PostgresOptions {
    pub(crate) config: tokio_postgres::Config,
    pub tls: TlsMode,
    /// PEM file of the roots to trust for `verify-full` (the URL's `sslrootcert`).
    pub root_cert: Option<PathBuf>,
    /// Most connections the pool opens.
    pub pool_size: u32,
    /// Connecting, and waiting for a free pooled connection, give up after this.
    pub connect_timeout: Duration,
    /// The server cancels any statement running longer (0: no limit).
    pub statement_timeout: Duration,
}

impl std::fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresOptions")
            .field("url", &self.redacted())
            .field("tls", &self.tls)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

fn invalid_url(reason: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("invalid database URL: {reason}"))
}

impl PostgresOptions {
    /// Parse a `postgres://` or `postgresql://` URL. `sslmode` may be `disable`, `prefer`
    /// (default), `require` or `verify-full`; `sslrootcert` names a PEM file of trusted roots.
    pub fn from_url(url: &str) -> StoreResult<PostgresOptions> {
        let mut parsed = url::Url::parse(url).map_err(invalid_url)?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(invalid_url("it must start with postgres:// or postgresql://"));
        }
        let mut tls = TlsMode::Prefer;
        let mut root_cert = None;
        let mut kept: Vec<(String, String)> = Vec::new();
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "sslmode" => {
                    tls = match value.as_ref() {
                        "disable" => TlsMode::Disable,
                        "prefer" => TlsMode::Prefer,
                        "require" => TlsMode::Require,
                        "verify-full" => TlsMode::VerifyFull,
                        other => {
                            return Err(invalid_url(format!(
                        "sslmode `{other}` is not supported (use disable, prefer, require or verify-full)"
                    )))
                        }
                    }
                }
                "sslrootcert" => root_cert = Some(PathBuf::from(value.as_ref())),
                _ => kept.push((key.into_owned(), value.into_owned())),
            }
        }
        // The driver knows disable/prefer/require; verification is ours (the rustls config).
        let driver_mode = match tls {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require | TlsMode::VerifyFull => "require",
        };
        parsed.query_pairs_mut().clear().extend_pairs(kept).append_pair("sslmode", driver_mode);
        let config = tokio_postgres::Config::from_str(parsed.as_str()).map_err(invalid_url)?;
        if config.get_hosts().is_empty() {
            return Err(invalid_url("it names no host"));
        }
        Ok(PostgresOptions {
            config,
            tls,
            root_cert,
            pool_size: 10,
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(30),
        })
    }

    /// Use this password (read from a file or the environment) instead of the URL's.
    pub fn with_password(mut self, password: &str) -> PostgresOptions {
        self.config.password(password);
        self
    }

    pub fn has_password(&self) -> bool {
        self.config.get_password().is_some()
    }

    /// Every host is a Unix socket or a loopback address: the connection never leaves the machine.
    pub fn is_local(&self) -> bool {
        self.config.get_hosts().iter().all(|host| match host {
            tokio_postgres::config::Host::Tcp(host) => {
                host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(_) => true,
        })
    }

    /// `postgres://user@host:port/database`, without the password: for logs and errors.
    pub fn redacted(&self) -> String {
        let user = self.config.get_user().unwrap_or("");
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => String::new(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let database = self.config.get_dbname().unwrap_or(user);
        let at = if user.is_empty() { String::new() } else { format!("{user}@") };
        format!("postgres://{at}{host}:{port}/{database}")
    }

    /// The driver configuration with the timeouts applied.
    pub(crate) fn driver_config(&self) -> postgres::Config {
        postgres::Config::from(self.async_config())
    }

    /// The same, for the asynchronous driver (the notification listener).
    pub(crate) fn async_config(&self) -> tokio_postgres::Config {
        let mut config = self.config.clone();
        config.connect_timeout(self.connect_timeout);
        config.application_name("nmp");
        let statement_ms = self.statement_timeout.as_millis();
        config.options(format!("-c statement_timeout={statement_ms}"));
        config
    }

    /// The TLS connector for the configured mode (unused when TLS is off).
    pub(crate) fn tls_connector(&self) -> StoreResult<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Invalid(format!("TLS setup: {e}")))?;
        let config = match self.tls {
            TlsMode::VerifyFull => {
                let mut roots = RootCertStore::empty();
                match &self.root_cert {
                    Some(path) => {
                        let certificates = CertificateDer::pem_file_iter(path)
                            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                            .map_err(|e| {
                                StoreError::Invalid(format!("sslrootcert {}: {e}", path.display()))
                            })?;
                        for certificate in certificates {
                            roots.add(certificate).map_err(|e| {
                                StoreError::Invalid(format!("sslrootcert {}: {e}", path.display()))
                            })?;
                        }
                    }
                    None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }
}

/// `sslmode=require`/`prefer`: encrypt, but accept any certificate, as libpq does in those modes.
/// Handshake signatures are still checked, so the session key belongs to the presented cert.
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn url_parts_and_modes() {
        let options =
            PostgresOptions::from_url("postgresql://app:s3cret@db.example:6543/nmp?sslmode=verify-full")
                .unwrap();
        assert_eq!(options.tls, TlsMode::VerifyFull);
        assert_eq!(options.redacted(), "postgres://app@db.example:6543/nmp");
        assert!(!format!("{options:?}").contains("s3cret"));
        let plain = PostgresOptions::from_url("postgres://app@localhost/nmp?sslmode=disable").unwrap();
        assert_eq!((plain.tls, plain.has_password()), (TlsMode::Disable, false));
        assert!(plain.with_password("x").has_password());
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        for url in [
            "mysql://app:s3cret@db/nmp",
            "postgres://app:s3cret@db:notaport/nmp",
            "postgres://app:s3cret@db/nmp?sslmode=verify-ca",
            "not a url s3cret",
        ] {
            let error = PostgresOptions::from_url(url).unwrap_err().to_string();
            assert!(error.starts_with("invalid database URL"), "{error}");
            assert!(!error.contains("s3cret"), "{error}");
        }
    }
}
