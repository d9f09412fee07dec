//! The official Studio bundle served by the server (`studio.bundle_dir`), over HTTP without a
//! browser, with a small stand-in bundle laid out like the real one (the real bundle in a real
//! browser is `tests/studio/bundle.test.mjs`): the reference's layout and fallback, markers,
//! caching, traversal attempts sent byte for byte, and in `bff` mode the session gate, the
//! session bridge for the app's API calls and its CSRF rules.

use std::path::Path;

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, ORIGIN};
use reqwest::{redirect, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::studio_sessions::{csrf_of, session_cookie};
use super::support::{TestServer, QUICKSTART};

const API: &str = "/apis/entities/v2/workspaces";

/// A bundle like the wheel's: an index with an import map, a hashed entry, a chunk with markers.
fn stand_in_bundle(root: &Path) -> std::path::PathBuf {
    let bundle = root.join("static");
    std::fs::create_dir_all(bundle.join("assets")).unwrap();
    std::fs::write(
        bundle.join("index.html"),
        "<!doctype html><html lang=\"en\"><head><title>Studio</title>\
         <script type=\"importmap\">{\"imports\":{\"react\":\"/studio/vendor/react.js\"}}</script>\
         <script type=\"module\" src=\"/studio/assets/index-Bi75BX3O.js\"></script></head><body><div id=\"app\"></div></body></html>",
    )
    .unwrap();
    std::fs::write(bundle.join("assets/index-Bi75BX3O.js"), "export const app = 1;").unwrap();
    std::fs::write(
        bundle.join("assets/environment-Dz6mOgfy.js"),
        "export const env = {authority: 'STUDIO_UI_VITE_AUTH_AUTHORITY', members: 'STUDIO_UI_VITE_FF_MEMBERS_ENABLED', other: 'STUDIO_UI_VITE_NOT_KNOWN'};",
    )
    .unwrap();
    std::fs::write(bundle.join("favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    std::fs::write(root.join("secret.txt"), "outside the bundle").unwrap();
    bundle
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(redirect::Policy::none()).build().expect("client")
}

/// The status line's code and the body of a GET sent exactly as written (no client normalises it).
async fn raw_get(base: &str, path: &str) -> (u16, String) {
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, answer)
}

#[tokio::test]
async fn official_bundle_is_laid_out_as_the_reference_serves_it_and_nothing_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = stand_in_bundle(dir.path());
    let server = TestServer::start(&format!(
        "studio:\n  bundle_dir: {}\n  bundle_mode: reference\n",
        bundle.display()
    ))
    .await;
    let http = client();
    let get = |path: &str| http.get(format!("{}{path}", server.base)).send();

    let root = get("/").await.unwrap();
    assert_eq!(
        (root.status(), root.headers()[LOCATION].to_str().unwrap()),
        (StatusCode::MOVED_PERMANENTLY, "/studio")
    );
    let studio = get("/studio").await.unwrap();
    assert_eq!(
        (studio.status(), studio.headers()[LOCATION].to_str().unwrap()),
        (StatusCode::TEMPORARY_REDIRECT, "/studio/")
    );

    let index = get("/studio/").await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert_eq!(index.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(index.headers()[CACHE_CONTROL], "no-cache");
    let csp = index.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self' 'sha256-"), "{csp}");
    assert!(!csp.split(';').find(|d| d.contains("script-src")).unwrap().contains("unsafe"), "{csp}");
    let index_html = index.text().await.unwrap();

    // The app's routes answer index.html; a missing file with an extension is a 404.
    for route in
        ["/studio/auth/success?code=c&state=s", "/studio/workspaces/team-a/members", "/studio/index.html"]
    {
        let page = get(route).await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{route}");
        assert_eq!(page.text().await.unwrap(), index_html, "{route}");
    }
    let missing = get("/studio/assets/missing-0123abcd.js").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"detail": "Not Found"})
    );

    // Hashed and unchanged: cached for a year; rewritten: revalidated. Markers: none left.
    let entry = get("/studio/assets/index-Bi75BX3O.js").await.unwrap();
    assert_eq!(entry.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert_eq!(entry.headers()[CACHE_CONTROL], "public, max-age=31536000, immutable");
    let etag = entry.headers()["etag"].clone();
    let again = http
        .get(format!("{}/studio/assets/index-Bi75BX3O.js", server.base))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let chunk = get("/studio/assets/environment-Dz6mOgfy.js").await.unwrap();
    assert_eq!(chunk.headers()[CACHE_CONTROL], "no-cache");
    // Auth off: the app's sign-in is off (empty authority); the flags keep the reference's defaults.
    assert_eq!(
        chunk.text().await.unwrap(),
        "export const env = {authority: '', members: 'true', other: ''};"
    );
    assert_eq!(get("/studio/favicon.svg").await.unwrap().headers()[CONTENT_TYPE], "image/svg+xml");

    let plugins = get("/apis/plugins").await.unwrap();
    assert_eq!(plugins.status(), StatusCode::OK);
    assert_eq!(plugins.json::<serde_json::Value>().await.unwrap(), serde_json::json!([]));

    for attempt in [
        "/studio/../secret.txt",
        "/studio/..%2fsecret.txt",
        "/studio/%2e%2e/secret.txt",
        "/studio/assets/..%2f..%2fsecret.txt",
        "/studio/assets/..\\..\\secret.txt",
        "/studio/%2e%2e%5csecret.txt",
        "/studio//etc/passwd",
        "/studio/%2fetc%2fpasswd",
        "/studio/assets/%00.js",
    ] {
        let (status, answer) = raw_get(&server.base, attempt).await;
        assert_eq!(status, 404, "{attempt}: {answer}");
        assert!(!answer.contains("outside the bundle") && !answer.contains("root:"), "{attempt}");
    }
}

