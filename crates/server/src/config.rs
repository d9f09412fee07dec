//! Platform configuration: the YAML file schema (reference `auth:` keys plus our `server:` and
//! `store:` sections), `NMP_AUTH_*` / `NMP_SERVER_*` / `NMP_STORE_*` environment overrides with
//! `__` for nesting, and validation into the runtime [`Settings`].
//!
//! Rule: unknown keys are errors naming the key; reference keys we do not implement are errors
//! saying so; reference keys that have no effect in our design are accepted and documented.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Yaml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use crate::config_access_keys::{AccessKeySettings, AccessKeysConfig, TokenSigningConfig};
pub use crate::config_store::{Database, StoreBackend, StoreConfig};
pub use crate::gateway_trust::TrustedGateway;

/// The whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    pub auth: AuthConfig,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub studio: crate::studio::StudioConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Master switch: with `false` every request is allowed.
    pub enabled: bool,
    /// Identity bound to `PlatformAdmin` in `system` at start.
    pub admin_email: Option<String>,
    /// Workspace that gets the `*` → Editor seed binding.
    pub default_workspace: String,
    /// Seed `*` → Editor in the default workspace (the reference does; `false` skips it).
    pub seed_default_workspace_editor: bool,
    /// Accept unsigned (`alg: none`) JWTs. Local development only.
    pub allow_unsigned_jwt: bool,
    /// `embedded` (in-process) or `opa` (external OPA over its REST API).
    pub policy_decision_point_provider: PdpProvider,
    /// OPA's base URL when the provider is `opa`.
    pub policy_decision_point_base_url: String,
    /// Timeout of one call to an external PDP, in seconds.
    pub policy_decision_point_request_timeout_seconds: u64,
    /// Poll interval of `wait_role_propagation`; ours propagates immediately, so it rarely matters.
    pub propagation_poll_interval_seconds: f64,
    /// How often to check for bindings written by another replica, in seconds.
    pub policy_data_refresh_interval: f64,
    /// `Cache-Control: max-age` of the OPA bundle, and how long the server reuses a built bundle.
    pub bundle_cache_seconds: f64,
    /// Most verified tokens kept in memory (oldest evicted first); 0 disables the cache.
    pub token_cache_max_entries: usize,
    /// Reference WASM settings: accepted for compatibility, no effect (our PDP is native).
    pub embedded_pdp_auto_build_wasm: bool,
    pub embedded_pdp_cpu_limit: u64,
    pub embedded_pdp_memory_limit_mb: u64,
    pub oidc: OidcConfig,
    pub gateway: GatewayConfig,
    pub decision_log: DecisionLogConfig,
    /// Operator additions to the shipped policy: extra endpoints and custom roles.
    pub policy: nmp_core::policy::PolicyExtensions,
    /// Scoped Access Keys (config_access_keys.rs).
    pub access_keys: AccessKeysConfig,
    /// The platform's own signing keys, which sign access keys.
    pub token_signing: TokenSigningConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            enabled: false,
            admin_email: None,
            default_workspace: nmp_core::DEFAULT_WORKSPACE.to_string(),
            seed_default_workspace_editor: true,
            allow_unsigned_jwt: false,
            policy_decision_point_provider: PdpProvider::Embedded,
            policy_decision_point_base_url: "http://localhost:8080".to_string(),
            policy_decision_point_request_timeout_seconds: 5,
            propagation_poll_interval_seconds: 1.0,
            policy_data_refresh_interval: 1.0,
            bundle_cache_seconds: 5.0,
            token_cache_max_entries: 10_000,
            embedded_pdp_auto_build_wasm: true,
            embedded_pdp_cpu_limit: 200,
            embedded_pdp_memory_limit_mb: 32,
            oidc: OidcConfig::default(),
            gateway: GatewayConfig::default(),
            decision_log: DecisionLogConfig::default(),
            policy: nmp_core::policy::PolicyExtensions::default(),
            access_keys: AccessKeysConfig::default(),
            token_signing: TokenSigningConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PdpProvider {
    Embedded,
    Opa,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcConfig {
    /// Validate IdP-signed JWTs.
    pub enabled: bool,
    /// Issuer URL: discovery at `{issuer}/.well-known/openid-configuration` and exact `iss` match.
    pub issuer: String,
    /// Other accepted `iss` values.
    pub additional_issuers: Vec<String>,
    /// OAuth client id of the CLI and Studio; the expected audience when `audience` is unset.
    pub client_id: String,
    /// Expected `aud` (ADR 0004: always checked).
    pub audience: Option<String>,
    pub email_claim: String,
    pub subject_claim: String,
    pub groups_claim: String,
    /// Scopes clients request by default.
    pub default_scopes: String,
    /// Prefix stripped from token scopes (and added by clients), e.g. `api://nmp/`.
    pub scope_prefix: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// Seconds the IdP discovery document is cached.
    pub discovery_cache_ttl: u64,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u64,
    /// Background JWKS refresh period, in seconds.
    pub jwks_refresh_interval_seconds: u64,
    /// Minimum seconds between two JWKS fetches caused by unknown `kid`s.
    pub jwks_unknown_kid_cooldown_seconds: u64,
    /// Timeout of one request to the IdP, in seconds.
    pub http_timeout_seconds: u64,
    /// Workload identity token exchange (newer reference releases): not implemented yet, so
    /// `true` is refused (ADR 0002).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_token_exchange_enabled: Option<bool>,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            enabled: false,
            issuer: String::new(),
            additional_issuers: Vec::new(),
            client_id: String::new(),
            audience: None,
            email_claim: "email".into(),
            subject_claim: "sub".into(),
            groups_claim: "groups".into(),
            default_scopes: "openid profile email offline_access".into(),
            scope_prefix: None,
            authorization_endpoint: None,
            token_endpoint: None,
            device_authorization_endpoint: None,
            userinfo_endpoint: None,
            jwks_uri: None,
            discovery_cache_ttl: 300,
            leeway_seconds: 60,
            jwks_refresh_interval_seconds: 300,
            jwks_unknown_kid_cooldown_seconds: 30,
            http_timeout_seconds: 5,
            workload_token_exchange_enabled: None,
        }
    }
}

