//! Tokens shaped like each identity provider's access tokens (claim names and value types as
//! the providers document them), signed by a test key, verified by the real authenticator with
//! the `auth.oidc` block that `docs/oidc-setup.md` gives for that provider (read from the page:
//! the YAML after `<!-- fixture: NAME -->`). Each test asserts the principal the guide promises
//! and at least one plausible misconfiguration failing with the log reason the guide names.

use std::sync::Arc;
use std::time::Duration;

use nmp_authn::{
    Authenticator, AuthnError, AuthnSettings, ManualClock, OidcSettings, VerifiedToken,
    GROUPS_OVERAGE_WARNING,
};
use serde_json::{json, Value};

use crate::support::{rsa1, wait_until, wall_now, FakeIdp, LogCapture, TestKey};

const GUIDE: &str = include_str!("../../../../docs/oidc-setup.md");
const TENANT: &str = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b";
const CLIENT: &str = "6e5d4c3b-2a19-4807-9f6e-5d4c3b2a1908";

/// The YAML block of the guide marked `<!-- fixture: name -->`, placeholders filled in.
fn guide_block(name: &str) -> Value {
    let marker = format!("<!-- fixture: {name} -->");
    let after = GUIDE.split_once(&marker).unwrap_or_else(|| panic!("docs/oidc-setup.md has no `{marker}`")).1;
    let block = after
        .split_once("```yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .unwrap_or_else(|| panic!("no yaml block after `{marker}`"))
        .0;
    let filled = block.replace("<tenant-id>", TENANT).replace("<client-id>", CLIENT);
    serde_yaml_ng::from_str(&filled).unwrap_or_else(|e| panic!("`{name}` block is not YAML: {e}"))
}

/// The part of an issuer URL after its authority (`/realms/nmp`, `/`, or nothing).
fn issuer_path(issuer: &str) -> &str {
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    rest.find('/').map_or("", |at| &rest[at..])
}

/// A fake IdP at the guide's issuer path, and an authenticator configured as the guide says
/// (the issuer's scheme and host replaced by the fake IdP's).
struct Provider {
    idp: FakeIdp,
    key: TestKey,
    auth: Authenticator,
    refresh: tokio::task::JoinHandle<()>,
    now: i64,
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.refresh.abort();
    }
}

