//! `GET /apis/auth/v2/iam/opa-bundle.tar.gz`: our policy as an OPA bundle (the shipped Rego, the
//! current bindings as `data.json`, and a `.manifest`), deterministic so its `ETag` only changes
//! when the data does. Needs `iam.bundle.read` in `system` (the PDP enforces it).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::BuiltBundle;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(bundle))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Build the bundle bytes: a gzipped tar with fixed metadata and sorted entries.
pub fn build_bundle(data: &serde_json::Value) -> std::io::Result<Vec<u8>> {
    // serde_json maps are sorted, so this text is canonical for the data.
    let data_json = serde_json::to_vec(data)?;
    let revision = hex(&Sha256::digest(&data_json))[..8].to_string();
    let manifest = serde_json::to_vec(&json!({"revision": revision, "roots": ["authz"]}))?;
    let mut files: Vec<(String, Vec<u8>)> =
        vec![(".manifest".into(), manifest), ("data.json".into(), data_json)];
    for (name, source) in nmp_core::policy::rego_sources() {
        files.push((format!("policy/{name}"), source.as_bytes().to_vec()));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let gzip = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
    let mut archive = tar::Builder::new(gzip);
    archive.mode(tar::HeaderMode::Deterministic);
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        archive.append_data(&mut header, &name, content.as_slice())?;
    }
    archive.into_inner()?.finish()
}

#[utoipa::path(get, path = "/apis/auth/v2/iam/opa-bundle.tar.gz", tag = "IAM",
    description = "The policy and current bindings as an OPA bundle. Needs iam.bundle.read in system.",
    responses((status = 200, content_type = "application/gzip"), (status = 304)))]
async fn bundle(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    // Built once per change of the bindings, not per request.
    let built = state
        .access
        .bundle(|data| {
            let bytes = build_bundle(data)?;
            let etag = format!("\"{}\"", hex(&Sha256::digest(&bytes)));
            Ok(BuiltBundle { bytes: bytes.into(), etag })
        })
        .map_err(|e| ApiError::Internal(format!("building the bundle: {e}")))?;
    let (bytes, etag) = (built.bytes.clone(), built.etag.clone());
    let max_age = state.settings.timings.bundle_cache.as_secs();
    let cache = format!("max-age={max_age}, must-revalidate");
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = bytes.into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/gzip"));
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=opa-bundle.tar.gz"),
        );
        response
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    Ok(response)
}
