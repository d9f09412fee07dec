//! Scoped Access Keys across replicas on one PostgreSQL (real `nmp-server` processes): a key
//! created through one replica works on the other at once, and a revocation or suspension made
//! through one is refused by the very next request on every replica (AK-02).

use std::time::Duration;

use nmp_testkit::PgCluster;
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::access_keys::{signing_key, KEYS};
use super::support::{call, user_token, write_config, ProcessServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";

#[tokio::test]
async fn ak_02_revoke_and_suspend_through_one_replica_are_refused_on_the_next_request_on_every_replica() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("access_keys_replicas").unwrap();
    let dir = tempfile::tempdir().expect("tempdir");
    let pem = signing_key(dir.path(), "signing");
    let config = write_config(
        dir.path(),
        &format!(
            "{QUICKSTART}  policy_data_refresh_interval: 0.5\n  access_keys:\n    enabled: true\n  token_signing:\n    \
             private_key_file: {}\nstore:\n  backend: postgres\n  url: \"{}\"\n  pool_size: 4\n",
            pem.display(),
            cluster.url(&database)
        ),
    );
    let data = dir.path().join("data");
    let a = ProcessServer::spawn(&config, &data).expect("replica a starts");
    let b = ProcessServer::spawn(&config, &data).expect("replica b starts");
    let bob = user_token("bob@example.com", &[], None);

    let (status, created) = call(&a.base, &bob, Method::POST, KEYS, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let key = created["token"].as_str().expect("token").to_string();
    let jti = created["jti"].as_str().expect("jti").to_string();
    for replica in [&a, &b] {
        assert_eq!(
            call(&replica.base, &key, Method::GET, WS, None).await.0,
            StatusCode::OK,
            "{}",
            replica.log()
        );
    }

    for round in 0..20 {
        let (through, other) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let (status, body) =
            call(&through.base, &bob, Method::POST, &format!("{KEYS}/{jti}/suspend"), None).await;
        assert_eq!((status, body["changed"].clone()), (StatusCode::OK, json!(true)), "round {round}");
        for replica in [through, other] {
            assert_eq!(
                call(&replica.base, &key, Method::GET, WS, None).await.0,
                StatusCode::UNAUTHORIZED,
                "round {round}"
            );
        }
        let (status, _) =
            call(&other.base, &bob, Method::POST, &format!("{KEYS}/{jti}/unsuspend"), None).await;
        assert_eq!(status, StatusCode::OK);
        for replica in [through, other] {
            assert_eq!(
                call(&replica.base, &key, Method::GET, WS, None).await.0,
                StatusCode::OK,
                "round {round}"
            );
        }
    }

    let (status, body) = call(&b.base, &bob, Method::DELETE, &format!("{KEYS}/{jti}"), None).await;
    assert_eq!((status, body["revoked"].clone()), (StatusCode::OK, json!(true)));
    for replica in [&a, &b] {
        assert_eq!(call(&replica.base, &key, Method::GET, WS, None).await.0, StatusCode::UNAUTHORIZED);
    }
    // And it stays refused once both have reloaded from the store.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for replica in [&a, &b] {
        assert_eq!(call(&replica.base, &key, Method::GET, WS, None).await.0, StatusCode::UNAUTHORIZED);
    }
    a.kill9();
    b.kill9();
}
