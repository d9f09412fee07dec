//! The active context, resolved from the CLI config and the `NMP_*` environment overrides.
//!
//! Shared by the SDK's zero-config mode and the CLI, so both pick the same cluster, user,
//! workspace and token. Precedence for the token: `NMP_ACCESS_TOKEN` > `NEMO_WORKLOAD_TOKEN` >
//! the file named by `NEMO_WORKLOAD_TOKEN_FILE` > the context's stored token.

use std::path::PathBuf;

use crate::client::Client;
use crate::config::{self, CliConfig, ConfigError, EnvLookup};
use crate::error::Result;
use crate::secret::Secret;
use crate::token::TokenProvider;

/// Where a token comes from, for `nemo auth status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `NMP_ACCESS_TOKEN` and friends: the variable's name.
    Environment(String),
    ConfigFile,
    None,
}

/// Everything a command needs to talk to the cluster.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None` when no config location can be found (no HOME); the CLI then works from env only.
    pub config_path: Option<PathBuf>,
    pub config: CliConfig,
    /// The context name (`NMP_CURRENT_CONTEXT` > `current_context`).
    pub context: Option<String>,
    /// `NMP_BASE_URL` > the context's cluster.
    pub base_url: Option<String>,
    /// `NMP_WORKSPACE` > the context's workspace.
    pub workspace: Option<String>,
    /// A token from the environment, which bypasses the config file.
    pub env_token: Option<(String, Secret)>,
    /// The context's cluster `certificate_authority` (a PEM file), as the official CLI stores it.
    pub certificate_authority: Option<PathBuf>,
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Settings> {
        Settings::resolve(&process_env)
    }

    pub fn resolve(env: EnvLookup<'_>) -> Result<Settings> {
        let config_path = match config::config_path_from(env) {
            Ok(path) => Some(path),
            Err(ConfigError::NoHome) => None,
            Err(other) => return Err(other.into()),
        };
        let config = match &config_path {
            Some(path) => config::load_or_default(path)?,
            None => CliConfig::default(),
        };
        let context = env("NMP_CURRENT_CONTEXT").or_else(|| config.current_context.clone());
        let context_entry = context.as_deref().and_then(|name| config.context(name));
        let base_url = env("NMP_BASE_URL").or_else(|| {
            context
                .as_deref()
                .and_then(|name| config.cluster_of(name))
                .map(|cluster| cluster.base_url.clone())
                .filter(|url| !url.is_empty())
        });
        let workspace =
            env("NMP_WORKSPACE").or_else(|| context_entry.and_then(|entry| entry.workspace.clone()));
        let env_token = ["NMP_ACCESS_TOKEN", "NEMO_WORKLOAD_TOKEN"]
            .iter()
            .find_map(|name| env(name).map(|value| (name.to_string(), Secret::new(value))))
            .or_else(|| {
                let file = env("NEMO_WORKLOAD_TOKEN_FILE")?;
                let text = std::fs::read_to_string(file).ok()?;
                let token = text.trim().to_string();
                (!token.is_empty()).then(|| ("NEMO_WORKLOAD_TOKEN_FILE".to_string(), Secret::new(token)))
            });
        let certificate_authority = context
            .as_deref()
            .and_then(|name| config.cluster_of(name))
            .and_then(|cluster| cluster.extra.get("certificate_authority"))
            .and_then(|value| value.as_str())
            .filter(|path| !path.is_empty())
            .map(PathBuf::from);
        Ok(Settings { config_path, config, context, base_url, workspace, env_token, certificate_authority })
    }

    /// The base URL, or the error telling the user how to set one.
    pub fn require_base_url(&self) -> Result<&str> {
        self.base_url.as_deref().ok_or_else(|| ConfigError::NoCurrentContext.into())
    }

    pub fn credential_source(&self) -> CredentialSource {
        if let Some((name, _)) = &self.env_token {
            return CredentialSource::Environment(name.clone());
        }
        let stored = self
            .context
            .as_deref()
            .and_then(|context| self.config.user_of(context))
            .and_then(|user| user.bearer());
        match stored {
            Some(_) => CredentialSource::ConfigFile,
            None => CredentialSource::None,
        }
    }

    /// The token provider for this context: env token, else the config file, else none.
    pub fn token_provider(&self, refresh_margin: i64) -> Option<TokenProvider> {
        if let Some((_, token)) = &self.env_token {
            return Some(TokenProvider::fixed(token.clone()));
        }
        let path = self.config_path.clone()?;
        let context = self.context.clone()?;
        self.config.user_of(&context)?;
        Some(
            TokenProvider::from_config_file(path, context, self.base_url.clone().unwrap_or_default())
                .with_refresh_margin(refresh_margin),
        )
    }

    /// A client for this context.
    pub fn client(&self, refresh_margin: i64) -> Result<Client> {
        let mut builder = Client::builder(self.require_base_url()?);
        if let Some(provider) = self.token_provider(refresh_margin) {
            builder = builder.token_provider(provider);
        }
        if let Some(workspace) = &self.workspace {
            builder = builder.workspace(workspace.clone());
        }
        if let Some(ca) = crate::tls::ca_file_with(self.certificate_authority.clone()) {
            builder = builder.ca_cert_file(ca);
        }
        builder.build()
    }
}

impl Client {
    /// The active context of the CLI config (with the `NMP_*` environment overrides),
    /// refreshing OAuth tokens ≤ 60 s before expiry.
    pub fn from_cli_config() -> Result<Client> {
        Settings::from_env()?.client(crate::token::SDK_REFRESH_MARGIN_SECONDS)
    }
}
