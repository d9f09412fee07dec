//! OPS-01: TLS served directly, with certificates made in the test. curl, the Rust SDK and
//! openssl talk to the real server over https; TLS 1.1 and plain HTTP are refused; a certificate
//! replaced on disk is served to the next connection; mutual TLS refuses missing and foreign
//! client certificates. (The official CLI is in tests/compat, our CLI in crates/cli.)

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use nmp_testkit::pki::{CertFiles, TestPki};

use super::support::{settings_from_yaml, TestServer};

fn tls_yaml(server: &CertFiles, client_ca: Option<&Path>) -> String {
    let mut yaml = format!(
        "server:\n  tls:\n    cert_file: {}\n    key_file: {}\n",
        server.cert.display(),
        server.key.display()
    );
    if let Some(ca) = client_ca {
        yaml.push_str(&format!("    client_ca_file: {}\n", ca.display()));
    }
    yaml
}

fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("the tool runs (curl and openssl are needed)")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// curl against `url`, trusting the test CA; returns (exit code, body).
fn curl(ca: &Path, url: &str, extra: &[&str]) -> (i32, String) {
    let output =
        run(Command::new("curl").args(["-sS", "--max-time", "10", "--cacert"]).arg(ca).args(extra).arg(url));
    (output.status.code().unwrap_or(-1), text(&output.stdout) + &text(&output.stderr))
}

/// The subject line of the certificate the server presents on a new connection.
fn served_subject(ca: &Path, addr: &str) -> String {
    let output = run(Command::new("openssl")
        .args(["s_client", "-connect", addr, "-servername", "localhost", "-CAfile"])
        .arg(ca)
        .args(["-verify_return_error", "-brief"]));
    let all = text(&output.stdout) + &text(&output.stderr);
    all.lines()
        .find(|line| line.contains("Peer certificate:") || line.starts_with("subject="))
        .unwrap_or_else(|| panic!("no peer certificate in openssl output: {all}"))
        .to_string()
}

