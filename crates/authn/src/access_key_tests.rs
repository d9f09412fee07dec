//! Unit tests of access-key signing and verification, with the fixture keys of `tests/keys/`.

use std::sync::Arc;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use nmp_core::clock::{Clock, ManualClock};
use serde_json::{json, Value};

use super::*;

const NOW: i64 = 1_800_000_000;
const ISSUER: &str = "http://platform.test/apis/auth";
const AUDIENCE: &str = "nemo-platform-access-key";
const RSA1: &[u8] = include_bytes!("../tests/keys/rsa1.pem");
const RSA2: &[u8] = include_bytes!("../tests/keys/rsa2.pem");
const ATTACKER: &[u8] = include_bytes!("../tests/keys/attacker_rsa.pem");
const EC256: &[u8] = include_bytes!("../tests/keys/ec256.pem");

fn keys(list: &[(&str, &[u8])]) -> Arc<PlatformKeys> {
    let owned: Vec<(String, Vec<u8>)> = list.iter().map(|(id, pem)| (id.to_string(), pem.to_vec())).collect();
    Arc::new(PlatformKeys::from_pems(&owned).expect("keys load"))
}

fn verifier(keys: Arc<PlatformKeys>, clock: &Arc<ManualClock>) -> AccessKeyVerifier {
    let clock: Arc<dyn Clock> = Arc::clone(clock) as Arc<dyn Clock>;
    AccessKeyVerifier::new(keys, ISSUER.into(), AUDIENCE.into(), clock)
}

fn claims(sub: &str) -> Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": NOW, "nbf": NOW,
        "jti": format!("ak_{}", "0123456789abcdef".repeat(2)),
        "nmp_token_type": "access_key", "nmp_access_key": {"version": 2, "name": "ci"},
        "email": sub, "exp": NOW + 600,
    })
}

/// Why `check` refuses `token` (the test fails if it accepts it).
fn refused(check: &AccessKeyVerifier, token: &str) -> RejectReason {
    match check.verify(token) {
        Ok(_) => panic!("the token was accepted"),
        Err(error) => error.reason().expect("refused for a reason of the token itself"),
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

#[test]
fn signed_key_verifies_and_carries_the_identity() {
    let platform = keys(&[("k1", RSA1)]);
    let token = platform.sign(&claims("bob@example.com")).unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(header, json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}));
    assert!(claims_to_be_access_key(&token));
    let verified = verifier(platform, &clock()).verify(&token).unwrap();
    assert_eq!(verified.principal.id, "bob@example.com");
    assert_eq!(verified.principal.email.as_deref(), Some("bob@example.com"));
    assert_eq!(verified.expires_at, Some(NOW + 600));
    assert!(!verified.service_account);
}

#[test]
fn jwks_publishes_every_key_with_the_reference_members() {
    let jwks = keys(&[("new", RSA2), ("old", RSA1)]).jwks();
    let kids: Vec<&str> =
        jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, ["new", "old"]);
    let first = &jwks["keys"][0];
    assert_eq!(
        (first["kty"].as_str(), first["alg"].as_str(), first["use"].as_str()),
        (Some("RSA"), Some("RS256"), Some("sig"))
    );
    assert_eq!(first["key_ops"], json!(["verify"]));
    assert_eq!(first["e"], "AQAB");
    assert!(first.get("d").is_none(), "no private member is published");
}

#[test]
fn non_rsa_or_duplicate_keys_are_refused_at_load() {
    let load = |list: Vec<(String, Vec<u8>)>| PlatformKeys::from_pems(&list).map(|_| ());
    assert_eq!(
        load(vec![("k".into(), EC256.to_vec())]),
        Err(SigningKeyError::NotRsaPrivateKey { key_id: "k".into() })
    );
    assert_eq!(
        load(vec![("k".into(), RSA1.to_vec()), ("k".into(), RSA2.to_vec())]),
        Err(SigningKeyError::DuplicateKeyId("k".into()))
    );
    assert_eq!(
        load(vec![("k".into(), b"not a pem".to_vec())]),
        Err(SigningKeyError::NotRsaPrivateKey { key_id: "k".into() })
    );
}

