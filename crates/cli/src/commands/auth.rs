//! `nemo auth status | token | refresh | logout` (login is in `login.rs`).

use anyhow::{bail, Context as _};
use nmp_client::clock::{Clock, SystemClock};
use nmp_client::config;
use nmp_client::jwt::{mint_unsigned, UnsignedTokenSpec, UnverifiedJwt};
use nmp_client::{api, CredentialSource, Secret, Settings, TokenProvider};

use crate::cli::{AuthCommand, Cli};
use crate::output;

pub async fn run(cli: &Cli, command: &AuthCommand) -> anyhow::Result<()> {
    match command {
        AuthCommand::Login(args) => super::login::run(args).await,
        AuthCommand::Logout => logout().await,
        AuthCommand::Refresh => refresh().await,
        AuthCommand::Token { decode } => token(*decode),
        AuthCommand::Status => status(cli).await,
        AuthCommand::Whoami => super::insight::whoami(cli).await,
        AuthCommand::CanI(args) => super::insight::can_i(cli, args).await,
        AuthCommand::Explain(args) => super::insight::explain(cli, args).await,
        AuthCommand::AccessKeys(command) => super::access_keys::run(cli, command).await,
    }
}

fn current_token(settings: &Settings) -> anyhow::Result<Secret> {
    if let Some((_, token)) = &settings.env_token {
        return Ok(token.clone());
    }
    let context = settings.context.as_deref().context("no current context: run `nemo auth login`")?;
    let user = settings
        .config
        .user_of(context)
        .with_context(|| format!("context `{context}` has no user: run `nemo auth login`"))?;
    if !user.is_oauth() {
        bail!("context `{context}` is not logged in (user type `{}`): run `nemo auth login`", user.kind);
    }
    user.bearer().cloned().with_context(|| format!("context `{context}` has no token: run `nemo auth login`"))
}

fn token(decode: bool) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let token = current_token(&settings)?;
    if decode {
        let jwt = UnverifiedJwt::decode(token.expose()).context("the token is not a JWT")?;
        println!("{}", serde_json::to_string_pretty(&jwt.claims)?);
    } else {
        println!("{}", token.expose());
    }
    Ok(())
}

async fn status(cli: &Cli) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let format = output::resolve_format(cli.format, None);
    let context = settings.context.clone().unwrap_or_default();
    let base_url = settings.base_url.clone().unwrap_or_default();
    let mut rows: Vec<(String, String)> = vec![
        ("Cluster".into(), base_url.clone()),
        ("Context".into(), context.clone()),
        (
            "Config File".into(),
            settings.config_path.as_ref().map(|path| path.display().to_string()).unwrap_or_default(),
        ),
    ];
    if !base_url.is_empty() {
        match api::discover(&reqwest::Client::new(), &base_url).await {
            Ok(discovery) if !discovery.auth_enabled => {
                println!("Authentication is disabled on this cluster.");
            }
            Ok(_) => {}
            Err(error) => rows.push(("Auth Discovery".into(), format!("unavailable ({error})"))),
        }
    }
    let user = settings.config.user_of(&context);
    rows.push(("Auth Type".into(), user.map(|user| user.kind.clone()).unwrap_or_else(|| "no-auth".into())));
    rows.push((
        "Credential Source".into(),
        match settings.credential_source() {
            CredentialSource::Environment(name) => format!("environment ({name})"),
            CredentialSource::ConfigFile => "config file".into(),
            CredentialSource::None => "none".into(),
        },
    ));
    if let Ok(token) = current_token(&settings) {
        rows.extend(token_rows(&token, user.and_then(|u| u.refresh_token.as_ref()).is_some()));
    }
    output::print_pairs(format, &rows)
}

