//! What every API command starts from: the resolved context, an SDK client, the output format.

use nmp_client::token::CLI_REFRESH_MARGIN_SECONDS;
use nmp_client::{Client, Settings};

use crate::cli::{Cli, OutputFormat};
use crate::exit::UsageError;
use crate::output;

pub struct Session {
    pub settings: Settings,
    pub client: Client,
    pub format: OutputFormat,
}

impl Session {
    /// Resolve the context and, unless `--no-auto-refresh`, refresh a token that expires
    /// within 300 s (saying so on stderr, as the official CLI does).
    pub async fn open(cli: &Cli) -> anyhow::Result<Session> {
        let settings = Settings::from_env()?;
        let margin = if cli.no_auto_refresh { i64::MIN } else { CLI_REFRESH_MARGIN_SECONDS };
        let client = settings.client(margin)?;
        if let Some(provider) = client.token_provider() {
            if provider.fetch().await?.refreshed {
                eprintln!("[Auto-refreshed expired token]");
            }
        }
        let preference = settings
            .context
            .as_deref()
            .and_then(|name| settings.config.context(name))
            .and_then(|context| context.preferences.output_format.clone());
        let format = output::resolve_format(cli.format, preference.as_deref());
        Ok(Session { settings, client, format })
    }

    /// `--workspace`, else the context's workspace.
    pub fn workspace(&self, explicit: Option<&str>) -> anyhow::Result<String> {
        explicit.map(str::to_string).or_else(|| self.settings.workspace.clone()).ok_or_else(|| {
            UsageError("no workspace: pass --workspace or set one with `nemo config set --workspace`".into())
                .into()
        })
    }
}
