//! The security checklist as code: [`check`] reads validated [`Settings`] and returns what
//! `docs/security-checklist.md` would flag, each [`Finding`] with an id, a severity, what is
//! wrong and how to fix it. Pure: no I/O, no clock. `nemo services check` prints the findings
//! and the server logs them at start.
//!
//! Adding a check: one function below returning `Option<Finding>` (or a `Vec`), listed in
//! [`CHECKS`], a test in `check_tests.rs` with a config that has the problem and one that does
//! not, and a line in the checklist page.

use std::net::IpAddr;

use serde::Serialize;

use crate::config::{PdpProvider, Settings};

/// How much a finding matters. Ordered: `Info < Warning < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a weakness by itself.
    Info,
    /// A weakness in production, acceptable on a laptop.
    Warning,
    /// Exposes data or grants access it should not in production.
    High,
    /// Anyone can act as anyone.
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One item of the checklist that this configuration does not meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable, kebab-case; the anchor of the item in `docs/security-checklist.md`.
    pub id: &'static str,
    pub severity: Severity,
    /// What is wrong, naming the config key.
    pub message: String,
    /// What to change.
    pub fix: String,
}

fn finding(
    id: &'static str,
    severity: Severity,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding { id, severity, message: message.into(), fix: fix.into() }
}

/// What the config file cannot say about the deployment, told by the operator
/// (`nemo services check --replicas N`). Unknown by default (the server's own start-up check).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deployment {
    /// How many server processes will serve this config.
    pub replicas: Option<u32>,
}

type Check = fn(&Settings, &Deployment) -> Vec<Finding>;

/// Every check, in the order of the checklist page.
const CHECKS: [Check; 10] = [
    auth_off,
    unsigned_tokens,
    studio_tokens_in_browser,
    no_tls_no_gateway,
    gateway_secret,
    pdp_over_plain_http,
    default_workspace_open,
    store_replicas,
    access_keys_lifetime,
    decision_log_off,
];

/// Every finding for `settings`, most severe first (ties in checklist order).
pub fn check(settings: &Settings) -> Vec<Finding> {
    check_deployment(settings, &Deployment::default())
}

/// [`check`], knowing more about the deployment than the config file says.
pub fn check_deployment(settings: &Settings, deployment: &Deployment) -> Vec<Finding> {
    let mut findings: Vec<Finding> = CHECKS.iter().flat_map(|check| check(settings, deployment)).collect();
    findings.sort_by_key(|finding| std::cmp::Reverse(finding.severity));
    findings
}

/// True when no finding is at or above `threshold`.
pub fn passes(findings: &[Finding], threshold: Severity) -> bool {
    findings.iter().all(|finding| finding.severity < threshold)
}

fn auth_off(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    if settings.file.auth.enabled {
        return Vec::new();
    }
    vec![finding(
        "auth-off",
        Severity::Critical,
        "`auth.enabled` is false: every request is allowed, whoever sends it",
        "set `auth.enabled: true` and configure `auth.oidc` (docs/oidc-setup.md)",
    )]
}

/// The official Studio bundle in `reference` mode keeps the IdP's tokens in the browser.
fn studio_tokens_in_browser(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    let reference = settings
        .studio
        .bundle
        .as_ref()
        .is_some_and(|bundle| bundle.mode == crate::studio::bundle::BundleMode::Reference);
    if !settings.file.auth.enabled || !settings.studio.enabled || !reference {
        return Vec::new();
    }
    vec![finding(
        "studio-tokens-in-browser",
        Severity::Warning,
        "`studio.bundle_mode` is `reference`: the official Studio keeps access, ID and refresh tokens in the \
         browser's localStorage, readable by any script on the page",
        "use `studio.bundle_mode: bff` (the bundle gated by the server's session; tokens stay on the server), \
         or our own console (no `studio.bundle_dir`)",
    )]
}

fn unsigned_tokens(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    if !settings.file.auth.allow_unsigned_jwt {
        return Vec::new();
    }
    vec![finding(
        "unsigned-tokens",
        Severity::Critical,
        "`auth.allow_unsigned_jwt` is true: anyone can mint a token for any identity, PlatformAdmin included",
        "remove `auth.allow_unsigned_jwt` (quickstart only) and sign in through `auth.oidc`",
    )]
}

/// TLS is terminated by a gateway in front of us (the server itself speaks plain HTTP). Without
/// a trusted gateway nothing says one is there.
fn no_tls_no_gateway(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    if server_terminates_tls(settings) || settings.trusted_gateway.is_configured() {
        return Vec::new();
    }
    vec![finding(
        "no-tls-no-gateway",
        Severity::High,
        "the server speaks plain HTTP and no trusted gateway is configured (`auth.gateway`): \
         bearer tokens cross the network in clear unless something unknown to this config terminates TLS",
        "put a TLS-terminating gateway in front and declare it with `auth.gateway.trusted_cidrs` and \
         `auth.gateway.shared_secret_file` (docs/gateway.md)",
    )]
}

/// Whether the server terminates TLS itself. The server has no TLS settings yet; when it gets
/// them, this is the one place that reads them.
fn server_terminates_tls(_settings: &Settings) -> bool {
    false
}

/// Below this length a shared secret is weak against guessing over many requests.
pub const RECOMMENDED_SECRET_CHARS: usize = 32;