/// Where `X-NMP-Principal-*` headers may come from (ADR 0008).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Header a trusted gateway sends with `shared_secret`.
    pub shared_secret_header: Option<String>,
    /// The secret itself (prefer `shared_secret_file`).
    pub shared_secret: Option<String>,
    /// File holding the secret.
    pub shared_secret_file: Option<PathBuf>,
    /// Source addresses (CIDR) of trusted gateways.
    pub trusted_cidrs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionLogConfig {
    /// Emit a structured event for every denial.
    pub denials: bool,
    /// Also emit one for every allowed request.
    pub allowed: bool,
}

impl Default for DecisionLogConfig {
    fn default() -> Self {
        DecisionLogConfig { denials: true, allowed: false }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Deadline of one request, in seconds.
    pub request_timeout_seconds: u64,
    /// Log format: `text` or `json`.
    pub log_format: LogFormat,
    /// Seconds a client has to send a complete request head, counted from when the connection
    /// starts waiting for one (at connect and after each response): also closes idle connections.
    pub header_read_timeout_seconds: u64,
    /// TLS served directly; off while `cert_file` is unset.
    pub tls: TlsConfig,
    /// `host:port` serving `/metrics` alone; unset: `/metrics` is on the main port.
    pub metrics_address: Option<String>,
    /// After SIGTERM, how long requests in flight may take to finish, in seconds.
    pub shutdown_grace_seconds: u64,
    /// Audit events older than this many days are deleted (hourly); 0 keeps them forever.
    /// At most [`MAX_AUDIT_RETENTION_DAYS`].
    pub audit_retention_days: u64,
}

/// Longest audit retention accepted, in days (100 years): any longer cut-off date would be
/// before the first event ever written, and far enough out it no longer fits a date at all.
pub const MAX_AUDIT_RETENTION_DAYS: u64 = 36_500;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 1024 * 1024,
            request_timeout_seconds: 30,
            log_format: LogFormat::Text,
            header_read_timeout_seconds: 10,
            tls: TlsConfig::default(),
            metrics_address: None,
            shutdown_grace_seconds: 30,
            audit_retention_days: 365,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain, server certificate first.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// PEM CA certificates: when set, clients must present a certificate they signed (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration that cannot be used. The message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: {0}")]
    Parse(String),
    #[error("config key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
    #[error("config file `{0}` does not exist")]
    Missing(PathBuf),
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key, message: message.into() }
}

