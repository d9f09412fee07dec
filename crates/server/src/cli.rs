//! `nemo services run`: start the platform in the foreground.

use std::path::PathBuf;

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
    /// Directory for the embedded database.
    #[arg(long, env = "NMP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Run the platform until SIGINT/SIGTERM.
pub async fn run(args: ServicesRunArgs) -> anyhow::Result<()> {
    anyhow::bail!("the server is not built yet ({args:?})")
}
