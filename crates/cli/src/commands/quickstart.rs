//! `nemo quickstart configure | up | down | status`: the platform as a local background process.
//!
//! `configure` saves choices to `<config dir>/quickstart/config.yaml`. `up` writes a platform
//! config (auth on ⇒ `allow_unsigned_jwt: true` and `admin_email`), starts `nemo services run`
//! in the background with its data under `$XDG_STATE_HOME/nmp/quickstart`, waits for
//! `/health/ready`, and writes the `quickstart` context (a 24-hour unsigned admin token when
//! auth is on). `down` stops it through the pid file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use nmp_client::clock::{Clock, SystemClock};
use nmp_client::config;
use nmp_client::jwt::{mint_unsigned, UnsignedTokenSpec};
use serde::{Deserialize, Serialize};

use crate::cli::{ConfigureArgs, QuickstartCommand};

/// Tokens minted by quickstart last 24 hours (ADR 0007).
const TOKEN_LIFETIME_SECONDS: i64 = 24 * 3600;
const DEFAULT_PORT: u16 = 8080;
const CONTEXT: &str = "quickstart";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuickstartState {
    pub auth_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_email: Option<String>,
    #[serde(default = "default_port")]
    pub port: u16,
}

fn default_port() -> u16 {
    DEFAULT_PORT
}

impl Default for QuickstartState {
    fn default() -> Self {
        QuickstartState { auth_enabled: false, admin_email: None, port: DEFAULT_PORT }
    }
}

fn state_file() -> anyhow::Result<PathBuf> {
    let config_path = config::config_path()?;
    let directory = config_path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(directory.join("quickstart").join("config.yaml"))
}

fn runtime_dir() -> anyhow::Result<PathBuf> {
    Ok(config::state_dir()?.join("quickstart"))
}

