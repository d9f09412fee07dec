//! `nemo auth login`: unsigned quickstart tokens, password grant (CI) or device flow.

use std::time::Duration;

use anyhow::{bail, Context as _};
use nmp_client::clock::{Clock, SystemClock};
use nmp_client::config::{self, CliConfig};
use nmp_client::jwt::{mint_unsigned, UnsignedTokenSpec, UnverifiedJwt};
use nmp_client::oauth::{self, DeviceFlowOptions, OidcEndpoints, TokenSet};
use nmp_client::wire::{AuthDiscoveryResponse, OidcDiscovery};
use nmp_client::{api, Secret};

use crate::cli::LoginArgs;

pub async fn run(args: &LoginArgs) -> anyhow::Result<()> {
    let path = config::config_path()?;
    let mut file = config::load_or_default(&path)?;
    let context = args
        .context
        .clone()
        .or_else(|| std::env::var("NMP_CURRENT_CONTEXT").ok().filter(|v| !v.is_empty()))
        .or_else(|| file.current_context.clone())
        .unwrap_or_else(|| "default".to_string());
    let base_url = resolve_base_url(&mut file, &context, args.base_url.as_deref())?;
    file.current_context = Some(context.clone());

    let discovery = api::discover(&reqwest::Client::new(), &base_url).await?;
    if args.unsigned_token {
        return unsigned(args, &path, file, &context, &discovery);
    }
    if !discovery.auth_enabled {
        config::save(&path, &file)?;
        println!("Authentication is not enabled on this cluster ({base_url}); nothing to log in to.");
        return Ok(());
    }
    let Some(oidc) = discovery.oidc.as_ref().filter(|oidc| oidc.token_endpoint.is_some()) else {
        bail!(
            "the cluster has no OIDC token endpoint configured; for a quickstart cluster use \
             `nemo auth login --unsigned-token --email <email>`"
        );
    };
    warn_about_env_tokens();
    let endpoints = OidcEndpoints {
        client_id: oidc.client_id.clone(),
        token_endpoint: oidc.token_endpoint.clone().unwrap_or_default(),
        device_authorization_endpoint: oidc.device_authorization_endpoint.clone(),
    };
    let scopes = oauth::apply_scope_prefix(
        &oauth::requested_scopes(&oidc.default_scopes, args.scope.as_deref()),
        oidc.scope_prefix.as_deref(),
    );
    let http = oauth::idp_http_client();
    let tokens = match (&args.username, &args.password) {
        (Some(username), Some(password)) => {
            oauth::password_grant(&http, &endpoints, username, &Secret::new(password.clone()), &scopes)
                .await?
        }
        _ => device_flow(&http, &endpoints, oidc, &scopes, args.no_browser).await?,
    };
    warn_missing_scopes(&tokens, &scopes, oidc.scope_prefix.as_deref());

    let user = file.ensure_user(&context);
    user.set_tokens(tokens.access_token.clone(), tokens.refresh_token.clone());
    config::save(&path, &file)?;

    let claims = UnverifiedJwt::decode(tokens.access_token.expose());
    let who = claims
        .as_ref()
        .and_then(|jwt| jwt.first_string_claim(&["upn", "email", "preferred_username", "sub"]))
        .unwrap_or("unknown user")
        .to_string();
    println!("Logged in as {who}.");
    println!("  Context: {context}");
    println!("  Config file: {}", path.display());
    if tokens.refresh_token.is_none() {
        eprintln!(
            "Warning: the identity provider issued no refresh token; add the 'offline_access' \
             scope to stay logged in past the token's expiry."
        );
    }
    Ok(())
}

/// `--base-url` (stored), else the context's cluster, else `NMP_BASE_URL` (stored if none is).
fn resolve_base_url(file: &mut CliConfig, context: &str, flag: Option<&str>) -> anyhow::Result<String> {
    if let Some(url) = flag {
        file.set_base_url(context, url);
    }
    let stored =
        file.cluster_of(context).map(|cluster| cluster.base_url.clone()).filter(|url| !url.is_empty());
    match (stored, std::env::var("NMP_BASE_URL").ok().filter(|v| !v.is_empty())) {
        (Some(url), _) => Ok(url),
        (None, Some(env_url)) => {
            file.set_base_url(context, &env_url);
            Ok(env_url)
        }
        (None, None) => bail!("no base URL for context `{context}`: pass --base-url <url>"),
    }
}