async fn start(yaml: &str) -> TestServer {
    let server = TestServer::start(yaml).await;
    assert!(server.base.starts_with("https://"), "{}", server.base);
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_01_https_is_served_to_curl_and_the_rust_sdk_with_tls_1_2_and_1_3() {
    let pki = TestPki::new("nmp test CA").unwrap();
    let cert = pki.server("server", "nmp-test-server").unwrap();
    let server = start(&tls_yaml(&cert, None)).await;
    let ready = format!("{}/health/ready", server.base);

    let (code, body) = curl(&pki.ca_file(), &ready, &[]);
    assert_eq!(code, 0, "{body}");
    assert!(body.contains("\"ready\""), "{body}");
    for (min, max) in [("--tlsv1.2", "1.2"), ("--tlsv1.3", "1.3")] {
        let (code, body) = curl(&pki.ca_file(), &ready, &[min, "--tls-max", max]);
        assert_eq!(code, 0, "TLS {max} must be accepted: {body}");
    }
    let (code, body) = curl(&pki.ca_file(), &ready, &["--http2", "-o", "/dev/null", "-w", "%{http_version}"]);
    assert_eq!((code, body.as_str()), (0, "2"), "HTTP/2 over TLS (ALPN)");
    // An unknown CA is refused by the client: the server really presents the test certificate.
    let output = run(Command::new("curl").args(["-sS", "--max-time", "10"]).arg(&ready));
    assert_eq!(output.status.code(), Some(60), "{}", text(&output.stderr));

    // The Rust SDK with the CA file given to the builder.
    let sdk = nmp_client::Client::builder(server.base.clone()).ca_cert_file(pki.ca_file()).build().unwrap();
    let page = sdk.workspaces().list(&Default::default()).await.expect("workspace list over https");
    assert!(page.data.iter().any(|w| w.name == "default"));
    let untrusting = nmp_client::Client::builder(server.base.clone()).build().unwrap();
    assert!(untrusting.workspaces().list(&Default::default()).await.is_err(), "untrusted CA must fail");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_01_tls_1_1_is_refused_by_the_server() {
    let pki = TestPki::new("nmp test CA").unwrap();
    let cert = pki.server("server", "nmp-test-server").unwrap();
    let server = start(&tls_yaml(&cert, None)).await;
    let addr = server.base.trim_start_matches("https://").to_string();
    // SECLEVEL=0 lets this OpenSSL offer TLS 1.1 at all; the refusal must come from the server.
    let output = run(Command::new("openssl")
        .args(["s_client", "-connect", &addr, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0", "-CAfile"])
        .arg(pki.ca_file()));
    let all = text(&output.stdout) + &text(&output.stderr);
    assert!(!output.status.success(), "TLS 1.1 handshake must fail: {all}");
    assert!(!all.contains("no protocols available"), "the client did not offer TLS 1.1: {all}");
    // The server answered the TLS 1.1 hello with an alert (rustls sends handshake_failure).
    assert!(all.contains("Protocol  : TLSv1.1"), "the client offered TLS 1.1: {all}");
    assert!(all.contains("alert handshake failure") || all.contains("alert protocol version"), "{all}");
    // The same tool with TLS 1.2 gets through, so the refusal is about the version.
    let output = run(Command::new("openssl")
        .args(["s_client", "-connect", &addr, "-tls1_2", "-CAfile"])
        .arg(pki.ca_file())
        .args(["-verify_return_error", "-brief"]));
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_01_plain_http_to_the_tls_port_is_refused() {
    let pki = TestPki::new("nmp test CA").unwrap();
    let cert = pki.server("server", "nmp-test-server").unwrap();
    let server = start(&tls_yaml(&cert, None)).await;
    let addr = server.base.trim_start_matches("https://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        stream.write_all(b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(!answer.starts_with(b"HTTP/"), "plain HTTP got an HTTP answer: {}", text(&answer));
    let plain = reqwest::get(server.base.replace("https://", "http://") + "/health/ready").await;
    assert!(plain.is_err(), "plain HTTP must not get a response: {plain:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_01_a_certificate_replaced_on_disk_is_served_to_the_next_connection() {
    let pki = TestPki::new("nmp test CA").unwrap();
    let cert = pki.server("server", "first-certificate").unwrap();
    let server = start(&tls_yaml(&cert, None)).await;
    let addr = server.base.trim_start_matches("https://").to_string();
    assert!(served_subject(&pki.ca_file(), &addr).contains("first-certificate"));

    // Renewal as cert-manager or a Secret update does it: new files moved into place.
    let renewed = pki.server("renewed", "second-certificate").unwrap();
    std::fs::rename(&renewed.key, &cert.key).unwrap();
    std::fs::rename(&renewed.cert, &cert.cert).unwrap();
    assert!(served_subject(&pki.ca_file(), &addr).contains("second-certificate"));

    // A broken renewal (a key that does not fit) keeps the last good certificate serving.
    let other = pki.server("other", "third-certificate").unwrap();
    std::fs::rename(&other.cert, &cert.cert).unwrap();
    assert!(served_subject(&pki.ca_file(), &addr).contains("second-certificate"));
    let (code, body) = curl(&pki.ca_file(), &format!("{}/health/live", server.base), &[]);
    assert_eq!(code, 0, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_01_mutual_tls_refuses_missing_and_foreign_client_certificates() {
    let pki = TestPki::new("nmp test CA").unwrap();
    let cert = pki.server("server", "nmp-test-server").unwrap();
    let gateway = pki.client("gateway", "gateway").unwrap();
    let foreign_pki = TestPki::new("someone else's CA").unwrap();
    let foreign = foreign_pki.client("foreign", "gateway").unwrap();
    let server = start(&tls_yaml(&cert, Some(&pki.ca_file()))).await;
    let ready = format!("{}/health/ready", server.base);

    let cert_arg = gateway.combined.to_string_lossy().into_owned();
    let (code, body) = curl(&pki.ca_file(), &ready, &["--cert", &cert_arg]);
    assert_eq!(code, 0, "a client certificate from the configured CA must be accepted: {body}");
    assert!(body.contains("\"ready\""), "{body}");

    let (code, body) = curl(&pki.ca_file(), &ready, &[]);
    assert_ne!(code, 0, "no client certificate must be refused: {body}");
    let foreign_arg = foreign.combined.to_string_lossy().into_owned();
    let (code, body) = curl(&pki.ca_file(), &ready, &["--cert", &foreign_arg]);
    assert_ne!(code, 0, "a certificate from another CA must be refused: {body}");
}

#[tokio::test]
async fn tls_configuration_mistakes_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.yaml");
    std::fs::write(&path, "server:\n  tls:\n    cert_file: /nonexistent/tls.crt\n").unwrap();
    let file = nmp_server::config::FileConfig::load(Some(&path)).unwrap();
    let error =
        nmp_server::config::Settings::validate(file, Some(dir.path().join("data")), &Default::default())
            .unwrap_err();
    assert!(error.to_string().contains("server.tls.key_file"), "{error}");

    let settings = settings_from_yaml(
        "server:\n  tls:\n    cert_file: /nonexistent/tls.crt\n    key_file: /nonexistent/tls.key\n",
        dir.path(),
    );
    let error = nmp_server::load_tls(&settings).unwrap_err().to_string();
    assert!(error.contains("server.tls.cert_file") && error.contains("/nonexistent/tls.crt"), "{error}");

    let pki = TestPki::new("nmp test CA").unwrap();
    let cert = pki.server("server", "s").unwrap();
    let settings = settings_from_yaml(
        &format!(
            "server:\n  tls:\n    cert_file: {}\n    key_file: {}\n",
            cert.cert.display(),
            cert.cert.display()
        ),
        dir.path(),
    );
    let error = nmp_server::load_tls(&settings).unwrap_err().to_string();
    assert!(error.contains("server.tls.key_file"), "{error}");
    assert!(!error.contains("PRIVATE KEY"), "no key material in errors: {error}");
}

#[test]
fn ops_01_sighup_reloads_the_tls_files_of_the_running_binary() {
    let pki = TestPki::new("nmp test CA").unwrap();
    let cert = pki.server("server", "first-certificate").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = super::support::write_config(dir.path(), &tls_yaml(&cert, None));
    let server =
        super::support::ProcessServer::spawn_with_log(&config, &dir.path().join("data"), "info").unwrap();
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let addr = server.base.trim_start_matches("https://").to_string();
    assert!(served_subject(&pki.ca_file(), &addr).contains("first-certificate"));

    let renewed = pki.server("renewed", "second-certificate").unwrap();
    std::fs::rename(&renewed.key, &cert.key).unwrap();
    std::fs::rename(&renewed.cert, &cert.cert).unwrap();
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !server.log().contains("SIGHUP: TLS files reloaded") {
        assert!(std::time::Instant::now() < deadline, "no reload logged: {}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(served_subject(&pki.ca_file(), &addr).contains("second-certificate"));
    let mut server = server;
    assert!(server.child.try_wait().unwrap().is_none(), "SIGHUP must not stop the server");
    server.kill9();
}