fn gateway_secret(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    let gateway = &settings.file.auth.gateway;
    let mut findings = Vec::new();
    if gateway.shared_secret.is_some() {
        findings.push(finding(
            "gateway-secret-inline",
            Severity::Warning,
            "`auth.gateway.shared_secret` is written in the config file, where backups, diffs and \
             `ps` of a templating step can leak it",
            "move it to a file readable only by the server and name it with `auth.gateway.shared_secret_file`",
        ));
    }
    if let Some((_, secret)) = &settings.trusted_gateway.secret {
        if secret.chars().count() < RECOMMENDED_SECRET_CHARS {
            findings.push(finding(
                "gateway-secret-short",
                Severity::Warning,
                format!("the gateway shared secret has fewer than {RECOMMENDED_SECRET_CHARS} characters"),
                "use a random secret of 32 or more characters, e.g. `openssl rand -hex 32`",
            ));
        }
    }
    findings
}

fn pdp_over_plain_http(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    let auth = &settings.file.auth;
    if auth.policy_decision_point_provider != PdpProvider::Opa {
        return Vec::new();
    }
    let Ok(url) = reqwest::Url::parse(&auth.policy_decision_point_base_url) else {
        return Vec::new();
    };
    let host = url.host_str().unwrap_or_default();
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if url.scheme() != "http" || loopback {
        return Vec::new();
    }
    vec![finding(
        "pdp-plain-http",
        Severity::High,
        format!(
            "the external policy decision point `{}` is reached over plain http: whoever sits on \
             the path can answer `allowed: true`",
            auth.policy_decision_point_base_url
        ),
        "use an https URL for `auth.policy_decision_point_base_url`, or run OPA as a sidecar on loopback",
    )]
}

fn default_workspace_open(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    let auth = &settings.file.auth;
    if !auth.seed_default_workspace_editor {
        return Vec::new();
    }
    vec![finding(
        "default-workspace-open",
        Severity::Warning,
        format!(
            "the seed binding `*` → Editor in `{}` is configured: every signed-in user can write there",
            auth.default_workspace
        ),
        format!(
            "set `auth.seed_default_workspace_editor: false`, and if it was seeded before, revoke it once: \
             `nemo workspaces members delete '*' --workspace {}`",
            auth.default_workspace
        ),
    )]
}

/// The store: the embedded SQLite file must stay on one host (several replicas on it is high
/// when the operator says so; the config alone cannot say how many run, so then it is
/// information); a PostgreSQL store must be reached over verified TLS
/// unless the connection never leaves the machine.
fn store_replicas(settings: &Settings, deployment: &Deployment) -> Vec<Finding> {
    use nmp_store::postgres::TlsMode;
    let options = match &settings.database {
        crate::config::Database::Sqlite { .. } if deployment.replicas.is_some_and(|n| n > 1) => {
            return vec![finding(
                "store-sqlite-several-replicas",
                Severity::High,
                format!(
                    "{} replicas on the embedded SQLite store: each needs the one database file on \
                     a local disk of its host, so replicas on several hosts (or a network file \
                     system) lose or corrupt writes",
                    deployment.replicas.unwrap_or_default()
                ),
                "run one replica on SQLite, or use PostgreSQL (`store.backend: postgres`, \
                 docs/deployment.md) for several",
            )]
        }
        crate::config::Database::Sqlite { .. } => {
            return vec![finding(
                "store-sqlite-single-host",
                Severity::Info,
                "the store is embedded SQLite: replicas are possible only on one host, with the \
                 database on a local disk (never a network file system)",
                "run one host (replicas on it share `store.data_dir`), or use PostgreSQL \
                 (`store.backend: postgres`, docs/deployment.md) for replicas on several hosts",
            )]
        }
        crate::config::Database::Postgres(options) => options,
    };
    if options.is_local() {
        return Vec::new();
    }
    let (severity, message) = match options.tls {
        TlsMode::VerifyFull => return Vec::new(),
        TlsMode::Require => (
            Severity::Warning,
            "the connection to PostgreSQL is encrypted but the server's certificate is not checked \
             (`sslmode=require`): whoever sits on the path can impersonate the database",
        ),
        TlsMode::Disable | TlsMode::Prefer => (
            Severity::High,
            "the connection to PostgreSQL may travel unencrypted (`sslmode` is `disable` or \
             `prefer`): the database password and every binding cross the network in clear",
        ),
    };
    vec![finding(
        "store-postgres-tls",
        severity,
        message,
        "add `sslmode=verify-full` to the database URL (and `sslrootcert=<file>` for a private CA)",
    )]
}

/// Access keys that may never expire (or live longer than 90 days) stay valid long after the
/// job that used them is gone, unless someone remembers to revoke them.
fn access_keys_lifetime(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    const NINETY_DAYS: u64 = 90 * 24 * 3600;
    let Some(access_keys) = &settings.access_keys else { return Vec::new() };
    match access_keys.max_expires_in {
        Some(max) if max <= NINETY_DAYS => Vec::new(),
        _ => vec![finding(
            "access-keys-lifetime",
            Severity::Warning,
            "`auth.access_keys.max_expires_in_seconds` is null or above 90 days: access keys may outlive their use",
            "set `auth.access_keys.max_expires_in_seconds` to 2592000 (30 days, the default) or less, and rotate keys",
        )],
    }
}

fn decision_log_off(settings: &Settings, _deployment: &Deployment) -> Vec<Finding> {
    if settings.file.auth.decision_log.denials {
        return Vec::new();
    }
    vec![finding(
        "decision-log-off",
        Severity::Warning,
        "`auth.decision_log.denials` is false: denied requests leave no trace to investigate",
        "set `auth.decision_log.denials: true` (the default) and ship the `nmp::decision` log target",
    )]
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
