//! Studio sessions: an opaque random cookie for the browser, everything else in the store (so
//! every replica sees the same sessions and tokens never leave the server). The store keeps only
//! the SHA-256 of the cookie's value. Also: the session cookie's attributes, the idle and absolute
//! timeouts, and the anti-CSRF check of every form post (a per-session synchronizer token plus the
//! `Origin` header).

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::{Cookie, SameSite};
use nmp_core::Principal;
use nmp_store::StoredSession;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::StudioState;
use crate::error::ApiError;

/// A session not yet signed in (it carries the anti-CSRF token and a pending sign-in) lives at
/// most this long.
const ANONYMOUS_LIFETIME: time::Duration = time::Duration::minutes(30);
/// `last_seen_at` is written back at most this often (or a quarter of the idle timeout, if
/// shorter), so page loads rarely write.
const TOUCH_EVERY: time::Duration = time::Duration::seconds(60);

/// What the server keeps about a browser. Serialized into the store's `data`.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct SessionData {
    /// The synchronizer token every form carries.
    pub csrf: String,
    #[serde(default)]
    pub user: Option<SignedInUser>,
    #[serde(default)]
    pub pending: Option<PendingSignIn>,
    /// Ids of the single-use forms this session has submitted (the access-key create form),
    /// newest last, a few at most.
    #[serde(default)]
    pub used_forms: Vec<String>,
}

/// A signed-in user, and the tokens that prove it (server-side only).
#[derive(Clone, Serialize, Deserialize)]
pub struct SignedInUser {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub scopes: Option<Vec<String>>,
    /// `oidc` or `quickstart`.
    pub via: String,
    /// Seconds since the epoch.
    pub signed_in_at: i64,
    pub access_token: Option<String>,
    /// `exp` of the access token, seconds since the epoch.
    pub access_expires_at: Option<i64>,
    /// When the server obtained that token, seconds since the epoch.
    #[serde(default)]
    pub access_obtained_at: Option<i64>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
}

impl SignedInUser {
    pub fn principal(&self) -> Principal {
        Principal {
            id: self.id.as_str().into(),
            email: self.email.clone(),
            groups: self.groups.clone(),
            scopes: self.scopes.clone(),
            on_behalf_of: None,
        }
    }

    pub fn display_name(&self) -> &str {
        self.email.as_deref().or(self.name.as_deref()).unwrap_or(&self.id)
    }
}

/// An OIDC sign-in under way: what the callback must find to accept the IdP's answer.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
}

/// A loaded session: its cookie value (the secret), the stored record and its data.
pub struct Session {
    secret: String,
    pub record: StoredSession,
    pub data: SessionData,
}

/// 256 random bits, URL-safe.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn encode(data: &SessionData) -> Result<String, ApiError> {
    serde_json::to_string(data).map_err(|e| ApiError::Internal(format!("session data: {e}")))
}

impl Session {
    pub fn user(&self) -> Option<&SignedInUser> {
        self.data.user.as_ref()
    }

    /// The `Set-Cookie` header that hands this session to the browser.
    pub fn set_cookie(&self, studio: &StudioState, headers: &HeaderMap) -> HeaderValue {
        header_value(&session_cookie(studio.is_https(headers), &self.secret, false))
    }
}

fn header_value(cookie: &str) -> HeaderValue {
    HeaderValue::from_str(cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The session cookie (or, with `remove`, its removal): `HttpOnly`, `SameSite=Lax`, `Path=/`,
/// and over https `Secure` with the `__Host-` prefix. No `Max-Age`: the server's timeouts rule.
pub fn session_cookie(secure: bool, value: &str, remove: bool) -> String {
    let mut cookie = Cookie::build((cookie_name(secure), value.to_string()))
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .path("/");
    if remove {
        cookie = cookie.max_age(time::Duration::ZERO);
    }
    cookie.build().to_string()
}

/// `__Host-` over https (so no subdomain or path can plant it), a plain name otherwise.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-nmp-studio"
    } else {
        "nmp-studio"
    }
}

/// A `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(studio: &StudioState, headers: &HeaderMap) -> HeaderValue {
    header_value(&session_cookie(studio.is_https(headers), "", true))
}

