//! Scoped Access Keys end to end (in-process server on SQLite, real HTTP): the reliability cases
//! AK-01..AK-06, forged keys, signing-key rotation, a key without a registry entry, revocation
//! latency, and bad input answered as the reference answers it. The PostgreSQL replica case is
//! `access_keys_pg.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use nmp_server::state::Clock;
use nmp_server::RunningServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::support::{settings_from_yaml, unsigned_token, user_token, TestServer, QUICKSTART};

pub(super) const KEYS: &str = "/apis/auth/v2/access-keys";
const WS: &str = "/apis/entities/v2/workspaces";

/// A fresh 2048-bit RSA private key (PKCS#8 PEM) written by `openssl` into `dir`.
pub(super) fn signing_key(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.pem"));
    let status = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&path)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs (scripts/test-deps.sh installs it)");
    assert!(status.success(), "openssl genpkey failed");
    path
}

/// Quickstart auth plus access keys signed by `pem` (key id `k1`), and `extra` under `auth:`.
pub(super) fn keys_yaml(pem: &Path, extra: &str) -> String {
    format!(
        "{QUICKSTART}  access_keys:\n    enabled: true\n  token_signing:\n    private_key_file: {}\n    key_id: k1\n    issuer: http://nmp.test/apis/auth\n{extra}",
        pem.display()
    )
}

fn admin() -> String {
    user_token("admin@example.com", &[], None)
}

fn bob() -> String {
    user_token("bob@example.com", &[], None)
}

async fn start(extra: &str) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = signing_key(dir.path(), "signing");
    TestServer::start_in(&keys_yaml(&pem, extra), dir).await
}

/// Create a key as `token`'s holder; the key and its jti.
async fn create(server: &TestServer, token: &str, body: Value) -> (String, String) {
    let (status, created) = server.as_token(token, Method::POST, KEYS, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    (created["token"].as_str().expect("token").to_string(), created["jti"].as_str().expect("jti").to_string())
}

async fn whoami(server: &TestServer, key: &str) -> (StatusCode, Value) {
    server.as_token(key, Method::GET, WS, None).await
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("b64"))
        .expect("json")
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test]
async fn ak_01_key_is_shown_once_and_the_store_holds_no_copy() {
    let server = start("").await;
    let (key, jti) = create(&server, &bob(), json!({"name": "ci", "description": "nightly"})).await;
    let (status, listed) = server.as_token(&bob(), Method::GET, KEYS, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["data"][0]["jti"], jti.as_str());
    assert!(!listed.to_string().contains(&key), "a listing never shows the key");
    assert!(listed["data"][0].get("token").is_none());
    let dir = server.stop().await;
    let signature = key.rsplit('.').next().expect("signature");
    let files = files_under(&dir.path().join("data"));
    let mut saw_jti = false;
    for file in &files {
        let bytes = std::fs::read(file).expect("read");
        saw_jti |= contains(&bytes, jti.as_bytes());
        assert!(!contains(&bytes, key.as_bytes()), "{} holds the key", file.display());
        assert!(!contains(&bytes, signature.as_bytes()), "{} holds the key's signature", file.display());
    }
    assert!(saw_jti, "the search looked in the files that hold the registry: {files:?}");
}

#[tokio::test]
async fn ak_02_revoked_key_is_refused_on_the_very_next_request() {
    let server = start("").await;
    let (key, jti) = create(&server, &bob(), json!({})).await;
    assert_eq!(whoami(&server, &key).await.0, StatusCode::OK);
    let (status, body) = server.as_token(&bob(), Method::DELETE, &format!("{KEYS}/{jti}"), None).await;
    assert_eq!((status, body.clone()), (StatusCode::OK, json!({"jti": jti, "revoked": true})));
    let (status, body) = whoami(&server, &key).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid or expired token"})));
    let (status, body) = server.as_token(&bob(), Method::DELETE, &format!("{KEYS}/{jti}"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"jti": jti, "revoked": false})));

    // A key revoking itself: answered, then refused.
    let (key, jti) = create(&server, &bob(), json!({})).await;
    let (status, body) = server.as_token(&key, Method::DELETE, &format!("{KEYS}/{jti}"), None).await;
    assert_eq!((status, body["revoked"].clone()), (StatusCode::OK, json!(true)));
    assert_eq!(whoami(&server, &key).await.0, StatusCode::UNAUTHORIZED);
    let (status, listed) = server.as_token(&bob(), Method::GET, KEYS, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed["data"].as_array().expect("data").iter().all(|k| k["status"] == "REVOKED"), "{listed}");
}