#[test]
fn ak_04_forged_keys_are_refused() {
    let platform = keys(&[("k1", RSA1)]);
    let check = verifier(Arc::clone(&platform), &clock());
    let body = claims("admin@example.com");
    // Another RSA key under the platform's kid.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let attacker =
        jsonwebtoken::encode(&header, &body, &EncodingKey::from_rsa_pem(ATTACKER).unwrap()).unwrap();
    assert_eq!(refused(&check, &attacker), RejectReason::BadSignature);
    // HS256 keyed with the platform's public key material (the JWKS `n`).
    let n = platform.jwks()["keys"][0]["n"].as_str().unwrap().to_owned();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(&hs, &body, &EncodingKey::from_secret(n.as_bytes())).unwrap();
    assert_eq!(refused(&check, &confused), RejectReason::SymmetricAlgorithm);
    // Unsigned.
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let unsigned = format!(
        "{}.{}.",
        engine.encode(br#"{"alg":"none","kid":"k1","typ":"JWT"}"#),
        engine.encode(serde_json::to_vec(&body).unwrap())
    );
    assert!(claims_to_be_access_key(&unsigned));
    assert_eq!(refused(&check, &unsigned), RejectReason::BadAlgorithm);
    // A tampered payload keeps the signature of the original.
    let genuine = platform.sign(&body).unwrap();
    let parts: Vec<&str> = genuine.split('.').collect();
    let mut evil = body.clone();
    evil["sub"] = json!("root@example.com");
    let tampered = format!("{}.{}.{}", parts[0], engine.encode(serde_json::to_vec(&evil).unwrap()), parts[2]);
    assert_eq!(refused(&check, &tampered), RejectReason::BadSignature);
    // Unknown kid, wrong issuer, wrong audience.
    let other = keys(&[("k2", RSA1)]);
    assert_eq!(refused(&check, &other.sign(&body).unwrap()), RejectReason::UnknownKey);
    for (claim, value, reason) in [
        ("iss", "http://elsewhere/apis/auth", RejectReason::WrongIssuer),
        ("aud", "another-audience", RejectReason::WrongAudience),
    ] {
        let mut wrong = body.clone();
        wrong[claim] = json!(value);
        assert_eq!(refused(&check, &platform.sign(&wrong).unwrap()), reason, "{claim}");
    }
}

#[test]
fn claim_rules_refuse_what_the_platform_never_signs() {
    let platform = keys(&[("k1", RSA1)]);
    let check = verifier(Arc::clone(&platform), &clock());
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, RejectReason)> = vec![
        ("service principal", Box::new(|c| c["sub"] = json!("service:evil")), RejectReason::BadIdentityClaim),
        (
            "SA without entity type",
            Box::new(|c| c["sub"] = json!("service-account:x")),
            RejectReason::BadIdentityClaim,
        ),
        (
            "entity type on a user",
            Box::new(|c| c["nmp_access_key"]["entity_type"] = json!("SERVICE_ACCOUNT")),
            RejectReason::BadIdentityClaim,
        ),
        ("malformed jti", Box::new(|c| c["jti"] = json!("ak_XYZ")), RejectReason::BadClaimType("jti")),
        (
            "no nbf",
            Box::new(|c| drop(c.as_object_mut().unwrap().remove("nbf"))),
            RejectReason::MissingClaim("nbf"),
        ),
        ("future nbf", Box::new(|c| c["nbf"] = json!(NOW + 31)), RejectReason::NotYetValid),
        ("wrong type", Box::new(|c| c["nmp_token_type"] = json!("oidc")), RejectReason::WrongTokenType),
    ];
    for (name, mutate, reason) in cases {
        let mut body = claims("bob@example.com");
        mutate(&mut body);
        assert_eq!(refused(&check, &platform.sign(&body).unwrap()), reason, "{name}");
    }
}