/// The session cookie's value from the request, if any.
fn cookie_value(studio: &StudioState, headers: &HeaderMap) -> Option<String> {
    let wanted = cookie_name(studio.is_https(headers));
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == wanted)
        .map(|cookie| cookie.value().to_string())
}

/// When a session expires: its idle deadline, capped by its absolute one.
fn expiry(
    studio: &StudioState,
    created_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
    signed_in: bool,
) -> OffsetDateTime {
    let settings = &studio.app.settings.studio;
    expires_at(settings.idle_timeout, settings.absolute_timeout, created_at, last_seen_at, signed_in)
}

/// The idle deadline (`last_seen_at + idle`) capped by the absolute one (`created_at +
/// absolute`); a session not signed in lives [`ANONYMOUS_LIFETIME`] from its creation.
fn expires_at(
    idle: std::time::Duration,
    absolute: std::time::Duration,
    created_at: OffsetDateTime,
    last_seen_at: OffsetDateTime,
    signed_in: bool,
) -> OffsetDateTime {
    if !signed_in {
        return created_at + ANONYMOUS_LIFETIME;
    }
    (last_seen_at + idle).min(created_at + absolute)
}

/// The request's session, if it has a live one (and marks it used).
pub async fn load(studio: &StudioState, headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
    let Some(secret) = cookie_value(studio, headers) else { return Ok(None) };
    let id_hash = hash(&secret);
    let now = studio.app.now();
    let record = match studio.app.store(move |store| store.get_session(&id_hash, now)).await {
        Ok(record) => record,
        Err(ApiError::NotFound(_)) => return Ok(None),
        Err(other) => return Err(other),
    };
    let Ok(data) = serde_json::from_str::<SessionData>(&record.data) else {
        tracing::warn!("unreadable studio session data; treating as signed out");
        return Ok(None);
    };
    let mut session = Session { secret, record, data };
    let idle = time::Duration::try_from(studio.app.settings.studio.idle_timeout).unwrap_or(TOUCH_EVERY);
    if now - session.record.last_seen_at >= TOUCH_EVERY.min(idle / 4) {
        session.record.last_seen_at = now;
        save(studio, &mut session).await?;
    }
    Ok(Some(session))
}

/// A fresh session (new random id) holding `data`: at first visit, and at sign-in, so the
/// identifier a browser had before signing in is never the signed-in one.
pub async fn create(studio: &StudioState, data: SessionData) -> Result<Session, ApiError> {
    let now = studio.app.now();
    let secret = random_token();
    let signed_in = data.user.is_some();
    let record = StoredSession {
        id_hash: hash(&secret),
        data: encode(&data)?,
        created_at: now,
        last_seen_at: now,
        expires_at: expiry(studio, now, now, signed_in),
    };
    let stored = record.clone();
    studio.app.store(move |store| store.create_session(&stored)).await?;
    Ok(Session { secret, record, data })
}

pub fn new_data() -> SessionData {
    SessionData { csrf: random_token(), user: None, pending: None, used_forms: Vec::new() }
}

/// The request's session, or a new anonymous one (then `fresh` is true: set its cookie).
pub async fn load_or_create(studio: &StudioState, headers: &HeaderMap) -> Result<(Session, bool), ApiError> {
    match load(studio, headers).await? {
        Some(session) => Ok((session, false)),
        None => Ok((create(studio, new_data()).await?, true)),
    }
}

/// Write the session's data and times back.
pub async fn save(studio: &StudioState, session: &mut Session) -> Result<(), ApiError> {
    session.record.data = encode(&session.data)?;
    session.record.expires_at =
        expiry(studio, session.record.created_at, session.record.last_seen_at, session.data.user.is_some());
    let record = session.record.clone();
    match studio.app.store(move |store| store.update_session(&record)).await {
        // Deleted meanwhile (signed out in another tab): nothing to keep.
        Err(ApiError::NotFound(_)) => Ok(()),
        other => other,
    }
}