#[tokio::test]
async fn ak_03_suspended_key_is_refused_until_unsuspended_and_an_expired_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = signing_key(dir.path(), "signing");
    // Time stands still unless the test moves it.
    let clock = Arc::new(nmp_authn::ManualClock::new(super::support::now_unix()));
    let settings = settings_from_yaml(&keys_yaml(&pem, ""), dir.path());
    let shared: Arc<dyn Clock> = clock.clone();
    let running = RunningServer::start_with_clock(settings, "127.0.0.1:0".parse().expect("addr"), shared)
        .await
        .expect("server starts");
    let server = TestServer { base: running.base_url(), _server: running, dir, http: reqwest::Client::new() };

    let (key, jti) = create(&server, &bob(), json!({"expires_in_seconds": 60})).await;
    let suspend = format!("{KEYS}/{jti}/suspend");
    let unsuspend = format!("{KEYS}/{jti}/unsuspend");
    let (status, body) = server.as_token(&bob(), Method::POST, &suspend, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"jti": jti, "status": "SUSPENDED", "changed": true})));
    assert_eq!(whoami(&server, &key).await.0, StatusCode::UNAUTHORIZED);
    let (_, body) = server.as_token(&bob(), Method::POST, &suspend, None).await;
    assert_eq!(body, json!({"jti": jti, "status": "SUSPENDED", "changed": false}));
    let (status, body) = server.as_token(&bob(), Method::POST, &unsuspend, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"jti": jti, "status": "ACTIVE", "changed": true})));
    assert_eq!(whoami(&server, &key).await.0, StatusCode::OK);

    // Expired: listed as EXPIRED at once, accepted for the 30 s leeway, refused after it.
    clock.advance(61);
    let (_, listed) = server.as_token(&bob(), Method::GET, KEYS, None).await;
    assert_eq!(listed["data"][0]["status"], "EXPIRED");
    let (_, body) = server.as_token(&bob(), Method::POST, &suspend, None).await;
    assert_eq!(body, json!({"jti": jti, "status": "EXPIRED", "changed": false}));
    assert_eq!(whoami(&server, &key).await.0, StatusCode::OK, "within the leeway");
    clock.advance(30);
    assert_eq!(whoami(&server, &key).await.0, StatusCode::UNAUTHORIZED);

    // Revoked keys cannot be suspended or unsuspended.
    server.as_token(&bob(), Method::DELETE, &format!("{KEYS}/{jti}"), None).await;
    let (status, body) = server.as_token(&bob(), Method::POST, &unsuspend, None).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::CONFLICT,
            json!({"detail": format!("Revoked Scoped Access Key {jti} cannot be unsuspended")})
        )
    );
}