#[test]
fn expiry_has_thirty_seconds_of_leeway_even_from_the_cache() {
    let platform = keys(&[("k1", RSA1)]);
    let clock = clock();
    let check = verifier(Arc::clone(&platform), &clock);
    let cached = authenticator(Some(check.clone()), &clock);
    let token = platform.sign(&claims("bob@example.com")).unwrap();
    assert!(check.verify(&token).is_ok());
    assert!(now(cached.authenticate_bearer(&token)).is_ok());
    clock.set(NOW + 600 + 29);
    assert!(check.verify(&token).is_ok(), "within leeway");
    assert!(now(cached.authenticate_bearer(&token)).is_ok(), "within leeway, from the cache");
    assert_eq!(cached.stats().token_cache_hits, 1);
    clock.set(NOW + 600 + 30);
    assert_eq!(refused(&check, &token), RejectReason::Expired, "expired at exp + leeway");
    assert_eq!(
        now(cached.authenticate_bearer(&token)).unwrap_err().reason(),
        Some(RejectReason::Expired),
        "cached entry ends at exp + leeway"
    );
    let mut forever = claims("bob@example.com");
    forever.as_object_mut().unwrap().remove("exp");
    assert_eq!(check.verify(&platform.sign(&forever).unwrap()).unwrap().expires_at, None);
}

#[test]
fn rotation_keeps_keys_of_the_previous_signing_key_until_it_is_removed() {
    let before = keys(&[("old", RSA1)]);
    let token = before.sign(&claims("bob@example.com")).unwrap();
    let during = keys(&[("new", RSA2), ("old", RSA1)]);
    assert_eq!(during.signing_key_id(), Some("new"));
    assert!(verifier(during, &clock()).verify(&token).is_ok());
    let after = keys(&[("new", RSA2)]);
    assert_eq!(refused(&verifier(after, &clock()), &token), RejectReason::UnknownKey);
}

#[test]
fn jti_pattern_is_the_reference_one() {
    assert!(is_valid_jti(&format!("ak_{}", "a".repeat(32))));
    assert!(!is_valid_jti(&format!("ak_{}", "A".repeat(32))));
    assert!(!is_valid_jti(&format!("ak_{}", "a".repeat(31))));
    assert!(!is_valid_jti("not-a-jti"));
}

/// An unsigned token carrying `body` (quickstart form; the kind peek reads its payload).
fn unsigned_token(body: &Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.",
        engine.encode(br#"{"alg":"none","typ":"JWT"}"#),
        engine.encode(serde_json::to_vec(body).unwrap())
    )
}

/// An authenticator accepting quickstart tokens and, when given, the platform's access keys.
fn authenticator(access_keys: Option<AccessKeyVerifier>, clock: &Arc<ManualClock>) -> crate::Authenticator {
    let settings = crate::AuthnSettings { allow_unsigned_jwt: true, ..crate::AuthnSettings::default() };
    let clock: Arc<dyn Clock> = Arc::clone(clock) as Arc<dyn Clock>;
    crate::Authenticator::with_access_keys(settings, clock, access_keys).unwrap()
}

fn now<T>(future: impl std::future::Future<Output = T>) -> T {
    futures_util::FutureExt::now_or_never(future).expect("no waiting: no IdP configured")
}

#[test]
fn one_cache_answers_each_kind_of_bearer_token_only_as_itself() {
    use crate::VerifiedBearer;
    let platform = keys(&[("k1", RSA1)]);
    let clock = clock();
    let auth = authenticator(Some(verifier(Arc::clone(&platform), &clock)), &clock);
    let key = platform.sign(&claims("bob@example.com")).unwrap();
    let quickstart = unsigned_token(&json!({"sub": "alice", "iat": NOW, "exp": NOW + 600}));
    for round in 0..2 {
        let Ok(VerifiedBearer::AccessKey(verified)) = now(auth.authenticate_bearer(&key)) else {
            panic!("round {round}: the access key is verified as an access key");
        };
        assert_eq!(verified.principal.id, "bob@example.com");
        let Ok(VerifiedBearer::Token(verified)) = now(auth.authenticate_bearer(&quickstart)) else {
            panic!("round {round}: the quickstart token is verified as an IdP token");
        };
        assert_eq!(verified.principal.id, "alice");
    }
    let stats = auth.stats();
    assert_eq!((stats.token_cache_misses, stats.token_cache_hits, stats.cached_tokens), (2, 2, 2));
    // The IdP-only entry point never answers with a cached access key.
    assert_eq!(now(auth.authenticate(&key)).unwrap_err().reason(), Some(RejectReason::SignedNotEnabled));
    // An unsigned token that claims to be a key goes to the key verifier, which refuses it,
    // although quickstart tokens are accepted (AK-04).
    let mut forged = claims("bob@example.com");
    forged["exp"] = json!(NOW + 700);
    assert_eq!(
        now(auth.authenticate_bearer(&unsigned_token(&forged))).unwrap_err().reason(),
        Some(RejectReason::BadAlgorithm)
    );
    // A cached key stops answering at its `exp` + leeway.
    clock.set(NOW + 600 + ACCESS_KEY_LEEWAY_SECONDS);
    assert_eq!(now(auth.authenticate_bearer(&key)).unwrap_err().reason(), Some(RejectReason::Expired));
}