impl FileConfig {
    /// Defaults, then the file (if any), then `NMP_AUTH_*`, `NMP_SERVER_*` and `NMP_STORE_*`
    /// environment variables (`__` separates nested keys: `NMP_AUTH_OIDC__ISSUER`).
    pub fn load(file: Option<&Path>) -> Result<FileConfig, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(FileConfig::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            figment = figment.merge(Yaml::file_exact(path));
        }
        for (prefix, section) in [
            ("NMP_AUTH_", "auth"),
            ("NMP_SERVER_", "server"),
            ("NMP_STORE_", "store"),
            ("NMP_STUDIO_", "studio"),
        ] {
            figment = figment.merge(
                Env::prefixed(prefix)
                    .split("__")
                    .map(move |key| format!("{section}.{}", key.as_str()).into()),
            );
        }
        let mut config: FileConfig =
            figment.extract().map_err(|e| ConfigError::Parse(render_figment_error(e)))?;
        // The reference's `DATABASE_*` variables, for drop-in deployments (config_store.rs).
        crate::config_store::apply_database_env(&mut config.store, |name| std::env::var(name).ok())?;
        Ok(config)
    }
}

fn render_figment_error(error: figment::Error) -> String {
    error.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")
}

/// Validated settings the server runs with: the file as loaded, plus everything code below this
/// module needs, parsed once into typed values.
#[derive(Debug, Clone)]
pub struct Settings {
    pub file: FileConfig,
    pub data_dir: PathBuf,
    /// The store to open: the SQLite file, or how to reach PostgreSQL.
    pub database: Database,
    pub trusted_gateway: TrustedGateway,
    /// The authenticator's settings, checked by `nmp-authn`'s own rules (audience, leeway, URLs);
    /// `None` when no bearer token is accepted (auth off, or neither OIDC nor unsigned tokens).
    pub authn: Option<nmp_authn::AuthnSettings>,
    pub timings: Timings,
    /// TLS files, when TLS is served directly.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Where `/metrics` is served alone, if not on the main port.
    pub metrics_address: Option<std::net::SocketAddr>,
    /// The web console (`studio:`), validated.
    pub studio: crate::studio::StudioSettings,
    /// Scoped Access Keys with their signing keys loaded; `None` when the feature is off.
    pub access_keys: Option<AccessKeySettings>,
}

/// Every duration of the configuration, parsed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// `server.request_timeout_seconds`.
    pub request_timeout: Duration,
    /// `auth.policy_decision_point_request_timeout_seconds`.
    pub pdp_request_timeout: Duration,
    /// `auth.propagation_poll_interval_seconds`.
    pub propagation_poll_interval: Duration,
    /// `auth.policy_data_refresh_interval`.
    pub policy_data_refresh_interval: Duration,
    /// `auth.bundle_cache_seconds`.
    pub bundle_cache: Duration,
    /// `store.max_staleness_seconds`.
    pub max_staleness: Duration,
    /// `store.propagation_timeout_seconds`.
    pub propagation_timeout: Duration,
    /// `server.header_read_timeout_seconds`.
    pub header_read_timeout: Duration,
    /// `server.shutdown_grace_seconds`.
    pub shutdown_grace: Duration,
}

/// What validation may know of the process environment, passed in rather than read.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// `XDG_DATA_HOME`.
    pub xdg_data_home: Option<PathBuf>,
    /// `NMP_BASE_URL`: the platform's public URL (the default access-key issuer is derived from it).
    pub base_url: Option<String>,
}

impl Environment {
    /// The current process's environment (empty values count as unset).
    pub fn from_process() -> Environment {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Environment {
            home: var("HOME"),
            xdg_data_home: var("XDG_DATA_HOME"),
            base_url: std::env::var("NMP_BASE_URL").ok().filter(|v| !v.is_empty()),
        }
    }
}

/// A positive number of seconds as a `Duration`, or the error naming `key`.
fn positive_seconds(key: &'static str, seconds: f64) -> Result<Duration, ConfigError> {
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(invalid(key, "must be greater than 0")),
    }
}