fn load_state() -> anyhow::Result<QuickstartState> {
    let path = state_file()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_yaml_ng::from_str(&text).with_context(|| format!("reading {}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(QuickstartState::default()),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let directory = path.parent().context("path without a directory")?;
    std::fs::create_dir_all(directory)?;
    let mut temporary = tempfile::NamedTempFile::new_in(directory)?;
    std::io::Write::write_all(&mut temporary, text.as_bytes())?;
    temporary.persist(path)?;
    Ok(())
}

pub async fn run(command: &QuickstartCommand) -> anyhow::Result<()> {
    match command {
        QuickstartCommand::Configure(args) => configure(args),
        QuickstartCommand::Up => up().await,
        QuickstartCommand::Down => down().await,
        QuickstartCommand::Status => status().await,
    }
}

/// Choices from flags, then prompts for what is left (unless non-interactive).
pub fn configure(args: &ConfigureArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let mut state = load_state()?;
    let flag_auth = if args.no_auth {
        Some(false)
    } else if args.auth {
        Some(true)
    } else {
        None
    };
    if let Some(port) = args.port {
        state.port = port;
    }
    let interactive = !args.non_interactive && std::io::stdin().is_terminal();
    let theme = dialoguer::theme::ColorfulTheme::default();
    match flag_auth {
        Some(enabled) => state.auth_enabled = enabled,
        None if interactive => {
            let advanced = dialoguer::Confirm::with_theme(&theme)
                .with_prompt("Configure advanced options?")
                .default(false)
                .interact()?;
            if advanced {
                let choice = dialoguer::Select::with_theme(&theme)
                    .with_prompt("Enable authentication/authorization?")
                    .items(&["No", "Yes"])
                    .default(usize::from(state.auth_enabled))
                    .interact()?;
                state.auth_enabled = choice == 1;
            }
        }
        None => {}
    }
    if let Some(email) = &args.admin_email {
        state.admin_email = Some(email.clone());
    }
    if state.auth_enabled && state.admin_email.is_none() {
        if !interactive {
            bail!("--admin-email is required when authentication is enabled");
        }
        let email: String = dialoguer::Input::with_theme(&theme)
            .with_prompt("Admin email (grants PlatformAdmin role)")
            .validate_with(
                |text: &String| {
                    if text.contains('@') {
                        Ok(())
                    } else {
                        Err("enter an email address")
                    }
                },
            )
            .interact_text()?;
        state.admin_email = Some(email);
    }
    let path = state_file()?;
    write_private(&path, &serde_yaml_ng::to_string(&state)?)?;
    println!("Quickstart configuration saved to {}", path.display());
    println!("  Authentication: {}", if state.auth_enabled { "enabled" } else { "disabled" });
    if let Some(email) = &state.admin_email {
        println!("  Admin email: {email}");
    }
    println!("  Port: {}", state.port);
    Ok(())
}

/// The platform config handed to `nemo services run`.
fn platform_config(state: &QuickstartState) -> serde_yaml_ng::Value {
    let mut auth = serde_yaml_ng::Mapping::new();
    auth.insert("enabled".into(), state.auth_enabled.into());
    if state.auth_enabled {
        auth.insert("allow_unsigned_jwt".into(), true.into());
        if let Some(email) = &state.admin_email {
            auth.insert("admin_email".into(), email.clone().into());
        }
    }
    let mut root = serde_yaml_ng::Mapping::new();
    root.insert("auth".into(), auth.into());
    root.into()
}

fn pid_file(runtime: &Path) -> PathBuf {
    runtime.join("platform.pid")
}

fn read_pid(runtime: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file(runtime)).ok()?.trim().parse().ok()
}

fn is_alive(pid: i32) -> bool {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

fn base_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

async fn is_ready(port: u16) -> bool {
    let url = format!("{}/health/ready", base_url(port));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap_or_default();
    matches!(http.get(url).send().await, Ok(response) if response.status().is_success())
}

async fn up() -> anyhow::Result<()> {
    let state = load_state()?;
    if state.auth_enabled && state.admin_email.is_none() {
        bail!("authentication is enabled but no admin email is set: run `nemo quickstart configure`");
    }
    let runtime = runtime_dir()?;
    if let Some(pid) = read_pid(&runtime).filter(|pid| is_alive(*pid)) {
        bail!("the platform is already running (pid {pid}); `nemo quickstart down` stops it");
    }
    let data_dir = runtime.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let config_file = runtime.join("platform-config.yaml");
    write_private(&config_file, &serde_yaml_ng::to_string(&platform_config(&state))?)?;
    let log_file = runtime.join("platform.log");
    let log = std::fs::File::create(&log_file)?;

    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .args(["services", "run", "--host", "127.0.0.1", "--port"])
        .arg(state.port.to_string())
        .arg("--config")
        .arg(&config_file)
        .arg("--data-dir")
        .arg(&data_dir)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    #[cfg(unix)]
    {
        // Its own process group: Ctrl-C in this terminal does not stop the platform.
        use std::os::unix::process::CommandExt;
        command.process_group(0);
    }
    let mut child = command.spawn().context("starting `nemo services run`")?;
    std::fs::write(pid_file(&runtime), child.id().to_string())?;

    println!("Starting the platform on {} ...", base_url(state.port));
    let deadline = SystemClock.instant() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait()? {
            let _ = std::fs::remove_file(pid_file(&runtime));
            let log_text = std::fs::read_to_string(&log_file).unwrap_or_default();
            let tail: Vec<&str> = log_text.lines().rev().take(20).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!("the platform exited ({status}) before it was ready:\n{}", tail.join("\n"));
        }
        if is_ready(state.port).await {
            break;
        }
        if SystemClock.instant() > deadline {
            bail!("the platform did not become ready within 60 s; see {}", log_file.display());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    write_context(&state)?;
    println!("The platform is running (pid {}). Logs: {}", child.id(), log_file.display());
    println!("  Context: {CONTEXT} (now current)");
    if let Some(email) = state.admin_email.as_ref().filter(|_| state.auth_enabled) {
        println!("  Logged in as {email} with a 24-hour unsigned admin token.");
    }
    Ok(())
}

/// The `quickstart` context: base URL, workspace `default`, and the admin token when auth is on.
fn write_context(state: &QuickstartState) -> anyhow::Result<()> {
    let path = config::config_path()?;
    let mut file = config::load_or_default(&path)?;
    file.set_base_url(CONTEXT, &base_url(state.port));
    file.ensure_context(CONTEXT).workspace = Some("default".into());
    let user = file.ensure_user(CONTEXT);
    match state.admin_email.as_ref().filter(|_| state.auth_enabled) {
        Some(email) => {
            let spec = UnsignedTokenSpec {
                email: email.clone(),
                expires_in: Some(TOKEN_LIFETIME_SECONDS),
                ..UnsignedTokenSpec::default()
            };
            user.set_tokens(mint_unsigned(&spec, SystemClock.now_unix()), None);
            user.refresh_token = None;
        }
        None => user.clear(),
    }
    file.current_context = Some(CONTEXT.into());
    config::save(&path, &file)?;
    Ok(())
}

async fn down() -> anyhow::Result<()> {
    use nix::sys::signal::{kill, Signal};
    let runtime = runtime_dir()?;
    let Some(pid) = read_pid(&runtime) else {
        println!("The platform is not running.");
        return Ok(());
    };
    if is_alive(pid) {
        let target = nix::unistd::Pid::from_raw(pid);
        kill(target, Signal::SIGTERM).context("stopping the platform")?;
        let deadline = SystemClock.instant() + Duration::from_secs(10);
        while is_alive(pid) && SystemClock.instant() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if is_alive(pid) {
            let _ = kill(target, Signal::SIGKILL);
        }
    }
    std::fs::remove_file(pid_file(&runtime)).ok();
    println!("The platform is stopped.");
    Ok(())
}

async fn status() -> anyhow::Result<()> {
    let state = load_state()?;
    let runtime = runtime_dir()?;
    let running = read_pid(&runtime).filter(|pid| is_alive(*pid));
    let ready = running.is_some() && is_ready(state.port).await;
    println!(
        "Platform: {}",
        match (running, ready) {
            (Some(pid), true) => format!("running and ready (pid {pid})"),
            (Some(pid), false) => format!("running, not ready (pid {pid})"),
            (None, _) => "stopped".to_string(),
        }
    );
    println!("  URL: {}", base_url(state.port));
    println!("  Authentication: {}", if state.auth_enabled { "enabled" } else { "disabled" });
    if let Some(email) = &state.admin_email {
        println!("  Admin email: {email}");
    }
    println!("  Data: {}", runtime.join("data").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_config_turns_on_unsigned_tokens_only_with_auth() {
        let on =
            QuickstartState { auth_enabled: true, admin_email: Some("admin@example.com".into()), port: 1 };
        let text = serde_yaml_ng::to_string(&platform_config(&on)).unwrap();
        assert_eq!(
            text,
            "auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n"
        );
        let off = QuickstartState::default();
        assert_eq!(serde_yaml_ng::to_string(&platform_config(&off)).unwrap(), "auth:\n  enabled: false\n");
    }
}
