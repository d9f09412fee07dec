//! Trusting a private CA for https, beyond the built-in web roots. The file (one or more PEM
//! certificates) is, first found: the one given to the builder; the CLI's `--ca-cert`;
//! `NMP_CLIENT_SSL_CERT_FILE` (the official CLI's variable); the context's cluster
//! `certificate_authority` in the shared CLI config file (the official CLI's key); the
//! conventional `SSL_CERT_FILE`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result};

static PROCESS_CA_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Set the CA file every client of this process trusts (the CLI's `--ca-cert`). First call wins.
pub fn set_process_ca_file(path: PathBuf) {
    let _ = PROCESS_CA_FILE.set(path);
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from)
}

/// The CA file to trust when the caller named none and no cluster is known.
pub fn ca_file() -> Option<PathBuf> {
    ca_file_with(None)
}

/// The CA file to trust, given the cluster's `certificate_authority` (if any).
pub fn ca_file_with(cluster_certificate_authority: Option<PathBuf>) -> Option<PathBuf> {
    PROCESS_CA_FILE
        .get()
        .cloned()
        .or_else(|| env_path("NMP_CLIENT_SSL_CERT_FILE"))
        .or(cluster_certificate_authority)
        .or_else(|| env_path("SSL_CERT_FILE"))
}

/// Add the certificates of `path` to the roots `builder` trusts.
pub fn trust_ca_file(builder: reqwest::ClientBuilder, path: &Path) -> Result<reqwest::ClientBuilder> {
    let error = |message: String| Error::CaFile { path: path.to_path_buf(), message };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| error(e.to_string()))?;
    if certificates.is_empty() {
        return Err(error("no PEM certificate in the file".into()));
    }
    Ok(certificates
        .into_iter()
        .fold(builder, |builder, certificate| builder.add_root_certificate(certificate)))
}