#[tokio::test]
async fn official_bundle_in_bff_mode_is_gated_and_its_api_calls_use_the_session_from_our_origin_only() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = stand_in_bundle(dir.path());
    let server = TestServer::start(&format!(
        "{QUICKSTART}studio:\n  bundle_dir: {}\n  bundle_mode: bff\n",
        bundle.display()
    ))
    .await;
    let base = server.base.clone();
    let http = client();

    // No session: pages go to sign-in (and come back), files are refused, the API wants credentials.
    let page = http.get(format!("{base}/studio/workspaces/bob/members")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers()[LOCATION],
        "/studio/auth/sign-in?return_to=%2Fstudio%2Fworkspaces%2Fbob%2Fmembers"
    );
    assert_eq!(
        http.get(format!("{base}/studio/assets/index-Bi75BX3O.js")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(http.get(format!("{base}/apis/plugins")).send().await.unwrap().status(), StatusCode::OK);

    // Quickstart sign-in through our form.
    let sign_in = http.get(format!("{base}/studio/auth/sign-in")).send().await.unwrap();
    let anonymous = session_cookie(&sign_in);
    let csrf = csrf_of(&sign_in.text().await.unwrap());
    let signed_in = http
        .post(format!("{base}/studio/auth/quickstart"))
        .header(COOKIE, &anonymous)
        .header(ORIGIN, &base)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "bob@example.com"),
            ("return_to", "/studio/workspaces/bob/members"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.headers()[LOCATION], "/studio/workspaces/bob/members");
    let cookie = session_cookie(&signed_in);

    let page = http
        .get(format!("{base}/studio/workspaces/bob/members"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("connect-src 'self';"), "{csp}");
    let entry = http
        .get(format!("{base}/studio/assets/index-Bi75BX3O.js"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(entry.headers()[CACHE_CONTROL], "private, max-age=31536000, immutable");

    let call = |method: reqwest::Method, path: &str, headers: &[(&str, &str)]| {
        let mut request = http.request(method, format!("{base}{path}")).header(COOKIE, &cookie);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
    };
    let studio = [("x-source", "NeMo Studio")];

    // The personal workspace was made at sign-in; the session authenticates the app's calls.
    let own = call(reqwest::Method::GET, &format!("{API}/bob"), &studio).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    let created = call(reqwest::Method::POST, API, &[("x-source", "NeMo Studio"), ("origin", base.as_str())])
        .json(&serde_json::json!({"name": "bundle-team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<serde_json::Value>().await.unwrap()["created_by"], "bob@example.com");
    // The PDP still decides: bob is no Admin of `system`.
    let denied = call(reqwest::Method::DELETE, &format!("{API}/system"), &studio).send().await.unwrap();
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);

    // The cookie alone is nothing; from another origin it is refused; a credential of its own wins.
    assert_eq!(call(reqwest::Method::GET, API, &[]).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    for foreign in [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")] {
        let refused = call(reqwest::Method::POST, API, &[studio[0], foreign])
            .json(&serde_json::json!({"name": "csrf-attempt"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{foreign:?}");
    }
    let bearer = call(reqwest::Method::GET, API, &[studio[0], ("authorization", "Bearer not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), StatusCode::UNAUTHORIZED);
    let listing = call(reqwest::Method::GET, &format!("{API}?page_size=100"), &studio).send().await.unwrap();
    let listing = listing.text().await.unwrap();
    assert!(listing.contains("bundle-team") && !listing.contains("csrf-attempt"), "{listing}");

    // Our sign-out page ends the session; its cookie then authenticates nothing.
    let sign_out =
        http.get(format!("{base}/studio/auth/sign-out")).header(COOKIE, &cookie).send().await.unwrap();
    assert_eq!(sign_out.status(), StatusCode::OK);
    let csrf = csrf_of(&sign_out.text().await.unwrap());
    let out = http
        .post(format!("{base}/studio/auth/sign-out"))
        .header(COOKIE, &cookie)
        .header(ORIGIN, &base)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        call(reqwest::Method::GET, API, &studio).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}
