//! TLS served directly (rustls): `server.tls.cert_file`, `key_file` and the optional
//! `client_ca_file` for mutual TLS. TLS 1.2 and 1.3 only (rustls implements nothing older).
//!
//! Renewal without restart: before each new connection the files' metadata (size, modification
//! time, inode) is compared with what was loaded; when it changed, or on SIGHUP, the files are
//! read again. A renewal that does not load (a half-written file, a key that does not match) is
//! logged and the previous certificate keeps serving.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The files TLS is served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub client_ca_file: Option<PathBuf>,
}

/// Why the TLS files cannot be used. Names the config key and file; never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("config key `{key}`: cannot read `{path}`: {message}")]
    Read { key: &'static str, path: PathBuf, message: String },
    #[error("config key `{key}`: `{path}` holds no PEM certificate")]
    NoCertificate { key: &'static str, path: PathBuf },
    #[error("config key `server.tls`: {0}")]
    Rustls(String),
}

/// What identifies one version of the files on disk.
type Fingerprint = Vec<Option<(u64, Option<SystemTime>, u64)>>;

/// The current server configuration, reloaded when the files change.
#[derive(Debug)]
pub struct TlsReloader {
    files: TlsFiles,
    current: RwLock<(Fingerprint, Arc<ServerConfig>)>,
    /// The last fingerprint that failed to load, so a broken renewal is not retried per connection.
    failed: Mutex<Option<Fingerprint>>,
}

impl TlsReloader {
    /// Load the files now; an error here stops the server from starting.
    pub fn load(files: TlsFiles) -> Result<TlsReloader, TlsError> {
        let fingerprint = fingerprint(&files);
        let config = build_config(&files)?;
        Ok(TlsReloader { files, current: RwLock::new((fingerprint, config)), failed: Mutex::new(None) })
    }

    /// The acceptor for a new connection, with the certificate currently on disk.
    pub fn acceptor(&self) -> TlsAcceptor {
        let now = fingerprint(&self.files);
        let changed = self.read().0 != now;
        if changed && self.failed.lock().unwrap_or_else(|p| p.into_inner()).as_ref() != Some(&now) {
            if let Err(error) = self.reload_with(now) {
                tracing::warn!(%error, "TLS files changed but do not load; still serving the previous certificate");
            }
        }
        TlsAcceptor::from(Arc::clone(&self.read().1))
    }

    /// Read the files again (SIGHUP).
    pub fn reload(&self) -> Result<(), TlsError> {
        self.reload_with(fingerprint(&self.files))
    }

    fn reload_with(&self, fingerprint: Fingerprint) -> Result<(), TlsError> {
        match build_config(&self.files) {
            Ok(config) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = (fingerprint, config);
                *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = None;
                tracing::info!(cert_file = %self.files.cert_file.display(), "TLS certificate loaded");
                Ok(())
            }
            Err(error) => {
                *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some(fingerprint);
                Err(error)
            }
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, (Fingerprint, Arc<ServerConfig>)> {
        self.current.read().unwrap_or_else(|p| p.into_inner())
    }
}

fn fingerprint(files: &TlsFiles) -> Fingerprint {
    let paths = [Some(&files.cert_file), Some(&files.key_file), files.client_ca_file.as_ref()];
    paths
        .into_iter()
        .flatten()
        .map(|path| {
            std::fs::metadata(path).ok().map(|meta| {
                #[cfg(unix)]
                let inode = std::os::unix::fs::MetadataExt::ino(&meta);
                #[cfg(not(unix))]
                let inode = 0;
                (meta.len(), meta.modified().ok(), inode)
            })
        })
        .collect()
}

fn read_certificates(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read_error = |message: String| TlsError::Read { key, path: path.to_path_buf(), message };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| read_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_error(e.to_string()))?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificate { key, path: path.to_path_buf() });
    }
    Ok(certificates)
}

/// A rustls server configuration from the files: TLS 1.2/1.3, ALPN h2 and http/1.1, and client
/// certificates required and checked against `client_ca_file` when it is set.
pub fn build_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certificates = read_certificates("server.tls.cert_file", &files.cert_file)?;
    // The error type of a PEM key read names no key bytes.
    let key = PrivateKeyDer::from_pem_file(&files.key_file).map_err(|e| TlsError::Read {
        key: "server.tls.key_file",
        path: files.key_file.clone(),
        message: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &files.client_ca_file {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for certificate in read_certificates("server.tls.client_ca_file", path)? {
                roots.add(certificate).map_err(|e| TlsError::Read {
                    key: "server.tls.client_ca_file",
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certificates, key)
        .map_err(|e| TlsError::Rustls(format!("certificate and key do not fit together: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reload on SIGHUP for as long as the reloader lives.
pub fn spawn_sighup_reload(reloader: &Arc<TlsReloader>) {
    #[cfg(unix)]
    {
        let weak = Arc::downgrade(reloader);
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: TLS files are reloaded on change only");
            return;
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let Some(reloader) = weak.upgrade() else { return };
                match reloader.reload() {
                    Ok(()) => tracing::info!("SIGHUP: TLS files reloaded"),
                    Err(error) => {
                        tracing::warn!(%error, "SIGHUP: TLS files do not load; keeping the previous ones")
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = reloader;
}