fn token_rows(token: &Secret, has_refresh_token: bool) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let jwt = UnverifiedJwt::decode(token.expose());
    if let Some(jwt) = &jwt {
        if jwt.is_unsigned() {
            rows.push(("Warning".into(), "Unsigned JWT (alg=none). Use only for local/testing.".into()));
        }
        let claim = |names: &[&str]| jwt.first_string_claim(names).unwrap_or("").to_string();
        rows.push(("Email".into(), claim(&["upn", "email", "preferred_username"])));
        rows.push(("User ID".into(), claim(&["oid", "sub"])));
        let scopes = jwt.scopes();
        rows.push(("Scopes".into(), if scopes.is_empty() { "none".into() } else { scopes.join(" ") }));
        let groups = jwt.groups();
        if !groups.is_empty() {
            rows.push(("Groups".into(), groups.join(", ")));
        }
        rows.push(("Expires".into(), expiry(jwt.expires_at())));
    }
    rows.push(("Refresh Token".into(), if has_refresh_token { "available" } else { "not available" }.into()));
    rows.push(("Token".into(), truncated(token.expose())));
    rows
}

fn expiry(exp: Option<i64>) -> String {
    let Some(exp) = exp else {
        return "never (no exp claim)".into();
    };
    let when = time::OffsetDateTime::from_unix_timestamp(exp)
        .ok()
        .and_then(|at| at.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| exp.to_string());
    let left = exp - SystemClock.now_unix();
    if left <= 0 {
        format!("{when} (EXPIRED)")
    } else {
        format!("{when} ({}h {}m remaining)", left / 3600, (left % 3600) / 60)
    }
}

/// First 20 characters, `...`, last 10: enough to recognise, useless to replay.
fn truncated(token: &str) -> String {
    if token.len() <= 34 {
        return "*".repeat(token.len().min(8));
    }
    format!("{}...{}", &token[..20], &token[token.len() - 10..])
}

async fn refresh() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let path = settings.config_path.clone().context("no config file location (set HOME)")?;
    let context = settings.context.clone().context("no current context: run `nemo auth login`")?;
    let token = current_token(&settings)?;
    if let Some(jwt) = UnverifiedJwt::decode(token.expose()).filter(UnverifiedJwt::is_unsigned) {
        // Unsigned tokens are re-minted with the same claims and the same lifetime.
        let lifetime = match (jwt.expires_at(), jwt.numeric_claim("iat")) {
            (Some(exp), Some(iat)) => Some(exp - iat),
            (Some(_), None) => Some(3600),
            _ => None,
        };
        let spec = UnsignedTokenSpec {
            principal_id: jwt.string_claim("sub").map(str::to_string),
            email: jwt.string_claim("email").unwrap_or_default().to_string(),
            groups: jwt.groups(),
            scopes: jwt.scopes(),
            expires_in: lifetime,
            audience: jwt.string_claim("aud").map(str::to_string),
            issuer: jwt.string_claim("iss").map(str::to_string),
        };
        let mut file = config::load(&path)?;
        file.ensure_user(&context).set_tokens(mint_unsigned(&spec, SystemClock.now_unix()), None);
        config::save(&path, &file)?;
        println!("Unsigned token re-minted for context `{context}`.");
        return Ok(());
    }
    let base_url = settings.require_base_url()?.to_string();
    let provider = TokenProvider::from_config_file(path, context.clone(), base_url);
    let fresh = provider.force_refresh().await?;
    let left = UnverifiedJwt::decode(fresh.expose()).and_then(|jwt| jwt.expires_at());
    println!("Token refreshed for context `{context}`. Expires: {}", expiry(left));
    Ok(())
}

async fn logout() -> anyhow::Result<()> {
    let path = config::config_path()?;
    let mut file = config::load_or_default(&path)?;
    let settings = Settings::from_env()?;
    let context = settings.context.clone().context("no current context: nothing to log out from")?;
    if let Some(base_url) = &settings.base_url {
        if let Ok(discovery) = api::discover(&reqwest::Client::new(), base_url).await {
            if !discovery.auth_enabled {
                println!("Authentication is disabled on this cluster — nothing to log out from.");
                return Ok(());
            }
        }
    }
    let user = file.user_of_mut(&context).with_context(|| format!("context `{context}` has no user"))?;
    user.clear();
    config::save(&path, &file)?;
    // Verify the credentials really left the file.
    let reread = config::load(&path)?;
    if reread.user_of(&context).and_then(|user| user.token.as_ref()).is_some() {
        bail!("the token is still in {} after logout", path.display());
    }
    println!("Logged out successfully.");
    println!("  Context: {context}");
    println!("  Config file: {}", path.display());
    Ok(())
}