fn text(oidc: &Value, key: &str) -> Option<String> {
    oidc.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl Provider {
    async fn from_guide(name: &str) -> Provider {
        Provider::with(name, |_| {}).await
    }

    async fn with(name: &str, tweak: impl FnOnce(&mut OidcSettings)) -> Provider {
        let config = guide_block(name);
        let oidc = &config["auth"]["oidc"];
        assert_eq!(config["auth"]["enabled"], json!(true), "`{name}`: auth on");
        assert_eq!(oidc["enabled"], json!(true), "`{name}`: oidc on");
        let issuer = text(oidc, "issuer").expect("issuer");
        let key = rsa1();
        let idp = FakeIdp::start_at(vec![key.jwk()], issuer_path(&issuer)).await;
        let audience = nmp_authn::effective_audience(
            text(oidc, "audience").as_deref(),
            text(oidc, "client_id").as_deref(),
        )
        .expect("the guide names an audience");
        let mut settings = OidcSettings::new(idp.issuer(), audience);
        if let Some(extra) = oidc.get("additional_issuers").and_then(Value::as_array) {
            settings.additional_issuers =
                extra.iter().map(|v| v.as_str().expect("string").to_owned()).collect();
        }
        for (field, target) in [
            ("subject_claim", &mut settings.subject_claim),
            ("email_claim", &mut settings.email_claim),
            ("groups_claim", &mut settings.groups_claim),
        ] {
            if let Some(value) = text(oidc, field) {
                *target = value;
            }
        }
        settings.scope_prefix = text(oidc, "scope_prefix");
        tweak(&mut settings);
        let authn = AuthnSettings {
            oidc: Some(settings),
            jwks_retry_interval: Duration::from_millis(50),
            unknown_kid_cooldown: Duration::ZERO,
            ..AuthnSettings::default()
        };
        let now = wall_now();
        let auth = Authenticator::new(authn, Arc::new(ManualClock::new(now)))
            .expect("the guide's settings are valid");
        let refresh = auth.spawn_background_refresh();
        wait_until(Duration::from_secs(5), || auth.is_ready()).await;
        assert!(auth.is_ready(), "`{name}`: keys never loaded");
        Provider { idp, key, auth, refresh, now }
    }

    fn issuer(&self) -> String {
        self.idp.issuer()
    }

    /// `claims` plus `iat`/`nbf`/`exp` around now, signed like the provider's tokens.
    fn mint(&self, mut claims: Value) -> String {
        claims["iat"] = json!(self.now - 30);
        claims["nbf"] = json!(self.now - 30);
        claims["exp"] = json!(self.now + 3_600);
        self.key.mint(&claims)
    }

    async fn accept(&self, claims: Value) -> VerifiedToken {
        match self.auth.authenticate(&self.mint(claims)).await {
            Ok(verified) => verified,
            Err(error) => panic!("rejected: {error}"),
        }
    }

    /// The log reason (`bearer token rejected ... invalid token: <reason>`).
    async fn reject(&self, token: &str) -> String {
        match self.auth.authenticate(token).await {
            Err(error @ AuthnError::InvalidToken(_)) => error.to_string(),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
}

fn sorted(scopes: Option<Vec<String>>) -> Vec<String> {
    let mut scopes = scopes.expect("the token carries scopes");
    scopes.sort();
    scopes
}

const ALICE_OID: &str = "a0c6d8e4-1f2b-4c3d-9e8f-7a6b5c4d3e2f";
const GROUP_ML: &str = "0d4e1c2b-3a59-4687-b5c4-d3e2f1a0b9c8";
const GROUP_OPS: &str = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";

/// Microsoft Entra ID v1.0 access token for the API (`accessTokenAcceptedVersion` unset).
fn entra_v1_claims() -> Value {
    json!({
        "aud": format!("api://{CLIENT}"),
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "acr": "1",
        "aio": "AVQAq/8TAAAA",
        "amr": ["pwd", "mfa"],
        "appid": CLIENT,
        "appidacr": "0",
        "family_name": "Anders",
        "given_name": "Alice",
        "ipaddr": "203.0.113.7",
        "name": "Alice Anders",
        "oid": ALICE_OID,
        "rh": "0.AXoA",
        "scp": "platform:read platform:write",
        "sub": "l3sA1b2C3d4E5f6G7h8I9j0K-pairwise",
        "tid": TENANT,
        "unique_name": "alice@contoso.com",
        "upn": "alice@contoso.com",
        "uti": "u7-Hy2",
        "ver": "1.0",
        "groups": [GROUP_ML, GROUP_OPS],
        "roles": ["NMP.Operator"],
    })
}

/// Microsoft Entra ID v2.0 access token (`accessTokenAcceptedVersion: 2`, `upn` added as an
/// optional claim).
fn entra_v2_claims(issuer: &str) -> Value {
    json!({
        "aud": CLIENT,
        "iss": issuer,
        "azp": CLIENT,
        "azpacr": "0",
        "name": "Alice Anders",
        "oid": ALICE_OID,
        "preferred_username": "alice@contoso.com",
        "rh": "0.AXoA",
        "scp": "platform:read platform:write",
        "sub": "Xq8vB2n4M6k8J0h2G4f6D8s0A2p4O6i8-pairwise",
        "tid": TENANT,
        "upn": "alice@contoso.com",
        "uti": "u7-Hy2",
        "ver": "2.0",
        "groups": [GROUP_ML, GROUP_OPS],
        "roles": ["NMP.Operator"],
    })
}

#[tokio::test]
async fn entra_id_v1_access_token() {
    let entra = Provider::from_guide("entra-v1").await;
    let verified = entra.accept(entra_v1_claims()).await;
    let principal = verified.principal;
    assert_eq!(principal.id, ALICE_OID, "the object id, not the pairwise `sub`");
    assert_eq!(principal.email.as_deref(), Some("alice@contoso.com"), "from `upn`");
    assert_eq!(principal.groups, [GROUP_ML, GROUP_OPS], "group object ids");
    assert_eq!(sorted(principal.scopes.clone()), ["platform:read", "platform:write"]);

    // Misconfiguration: v1 tokens without `additional_issuers` (their `iss` is sts.windows.net).
    let no_v1 = Provider::with("entra-v1", |oidc| oidc.additional_issuers.clear()).await;
    let reason = no_v1.reject(&no_v1.mint(entra_v1_claims())).await;
    assert_eq!(reason, "invalid token: issuer not accepted");
    // Misconfiguration: the bare client id as audience, while v1 tokens carry `api://<client-id>`.
    let bare = Provider::with("entra-v1", |oidc| oidc.audience = CLIENT.to_owned()).await;
    assert_eq!(bare.reject(&bare.mint(entra_v1_claims())).await, "invalid token: audience not accepted");
}

#[tokio::test]
async fn entra_id_v2_access_token() {
    let entra = Provider::from_guide("entra-v2").await;
    let principal = entra.accept(entra_v2_claims(&entra.issuer())).await.principal;
    assert_eq!(principal.id, ALICE_OID);
    assert_eq!(principal.email.as_deref(), Some("alice@contoso.com"));
    assert_eq!(principal.groups, [GROUP_ML, GROUP_OPS]);
    assert_eq!(sorted(principal.scopes.clone()), ["platform:read", "platform:write"]);

    // Without the optional `upn` claim there is no email (bindings by email do not match).
    let mut no_upn = entra_v2_claims(&entra.issuer());
    no_upn.as_object_mut().expect("object").remove("upn");
    assert_eq!(entra.accept(no_upn).await.principal.email, None);

    // Misconfiguration: the v1 audience (`api://...`) while the API receives v2 tokens, whose
    // `aud` is always the bare client id.
    let v1_audience = Provider::with("entra-v2", |oidc| oidc.audience = format!("api://{CLIENT}")).await;
    let token = v1_audience.mint(entra_v2_claims(&v1_audience.issuer()));
    assert_eq!(v1_audience.reject(&token).await, "invalid token: audience not accepted");
}

#[tokio::test]
async fn entra_id_v2_groups_overage_is_logged_and_app_roles_avoid_it() {
    let entra = Provider::from_guide("entra-v2").await;
    let mut overage = entra_v2_claims(&entra.issuer());
    let claims = overage.as_object_mut().expect("object");
    claims.remove("groups");
    claims.insert("_claim_names".into(), json!({"groups": "src1"}));
    claims.insert(
        "_claim_sources".into(),
        json!({"src1": {"endpoint": format!("https://graph.microsoft.com/v1.0/users/{ALICE_OID}/getMemberObjects")}}),
    );
    let token = entra.mint(overage.clone());

    let capture = LogCapture::default();
    let subscriber = tracing_subscriber::fmt().with_writer(capture.clone()).with_ansi(false).finish();
    let verified = {
        let _guard = tracing::subscriber::set_default(subscriber);
        entra.auth.authenticate(&token).await.expect("an overage token is still valid")
    };
    assert_eq!(verified.principal.id, ALICE_OID, "direct bindings still apply");
    assert!(verified.principal.groups.is_empty());
    let log = capture.text();
    assert!(log.contains("WARN") && log.contains(GROUPS_OVERAGE_WARNING), "no overage warning in: {log}");
    assert!(log.contains(ALICE_OID), "the warning names the principal: {log}");
    assert!(!log.contains(&token), "the token is never logged");

    // The guide's remedy: app roles as the groups claim. Same token shape, no loss, no warning.
    let roles = Provider::from_guide("entra-v2-app-roles").await;
    overage["iss"] = json!(roles.issuer());
    let capture = LogCapture::default();
    let subscriber = tracing_subscriber::fmt().with_writer(capture.clone()).with_ansi(false).finish();
    let verified = {
        let _guard = tracing::subscriber::set_default(subscriber);
        roles.accept(overage).await
    };
    assert_eq!(verified.principal.groups, ["NMP.Operator"]);
    assert!(!capture.text().contains("groups overage"), "{}", capture.text());
}

/// Okta custom authorization server access token (`groups` and `email` claims added by the
/// admin; `scp` is a JSON array; `sub` is the Okta login, `uid` the stable user id).
fn okta_claims(issuer: &str) -> Value {
    json!({
        "ver": 1,
        "jti": "AT.n5xH8uTzL0XQ2yq1xYz3k9JmQ7c",
        "iss": issuer,
        "aud": "api://nmp",
        "cid": "0oa8f3kq2zXyW1vU5d7",
        "uid": "00u1a2b3c4D5e6F7g8h9",
        "scp": ["openid", "email", "offline_access", "platform:read", "platform:write"],
        "auth_time": 1_700_000_000,
        "sub": "alice@example.com",
        "email": "alice@example.com",
        "groups": ["Everyone", "nmp-admins"],
    })
}

#[tokio::test]
async fn okta_custom_authorization_server_access_token() {
    let okta = Provider::from_guide("okta").await;
    let principal = okta.accept(okta_claims(&okta.issuer())).await.principal;
    assert_eq!(principal.id, "00u1a2b3c4D5e6F7g8h9", "the stable `uid`");
    assert_eq!(principal.email.as_deref(), Some("alice@example.com"));
    assert_eq!(principal.groups, ["Everyone", "nmp-admins"]);
    assert_eq!(
        sorted(principal.scopes.clone()),
        ["email", "offline_access", "openid", "platform:read", "platform:write"]
    );

    // Misconfiguration: a token from the org authorization server (issuer without
    // `/oauth2/<id>`), e.g. because the CLI client was set up there.
    let origin = okta.issuer().replace("/oauth2/default", "");
    let mut org = okta_claims(&origin);
    org["aud"] = json!(origin);
    assert_eq!(okta.reject(&okta.mint(org)).await, "invalid token: issuer not accepted");
}

/// Auth0 access token for a custom API (audience = the API identifier), with email and groups
/// added by a post-login Action under a namespace, as Auth0 requires for custom claims.
fn auth0_claims(issuer: &str) -> Value {
    json!({
        "iss": issuer,
        "sub": "auth0|64f1c2d3e4a5b6c7d8e9f0a1",
        "aud": ["https://nmp.example.com/api", format!("{issuer}userinfo")],
        "azp": CLIENT,
        "scope": "openid profile email offline_access platform:read platform:write",
        "permissions": ["platform:read", "platform:write"],
        "https://nmp.example.com/email": "alice@example.com",
        "https://nmp.example.com/groups": ["ml-team"],
    })
}

#[tokio::test]
async fn auth0_api_access_token_with_namespaced_claims() {
    let auth0 = Provider::from_guide("auth0").await;
    assert!(auth0.issuer().ends_with('/'), "Auth0 issuers end with a slash");
    let principal = auth0.accept(auth0_claims(&auth0.issuer())).await.principal;
    assert_eq!(principal.id, "auth0|64f1c2d3e4a5b6c7d8e9f0a1");
    assert_eq!(principal.email.as_deref(), Some("alice@example.com"));
    assert_eq!(principal.groups, ["ml-team"]);
    assert_eq!(
        sorted(principal.scopes.clone()),
        ["email", "offline_access", "openid", "platform:read", "platform:write", "profile"]
    );

    // Misconfiguration: no `audience` (so the client id is expected) while Auth0 puts the API
    // identifier in `aud`.
    let no_audience = Provider::with("auth0", |oidc| oidc.audience = CLIENT.to_owned()).await;
    let token = no_audience.mint(auth0_claims(&no_audience.issuer()));
    assert_eq!(no_audience.reject(&token).await, "invalid token: audience not accepted");
    // Misconfiguration: the issuer without its trailing slash.
    let trimmed = auth0.issuer().trim_end_matches('/').to_owned();
    let mut claims = auth0_claims(&auth0.issuer());
    claims["iss"] = json!(trimmed);
    assert_eq!(auth0.reject(&auth0.mint(claims)).await, "invalid token: issuer not accepted");
}

/// Keycloak access token: audience mapper for `nmp-api`, group membership mapper (full path
/// off), realm and client roles nested as Keycloak does.
fn keycloak_claims(issuer: &str) -> Value {
    json!({
        "jti": "onrtac:8e2f0c1d-5b4a-4c3d-9e8f-7a6b5c4d3e2f",
        "iss": issuer,
        "aud": ["nmp-api", "account"],
        "sub": "f3b2c1d0-9e8f-4a7b-8c6d-5e4f3a2b1c0d",
        "typ": "Bearer",
        "azp": "nemo-cli",
        "sid": "4c3d2e1f-0a9b-4c8d-7e6f-5a4b3c2d1e0f",
        "acr": "1",
        "allowed-origins": ["/*"],
        "realm_access": {"roles": ["offline_access", "uma_authorization", "nmp-editor"]},
        "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
        "scope": "openid email profile platform:read platform:write",
        "email_verified": true,
        "name": "Alice Anders",
        "preferred_username": "alice",
        "given_name": "Alice",
        "family_name": "Anders",
        "email": "alice@example.com",
        "groups": ["ml-team"],
    })
}

#[tokio::test]
async fn keycloak_access_token() {
    let keycloak = Provider::from_guide("keycloak").await;
    let principal = keycloak.accept(keycloak_claims(&keycloak.issuer())).await.principal;
    assert_eq!(principal.id, "f3b2c1d0-9e8f-4a7b-8c6d-5e4f3a2b1c0d");
    assert_eq!(principal.email.as_deref(), Some("alice@example.com"));
    assert_eq!(principal.groups, ["ml-team"]);
    assert_eq!(
        sorted(principal.scopes.clone()),
        ["email", "openid", "platform:read", "platform:write", "profile"]
    );

    // Realm roles instead of groups: the nested `realm_access.roles`.
    let roles = Provider::from_guide("keycloak-realm-roles").await;
    let principal = roles.accept(keycloak_claims(&roles.issuer())).await.principal;
    assert_eq!(principal.groups, ["offline_access", "uma_authorization", "nmp-editor"]);

    // Misconfiguration: no audience mapper, so `aud` is only `account`.
    let mut claims = keycloak_claims(&keycloak.issuer());
    claims["aud"] = json!("account");
    assert_eq!(keycloak.reject(&keycloak.mint(claims)).await, "invalid token: audience not accepted");
    // Misconfiguration: the ID token sent instead of the access token.
    let mut claims = keycloak_claims(&keycloak.issuer());
    claims["typ"] = json!("ID");
    claims["aud"] = json!("nmp-api");
    let reason = keycloak.reject(&keycloak.mint(claims)).await;
    assert!(reason.contains("looks like an ID token"), "{reason}");
}

/// A Google-signed ID token of a service account, as the metadata server or
/// `gcloud auth print-identity-token --audiences=...` issue it. Google sends no groups.
fn google_claims(issuer: &str) -> Value {
    json!({
        "iss": issuer,
        "aud": "https://nmp.example.com",
        "azp": "117432961830123456789",
        "sub": "117432961830123456789",
        "email": "nmp-ci@my-project.iam.gserviceaccount.com",
        "email_verified": true,
    })
}

#[tokio::test]
async fn google_service_account_identity_token() {
    let google = Provider::from_guide("google").await;
    let principal = google.accept(google_claims(&google.issuer())).await.principal;
    assert_eq!(principal.id, "117432961830123456789");
    assert_eq!(principal.email.as_deref(), Some("nmp-ci@my-project.iam.gserviceaccount.com"));
    assert!(principal.groups.is_empty(), "Google sends no groups");
    assert_eq!(principal.scopes, None, "no scope claim: only roles limit this caller");
    // The historical issuer spelling without `https://` is accepted too.
    let mut bare = google_claims(&google.issuer());
    bare["iss"] = json!("accounts.google.com");
    assert_eq!(google.accept(bare).await.principal.id, "117432961830123456789");

    // Misconfiguration: a Google OAuth access token (opaque, not a JWT).
    let opaque = "ya29.a0AfB_byDq3kVh9xPq2rS7tU1vW5xY9zA3bC7dE1fG5hI9jK3lM7nO1pQ5rS9tU3vW7";
    assert_eq!(
        google.reject(opaque).await,
        "invalid token: token is not a three-part JWS compact serialization"
    );
    // Misconfiguration: a user's sign-in ID token (it carries `at_hash`).
    let mut sign_in = google_claims(&google.issuer());
    sign_in["at_hash"] = json!("HK6E_P6Dh8Y93mRNtsDB1Q");
    let reason = google.reject(&google.mint(sign_in)).await;
    assert!(reason.contains("looks like an ID token"), "{reason}");
}

#[test]
fn every_fixture_block_of_the_guide_is_exercised() {
    let used = [
        "entra-v1",
        "entra-v2",
        "entra-v2-app-roles",
        "okta",
        "auth0",
        "keycloak",
        "keycloak-realm-roles",
        "google",
    ];
    let marked: Vec<&str> = GUIDE
        .match_indices("<!-- fixture: ")
        .map(|(at, _)| {
            let rest = &GUIDE[at + "<!-- fixture: ".len()..];
            &rest[..rest.find(" -->").expect("marker end")]
        })
        .filter(|name| *name != "generic")
        .collect();
    assert_eq!(marked, used, "a fixture block without a test, or a test without a block");
}
