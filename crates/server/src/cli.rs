//! `nemo services run`: start the platform in the foreground until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

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
    if settings.file.auth.enabled && settings.file.auth.allow_unsigned_jwt {
        tracing::warn!(
            "auth.allow_unsigned_jwt is enabled: anyone can forge a token. Use this only for local development."
        );
    }
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
    let state = crate::prepare(settings, Arc::new(SystemClock)).await?;
    let bind: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| format!("`{}:{}` is not an address to bind", args.host, args.port))?;
    let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
    let addr = listener.local_addr()?;
    // The one line an operator reads first.
    eprintln!(
        "nmp listening on http://{addr} (store: {} at {}, auth: {auth_line})",
        state.store.backend_name(),
        state.store.location()
    );
    tracing::info!(%addr, store = state.store.backend_name(), "platform started");
    crate::serve(state, listener, shutdown_signal()).await?;
    tracing::info!("platform stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
