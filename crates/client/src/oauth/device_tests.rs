//! Device-flow client rules (test catalog cases CLI-D01..D08, `docs/test-catalog.md`) against a
//! fake AS on 127.0.0.1. Protocol time is scaled 1000:1, so a 5 s interval takes 5 ms.

use std::sync::Mutex;

use super::*;
use crate::test_support::{bearer, oauth_error, FakeAs, Reply};

/// Records every protocol-time sleep and sleeps a thousandth of it.
#[derive(Default)]
struct ScaledSleeper {
    slept: Mutex<Vec<Duration>>,
}

impl ScaledSleeper {
    fn slept_seconds(&self) -> Vec<u64> {
        self.slept.lock().unwrap().iter().map(Duration::as_secs).collect()
    }
}

impl Sleeper for ScaledSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.slept.lock().unwrap().push(duration);
        Box::pin(tokio::time::sleep(duration / 1000))
    }

    fn elapsed(&self) -> Duration {
        self.slept.lock().unwrap().iter().sum()
    }
}

async fn run(fake: &FakeAs, max_network_retries: u32) -> (Result<TokenSet, AuthError>, Arc<ScaledSleeper>) {
    let http = reqwest::Client::new();
    let scopes = vec!["openid".to_string(), "api://nmp/platform:read".to_string()];
    let authorization = start_device_flow(&http, &fake.endpoints(), &scopes).await.unwrap();
    assert_eq!(authorization.user_code, "ABCD-EFGH");
    assert_eq!(authorization.verification_uri, "http://127.0.0.1/activate");
    assert_eq!(
        authorization.verification_uri_complete.as_deref(),
        Some("http://127.0.0.1/activate?user_code=ABCD-EFGH")
    );
    assert!(!format!("{authorization:?}").contains("secret-device-code"));
    let sleeper = Arc::new(ScaledSleeper::default());
    let options = DeviceFlowOptions {
        sleeper: sleeper.clone(),
        max_network_retries,
        max_backoff: Duration::from_secs(30),
    };
    let result = poll_device_flow(&http, &fake.endpoints(), &authorization, &scopes, &options).await;
    (result, sleeper)
}

#[tokio::test]
async fn slow_down_adds_five_seconds_each_time_and_the_interval_stays() {
    let fake = FakeAs::start(Duration::ZERO, |_, call| match call {
        0 => oauth_error("authorization_pending"),
        1 | 2 => oauth_error("slow_down"),
        3 => oauth_error("authorization_pending"),
        _ => bearer("access-1", Some("refresh-1")),
    })
    .await;
    let (result, sleeper) = run(&fake, 3).await;
    let tokens = result.unwrap();
    assert_eq!(tokens.access_token.expose(), "access-1");
    assert_eq!(tokens.refresh_token.unwrap().expose(), "refresh-1");
    // First wait before any poll (1 s), pending keeps 1 s, slow_down → 6 s → 11 s, and 11 s stays.
    assert_eq!(sleeper.slept_seconds(), vec![1, 1, 6, 11, 11]);
    assert_eq!(fake.token_calls(), 5);
    let forms = fake.token_forms.lock().unwrap();
    assert_eq!(forms[0]["grant_type"], "urn:ietf:params:oauth:grant-type:device_code");
    assert_eq!(forms[0]["device_code"], "secret-device-code");
    assert_eq!(forms[0]["client_id"], "nmp-cli");
    assert_eq!(forms[0]["scope"], "openid api://nmp/platform:read");
}

#[tokio::test]
async fn expired_token_stops_polling() {
    let fake = FakeAs::start(Duration::ZERO, |_, call| match call {
        0 => oauth_error("authorization_pending"),
        _ => oauth_error("expired_token"),
    })
    .await;
    let (result, _) = run(&fake, 3).await;
    assert!(matches!(result, Err(AuthError::DeviceCodeExpired)), "{result:?}");
    assert_eq!(fake.token_calls(), 2);
}

#[tokio::test]
async fn access_denied_stops_polling() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| oauth_error("access_denied")).await;
    let (result, _) = run(&fake, 3).await;
    assert!(matches!(result, Err(AuthError::AccessDenied)), "{result:?}");
    assert_eq!(fake.token_calls(), 1);
}

#[tokio::test]
async fn invalid_grant_while_polling_means_the_code_is_gone() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| oauth_error("invalid_grant")).await;
    let (result, _) = run(&fake, 3).await;
    assert!(matches!(result, Err(AuthError::DeviceCodeInvalid { .. })), "{result:?}");
    assert_eq!(fake.token_calls(), 1);
}

#[tokio::test]
async fn an_unknown_error_stops_polling_and_names_the_code() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| oauth_error("weird_thing")).await;
    let (result, _) = run(&fake, 3).await;
    match result {
        Err(AuthError::Rejected { code, .. }) => assert_eq!(code, "weird_thing"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(fake.token_calls(), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_retried_with_backoff() {
    let fake = FakeAs::start(Duration::ZERO, |_, call| match call {
        0 => Reply::Drop,
        _ => bearer("access-2", None),
    })
    .await;
    let (result, sleeper) = run(&fake, 3).await;
    assert_eq!(result.unwrap().access_token.expose(), "access-2");
    // After the failure the interval doubles (1 s → 2 s) before the next poll.
    assert_eq!(sleeper.slept_seconds(), vec![1, 2]);
    assert_eq!(fake.token_calls(), 2);
}

#[tokio::test]
async fn network_retries_are_bounded() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| Reply::Drop).await;
    let (result, _) = run(&fake, 2).await;
    assert!(matches!(result, Err(AuthError::IdpUnavailable(_))), "{result:?}");
    assert_eq!(fake.token_calls(), 3, "one poll plus two retries");
}

#[tokio::test]
async fn a_5xx_is_never_read_as_a_device_code() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| {
        Reply::Json(503, serde_json::json!({"error": "authorization_pending"}))
    })
    .await;
    let (result, _) = run(&fake, 0).await;
    assert!(matches!(result, Err(AuthError::IdpUnavailable(_))), "{result:?}");
    assert_eq!(fake.token_calls(), 1);
}

#[tokio::test]
async fn polling_stops_client_side_when_the_code_expires() {
    // expires_in is 600 s; with an 11 s interval after two slow_downs, pending forever.
    let fake = FakeAs::start(Duration::ZERO, |_, call| match call {
        0 | 1 => oauth_error("slow_down"),
        _ => oauth_error("authorization_pending"),
    })
    .await;
    let (result, sleeper) = run(&fake, 3).await;
    assert!(matches!(result, Err(AuthError::DeviceCodeExpired)), "{result:?}");
    let waited: u64 = sleeper.slept_seconds().iter().sum();
    assert!((600..=615).contains(&waited), "waited {waited} s of protocol time");
}

#[tokio::test]
async fn a_non_bearer_token_is_refused() {
    let fake = FakeAs::start(Duration::ZERO, |_, _| {
        Reply::Json(200, serde_json::json!({"access_token": "x", "token_type": "mac"}))
    })
    .await;
    let (result, _) = run(&fake, 3).await;
    assert!(matches!(result, Err(AuthError::InvalidTokenResponse(_))), "{result:?}");
}

#[tokio::test]
async fn a_success_without_access_token_is_refused() {
    let fake =
        FakeAs::start(Duration::ZERO, |_, _| Reply::Json(200, serde_json::json!({"token_type": "Bearer"})))
            .await;
    let (result, _) = run(&fake, 3).await;
    assert!(matches!(result, Err(AuthError::InvalidTokenResponse(_))), "{result:?}");
}