impl Settings {
    /// Check the loaded file and resolve defaults that depend on the environment.
    pub fn validate(
        file: FileConfig,
        data_dir_override: Option<PathBuf>,
        environment: &Environment,
    ) -> Result<Settings, ConfigError> {
        let auth = &file.auth;
        let access_keys = crate::config_access_keys::validate(
            &auth.access_keys,
            &auth.token_signing,
            environment.base_url.as_deref(),
        )?;
        if auth.oidc.workload_token_exchange_enabled == Some(true) {
            return Err(invalid(
                "auth.oidc.workload_token_exchange_enabled",
                "workload identity token exchange is not implemented yet",
            ));
        }
        if !nmp_core::names::is_valid_name(&auth.default_workspace) {
            return Err(invalid(
                "auth.default_workspace",
                format!("`{}` is not a valid workspace name", auth.default_workspace),
            ));
        }
        if let Some(email) = &auth.admin_email {
            if email.trim().is_empty() {
                return Err(invalid("auth.admin_email", "must not be empty when set"));
            }
            nmp_core::principal::validate_id("auth.admin_email", email)
                .map_err(|e| invalid("auth.admin_email", e.0))?;
        }
        if auth.policy_decision_point_request_timeout_seconds == 0 {
            return Err(invalid("auth.policy_decision_point_request_timeout_seconds", "must be at least 1"));
        }
        let propagation_poll_interval = positive_seconds(
            "auth.propagation_poll_interval_seconds",
            auth.propagation_poll_interval_seconds,
        )?;
        let policy_data_refresh_interval =
            positive_seconds("auth.policy_data_refresh_interval", auth.policy_data_refresh_interval)?;
        let bundle_cache = Duration::try_from_secs_f64(auth.bundle_cache_seconds)
            .map_err(|_| invalid("auth.bundle_cache_seconds", "must not be negative"))?;
        if auth.policy_decision_point_provider == PdpProvider::Opa {
            url_ok(&auth.policy_decision_point_base_url)
                .map_err(|m| invalid("auth.policy_decision_point_base_url", m))?;
        }
        let oidc = &auth.oidc;
        if oidc.enabled {
            if oidc.issuer.trim().is_empty() {
                return Err(invalid("auth.oidc.issuer", "required when auth.oidc.enabled is true"));
            }
            url_ok(&oidc.issuer).map_err(|m| invalid("auth.oidc.issuer", m))?;
            if let Some(uri) = &oidc.jwks_uri {
                url_ok(uri).map_err(|m| invalid("auth.oidc.jwks_uri", m))?;
            }
        }
        let authn = authn_settings(auth)?;
        let trusted_gateway = TrustedGateway::from_config(&auth.gateway)?;
        if file.server.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024"));
        }
        if file.server.request_timeout_seconds == 0 {
            return Err(invalid("server.request_timeout_seconds", "must be at least 1"));
        }
        if file.server.header_read_timeout_seconds == 0 {
            return Err(invalid("server.header_read_timeout_seconds", "must be at least 1"));
        }
        if file.server.shutdown_grace_seconds == 0 {
            return Err(invalid("server.shutdown_grace_seconds", "must be at least 1"));
        }
        if file.server.audit_retention_days > MAX_AUDIT_RETENTION_DAYS {
            return Err(invalid(
                "server.audit_retention_days",
                format!(
                    "must be at most {MAX_AUDIT_RETENTION_DAYS} (100 years); 0 keeps audit events forever"
                ),
            ));
        }
        let tls = tls_files(&file.server.tls)?;
        let metrics_address = match &file.server.metrics_address {
            None => None,
            Some(text) => Some(text.parse::<std::net::SocketAddr>().map_err(|_| {
                invalid("server.metrics_address", format!("`{text}` is not an address like 0.0.0.0:9090"))
            })?),
        };
        let data_dir = data_dir_override
            .or_else(|| file.store.data_dir.clone())
            .or_else(|| environment.xdg_data_home.as_ref().map(|d| d.join("nmp")))
            .or_else(|| environment.home.as_ref().map(|h| h.join(".local/share/nmp")))
            .ok_or_else(|| {
                invalid("store.data_dir", "no data directory: set store.data_dir, --data-dir or HOME")
            })?;
        let timings = Timings {
            request_timeout: Duration::from_secs(file.server.request_timeout_seconds),
            pdp_request_timeout: Duration::from_secs(auth.policy_decision_point_request_timeout_seconds),
            propagation_poll_interval,
            policy_data_refresh_interval,
            bundle_cache,
            max_staleness: Duration::from_secs(file.store.max_staleness_seconds),
            propagation_timeout: Duration::from_secs(file.store.propagation_timeout_seconds),
            header_read_timeout: Duration::from_secs(file.server.header_read_timeout_seconds),
            shutdown_grace: Duration::from_secs(file.server.shutdown_grace_seconds),
        };
        let database = file.store.database(&data_dir)?;
        let studio = crate::studio::StudioSettings::from_config(&file)?;
        Ok(Settings {
            file,
            data_dir,
            database,
            trusted_gateway,
            authn,
            timings,
            tls,
            metrics_address,
            studio,
            access_keys,
        })
    }
}