/// End a session on the server: its cookie is worthless from now on, on every replica.
pub async fn destroy(studio: &StudioState, session: &Session) -> Result<(), ApiError> {
    let id_hash = session.record.id_hash.clone();
    studio.app.store(move |store| store.delete_session(&id_hash)).await.map(|_| ())
}

/// Replace the session by a new one holding `data` (sign-in: no session fixation).
pub async fn rotate(studio: &StudioState, old: &Session, data: SessionData) -> Result<Session, ApiError> {
    let fresh = create(studio, data).await?;
    destroy(studio, old).await?;
    Ok(fresh)
}

/// Whether a state-changing request comes from `origin`: its `Origin` header must be exactly
/// that; without one (old browsers), `Sec-Fetch-Site` must not say another site.
pub fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    match headers.get(header::ORIGIN) {
        Some(value) => value.to_str().is_ok_and(|value| value == origin),
        None => !matches!(
            headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()),
            Some("cross-site" | "same-site")
        ),
    }
}

/// Why a form post was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CsrfRefusal {
    ForeignOrigin,
    BadToken,
}

/// Check a state-changing request: it must come from our own origin (the `Origin` header, or
/// failing that `Sec-Fetch-Site`) and carry the session's anti-CSRF token.
pub fn check_csrf(
    studio: &StudioState,
    headers: &HeaderMap,
    session: Option<&Session>,
    token: &str,
) -> Result<(), CsrfRefusal> {
    if !same_origin(&studio.origin(headers), headers) {
        return Err(CsrfRefusal::ForeignOrigin);
    }
    let Some(session) = session else { return Err(CsrfRefusal::BadToken) };
    let expected = session.data.csrf.as_bytes();
    if expected.is_empty() || !bool::from(subtle::ConstantTimeEq::ct_eq(expected, token.as_bytes())) {
        return Err(CsrfRefusal::BadToken);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_01_cookie_attributes_over_http_and_https() {
        let plain = session_cookie(false, "v", false);
        assert_eq!(plain, "nmp-studio=v; HttpOnly; SameSite=Lax; Path=/");
        let secure = session_cookie(true, "v", false);
        assert!(secure.starts_with("__Host-nmp-studio=v;"), "{secure}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(secure.split("; ").any(|a| a == attribute), "{attribute} missing in {secure}");
        }
        assert!(!secure.contains("Domain"), "__Host- cookies carry no Domain: {secure}");
        assert!(session_cookie(true, "", true).contains("Max-Age=0"));
    }

    #[test]
    fn sessions_expire_when_idle_or_at_the_absolute_limit() {
        use std::time::Duration as Std;
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let (idle, absolute) = (Std::from_secs(3600), Std::from_secs(12 * 3600));
        let minute = time::Duration::minutes(1);
        // Used a minute ago: an hour of idleness from then.
        assert_eq!(expires_at(idle, absolute, t0, t0 + minute, true), t0 + minute + time::Duration::hours(1));
        // Used constantly: the absolute limit wins.
        let late = t0 + time::Duration::hours(11) + minute * 30;
        assert_eq!(expires_at(idle, absolute, t0, late, true), t0 + time::Duration::hours(12));
        // Not signed in: half an hour from creation, whatever the use.
        assert_eq!(expires_at(idle, absolute, t0, t0 + minute * 20, false), t0 + ANONYMOUS_LIFETIME);
    }

    #[test]
    fn web_05_origin_check() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, HeaderValue::from_static(value));
            }
            map
        };
        let us = "https://nmp.example.com";
        assert!(same_origin(us, &headers(&[("origin", "https://nmp.example.com")])));
        assert!(same_origin(us, &headers(&[("sec-fetch-site", "same-origin")])));
        assert!(same_origin(us, &headers(&[])));
        for foreign in
            ["https://evil.example", "null", "https://nmp.example.com.evil.example", "http://nmp.example.com"]
        {
            let mut map = HeaderMap::new();
            map.insert(
                "origin",
                HeaderValue::from_str(foreign).unwrap_or_else(|_| HeaderValue::from_static("x")),
            );
            assert!(!same_origin(us, &map), "{foreign}");
        }
        assert!(!same_origin(us, &headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(us, &headers(&[("sec-fetch-site", "same-site")])));
    }
}
