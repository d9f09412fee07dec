//! The CLI config file (`~/.config/nmp/config.yaml`), in the official CLI's exact shape.
//!
//! Every level keeps unknown keys in a flattened `extra` mapping, so a file written by the
//! official CLI (or a newer version of ours) survives our rewrite unchanged.

mod model;
mod paths;
mod store;

pub use model::{
    normalize_base_url, CliConfig, Cluster, Context, Preferences, User, USER_TYPE_NO_AUTH, USER_TYPE_OAUTH,
};
pub use paths::{config_path, config_path_from, state_dir, state_dir_from, EnvLookup};
pub use store::{load, load_or_default, lock_path_for, save};

/// Errors reading or writing the CLI config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `NMP_CONFIG_FILE` names a file that does not exist (the official CLI's wording).
    #[error("Config file not found at {0}")]
    NotFound(String),
    #[error("cannot find a home directory (set HOME or NMP_CONFIG_FILE)")]
    NoHome,
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid config file: {message}")]
    Parse { path: String, message: String },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("context `{0}` does not exist")]
    NoSuchContext(String),
    #[error(
        "no current context: run `nemo auth login --base-url <url>` or `nemo config set --base-url <url>`"
    )]
    NoCurrentContext,
}
