//! Shared test harness: a fake IdP, test keys, an authenticator wired to both, and a clock.

#![allow(dead_code)]

pub mod idp;
pub mod mint;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use nmp_authn::{Authenticator, AuthnError, AuthnSettings, ManualClock, OidcSettings, RejectReason};
use serde_json::{json, Value};

pub use idp::{Behaviour, FakeIdp};
pub use mint::TestKey;

pub const AUDIENCE: &str = "nmp-api";

pub fn wall_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64
}

pub fn rsa1() -> TestKey {
    TestKey::load("rsa1", "rsa1", Algorithm::RS256)
}
pub fn rsa2() -> TestKey {
    TestKey::load("rsa2", "rsa2", Algorithm::RS256)
}
pub fn ec256() -> TestKey {
    TestKey::load("ec256", "ec256", Algorithm::ES256)
}
pub fn ec384() -> TestKey {
    TestKey::load("ec384", "ec384", Algorithm::ES384)
}
pub fn ed25519() -> TestKey {
    TestKey::load("ed25519", "ed25519", Algorithm::EdDSA)
}
pub fn attacker() -> TestKey {
    TestKey::load("attacker_rsa", "rsa1", Algorithm::RS256)
}

pub struct Harness {
    pub idp: FakeIdp,
    pub auth: Authenticator,
    pub clock: Arc<ManualClock>,
    pub refresh: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(task) = self.refresh.take() {
            task.abort();
        }
    }
}

/// Settings for tests: OIDC on the fake IdP, fast retries, no unknown-kid cooldown.
pub fn test_settings(issuer: &str) -> AuthnSettings {
    AuthnSettings {
        oidc: Some(OidcSettings::new(issuer, AUDIENCE)),
        jwks_refresh_interval: Duration::from_secs(3_600),
        jwks_retry_interval: Duration::from_millis(50),
        unknown_kid_cooldown: Duration::ZERO,
        http_timeout: Duration::from_secs(2),
        ..AuthnSettings::default()
    }
}

impl Harness {
    /// Fake IdP publishing `keys`, authenticator with `tweak`ed settings, background refresh
    /// started and keys loaded.
    pub async fn start(keys: Vec<Value>, tweak: impl FnOnce(&mut AuthnSettings)) -> Harness {
        let harness = Harness::start_cold(keys, tweak).await;
        let mut harness = harness;
        harness.refresh = Some(harness.auth.spawn_background_refresh());
        harness.wait_ready().await;
        harness
    }

    /// Same, without starting the background refresh.
    pub async fn start_cold(keys: Vec<Value>, tweak: impl FnOnce(&mut AuthnSettings)) -> Harness {
        let idp = FakeIdp::start(keys).await;
        let mut settings = test_settings(&idp.issuer());
        tweak(&mut settings);
        let clock = Arc::new(ManualClock::new(wall_now()));
        let auth = Authenticator::new(settings, clock.clone()).expect("settings");
        Harness { idp, auth, clock, refresh: None }
    }

    /// [`Harness::start`] refreshing the JWKS every 100 ms, and never early for an unknown `kid`:
    /// a key removed at the IdP is gone from the authenticator after the next refreshes.
    pub async fn start_refreshing(keys: Vec<Value>) -> Harness {
        Harness::start(keys, |settings| {
            settings.jwks_refresh_interval = Duration::from_millis(100);
            settings.unknown_kid_cooldown = Duration::from_secs(3_600);
        })
        .await
    }

    /// Publish `keys` at the IdP and wait for two refreshes after it (so one fetched them whole).
    pub async fn publish_and_await_refresh(&self, keys: Vec<Value>) {
        self.idp.set_keys(keys);
        let before = self.idp.jwks_hits();
        wait_until(Duration::from_secs(3), || self.idp.jwks_hits() >= before + 2).await;
    }

    pub async fn wait_ready(&self) {
        wait_until(Duration::from_secs(5), || self.auth.is_ready()).await;
        assert!(self.auth.is_ready(), "authenticator never became ready");
    }

    pub fn now(&self) -> i64 {
        use nmp_authn::Clock;
        self.clock.now_unix()
    }

    /// Valid access-token claims for this IdP.
    pub fn claims(&self) -> Value {
        let now = self.now();
        json!({
            "iss": self.idp.issuer(),
            "aud": AUDIENCE,
            "sub": "alice",
            "email": "alice@example.com",
            "groups": ["team-a"],
            "scope": "platform:read platform:write",
            "exp": now + 600,
            "iat": now,
            "jti": "jti-1",
        })
    }

    pub fn claims_with(&self, changes: Value) -> Value {
        let mut claims = self.claims();
        for (name, value) in changes.as_object().expect("object") {
            if value.is_null() {
                claims.as_object_mut().expect("object").remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    }

    pub async fn reject_reason(&self, token: &str) -> RejectReason {
        match self.auth.authenticate(token).await {
            Err(AuthnError::InvalidToken(reason)) => reason,
            other => panic!("expected an invalid-token rejection, got {other:?}"),
        }
    }

    pub async fn assert_rejected(&self, token: &str) {
        let result = self.auth.authenticate(token).await;
        assert!(result.is_err(), "token accepted: {result:?}");
    }

    pub async fn assert_accepted(&self, token: &str) -> nmp_authn::VerifiedToken {
        match self.auth.authenticate(token).await {
            Ok(verified) => verified,
            Err(error) => panic!("token rejected: {error:?} ({:?})", error.reason()),
        }
    }
}

pub async fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Captured log output, for tests that assert a warning was logged.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("lock")).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Run `f` with logs captured; returns its result and the log text.
pub fn with_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    let capture = LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    (result, capture.text())
}