#[test]
fn without_a_key_verifier_a_token_claiming_to_be_a_key_is_refused() {
    let platform = keys(&[("k1", RSA1)]);
    let clock = clock();
    let auth = authenticator(None, &clock);
    let key = platform.sign(&claims("bob@example.com")).unwrap();
    let error = now(auth.authenticate_bearer(&key)).unwrap_err();
    assert_eq!(error.reason(), Some(RejectReason::AccessKeysNotAccepted));
    assert_eq!(error.detail(), crate::DETAIL_INVALID_TOKEN);
}

/// Access keys on a server with neither OIDC nor quickstart tokens: keys are accepted, any other
/// bearer token is "not configured", as before the two kinds shared the authenticator.
#[test]
fn keys_alone_are_accepted_where_no_other_bearer_token_is() {
    let platform = keys(&[("k1", RSA1)]);
    let clock = clock();
    let settings = crate::AuthnSettings::default();
    let dyn_clock: Arc<dyn Clock> = Arc::clone(&clock) as Arc<dyn Clock>;
    let verifier = verifier(Arc::clone(&platform), &clock);
    let auth = crate::Authenticator::with_access_keys(settings, dyn_clock, Some(verifier)).unwrap();
    let key = platform.sign(&claims("bob@example.com")).unwrap();
    assert!(matches!(now(auth.authenticate_bearer(&key)), Ok(crate::VerifiedBearer::AccessKey(_))));
    let quickstart = unsigned_token(&json!({"sub": "alice", "iat": NOW, "exp": NOW + 600}));
    assert_eq!(now(auth.authenticate_bearer(&quickstart)).unwrap_err(), AuthnError::NotConfigured);
}

/// The kind of a bearer token does not depend on `max_token_bytes`: with a limit above the
/// access keys' own 16 KiB, an oversized token that claims to be a key still goes to the key
/// verifier alone (which refuses it as too long), never to the IdP path, which here would have
/// accepted it as a quickstart token.
#[test]
fn an_oversized_token_claiming_to_be_a_key_never_reaches_the_idp_path_whatever_the_limit() {
    let platform = keys(&[("k1", RSA1)]);
    let clock = clock();
    let large_limit = |access_keys: Option<AccessKeyVerifier>| {
        let settings = crate::AuthnSettings {
            allow_unsigned_jwt: true,
            max_token_bytes: 1 << 20,
            ..crate::AuthnSettings::default()
        };
        let dyn_clock: Arc<dyn Clock> = Arc::clone(&clock) as Arc<dyn Clock>;
        crate::Authenticator::with_access_keys(settings, dyn_clock, access_keys).unwrap()
    };
    let mut forged = claims("bob@example.com");
    forged["padding"] = json!("x".repeat(20 * 1024));
    let oversized = unsigned_token(&forged);
    assert!(oversized.len() > 16 * 1024);
    assert!(claims_to_be_access_key(&oversized));

    let with_keys = large_limit(Some(verifier(Arc::clone(&platform), &clock)));
    let error = now(with_keys.authenticate_bearer(&oversized)).unwrap_err();
    assert_eq!(error.reason(), Some(RejectReason::TooLong));
    let without_keys = large_limit(None);
    let error = now(without_keys.authenticate_bearer(&oversized)).unwrap_err();
    assert_eq!(error.reason(), Some(RejectReason::AccessKeysNotAccepted));

    // A token as large that does not claim to be a key is still the IdP path's to accept.
    let mut large = json!({"sub": "alice", "iat": NOW, "exp": NOW + 600});
    large["padding"] = json!("x".repeat(20 * 1024));
    let Ok(crate::VerifiedBearer::Token(verified)) =
        now(with_keys.authenticate_bearer(&unsigned_token(&large)))
    else {
        panic!("a large quickstart token within the limit is accepted");
    };
    assert_eq!(verified.principal.id, "alice");
}