fn tls_files(config: &TlsConfig) -> Result<Option<crate::tls::TlsFiles>, ConfigError> {
    match (&config.cert_file, &config.key_file) {
        (Some(cert_file), Some(key_file)) => Ok(Some(crate::tls::TlsFiles {
            cert_file: cert_file.clone(),
            key_file: key_file.clone(),
            client_ca_file: config.client_ca_file.clone(),
        })),
        (Some(_), None) => Err(invalid("server.tls.key_file", "required when server.tls.cert_file is set")),
        (None, Some(_)) => Err(invalid("server.tls.cert_file", "required when server.tls.key_file is set")),
        (None, None) if config.client_ca_file.is_some() => {
            Err(invalid("server.tls.client_ca_file", "needs server.tls.cert_file and key_file"))
        }
        (None, None) => Ok(None),
    }
}

fn url_ok(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        Ok(_) => Err(format!("`{url}` must be an http or https URL")),
        Err(e) => Err(format!("`{url}` is not a URL: {e}")),
    }
}

/// The authenticator's settings for this configuration, checked by the authenticator's own rules
/// (the audience rule, the leeway bound, durations), so the server never re-implements them.
fn authn_settings(auth: &AuthConfig) -> Result<Option<nmp_authn::AuthnSettings>, ConfigError> {
    let oidc = &auth.oidc;
    if !(auth.enabled && (oidc.enabled || auth.allow_unsigned_jwt)) {
        return Ok(None);
    }
    let oidc_settings = if oidc.enabled {
        let audience = nmp_authn::effective_audience(oidc.audience.as_deref(), Some(&oidc.client_id))
            .map_err(|_| {
                invalid(
                    "auth.oidc.audience",
                    "set auth.oidc.audience or auth.oidc.client_id: tokens are always checked for an audience",
                )
            })?;
        Some(nmp_authn::OidcSettings {
            issuer: oidc.issuer.clone(),
            additional_issuers: oidc.additional_issuers.clone(),
            audience,
            jwks_uri: oidc.jwks_uri.clone(),
            subject_claim: oidc.subject_claim.clone(),
            email_claim: oidc.email_claim.clone(),
            groups_claim: oidc.groups_claim.clone(),
            scope_prefix: oidc.scope_prefix.clone(),
        })
    } else {
        None
    };
    let settings = nmp_authn::AuthnSettings {
        oidc: oidc_settings,
        allow_unsigned_jwt: auth.allow_unsigned_jwt,
        leeway_seconds: oidc.leeway_seconds,
        jwks_refresh_interval: Duration::from_secs(oidc.jwks_refresh_interval_seconds),
        unknown_kid_cooldown: Duration::from_secs(oidc.jwks_unknown_kid_cooldown_seconds),
        http_timeout: Duration::from_secs(oidc.http_timeout_seconds),
        token_cache_capacity: auth.token_cache_max_entries,
        ..nmp_authn::AuthnSettings::default()
    };
    settings.check().map_err(|error| invalid(authn_key(&error), error.to_string()))?;
    Ok(Some(settings))
}

/// The config key an authenticator settings error is about.
fn authn_key(error: &nmp_authn::SettingsError) -> &'static str {
    use nmp_authn::SettingsError as E;
    match error {
        E::MissingIssuer => "auth.oidc.issuer",
        E::MissingAudience => "auth.oidc.audience",
        E::LeewayTooLarge(_) => "auth.oidc.leeway_seconds",
        E::Zero { field: "http_timeout" } => "auth.oidc.http_timeout_seconds",
        E::Zero { field: "jwks_refresh_interval" } => "auth.oidc.jwks_refresh_interval_seconds",
        E::InvalidUrl { field, .. }
        | E::InsecureUrl { field, .. }
        | E::Empty { field }
        | E::Zero { field } => field,
    }
}