fn unsigned(
    args: &LoginArgs,
    path: &std::path::Path,
    mut file: CliConfig,
    context: &str,
    discovery: &AuthDiscoveryResponse,
) -> anyhow::Result<()> {
    let oidc_login = discovery
        .oidc
        .as_ref()
        .is_some_and(|oidc| oidc.token_endpoint.is_some() && !oidc.client_id.is_empty());
    if oidc_login {
        bail!(
            "Cluster has OIDC authentication configured; unsigned tokens are refused. \
             Run `nemo auth login` without --unsigned-token."
        );
    }
    if discovery.auth_enabled {
        eprintln!("Note: the cluster accepts unsigned tokens only with auth.allow_unsigned_jwt=true.");
    }
    let email = args.email.clone().context("--email is required with --unsigned-token")?;
    let spec = UnsignedTokenSpec {
        principal_id: args.principal_id.clone(),
        email: email.clone(),
        groups: args.groups.clone(),
        scopes: args
            .scope
            .as_deref()
            .map(|scope| scope.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        expires_in: (!args.no_exp).then_some(args.expires_in),
        audience: args.audience.clone(),
        issuer: args.issuer.clone(),
    };
    let token = mint_unsigned(&spec, SystemClock.now_unix());
    let user = file.ensure_user(context);
    user.set_tokens(token, None);
    user.refresh_token = None;
    config::save(path, &file)?;
    println!("Logged in as {email} (unsigned token).");
    println!("  Context: {context}");
    println!("  Config file: {}", path.display());
    if args.no_exp {
        eprintln!("Warning: a token without `exp` is rejected by servers that check expiry.");
    }
    Ok(())
}

async fn device_flow(
    http: &reqwest::Client,
    endpoints: &OidcEndpoints,
    oidc: &OidcDiscovery,
    scopes: &[String],
    no_browser: bool,
) -> anyhow::Result<TokenSet> {
    // Listen for Ctrl-C before the code is shown, so an interrupt while waiting always ends the
    // login cleanly (exit 130, nothing written), even where SIGINT was inherited as ignored.
    // (`signal` registers now; `ctrl_c()` would only register when first polled.)
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let authorization = oauth::start_device_flow(http, endpoints, scopes).await?;
    // RFC 8628 §5.4: say who is asking for what, so a phished code can be noticed.
    eprintln!(
        "Authorizing client `{}` of {} for scopes: {}",
        endpoints.client_id,
        oidc.issuer,
        scopes.join(" ")
    );
    eprintln!("Visit: {}", authorization.verification_uri);
    eprintln!("Enter code: {}", authorization.user_code);
    if let Some(complete) = &authorization.verification_uri_complete {
        eprintln!("Or open: {complete}");
    }
    if !no_browser {
        let target =
            authorization.verification_uri_complete.as_deref().unwrap_or(&authorization.verification_uri);
        // Never fail the login because no browser could be opened.
        if open::that_detached(target).is_err() {
            eprintln!("(Could not open a browser; open the link above yourself.)");
        }
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("Waiting for authorization in the browser...");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let options = DeviceFlowOptions::default();
    let poll = oauth::poll_device_flow(http, endpoints, &authorization, scopes, &options);
    let result = tokio::select! {
        result = poll => result,
        _ = interrupted(&mut interrupt) => {
            spinner.finish_and_clear();
            eprintln!("Login cancelled.");
            std::process::exit(130);
        }
    };
    spinner.finish_and_clear();
    Ok(result?)
}

#[cfg(unix)]
async fn interrupted(signal: &mut tokio::signal::unix::Signal) {
    signal.recv().await;
}

fn warn_missing_scopes(tokens: &TokenSet, requested: &[String], prefix: Option<&str>) {
    let granted = tokens.scopes.clone().unwrap_or_else(|| {
        UnverifiedJwt::decode(tokens.access_token.expose()).map(|jwt| jwt.scopes()).unwrap_or_default()
    });
    let missing = oauth::missing_scopes(requested, &granted, prefix);
    if !missing.is_empty() {
        eprintln!(
            "Warning: Token is missing requested scopes: {}. (Azure AD: check 'Expose an API' and admin consent.)",
            missing.join(", ")
        );
    }
}

fn warn_about_env_tokens() {
    for name in ["NMP_ACCESS_TOKEN", "NEMO_WORKLOAD_TOKEN", "NEMO_WORKLOAD_TOKEN_FILE"] {
        if std::env::var(name).is_ok_and(|value| !value.is_empty()) {
            eprintln!("Warning: {name} is set and overrides the credentials saved by this login.");
        }
    }
}
