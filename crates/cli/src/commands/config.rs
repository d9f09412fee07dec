//! `nemo config set | view | use-context | current-context`.

use anyhow::Context as _;
use nmp_client::config::{self, CliConfig};
use nmp_client::{Secret, Settings};

use crate::cli::{Cli, ConfigCommand, ConfigSetArgs, OutputFormat};
use crate::exit::UsageError;

/// The config path to write to (`NMP_CONFIG_FILE` must exist; otherwise the default path).
pub fn writable_path() -> anyhow::Result<std::path::PathBuf> {
    Ok(config::config_path()?)
}

pub async fn run(cli: &Cli, command: &ConfigCommand) -> anyhow::Result<()> {
    let path = writable_path()?;
    let mut file = config::load_or_default(&path)?;
    match command {
        ConfigCommand::Set(args) => {
            set(&mut file, args)?;
            config::save(&path, &file)?;
            println!("Configuration saved to {}", path.display());
        }
        ConfigCommand::View { all_contexts } => {
            let settings = Settings::from_env()?;
            let shown = view(&file, settings.context.as_deref(), *all_contexts);
            match cli.format {
                Some(OutputFormat::Json) => println!("{}", serde_json::to_string_pretty(&shown)?),
                _ => print!("{}", serde_yaml_ng::to_string(&shown)?),
            }
        }
        ConfigCommand::UseContext { name } => {
            if file.context(name).is_none() {
                return Err(UsageError(format!("context `{name}` does not exist")).into());
            }
            file.current_context = Some(name.clone());
            config::save(&path, &file)?;
            println!("Switched to context \"{name}\".");
        }
        ConfigCommand::CurrentContext => {
            let settings = Settings::from_env()?;
            let name = settings.context.context("no current context is set")?;
            println!("{name}");
        }
    }
    Ok(())
}

fn set(file: &mut CliConfig, args: &ConfigSetArgs) -> anyhow::Result<()> {
    let context = args
        .context
        .clone()
        .or_else(|| file.current_context.clone())
        .unwrap_or_else(|| "default".to_string());
    file.ensure_context(&context);
    if args.activate || file.current_context.is_none() {
        file.current_context = Some(context.clone());
    }
    if let Some(base_url) = &args.base_url {
        file.set_base_url(&context, base_url);
    }
    let token = args.access_token.as_ref().or(args.api_key.as_ref());
    if let Some(token) = token {
        let token = if token == "-" {
            dialoguer::Password::new().with_prompt("Access token").interact()?
        } else {
            token.clone()
        };
        let user = file.ensure_user(&context);
        user.set_tokens(Secret::new(token), None);
        user.refresh_token = None;
    }
    let entry = file.ensure_context(&context);
    if let Some(workspace) = &args.workspace {
        entry.workspace = Some(workspace.clone());
    }
    if let Some(format) = args.output_format {
        entry.preferences.output_format = Some(
            match format {
                OutputFormat::Table => "table",
                OutputFormat::Json => "json",
                OutputFormat::Yaml => "yaml",
            }
            .to_string(),
        );
    }
    if let Some(timestamp_format) = &args.timestamp_format {
        entry.preferences.timestamp_format = Some(timestamp_format.clone());
    }
    if let Some(truncate) = args.truncate {
        entry.preferences.truncate = Some(truncate);
    }
    Ok(())
}

/// The config with tokens redacted, limited to the current context unless `all`.
fn view(file: &CliConfig, current: Option<&str>, all: bool) -> CliConfig {
    let mut shown = file.clone();
    for user in &mut shown.users {
        if user.token.is_some() {
            user.token = Some(Secret::new("[redacted]"));
        }
        if user.refresh_token.is_some() {
            user.refresh_token = Some(Secret::new("[redacted]"));
        }
    }
    if !all {
        if let Some(current) = current {
            shown.contexts.retain(|context| context.name == current);
            let clusters: Vec<String> = shown.contexts.iter().map(|c| c.cluster.clone()).collect();
            let users: Vec<String> = shown.contexts.iter().map(|c| c.user.clone()).collect();
            shown.clusters.retain(|cluster| clusters.contains(&cluster.name));
            shown.users.retain(|user| users.contains(&user.name));
        }
    }
    shown
}
