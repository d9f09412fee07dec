//! `TestIdp`: a real OpenID provider (tests/idp, oidc-provider on Node.js) on 127.0.0.1, with the
//! test playing its users and steering it through its `/__control` API.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::Url;

use crate::browser::{play_user, Decision, Finish, Journey};
use crate::oauth::{post_form, random_token, token_request, DeviceAuthorization, Pkce, TokenSet};
use crate::process::{IdpProcess, Launch, Ready};

const CLI_CLIENT_ID: &str = "nemo-cli";
const STUDIO_CLIENT_ID: &str = "nmp-studio";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// How to start a [`TestIdp`].
#[derive(Debug, Clone)]
pub struct IdpOptions {
    /// `aud` of the access tokens. Default `nmp-api`.
    pub audience: String,
    /// Lifetime of access tokens, changeable later with [`TestIdp::set_access_token_ttl`].
    /// Default 900 s.
    pub access_token_ttl: Duration,
}

impl Default for IdpOptions {
    fn default() -> Self {
        IdpOptions { audience: "nmp-api".to_owned(), access_token_ttl: Duration::from_secs(900) }
    }
}

/// A running test IdP. The node process is killed when this is dropped.
pub struct TestIdp {
    process: Option<IdpProcess>,
    pub(crate) ready: Ready,
    options: IdpOptions,
    dir: PathBuf,
    /// Holds the IdP's state file (keys, settings, sessions, tokens) across stop/restart.
    state_dir: tempfile::TempDir,
    pub(crate) http: reqwest::Client,
}

impl std::fmt::Debug for TestIdp {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("TestIdp")
            .field("issuer", &self.ready.issuer)
            .field("running", &self.process.is_some())
            .finish()
    }
}

impl TestIdp {
    /// Installs tests/idp's node modules if needed (`npm ci`, once, under a file lock), starts
    /// the IdP on a free port and waits (up to 30 s) until it listens.
    pub async fn start() -> Result<TestIdp> {
        TestIdp::start_with(IdpOptions::default()).await
    }

    pub async fn start_with(options: IdpOptions) -> Result<TestIdp> {
        let dir = crate::npm::idp_dir();
        let install_dir = dir.clone();
        tokio::task::spawn_blocking(move || crate::npm::ensure_installed(&install_dir))
            .await
            .context("npm ci task panicked")??;
        let state_dir = tempfile::Builder::new().prefix("nmp-test-idp-").tempdir()?;
        let (process, ready) = IdpProcess::spawn(Launch {
            dir: &dir,
            port: 0,
            state_file: &state_dir.path().join("state.json"),
            audience: &options.audience,
            access_token_ttl_seconds: options.access_token_ttl.as_secs(),
        })
        .await?;
        let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
        Ok(TestIdp { process: Some(process), ready, options, dir, state_dir, http })
    }

    /// `http://127.0.0.1:PORT`, exactly as in discovery and in the tokens' `iss`.
    pub fn issuer(&self) -> &str {
        &self.ready.issuer
    }

    pub fn port(&self) -> u16 {
        self.ready.port
    }

    /// The public client the CLI uses: `nemo-cli`.
    pub fn client_id(&self) -> &str {
        CLI_CLIENT_ID
    }

    /// The public PKCE client for Studio: `nmp-studio`.
    pub fn studio_client_id(&self) -> &str {
        STUDIO_CLIENT_ID
    }

    /// The `aud` of access tokens (default `nmp-api`).
    pub fn audience(&self) -> &str {
        &self.ready.audience
    }

