//! `nemo services run`: start the platform in the foreground until SIGINT/SIGTERM;
//! `nemo services check`: the security checklist over a config file, for CI before a deploy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::check::{check, check_deployment, passes, Deployment, Finding, Severity};
use crate::config::{Environment, FileConfig, LogFormat, Settings};
use crate::state::SystemClock;

/// Arguments of `nemo services run`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServicesRunArgs {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1", env = "NMP_HOST")]
    pub host: String,
    /// Port to bind (0 picks a free port).
    #[arg(long, default_value_t = 8080, env = "NMP_PORT")]
    pub port: u16,
    /// Platform config file (YAML).
    #[arg(long, env = "NMP_CONFIG_FILE_PATH")]
    pub config: Option<PathBuf>,
    /// Directory for the embedded database (created on first run).
    #[arg(long, env = "NMP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Arguments of `nemo services check`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServicesCheckArgs {
    /// Platform config file (YAML) to check; environment overrides apply as for `run`.
    #[arg(long, env = "NMP_CONFIG_FILE_PATH")]
    pub config: Option<PathBuf>,
    /// The config is meant for production: fail on warnings too (default threshold `warning`
    /// instead of `high`).
    #[arg(long)]
    pub production: bool,
    /// Fail (exit 1) on findings of this severity or above.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// How many server replicas will serve this config (the file cannot say; the Helm chart's
    /// `replicaCount`). Several on the embedded SQLite store is flagged.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub replicas: Option<u32>,
}

/// Exit codes of `nemo services check`.
pub mod check_exit {
    /// No finding at or above the threshold.
    pub const PASSED: i32 = 0;
    /// At least one finding at or above the threshold.
    pub const FINDINGS: i32 = 1;
    /// The config does not load or validate (or the arguments are wrong).
    pub const INVALID: i32 = 2;
}

/// What `nemo services check` prints and how it exits.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
    pub threshold: Severity,
    pub passed: bool,
}

impl CheckReport {
    pub fn exit_code(&self) -> i32 {
        if self.passed {
            check_exit::PASSED
        } else {
            check_exit::FINDINGS
        }
    }

    /// Human-readable lines: one block per finding, then a summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            out.push_str(&format!("{:<8}  {}\n", finding.severity.label(), finding.id));
            out.push_str(&format!("          {}\n", finding.message));
            out.push_str(&format!("          fix: {}\n", finding.fix));
        }
        let at_or_above = self.findings.iter().filter(|f| f.severity >= self.threshold).count();
        out.push_str(&format!(
            "{} finding(s), {at_or_above} at or above `{}`: {}\n",
            self.findings.len(),
            self.threshold.label(),
            if self.passed { "passed" } else { "FAILED" }
        ));
        out
    }
}

/// Check the config named by `args` (no store is opened, nothing is started).
pub fn run_check(args: &ServicesCheckArgs) -> anyhow::Result<CheckReport> {
    let file = FileConfig::load(args.config.as_deref())?;
    // The data directory is not used by the checks; a placeholder keeps HOME out of it.
    let settings = Settings::validate(file, Some(PathBuf::from(".")), &Environment::default())?;
    let threshold = args.fail_on.unwrap_or(if args.production { Severity::Warning } else { Severity::High });
    let findings = check_deployment(&settings, &Deployment { replicas: args.replicas });
    let passed = passes(&findings, threshold);
    Ok(CheckReport { findings, threshold, passed })
}

/// The start-up log of the same findings: warnings and above as `warn`, the rest as `info`.
fn log_findings(settings: &Settings) {
    for finding in check(settings) {
        if finding.severity >= Severity::Warning {
            tracing::warn!(id = finding.id, severity = finding.severity.label(), fix = %finding.fix,
                "security check: {}", finding.message);
        } else {
            tracing::info!(id = finding.id, severity = finding.severity.label(), fix = %finding.fix,
                "security check: {}", finding.message);
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NMP_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Load and validate the configuration named by the arguments and the environment.
pub fn load_settings(args: &ServicesRunArgs) -> anyhow::Result<Settings> {
    let file = FileConfig::load(args.config.as_deref())?;
    Ok(Settings::validate(file, args.data_dir.clone(), &Environment::from_process())?)
}

/// Run the platform until SIGINT/SIGTERM.
pub async fn run(args: ServicesRunArgs) -> anyhow::Result<()> {
    let settings = load_settings(&args)?;
    init_logging(settings.file.server.log_format);
    log_findings(&settings);
    let auth_line = match (
        settings.file.auth.enabled,
        settings.file.auth.oidc.enabled,
        settings.file.auth.allow_unsigned_jwt,
    ) {
        (false, _, _) => "off".to_string(),
        (true, true, _) => format!("on (OIDC issuer {})", settings.file.auth.oidc.issuer),
        (true, false, true) => "on (unsigned quickstart tokens)".to_string(),
        (true, false, false) => "on (trusted gateway headers only)".to_string(),
    };
    let tls = crate::load_tls(&settings)?;
    let state = crate::prepare(settings, Arc::new(SystemClock)).await?;
    let bind: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| format!("`{}:{}` is not an address to bind", args.host, args.port))?;
    let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
    let addr = listener.local_addr()?;
    // The one line an operator reads first.
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!(
        "nmp listening on {scheme}://{addr} (store: {} at {}, auth: {auth_line})",
        state.store.backend_name(),
        state.store.location()
    );
    tracing::info!(%addr, store = state.store.backend_name(), "platform started");
    let metrics_listener = crate::bind_metrics(&state.settings).await?;
    if let Some(metrics) = &metrics_listener {
        eprintln!("nmp metrics on http://{}/metrics", metrics.local_addr()?);
    }
    crate::serve_with_tls(state, listener, tls, metrics_listener, crate::shutdown::termination_signal())
        .await?;
    tracing::info!("platform stopped");
    Ok(())
}
