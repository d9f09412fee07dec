//! Studio sessions over HTTP, without a browser (the browser suite is `tests/studio/`): two real
//! server processes on one throwaway PostgreSQL share sessions; the cookie is the only thing the
//! client holds, the store keeps only its hash, sign-in replaces it, sign-out ends it everywhere,
//! and the API never accepts it in place of a bearer token.

use nmp_testkit::PgCluster;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::{redirect, StatusCode};

use super::support::{write_config, ProcessServer, QUICKSTART};

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(redirect::Policy::none()).build().expect("client")
}

/// The `nmp-studio=...` pair of a response's `Set-Cookie`.
pub(super) fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("nmp-studio=") && !v.contains("Max-Age=0"))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string()
}

pub(super) fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a form with a csrf token") + 19;
    html[start..start + html[start..].find('"').expect("closing quote")].to_string()
}

#[tokio::test]
async fn web_06_a_session_made_on_one_postgres_replica_works_on_another_and_ends_on_both() {
    let cluster = PgCluster::shared();
    let database = cluster.create_database("studio_sessions").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{QUICKSTART}store:\n  backend: postgres\n  url: \"{}\"\n  pool_size: 4\n",
            cluster.url(&database)
        ),
    );
    let (a, b) = (
        ProcessServer::spawn(&config, &dir.path().join("a")).expect("replica a"),
        ProcessServer::spawn(&config, &dir.path().join("b")).expect("replica b"),
    );
    let http = client();

    // Sign in on replica A with the quickstart form.
    let page = http.get(format!("{}/studio/auth/sign-in", a.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{}", a.log());
    let anonymous = session_cookie(&page);
    let csrf = csrf_of(&page.text().await.unwrap());
    let signed_in = http
        .post(format!("{}/studio/auth/quickstart", a.base))
        .header(COOKIE, &anonymous)
        .header(ORIGIN, &a.base)
        .form(&[("csrf", csrf.as_str()), ("email", "bob@example.com"), ("return_to", "/studio/me")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER, "{}", a.log());
    assert_eq!(signed_in.headers()[LOCATION], "/studio/me");
    let session = session_cookie(&signed_in);
    assert_ne!(session, anonymous, "the session id must change at sign-in");
    let secret = session.trim_start_matches("nmp-studio=");

    // The store holds only a hash of the cookie.
    let holding = cluster
        .psql(&database, &format!("SELECT count(*) FROM studio_sessions WHERE id_hash LIKE '%{secret}%' OR data LIKE '%{secret}%'"))
        .unwrap();
    assert_eq!(holding, "0");

    // Replica B knows the session; the pre-sign-in cookie is worth nothing anywhere.
    let me = http.get(format!("{}/studio/me", b.base)).header(COOKIE, &session).send().await.unwrap();
    assert_eq!(me.status(), StatusCode::OK, "{}", b.log());
    let html = me.text().await.unwrap();
    assert!(html.contains("bob@example.com"), "{html}");
    let stale = http.get(format!("{}/studio/me", a.base)).header(COOKIE, &anonymous).send().await.unwrap();
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);

    // The API does not take the cookie for a credential.
    let api = http
        .get(format!("{}/apis/entities/v2/workspaces", a.base))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);

    // Sign out on B: A no longer knows the session either.
    let out = http
        .post(format!("{}/studio/auth/sign-out", b.base))
        .header(COOKIE, &session)
        .header(ORIGIN, &b.base)
        .form(&[("csrf", csrf_of(&html).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER, "{}", b.log());
    let after = http.get(format!("{}/studio/me", a.base)).header(COOKIE, &session).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(after.headers()[LOCATION].to_str().unwrap().starts_with("/studio/auth/sign-in"));
}