/// A token with the given header and claims, signed by `sign` over `header.payload`.
fn compact(header: Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let input = format!(
        "{}.{}",
        engine.encode(serde_json::to_vec(&header).expect("header")),
        engine.encode(serde_json::to_vec(claims).expect("claims"))
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", engine.encode(signature))
}

fn openssl_sign(pem: &Path, input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(pem)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().expect("stdin").write_all(input).expect("write");
    child.wait_with_output().expect("output").stdout
}

#[tokio::test]
async fn ak_04_tokens_that_only_claim_to_be_keys_are_refused() {
    let server = start("").await;
    let (genuine, _) = create(&server, &admin(), json!({})).await;
    let claims = claims_of(&genuine);
    assert_eq!(claims["nmp_token_type"], "access_key");

    // Unsigned, claiming to be the admin's key (quickstart accepts unsigned JWTs otherwise).
    let unsigned = unsigned_token(claims.clone());
    // Signed by an RSA key that is not the platform's, under the platform's kid.
    let attacker = signing_key(server.dir.path(), "attacker");
    let foreign = compact(json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}), &claims, |input| {
        openssl_sign(&attacker, input)
    });
    // HS256 keyed with the platform's public key (the JWKS `n`, and the whole JWKS entry).
    let (_, jwks) = server.get("/apis/auth/jwks").await;
    let n = jwks["keys"][0]["n"].as_str().expect("n").to_string();
    let entry = jwks["keys"][0].to_string();
    let hmac = |secret: Vec<u8>| {
        let key = jsonwebtoken::EncodingKey::from_secret(&secret);
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &key).expect("hs256")
    };
    for (name, token) in [
        ("unsigned", unsigned),
        ("foreign RSA key", foreign),
        ("HS256 with n", hmac(n.into_bytes())),
        ("HS256 with the JWK", hmac(entry.into_bytes())),
    ] {
        let (status, body) = whoami(&server, &token).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid or expired token"})),
            "{name}"
        );
        let (status, body) = server.as_token(&token, Method::GET, "/apis/auth/authenticate", None).await;
        assert_eq!(
            (status, body),
            (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid bearer token"})),
            "{name}"
        );
    }
    let (status, who) = server.as_token(&genuine, Method::GET, "/apis/auth/authenticate", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(who["token_kind"], "access_key");
    assert_eq!(who["principal"], "admin@example.com");
}

#[tokio::test]
async fn ak_04_an_idp_signed_token_claiming_to_be_a_key_is_refused() {
    let idp = super::oidc::start_idp().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = signing_key(dir.path(), "signing");
    let yaml = format!(
        "{}  access_keys:\n    enabled: true\n  token_signing:\n    private_key_file: {}\n",
        super::oidc::oidc_yaml(&idp, 300, ""),
        pem.display()
    );
    let server = TestServer::start_in(&yaml, dir).await;
    super::oidc::wait_ready(&server).await;
    let honest = idp.client_credentials("platform:read").await.expect("token").access_token;
    assert_eq!(whoami(&server, &honest).await.0, StatusCode::OK, "the IdP's ordinary tokens are accepted");
    let forged = idp.forged_access_key("platform:read").await.expect("token").access_token;
    assert_eq!(claims_of(&forged)["nmp_token_type"], "access_key");
    let (status, body) = whoami(&server, &forged).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid or expired token"})));
}

