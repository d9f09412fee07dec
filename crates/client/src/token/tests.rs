//! Token provider: refresh rules and cross-process single-flight against a fake IdP.

use std::time::Duration;

use super::*;
use crate::config::{CliConfig, User};
use crate::jwt::{mint_unsigned, UnsignedTokenSpec};
use crate::test_support::{bearer, oauth_error, FakeAs, Reply};

fn jwt_expiring_in(seconds: i64) -> Secret {
    let spec =
        UnsignedTokenSpec { email: "a@example.com".into(), expires_in: Some(seconds), ..Default::default() };
    mint_unsigned(&spec, clock::SystemClock.now_unix())
}

fn write_config(path: &Path, base_url: &str, access: &Secret, refresh: Option<&str>) {
    let mut config = CliConfig::default();
    config.set_base_url("default", base_url);
    config.current_context = Some("default".into());
    let user: &mut User = config.ensure_user("default");
    user.set_tokens(access.clone(), refresh.map(Secret::from));
    config::save(path, &config).unwrap();
}

fn stored(path: &Path) -> (Option<String>, Option<String>) {
    let config = config::load(path).unwrap();
    let user = config.user_of("default").unwrap();
    (
        user.token.as_ref().map(|t| t.expose().to_string()),
        user.refresh_token.as_ref().map(|t| t.expose().to_string()),
    )
}

fn provider(path: &Path, fake: &FakeAs) -> TokenProvider {
    TokenProvider::from_config_file(path, "default", fake.base_url.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_separate_providers_refresh_exactly_once() {
    let fresh = jwt_expiring_in(3600);
    let answer = fresh.expose().to_string();
    let fake = FakeAs::start(Duration::from_millis(200), move |form, _| {
        assert_eq!(form["grant_type"], "refresh_token");
        assert_eq!(form["refresh_token"], "rt-1");
        bearer(&answer, Some("rt-2"))
    })
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");
    write_config(&path, &fake.base_url, &jwt_expiring_in(-10), Some("rt-1"));

    // Separate providers share no in-process gate: only the lock file serializes them,
    // as it does for separate processes.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let provider = provider(&path, &fake);
            tokio::spawn(async move { provider.token().await })
        })
        .collect();
    for task in tasks {
        let token = task.await.unwrap().unwrap().unwrap();
        assert_eq!(token, fresh);
    }
    assert_eq!(fake.token_calls(), 1);
    assert_eq!(stored(&path), (Some(fresh.expose().into()), Some("rt-2".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_tasks_sharing_one_provider_refresh_once() {
    let fresh = jwt_expiring_in(3600);
    let answer = fresh.expose().to_string();
    let fake = FakeAs::start(Duration::from_millis(100), move |_, _| bearer(&answer, None)).await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");
    write_config(&path, &fake.base_url, &jwt_expiring_in(30), Some("rt-1"));
    let shared = provider(&path, &fake);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let provider = shared.clone();
            tokio::spawn(async move { provider.fetch().await })
        })
        .collect();
    let mut refreshed = 0;
    for task in tasks {
        let fetched = task.await.unwrap().unwrap();
        assert_eq!(fetched.token.unwrap(), fresh);
        refreshed += usize::from(fetched.refreshed);
    }
    assert_eq!(refreshed, 1);
    assert_eq!(fake.token_calls(), 1);
    // No refresh token in the answer: the old one is kept.
    assert_eq!(stored(&path).1.as_deref(), Some("rt-1"));
    // The refresh asked for the cluster's default scopes, prefixed.
    let forms = fake.token_forms.lock().unwrap();
    assert_eq!(forms[0]["scope"], "openid api://nmp/platform:read offline_access");
}

#[tokio::test]
async fn a_token_outside_the_margin_is_used_as_is() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| bearer("never", None)).await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");
    let current = jwt_expiring_in(120);
    write_config(&path, &fake.base_url, &current, Some("rt-1"));
    // SDK margin (60 s): no refresh. CLI margin (300 s): refresh.
    assert_eq!(provider(&path, &fake).token().await.unwrap(), Some(current));
    assert_eq!(fake.token_calls(), 0);
    let cli = provider(&path, &fake).with_refresh_margin(CLI_REFRESH_MARGIN_SECONDS);
    assert_eq!(cli.token().await.unwrap().unwrap().expose(), "never");
    assert_eq!(fake.token_calls(), 1);
}

