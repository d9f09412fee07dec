//! A real nginx (`auth_request`) in front of the server, configured as `docs/gateway.md` says:
//! the callout decides, nginx forwards only the principal headers the callout returned (plus the
//! gateway secret the server trusts), and client-sent `X-NMP-*` headers never reach the server.
//!
//! nginx must be installed (`scripts/test-deps.sh`); these tests fail, not skip, without it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::oidc::{login, oidc_yaml, start_idp, wait_ready};
use super::support::{read, user_token, TestServer, QUICKSTART};

const WS: &str = "/apis/entities/v2/workspaces";
const SECRET: &str = "nginx-gateway-secret-0123456789";

/// The nginx configuration of docs/gateway.md, with the placeholders filled in.
const NGINX_CONF: &str = r#"worker_processes 1;
events { worker_connections 256; }

http {
    access_log off;
    client_body_temp_path temp/client_body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;

    upstream nmp {
        server NMP_ADDRESS;
    }

    server {
        listen 127.0.0.1:LISTEN_PORT;

        # The forward-auth callout. nginx calls it with GET, so it names the original method in
        # X-Original-Method; the original path and query follow the callout prefix.
        location = /_nmp_authz {
            internal;
            proxy_pass http://nmp/apis/auth/ext-authz$request_uri;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-Method $request_method;
            # Only the bearer token may identify the caller: drop client copies of everything
            # that names a principal or the original request.
            proxy_set_header X-NMP-Principal-Id "";
            proxy_set_header X-NMP-Principal-Email "";
            proxy_set_header X-NMP-Principal-Groups "";
            proxy_set_header X-NMP-Principal-On-Behalf-Of "";
            proxy_set_header X-NMP-Principal-On-Behalf-Of-Email "";
            proxy_set_header X-NMP-Principal-On-Behalf-Of-Groups "";
            proxy_set_header X-NMP-Scopes "";
            proxy_set_header X-NMP-Authorized "";
            proxy_set_header X-NMP-Gateway-Secret "";
            proxy_set_header X-Forwarded-Method "";
            proxy_set_header X-Forwarded-Uri "";
            proxy_set_header X-Original-URI "";
        }

        location / {
            auth_request /_nmp_authz;
            auth_request_set $nmp_principal_id $upstream_http_x_nmp_principal_id;
            auth_request_set $nmp_principal_email $upstream_http_x_nmp_principal_email;
            auth_request_set $nmp_principal_groups $upstream_http_x_nmp_principal_groups;
            auth_request_set $nmp_scopes $upstream_http_x_nmp_scopes;

            proxy_pass http://nmp;
            # Replace (never pass through) every X-NMP-* header: the captured values, or nothing
            # (an empty value makes nginx drop the header).
            proxy_set_header X-NMP-Principal-Id $nmp_principal_id;
            proxy_set_header X-NMP-Principal-Email $nmp_principal_email;
            proxy_set_header X-NMP-Principal-Groups $nmp_principal_groups;
            proxy_set_header X-NMP-Scopes $nmp_scopes;
            proxy_set_header X-NMP-Principal-On-Behalf-Of "";
            proxy_set_header X-NMP-Principal-On-Behalf-Of-Email "";
            proxy_set_header X-NMP-Principal-On-Behalf-Of-Groups "";
            proxy_set_header X-NMP-Authorized "";
            # Proves to nmp that the principal headers come from this gateway.
            proxy_set_header X-NMP-Gateway-Secret "GATEWAY_SECRET";
            # The token was checked once; it does not travel further (GW-09).
            proxy_set_header Authorization "";
        }
    }
}
"#;

fn nginx_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|dir| dir.join("nginx")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path.into_iter().chain([PathBuf::from("/usr/sbin/nginx")]).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!("nginx is not installed: these tests need it (run scripts/test-deps.sh, or apt-get install -y nginx)")
    })
}

/// nginx as a child process on a free 127.0.0.1 port; stopped (and reaped) on drop.
pub(super) struct Nginx {
    child: Child,
    base: String,
    stderr: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(server: &TestServer) -> Nginx {
        Nginx::start_with(|port| {
            NGINX_CONF
                .replace("NMP_ADDRESS", server.base.trim_start_matches("http://"))
                .replace("LISTEN_PORT", &port.to_string())
                .replace("GATEWAY_SECRET", SECRET)
        })
    }

