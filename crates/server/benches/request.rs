//! What authentication and authorization add to one request, measured in process: the whole
//! router (every layer the server runs), called with `tower::ServiceExt::oneshot`, on a SQLite
//! store in a temporary directory. No sockets and no load generator, so the figures are stable
//! enough on a noisy machine to compare auth on and off a few percent apart; `scripts/bench.sh`
//! measures the same requests over HTTP.
//!
//! Scenarios (the data of `scripts/bench.sh`: `default`, `system`, `ws1`, bob a Viewer of ws1):
//! - `live`: `GET /health/live`, the floor (no authentication, no store);
//! - `list_off`: the workspace list with auth off;
//! - `list_admin` / `list_bob`: the same list with auth on, as the platform admin (every
//!   workspace) and as bob (the workspaces his bindings show); the token is in the cache, as it
//!   is for every request after a caller's first;
//! - `list_admin_connection` / `list_bob_connection`: the same, each request carrying one
//!   connection's memo as the accept loop gives every request of a keep-alive connection (its last
//!   token, allow and visible workspaces remembered: `nmp_server::memo`).
//!
//! `cargo bench -p nmp-server --bench request`

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use nmp_server::config::{FileConfig, Settings};
use nmp_server::memo::ConnectionMemo;
use nmp_server::state::SystemClock;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const LIST: &str = "/apis/entities/v2/workspaces";

fn unsigned_token(email: &str) -> String {
    use base64::Engine;
    let b64 = |value: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string().as_bytes())
    };
    let header = b64(serde_json::json!({"alg": "none", "typ": "JWT"}));
    let claims = b64(
        serde_json::json!({"sub": email, "email": email, "iat": 1_700_000_000, "exp": 4_102_444_800_i64}),
    );
    format!("{header}.{claims}.")
}

fn settings(yaml: &str, dir: &Path) -> Settings {
    let path = dir.join("platform.yaml");
    std::fs::write(&path, yaml).expect("write config");
    let file = FileConfig::load(Some(&path)).expect("config loads");
    Settings::validate(file, Some(dir.join("data")), &Default::default()).expect("config validates")
}

fn request(method: Method, uri: &str, token: Option<&str>, body: Option<serde_json::Value>) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request"),
        None => builder.body(Body::empty()).expect("request"),
    }
}

async fn call(router: &Router, request: Request<Body>) -> (StatusCode, axum::body::Bytes) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    (status, body)
}

/// A server's router with the benchmark's data; the directory must outlive it.
fn app(runtime: &Runtime, auth: bool, admin: &str) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = if auth {
        "auth: {enabled: true, allow_unsigned_jwt: true, admin_email: admin@example.com}\n"
    } else {
        "{}\n"
    };
    let settings = settings(yaml, dir.path());
    let router = runtime.block_on(async {
        let state = nmp_server::prepare(settings, Arc::new(SystemClock)).await.expect("state");
        let router = nmp_server::app::build(state);
        let token = auth.then_some(admin);
        let created =
            call(&router, request(Method::POST, LIST, token, Some(serde_json::json!({"name": "ws1"})))).await;
        assert_eq!(created.0, StatusCode::CREATED, "{:?}", created.1);
        let member = serde_json::json!({"principal": "bob@example.com", "roles": ["Viewer"]});
        let added =
            call(&router, request(Method::POST, &format!("{LIST}/ws1/members"), token, Some(member))).await;
        assert_eq!(added.0, StatusCode::CREATED, "{:?}", added.1);
        router
    });
    (router, dir)
}

fn bench_requests(c: &mut Criterion) {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    let admin = unsigned_token("admin@example.com");
    let bob = unsigned_token("bob@example.com");
    let (off, _off_dir) = app(&runtime, false, &admin);
    let (on, _on_dir) = app(&runtime, true, &admin);

    // Every scenario answers 200 with the workspaces its caller may see, before it is timed.
    let check = |router: &Router, token: Option<&str>, uri: &str, expected: usize| {
        let (status, body) = runtime.block_on(call(router, request(Method::GET, uri, token, None)));
        assert_eq!(status, StatusCode::OK, "{uri}: {body:?}");
        if uri == LIST {
            let page: serde_json::Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(page["data"].as_array().map(Vec::len), Some(expected), "{page}");
        }
    };
    check(&off, None, LIST, 3);
    check(&on, Some(&admin), LIST, 3);
    // Bob sees ws1 through his binding and `default` and `system` through the seeded `*`
    // bindings, so his list is as long as the admin's; carol, with no binding of her own, shows
    // that the list really is filtered by the caller's bindings on this router.
    check(&on, Some(&bob), LIST, 3);
    check(&on, Some(&unsigned_token("carol@example.com")), LIST, 2);
    check(&on, None, "/health/live", 0);

    let mut group = c.benchmark_group("request");
    let scenarios: [(&str, &Router, Option<&str>, &str, bool); 6] = [
        ("live", &on, None, "/health/live", false),
        ("list_off", &off, None, LIST, false),
        ("list_admin", &on, Some(&admin), LIST, false),
        ("list_bob", &on, Some(&bob), LIST, false),
        ("list_admin_connection", &on, Some(&admin), LIST, true),
        ("list_bob_connection", &on, Some(&bob), LIST, true),
    ];
    for (name, router, token, uri, on_connection) in scenarios {
        let connection = Arc::new(ConnectionMemo::default());
        if on_connection {
            // The memo answers what it is asked: the same list, first from scratch, then remembered.
            for _ in 0..2 {
                let mut first = request(Method::GET, uri, token, None);
                first.extensions_mut().insert(Arc::clone(&connection));
                let (status, body) = runtime.block_on(call(router, first));
                assert_eq!(status, StatusCode::OK, "{body:?}");
                let page: serde_json::Value = serde_json::from_slice(&body).expect("json");
                assert_eq!(page["data"].as_array().map(Vec::len), Some(3), "{page}");
            }
        }
        group.bench_function(name, |b| {
            let connection = &connection;
            // The request is built inside the timed loop, as the server's HTTP layer builds it
            // just before dispatch: built ahead in batches, its header map and extensions would
            // be cold in the cache when the router first reads them, which no served request sees.
            b.to_async(&runtime).iter(|| async move {
                let mut request = request(Method::GET, uri, token, None);
                // As the accept loop does for every request of a connection.
                if on_connection {
                    request.extensions_mut().insert(Arc::clone(connection));
                }
                let (status, body) = call(router, request).await;
                // Every timed answer too: a 401, 403 or 500 would otherwise be timed silently.
                assert_eq!(status, StatusCode::OK);
                body
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_requests);
criterion_main!(benches);