#[tokio::test]
async fn invalid_grant_keeps_the_credentials_and_asks_for_login() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| oauth_error("invalid_grant")).await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");
    let expired = jwt_expiring_in(-5);
    write_config(&path, &fake.base_url, &expired, Some("rt-1"));
    let error = provider(&path, &fake).token().await.unwrap_err();
    assert!(matches!(&error, Error::Auth(AuthError::TokenExpired)), "{error:?}");
    assert_eq!(stored(&path), (Some(expired.expose().into()), Some("rt-1".into())));
    // `nemo auth refresh` says what the IdP said.
    let error = provider(&path, &fake).force_refresh().await.unwrap_err();
    assert!(
        matches!(&error, Error::Auth(AuthError::Rejected { code, .. }) if code == "invalid_grant"),
        "{error:?}"
    );
}

#[tokio::test]
async fn invalid_grant_on_a_proactive_refresh_keeps_using_a_token_that_has_not_expired() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| oauth_error("invalid_grant")).await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");
    let current = jwt_expiring_in(30);
    write_config(&path, &fake.base_url, &current, Some("rt-1"));
    let provider = provider(&path, &fake);
    for _ in 0..3 {
        let fetched = provider.fetch().await.unwrap();
        assert_eq!(fetched.token, Some(current.clone()));
        assert!(!fetched.refreshed);
    }
    assert_eq!(fake.token_calls(), 1, "a refused refresh token is not offered again");
    assert_eq!(stored(&path), (Some(current.expose().into()), Some("rt-1".into())));
}

#[tokio::test]
async fn invalid_grant_rereads_the_file_and_uses_a_rotated_refresh_token() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");
    let fresh = jwt_expiring_in(3600);
    let answer = fresh.expose().to_string();
    let sibling_path = path.clone();
    let fake = FakeAs::start(Duration::ZERO, move |form, _| {
        if form["refresh_token"] == "rt-old" {
            // A sibling process rotates the pair while our request is in flight.
            let mut config = config::load(&sibling_path).unwrap();
            config.user_of_mut("default").unwrap().refresh_token = Some(Secret::from("rt-new"));
            config::save(&sibling_path, &config).unwrap();
            oauth_error("invalid_grant")
        } else {
            bearer(&answer, Some("rt-newer"))
        }
    })
    .await;
    write_config(&path, &fake.base_url, &jwt_expiring_in(-5), Some("rt-old"));
    assert_eq!(provider(&path, &fake).token().await.unwrap(), Some(fresh));
    assert_eq!(fake.token_calls(), 2);
    assert_eq!(stored(&path).1.as_deref(), Some("rt-newer"));
}

#[tokio::test]
async fn transient_idp_errors_never_touch_stored_credentials() {
    let fake = FakeAs::start(Duration::ZERO, |_, call| match call {
        0 => Reply::Json(503, serde_json::json!({"error": "invalid_grant"})),
        _ => Reply::Drop,
    })
    .await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");

    // Still valid (inside the margin): the current token is used.
    let expiring = jwt_expiring_in(20);
    write_config(&path, &fake.base_url, &expiring, Some("rt-1"));
    assert_eq!(provider(&path, &fake).token().await.unwrap(), Some(expiring.clone()));
    assert_eq!(stored(&path), (Some(expiring.expose().into()), Some("rt-1".into())));

    // Expired: an error saying the IdP is unavailable, and the file is untouched.
    let expired = jwt_expiring_in(-20);
    write_config(&path, &fake.base_url, &expired, Some("rt-1"));
    let error = provider(&path, &fake).token().await.unwrap_err();
    assert!(matches!(error, Error::Auth(AuthError::IdpUnavailable(_))), "{error:?}");
    assert_eq!(stored(&path), (Some(expired.expose().into()), Some("rt-1".into())));
    assert_eq!(fake.token_calls(), 2);
}

#[tokio::test]
async fn expired_without_refresh_token_is_reported() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| bearer("never", None)).await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");
    write_config(&path, &fake.base_url, &jwt_expiring_in(-1), None);
    let error = provider(&path, &fake).token().await.unwrap_err();
    assert!(matches!(error, Error::Auth(AuthError::TokenExpired)), "{error:?}");
    assert_eq!(fake.token_calls(), 0);
}

#[tokio::test]
async fn a_fixed_token_needs_no_discovery_and_no_file() {
    let provider = TokenProvider::fixed(Secret::from("env-token"));
    assert_eq!(provider.token().await.unwrap().unwrap().expose(), "env-token");
}

#[tokio::test]
async fn discovery_is_called_once_per_provider() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| bearer("opaque", None)).await;
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("config.yaml");
    write_config(&path, &fake.base_url, &jwt_expiring_in(-1), Some("rt"));
    let provider = provider(&path, &fake);
    provider.force_refresh().await.unwrap();
    provider.force_refresh().await.unwrap();
    assert_eq!(fake.token_calls(), 2);
    assert_eq!(fake.discovery_calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}