    /// nginx with the configuration `config` makes for the port it listens on.
    pub(super) fn start_with(config: impl FnOnce(u16) -> String) -> Nginx {
        let dir = tempfile::Builder::new().prefix("nmp-nginx-").tempdir().expect("tempdir");
        // Workers run as an unprivileged user when the master is root: let them in.
        std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.path().join("temp")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = config(port);
        let config_path = dir.path().join("nginx.conf");
        std::fs::write(&config_path, config).unwrap();
        let pid_file = dir.path().join("nginx.pid");
        let mut child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .args(["-e", "stderr", "-c"])
            .arg(&config_path)
            .arg("-g")
            .arg(format!("daemon off; pid {}; error_log stderr;", pid_file.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stderr);
        let pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(exit)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!("nginx exited ({exit}): {}", stderr.lock().unwrap().join("\n"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("nginx did not listen on {port}: {}", stderr.lock().unwrap().join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, base: format!("http://127.0.0.1:{port}"), stderr, _dir: dir }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM lets the master stop its workers; KILL only if it does not.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("nginx needed SIGKILL: {}", self.stderr.lock().unwrap().join("\n"));
    }
}

fn gateway_yaml() -> String {
    format!("{QUICKSTART}  gateway:\n    shared_secret_header: X-NMP-Gateway-Secret\n    shared_secret: {SECRET}\n")
}

struct Setup {
    server: TestServer,
    nginx: Nginx,
    http: reqwest::Client,
    admin: String,
    bob: String,
}

/// The server behind nginx; `ws1` (made by the admin, through nginx) with bob as Viewer.
async fn setup() -> Setup {
    let server = TestServer::start(&gateway_yaml()).await;
    let nginx = Nginx::start(&server);
    let http = reqwest::Client::new();
    let admin = user_token("admin@example.com", &[], None);
    let bob = user_token("bob@example.com", &[], None);
    let setup = Setup { server, nginx, http, admin, bob };
    let (status, body) = setup.call(&setup.admin, Method::POST, WS, Some(json!({"name": "ws1"})), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let members = format!("{WS}/ws1/members");
    let viewer = json!({"principal": "bob@example.com", "roles": ["Viewer"]});
    let (status, body) = setup.call(&setup.admin, Method::POST, &members, Some(viewer), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    setup
}

impl Setup {
    /// A request through nginx as the holder of `token` (empty: no token).
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let response = self.send(token, method, path, body, headers).await;
        read(response).await
    }

    async fn send(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.nginx.url(path));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request through nginx")
    }
}

#[tokio::test]
async fn nginx_valid_token_gets_through_with_the_right_attribution() {
    let setup = setup().await;
    let (status, ws) = setup.call(&setup.bob, Method::POST, WS, Some(json!({"name": "bobs-ws"})), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    assert_eq!(ws["created_by"], "bob@example.com", "the server saw the principal the callout named");
    let (status, got) = setup.call(&setup.bob, Method::GET, &format!("{WS}/ws1"), None, &[]).await;
    assert_eq!((status, &got["name"]), (StatusCode::OK, &json!("ws1")));
    // The admin's ws1 was attributed to the admin, through the same gateway.
    assert_eq!(got["created_by"], "admin@example.com");
    // Public paths pass anonymously.
    assert_eq!(setup.call("", Method::GET, "/health/ready", None, &[]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn nginx_viewer_is_refused_a_write() {
    let setup = setup().await;
    let ws1 = format!("{WS}/ws1");
    assert_eq!(setup.call(&setup.bob, Method::DELETE, &ws1, None, &[]).await.0, StatusCode::FORBIDDEN);
    let project = Some(json!({"name": "p1"}));
    let (status, _) = setup.call(&setup.bob, Method::POST, &format!("{ws1}/projects"), project, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A client-sent method header cannot turn the DELETE into a read.
    for spoof in ["X-Forwarded-Method", "X-Original-Method"] {
        let (status, _) = setup.call(&setup.bob, Method::DELETE, &ws1, None, &[(spoof, "GET")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{spoof}");
    }
    // Nor can a path the callout refuses reach the server: nginx answers 500 when the callout
    // answers anything but 2xx/401/403.
    let response =
        setup.send(&setup.bob, Method::GET, "/apis/entities/v2/workspaces/ws1%2Fmembers", None, &[]).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        setup.server.as_token(&setup.admin, Method::GET, &ws1, None).await.0,
        StatusCode::OK,
        "ws1 intact"
    );
}

#[tokio::test]
async fn nginx_missing_or_bad_token_gets_401_with_the_challenge() {
    let setup = setup().await;
    let response = setup.send("", Method::GET, WS, None, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="nmp""#);
    let response = setup.send("not.a.token", Method::GET, WS, None, &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"].to_str().unwrap().contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn nginx_strips_client_principal_headers_and_they_do_not_elevate() {
    let setup = setup().await;
    let ws1 = format!("{WS}/ws1");
    let spoof = [
        ("X-NMP-Principal-Id", "admin@example.com"),
        ("X-NMP-Principal-Email", "admin@example.com"),
        ("X-NMP-Principal-Groups", "nemo-admins"),
        ("X-NMP-Authorized", "true"),
        ("X-NMP-Gateway-Secret", "guessed-secret-0123456789"),
    ];
    // With bob's token: bob, not the admin.
    assert_eq!(setup.call(&setup.bob, Method::DELETE, &ws1, None, &spoof).await.0, StatusCode::FORBIDDEN);
    let (status, ws) =
        setup.call(&setup.bob, Method::POST, WS, Some(json!({"name": "spoofed-ws"})), &spoof).await;
    assert_eq!((status, &ws["created_by"]), (StatusCode::CREATED, &json!("bob@example.com")), "{ws}");
    // Without a token: nobody.
    assert_eq!(setup.call("", Method::DELETE, &ws1, None, &spoof).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(setup.call("", Method::GET, WS, None, &spoof[..1]).await.0, StatusCode::UNAUTHORIZED);
    // Bypassing nginx, the same headers are refused: only the gateway's secret makes them count.
    let (status, body) = setup.server.call(Method::GET, &ws1, None, &spoof[..1]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        setup.server.as_token(&setup.admin, Method::GET, &ws1, None).await.0,
        StatusCode::OK,
        "ws1 intact"
    );
}

#[tokio::test]
async fn nginx_oidc_tokens_get_through_with_groups_scopes_and_attribution() {
    let idp = start_idp().await;
    let yaml = format!(
        "{}  gateway:\n    shared_secret_header: X-NMP-Gateway-Secret\n    shared_secret: {SECRET}\n",
        oidc_yaml(&idp, 300, "")
    );
    let server = TestServer::start(&yaml).await;
    wait_ready(&server).await;
    let nginx = Nginx::start(&server);
    let read_write = "openid email platform:read platform:write";
    let admin = login(&idp, "admin@example.com", read_write).await;
    let bob = login(&idp, "bob@example.com", read_write).await;
    let setup = Setup { server, nginx, http: reqwest::Client::new(), admin, bob };
    let carol = login(&idp, "carol@example.com", read_write).await;
    let carol_read_only = login(&idp, "carol@example.com", "openid platform:read").await;

    // The admin is PlatformAdmin by email: the email header made it through nginx.
    let (status, ws) = setup.call(&setup.admin, Method::POST, WS, Some(json!({"name": "team"})), &[]).await;
    assert_eq!((status, &ws["created_by"]), (StatusCode::CREATED, &json!("u-admin")), "{ws}");
    let editors = json!({"principal": "data-team", "roles": ["Editor"]});
    let (status, body) =
        setup.call(&setup.admin, Method::POST, &format!("{WS}/team/members"), Some(editors), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // carol is an Editor through her group: the groups header made it through nginx.
    let projects = format!("{WS}/team/projects");
    let (status, project) =
        setup.call(&carol, Method::POST, &projects, Some(json!({"name": "carols"})), &[]).await;
    assert_eq!((status, &project["created_by"]), (StatusCode::CREATED, &json!("u-carol")), "{project}");
    // Her read-only token is narrowed by its scopes, decided at the callout and again upstream.
    let (status, _) =
        setup.call(&carol_read_only, Method::POST, &projects, Some(json!({"name": "other"})), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // bob has no role in `team`; a spoofed group does not give him one.
    let spoof = [("X-NMP-Principal-Groups", "data-team")];
    let (status, _) =
        setup.call(&setup.bob, Method::POST, &projects, Some(json!({"name": "bobs"})), &spoof).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // An ID token is not an access token, through the gateway either.
    let id_token = idp.device_login("bob@example.com", read_write).await.unwrap().id_token.unwrap();
    assert_eq!(setup.call(&id_token, Method::GET, WS, None, &[]).await.0, StatusCode::UNAUTHORIZED);
}