    /// The resource indicator (RFC 8707) for our API; clients may omit it, it is the default.
    pub fn resource(&self) -> &str {
        &self.ready.resource
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.ready.issuer)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.ready.issuer)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.ready.issuer)
    }

    pub fn device_authorization_endpoint(&self) -> String {
        format!("{}/device/auth", self.ready.issuer)
    }

    /// What the IdP has written to stderr (last 64 KiB), for failure messages.
    pub fn stderr(&self) -> String {
        self.process.as_ref().map(IdpProcess::stderr).unwrap_or_default()
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    // --- flows, playing the user ---------------------------------------------------------------

    /// The whole device flow for `nemo-cli`: request a code, approve it as `user` (email, subject
    /// or the email's local part) through the IdP's pages, then redeem it.
    pub async fn device_login(&self, user: &str, scopes: &str) -> Result<TokenSet> {
        let authorization = self.start_device_authorization(scopes).await?;
        let approve_at =
            authorization.verification_uri_complete.as_deref().unwrap_or(&authorization.user_code);
        self.approve_device_code(approve_at, user).await?;
        self.redeem_device_code(&authorization.device_code).await
    }

    /// Step 1 of the device flow as `nemo-cli` would do it (`POST /device/auth`).
    pub async fn start_device_authorization(&self, scopes: &str) -> Result<DeviceAuthorization> {
        let form = [("client_id", CLI_CLIENT_ID), ("scope", scopes)];
        post_form(&self.http, &self.device_authorization_endpoint(), &form, None).await
    }

    /// One token request for a device code. A pending or denied code gives an error holding an
    /// [`OAuthError`] (`authorization_pending`, `access_denied`, `expired_token`).
    pub async fn redeem_device_code(&self, device_code: &str) -> Result<TokenSet> {
        let form =
            [("grant_type", DEVICE_CODE_GRANT), ("client_id", CLI_CLIENT_ID), ("device_code", device_code)];
        token_request(&self.http, &self.token_endpoint(), &form, None).await
    }

    /// Plays `user` approving a device code: pass the `verification_uri_complete` (exercises the
    /// confirm page) or the bare user code (exercises the code-entry page).
    pub async fn approve_device_code(
        &self,
        user_code_or_verification_uri_complete: &str,
        user: &str,
    ) -> Result<()> {
        match self.play_device_page(user_code_or_verification_uri_complete, user, Decision::Allow).await? {
            Finish::DeviceApproved => Ok(()),
            other => bail!("approving the device code as `{user}` ended at {other:?}"),
        }
    }

    /// Plays `user` logging in and then denying consent; the device code then yields `access_denied`.
    pub async fn deny_device_code(
        &self,
        user_code_or_verification_uri_complete: &str,
        user: &str,
    ) -> Result<()> {
        match self.play_device_page(user_code_or_verification_uri_complete, user, Decision::Deny).await? {
            Finish::DeviceDenied => Ok(()),
            other => bail!("denying the device code as `{user}` ended at {other:?}"),
        }
    }

    async fn play_device_page(&self, code_or_uri: &str, user: &str, decision: Decision) -> Result<Finish> {
        let (start, user_code) = if code_or_uri.starts_with("http://") || code_or_uri.starts_with("https://")
        {
            (Url::parse(code_or_uri)?, None)
        } else {
            (Url::parse(&format!("{}/device", self.ready.issuer))?, Some(code_or_uri))
        };
        play_user(start, Journey { user, decision, user_code, stop_at: None }).await
    }

    /// Authorization code flow with PKCE, as a browser client (`nmp-studio`) would run it, with
    /// `redirect_uri` e.g. `http://127.0.0.1:PORT/callback` (any port; path must be registered:
    /// `/callback` or `/auth/callback`). Nothing needs to listen there.
    pub async fn authorization_code_login(
        &self,
        client_id: &str,
        redirect_uri: &str,
        user: &str,
        scopes: &str,
    ) -> Result<TokenSet> {
        let pkce = Pkce::new();
        let state = random_token();
        let mut start = Url::parse(&format!("{}/auth", self.ready.issuer))?;
        start
            .query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", scopes)
            .append_pair("state", &state)
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            // oidc-provider grants offline_access only together with an explicit consent prompt.
            .append_pair("prompt", "consent");
        let journey =
            Journey { user, decision: Decision::Allow, user_code: None, stop_at: Some(redirect_uri) };
        let Finish::Redirected(callback) = play_user(start, journey).await? else {
            bail!("authorization code flow did not redirect to {redirect_uri}");
        };
        let query = |name: &str| {
            callback.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
        };
        if let Some(error) = query("error") {
            bail!("authorization failed: {error} ({})", query("error_description").unwrap_or_default());
        }
        if query("state").as_deref() != Some(state.as_str()) {
            bail!("authorization response state does not match the request's");
        }
        let code = query("code").context("authorization response has no code")?;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", &code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", &pkce.verifier),
        ];
        token_request(&self.http, &self.token_endpoint(), &form, None).await
    }

    /// Refresh-token grant as `nemo-cli`. The IdP rotates refresh tokens: the answer carries a
    /// new one and the old one stops working.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet> {
        let form =
            [("grant_type", "refresh_token"), ("client_id", CLI_CLIENT_ID), ("refresh_token", refresh_token)];
        token_request(&self.http, &self.token_endpoint(), &form, None).await
    }

    /// Client-credentials grant for the service client `nmp-ci` (secret `nmp-ci-secret`, groups
    /// `["ci-bots"]`); its tokens have `sub` = `nmp-ci`.
    pub async fn client_credentials(&self, scopes: &str) -> Result<TokenSet> {
        let form = [("grant_type", "client_credentials"), ("scope", scopes)];
        token_request(&self.http, &self.token_endpoint(), &form, Some(("nmp-ci", "nmp-ci-secret"))).await
    }

    /// Client-credentials grant for the service client `nmp-forger`, whose IdP-signed tokens
    /// also claim to be Scoped Access Keys (`nmp_token_type: access_key`, a well-formed `jti`).
    pub async fn forged_access_key(&self, scopes: &str) -> Result<TokenSet> {
        let form = [("grant_type", "client_credentials"), ("scope", scopes)];
        token_request(&self.http, &self.token_endpoint(), &form, Some(("nmp-forger", "nmp-forger-secret")))
            .await
    }

    // --- outage ------------------------------------------------------------------------------------

    /// Kills the IdP: connections to its port are refused until [`TestIdp::restart`].
    pub async fn stop(&mut self) -> Result<()> {
        let process = self.process.take();
        tokio::task::spawn_blocking(move || drop(process)).await.context("stopping the test IdP")?;
        Ok(())
    }

    /// Starts the IdP again on the same port with the same keys, settings, counters, sessions and
    /// tokens (faults are cleared). Stops it first if it is running.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await?;
        let mut last_error = None;
        // The port was ours a moment ago; retry briefly in case the kernel has not let go of it.
        for _ in 0..20 {
            let launch = Launch {
                dir: &self.dir,
                port: self.ready.port,
                state_file: &self.state_dir.path().join("state.json"),
                audience: &self.options.audience,
                access_token_ttl_seconds: self.options.access_token_ttl.as_secs(),
            };
            match IdpProcess::spawn(launch).await {
                Ok((process, ready)) => {
                    if ready.issuer != self.ready.issuer {
                        bail!("restarted IdP has issuer {}, expected {}", ready.issuer, self.ready.issuer);
                    }
                    self.process = Some(process);
                    // Pooled connections went to the killed process; start with a fresh pool.
                    self.http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?;
                    return Ok(());
                }
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("restart failed")))
    }
}