#[tokio::test]
async fn ak_05_service_account_keys_need_a_platform_admin_and_others_keys_answer_404() {
    let server = start("").await;
    let (status, body) = server
        .as_token(&bob(), Method::POST, KEYS, Some(json!({"service_account_id": "intake-reader"})))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Only PlatformAdmin can create service-bound Scoped Access Keys"})
        )
    );
    let (sa_key, sa_jti) =
        create(&server, &admin(), json!({"name": "reader", "service_account_id": "intake-reader"})).await;
    let claims = claims_of(&sa_key);
    assert_eq!(claims["sub"], "service-account:intake-reader");
    assert_eq!(
        claims["nmp_access_key"],
        json!({"version": 2, "entity_type": "SERVICE_ACCOUNT", "name": "reader"})
    );
    assert!(claims.get("email").is_none());
    let (bob_key, bob_jti) = create(&server, &bob(), json!({})).await;

    let (carol, admin_token, bob_token) = (user_token("carol@example.com", &[], None), admin(), bob());
    for (who, token, jti) in [
        ("carol, bob's key", carol.as_str(), bob_jti.as_str()),
        ("an admin, bob's key", admin_token.as_str(), bob_jti.as_str()),
        ("bob, the SA key", bob_token.as_str(), sa_jti.as_str()),
        ("the SA key itself", sa_key.as_str(), sa_jti.as_str()),
    ] {
        for (method, path) in [
            (Method::DELETE, format!("{KEYS}/{jti}")),
            (Method::POST, format!("{KEYS}/{jti}/suspend")),
            (Method::POST, format!("{KEYS}/{jti}/unsuspend")),
        ] {
            let (status, body) = server.as_token(token, method, &path, None).await;
            assert_eq!(
                (status, body),
                (StatusCode::NOT_FOUND, json!({"detail": format!("Scoped Access Key {jti} was not found")})),
                "{who}: {path}"
            );
        }
    }
    // Listings: bob sees his own; an admin also sees every service-account key.
    let (_, listed) = server.as_token(&bob(), Method::GET, KEYS, None).await;
    let jtis: Vec<&str> =
        listed["data"].as_array().expect("data").iter().filter_map(|k| k["jti"].as_str()).collect();
    assert_eq!(jtis, [bob_jti.as_str()]);
    let (_, listed) = server.as_token(&admin(), Method::GET, KEYS, None).await;
    assert_eq!(listed["data"][0]["jti"], sa_jti.as_str());
    assert_eq!(listed["data"][0]["principal"], "service-account:intake-reader");
    assert_eq!(listed["data"][0]["entity_type"], "SERVICE_ACCOUNT");
    let (_, listed) = server.as_token(&sa_key, Method::GET, KEYS, None).await;
    assert_eq!(listed, json!({"data": [], "has_more": false}));
    // Bob's key works and bob manages it himself.
    assert_eq!(whoami(&server, &bob_key).await.0, StatusCode::OK);
    let (status, _) = server.as_token(&admin(), Method::DELETE, &format!("{KEYS}/{sa_jti}"), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn ak_06_a_key_grants_what_its_principal_holds_now() {
    let server = start("  seed_default_workspace_editor: false\n").await;
    let (status, _) = server.as_token(&admin(), Method::POST, WS, Some(json!({"name": "team"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (bob_key, _) = create(&server, &bob(), json!({})).await;
    let (sa_key, _) = create(&server, &admin(), json!({"service_account_id": "intake"})).await;
    let team = format!("{WS}/team");
    for key in [&bob_key, &sa_key] {
        assert_eq!(server.as_token(key, Method::GET, &team, None).await.0, StatusCode::FORBIDDEN);
    }
    for principal in ["bob@example.com", "service-account:intake"] {
        let (status, body) = server
            .as_token(
                &admin(),
                Method::POST,
                &format!("{team}/members"),
                Some(json!({"principal": principal, "roles": ["Viewer"]})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for key in [&bob_key, &sa_key] {
        assert_eq!(server.as_token(key, Method::GET, &team, None).await.0, StatusCode::OK);
        let (status, _) = server.as_token(key, Method::PUT, &team, Some(json!({"description": "x"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "Viewer cannot update");
    }
    let (status, _) = server
        .as_token(
            &admin(),
            Method::PUT,
            &format!("{team}/members/service-account:intake"),
            Some(json!({"roles": ["Admin"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, updated) =
        server.as_token(&sa_key, Method::PUT, &team, Some(json!({"description": "by sa"}))).await;
    assert_eq!((status, updated["updated_by"].clone()), (StatusCode::OK, json!("service-account:intake")));
    let (status, _) =
        server.as_token(&admin(), Method::DELETE, &format!("{team}/members/bob@example.com"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.as_token(&bob_key, Method::GET, &team, None).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_key_of_the_previous_signing_key_works_during_rotation_and_not_after_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = signing_key(dir.path(), "old");
    let new = signing_key(dir.path(), "new");
    let server = TestServer::start_in(&keys_yaml(&old, ""), dir).await;
    let (key, _) = create(&server, &bob(), json!({})).await;
    let dir = server.stop().await;

    let rotating = format!(
        "{QUICKSTART}  access_keys:\n    enabled: true\n  token_signing:\n    private_key_file: {}\n    key_id: k2\n    \
         issuer: http://nmp.test/apis/auth\n    previous_keys:\n      - key_id: k1\n        private_key_file: {}\n",
        new.display(),
        old.display()
    );
    let server = TestServer::start_in(&rotating, dir).await;
    assert_eq!(whoami(&server, &key).await.0, StatusCode::OK, "the old key still verifies");
    let (_, jwks) = server.get("/apis/auth/jwks").await;
    let kids: Vec<&str> =
        jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(kids, ["k2", "k1"]);
    let (fresh, _) = create(&server, &bob(), json!({})).await;
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(fresh.split('.').next().expect("h"))
            .expect("b64"),
    )
    .expect("json");
    assert_eq!(header["kid"], "k2", "new keys are signed by the new key");
    let dir = server.stop().await;

    let server = TestServer::start_in(&keys_yaml(&new, "").replace("key_id: k1", "key_id: k2"), dir).await;
    assert_eq!(whoami(&server, &key).await.0, StatusCode::UNAUTHORIZED, "old key removed");
    assert_eq!(whoami(&server, &fresh).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_validly_signed_key_without_a_registry_entry_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = signing_key(dir.path(), "shared");
    let first = TestServer::start_in(&keys_yaml(&pem, ""), dir).await;
    let (key, _) = create(&first, &bob(), json!({})).await;
    assert_eq!(whoami(&first, &key).await.0, StatusCode::OK);
    // Same PEM, kid and issuer; another store, where the key was never recorded.
    let second = TestServer::start(&keys_yaml(&pem, "")).await;
    let (status, body) = whoami(&second, &key).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Invalid or expired token"})));
}

#[tokio::test]
async fn created_key_has_the_reference_format() {
    let server = start("").await;
    let (status, created) = server
        .as_token(
            &user_token("u-42", &["g1", "g2"], None),
            Method::POST,
            KEYS,
            Some(json!({"name": "ci-key"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "create answers 200, not 201");
    let keys: Vec<&str> = created.as_object().expect("object").keys().map(String::as_str).collect();
    for field in [
        "jti",
        "name",
        "description",
        "principal",
        "entity_type",
        "status",
        "issuer",
        "audiences",
        "created_at",
        "expires_at",
        "token",
        "token_type",
    ] {
        assert!(keys.contains(&field), "{field} in {keys:?}");
    }
    assert_eq!(created["entity_type"], "USER");
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["token_type"], "Bearer");
    assert_eq!(created["audiences"], json!(["nemo-platform-access-key"]));
    assert_eq!(created["issuer"], "http://nmp.test/apis/auth");
    let jti = created["jti"].as_str().expect("jti");
    assert!(nmp_authn::is_valid_jti(jti), "{jti}");
    let claims = claims_of(created["token"].as_str().expect("token"));
    assert_eq!(claims["groups"], "g1,g2");
    assert_eq!(claims["nbf"], claims["iat"]);
    assert_eq!(claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"), 2_592_000);
    assert_eq!(claims["nmp_access_key"], json!({"version": 2, "name": "ci-key"}));
    let created_at = created["created_at"].as_str().expect("created_at");
    assert!(created_at.ends_with('Z') && created_at.len() == 20, "{created_at}");
    let (status, who) = server
        .as_token(created["token"].as_str().expect("token"), Method::GET, "/apis/auth/authenticate", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(who["groups"], json!(["g1", "g2"]));
    assert_eq!(who["scopes"], json!([]));
    assert_eq!(who["jti"], jti);
}

#[tokio::test]
async fn bad_input_is_answered_as_the_reference_answers_it() {
    let server = start("  gateway:\n    trusted_cidrs: [\"127.0.0.1/32\"]\n").await;
    let bad = |body: Value| {
        let server = &server;
        async move { server.as_token(&bob(), Method::POST, KEYS, Some(body)).await }
    };
    assert_eq!(
        bad(json!({"expires_in_seconds": 2_592_001})).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "expires_in_seconds must be less than or equal to auth.access_keys.max_expires_in_seconds (2592000)"})
        )
    );
    assert_eq!(
        bad(json!({"expires_in_seconds": null})).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "expires_in_seconds=null requires auth.access_keys.max_expires_in_seconds to be disabled"})
        )
    );
    let (status, body) = bad(json!({"expires_in_seconds": 0})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "greater_than_equal");
    assert_eq!(body["detail"][0]["loc"], json!(["body", "expires_in_seconds"]));
    let (status, body) = bad(json!({"expires_in_seconds": 1.5})).await;
    assert_eq!(
        (status, body["detail"][0]["type"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("int_from_float"))
    );
    let (status, created) = bad(json!({"expires_in_seconds": "60", "scope": "ignored"})).await;
    assert_eq!(status, StatusCode::OK, "a numeric string is coerced, unknown fields ignored: {created}");
    let (status, body) = bad(json!({"name": ""})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "string_too_short");
    assert_eq!(body["detail"][0]["msg"], "String should have at least 1 character");
    let (_, body) = bad(json!({"name": "x".repeat(129)})).await;
    assert_eq!(body["detail"][0]["msg"], "String should have at most 128 characters");
    let (_, body) = bad(json!({"description": "x".repeat(1025)})).await;
    assert_eq!(body["detail"][0]["type"], "string_too_long");
    let (status, body) =
        server.as_token(&admin(), Method::POST, KEYS, Some(json!({"service_account_id": "-bad id"}))).await;
    assert_eq!(
        (status, body["detail"][0]["type"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("string_pattern_mismatch"))
    );
    let (status, body) =
        server.call(Method::POST, KEYS, None, &[("Authorization", &format!("Bearer {}", bob()))]).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}]})
        )
    );

    // Paging.
    for (query, field) in [("page_size=101", "page_size"), ("page_size=0", "page_size"), ("page=0", "page")] {
        let (status, body) = server.as_token(&bob(), Method::GET, &format!("{KEYS}?{query}"), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(body["detail"][0]["loc"], json!(["query", field]), "{query}");
    }

    // A malformed jti: the reference's exact 422, on every route that takes one.
    for jti in ["not-a-jti", &format!("ak_{}", "A".repeat(32)), &format!("ak_{}", "a".repeat(31))] {
        for (method, path) in [
            (Method::DELETE, format!("{KEYS}/{jti}")),
            (Method::POST, format!("{KEYS}/{jti}/suspend")),
            (Method::POST, format!("{KEYS}/{jti}/unsuspend")),
        ] {
            let (status, body) = server.as_token(&bob(), method, &path, None).await;
            assert_eq!(
                (status, body),
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"detail": [{"type": "string_pattern_mismatch", "loc": ["path", "jti"],
                        "msg": "String should match pattern '^ak_[0-9a-f]{32}$'", "input": jti,
                        "ctx": {"pattern": "^ak_[0-9a-f]{32}$"}}]})
                ),
                "{path}"
            );
        }
    }

    // Who may create what.
    assert_eq!(
        bad(json!({"service_account_id": "intake"})).await,
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Only PlatformAdmin can create service-bound Scoped Access Keys"})
        )
    );
    let as_service = |body: Value| {
        let server = &server;
        async move {
            server.call(Method::POST, KEYS, Some(body), &[("X-NMP-Principal-Id", "service:evaluator")]).await
        }
    };
    assert_eq!(
        as_service(json!({})).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Scoped Access Keys cannot be created for service principals"})
        )
    );
    assert_eq!(as_service(json!({"service_account_id": "x"})).await.0, StatusCode::FORBIDDEN);
    let (sa_key, _) = create(&server, &admin(), json!({"service_account_id": "intake"})).await;
    assert_eq!(
        server.as_token(&sa_key, Method::POST, KEYS, Some(json!({}))).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"detail": "Scoped Access Keys cannot be created by service-account principals"})
        )
    );
    let unknown = format!("ak_{}", "0".repeat(32));
    assert_eq!(
        server.as_token(&bob(), Method::DELETE, &format!("{KEYS}/{unknown}"), None).await,
        (StatusCode::NOT_FOUND, json!({"detail": format!("Scoped Access Key {unknown} was not found")}))
    );
    let (status, body) = server.call(Method::GET, KEYS, None, &[]).await;
    assert_eq!((status, body), (StatusCode::UNAUTHORIZED, json!({"detail": "Unauthorized"})));
}

#[tokio::test]
async fn with_the_feature_off_every_route_says_so_and_keys_are_not_recognised() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = signing_key(dir.path(), "signing");
    let on = TestServer::start_in(&keys_yaml(&pem, ""), dir).await;
    let (key, jti) = create(&on, &bob(), json!({})).await;
    let off = TestServer::start(&format!(
        "{QUICKSTART}  token_signing:\n    private_key_file: {}\n",
        pem.display()
    ))
    .await;
    let disabled = json!({"detail": "Scoped Access Keys are not enabled", "code": "access_keys_disabled"});
    for (method, path, body) in [
        (Method::POST, KEYS.to_string(), Some(json!({}))),
        (Method::GET, KEYS.to_string(), None),
        (Method::DELETE, format!("{KEYS}/{jti}"), None),
        (Method::POST, format!("{KEYS}/{jti}/suspend"), None),
        (Method::POST, format!("{KEYS}/{jti}/unsuspend"), None),
    ] {
        assert_eq!(
            off.as_token(&bob(), method, &path, body).await,
            (StatusCode::NOT_FOUND, disabled.clone()),
            "{path}"
        );
    }
    // Validation still comes first, as in the reference.
    assert_eq!(
        off.as_token(&bob(), Method::DELETE, &format!("{KEYS}/nope"), None).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(off.get("/apis/auth/jwks").await, (StatusCode::OK, json!({"keys": []})));
    assert_eq!(whoami(&off, &key).await.0, StatusCode::UNAUTHORIZED);
    let (status, jwks) = on.get("/apis/auth/jwks").await;
    assert_eq!(status, StatusCode::OK, "the JWKS needs no token");
    assert_eq!(jwks["keys"][0]["kid"], "k1");
}

/// Every access-key change is in the audit trail, recorded in the change's own transaction:
/// created, suspended, unsuspended, revoked, by whom, about which principal, and never the key.
/// A no-op (revoking twice) records nothing.
#[tokio::test]
async fn access_key_changes_are_in_the_audit_trail_without_the_key() {
    let server = start("").await;
    let (key, jti) = create(&server, &bob(), json!({"name": "ci"})).await;
    for (method, path) in [
        (Method::POST, format!("{KEYS}/{jti}/suspend")),
        (Method::POST, format!("{KEYS}/{jti}/unsuspend")),
        (Method::DELETE, format!("{KEYS}/{jti}")),
        (Method::DELETE, format!("{KEYS}/{jti}")),
    ] {
        let (status, body) = server.as_token(&bob(), method, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let (status, page) = server
        .as_token(&admin(), Method::GET, "/apis/auth/v2/audit-events?principal=bob@example.com", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events = page["data"].as_array().expect("data");
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().expect("action")).collect();
    assert_eq!(
        actions,
        ["access_key.revoked", "access_key.unsuspended", "access_key.suspended", "access_key.created"],
        "newest first, one event per change"
    );
    assert!(
        events.iter().all(|e| e["actor"] == "bob@example.com" && e["after"]["jti"] == jti.as_str()),
        "{page}"
    );
    assert_eq!(events[0]["before"]["status"], "ACTIVE");
    assert_eq!(events[0]["after"]["status"], "REVOKED");
    let text = page.to_string();
    let signature = key.rsplit('.').next().expect("signature");
    assert!(!text.contains(&key) && !text.contains(signature), "the key must not reach the audit trail");
    // Only PlatformAdmins read the whole trail.
    let (status, _) = server.as_token(&bob(), Method::GET, "/apis/auth/v2/audit-events", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
