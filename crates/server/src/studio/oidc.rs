//! Signing in at the IdP as a backend-for-frontend: the authorization-code flow with PKCE (S256),
//! `state` and `nonce` (the `openidconnect` crate does the protocol: discovery, the authorization
//! URL, the code exchange, ID-token verification, refresh, the end-session URL). The tokens it
//! returns stay in the server-side session.

use std::sync::Arc;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreGenderClaim};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyAdditionalClaims, IdTokenClaims, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, RefreshToken, Scope, TokenResponse,
};
use tokio::sync::Mutex;

use super::config::StudioSettings;
use super::session::PendingSignIn;

/// Why the IdP leg failed. Messages carry no token or code.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider cannot be reached: {0}")]
    Unavailable(String),
    #[error("the sign-in answer was refused: {0}")]
    Refused(String),
}

/// Tokens from a code exchange or a refresh.
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub name: Option<String>,
}

/// The IdP's discovery document, fetched once (again after a failure).
#[derive(Default)]
pub struct Provider {
    metadata: Mutex<Option<Arc<ProviderMetadataWithLogout>>>,
    http: std::sync::OnceLock<openidconnect::reqwest::Client>,
}

impl Provider {
    fn http(&self) -> &openidconnect::reqwest::Client {
        self.http.get_or_init(|| {
            openidconnect::reqwest::Client::builder()
                // Following redirects would turn an IdP misconfiguration into an SSRF.
                .redirect(openidconnect::reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default()
        })
    }

    async fn metadata(
        &self,
        settings: &StudioSettings,
    ) -> Result<Arc<ProviderMetadataWithLogout>, OidcError> {
        let mut cached = self.metadata.lock().await;
        if let Some(metadata) = cached.as_ref() {
            return Ok(Arc::clone(metadata));
        }
        let issuer =
            IssuerUrl::new(settings.issuer.clone()).map_err(|e| OidcError::Unavailable(e.to_string()))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, self.http())
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery failed: {e}")))?;
        let metadata = Arc::new(metadata);
        *cached = Some(Arc::clone(&metadata));
        Ok(metadata)
    }

    async fn client(
        &self,
        settings: &StudioSettings,
        redirect_uri: &str,
    ) -> Result<
        (
            CoreClient<
                openidconnect::EndpointSet,
                openidconnect::EndpointNotSet,
                openidconnect::EndpointNotSet,
                openidconnect::EndpointNotSet,
                openidconnect::EndpointMaybeSet,
                openidconnect::EndpointMaybeSet,
            >,
            Arc<ProviderMetadataWithLogout>,
        ),
        OidcError,
    > {
        let metadata = self.metadata(settings).await?;
        let secret = settings.client_secret.as_ref().map(|s| ClientSecret::new(s.0.clone()));
        let redirect =
            RedirectUrl::new(redirect_uri.to_string()).map_err(|e| OidcError::Unavailable(e.to_string()))?;
        let client = CoreClient::from_provider_metadata(
            metadata.as_ref().clone(),
            ClientId::new(settings.client_id.clone()),
            secret,
        )
        .set_redirect_uri(redirect);
        Ok((client, metadata))
    }

    /// Where to send the browser, and what the callback must find in the session.
    pub async fn start(
        &self,
        settings: &StudioSettings,
        redirect_uri: &str,
        return_to: String,
    ) -> Result<(String, PendingSignIn), OidcError> {
        let (client, _) = self.client(settings, redirect_uri).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in settings.scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        // OpenID Connect Core §11: a refresh token for offline use is granted with an explicit
        // consent prompt (oidc-provider enforces it; others accept it).
        if settings.scopes.iter().any(|s| s == "offline_access") {
            request = request.add_prompt(openidconnect::core::CoreAuthPrompt::Consent);
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let pending = PendingSignIn {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
        };
        Ok((url.to_string(), pending))
    }

    /// Exchange the code (with the PKCE verifier) and verify the ID token (signature, issuer,
    /// audience, expiry, nonce).
    pub async fn finish(
        &self,
        settings: &StudioSettings,
        redirect_uri: &str,
        pending: &PendingSignIn,
        code: String,
    ) -> Result<Tokens, OidcError> {
        let (client, _) = self.client(settings, redirect_uri).await?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| OidcError::Unavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(self.http())
            .await
            .map_err(|e| OidcError::Refused(format!("code exchange failed: {}", describe(&e))))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::Refused("the token response has no ID token".into()))?;
        let claims: &IdTokenClaims<EmptyAdditionalClaims, CoreGenderClaim> = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(pending.nonce.clone()))
            .map_err(|e| OidcError::Refused(format!("ID token: {e}")))?;
        let name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string());
        Ok(Tokens {
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
            id_token: Some(id_token.to_string()),
            name,
        })
    }

    /// A new access token from the refresh token, on the server.
    pub async fn refresh(
        &self,
        settings: &StudioSettings,
        redirect_uri: &str,
        refresh_token: &str,
    ) -> Result<Tokens, OidcError> {
        let (client, _) = self.client(settings, redirect_uri).await?;
        let response = client
            .exchange_refresh_token(&RefreshToken::new(refresh_token.to_string()))
            .map_err(|e| OidcError::Unavailable(e.to_string()))?
            .request_async(self.http())
            .await
            .map_err(|e| OidcError::Refused(format!("refresh failed: {}", describe(&e))))?;
        Ok(Tokens {
            access_token: response.access_token().secret().clone(),
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
            id_token: response.id_token().map(|t| t.to_string()),
            name: None,
        })
    }

    /// The IdP's end-session URL (RP-initiated logout), when it offers one.
    pub async fn logout_url(
        &self,
        settings: &StudioSettings,
        id_token: Option<&str>,
        post_logout_redirect_uri: &str,
    ) -> Option<String> {
        let metadata = self.metadata(settings).await.ok()?;
        let endpoint = metadata.additional_metadata().end_session_endpoint.clone()?;
        let mut request =
            LogoutRequest::from(endpoint).set_client_id(ClientId::new(settings.client_id.clone()));
        if let Ok(redirect) = PostLogoutRedirectUrl::new(post_logout_redirect_uri.to_string()) {
            request = request.set_post_logout_redirect_uri(redirect);
        }
        if let Some(hint) = id_token.and_then(|t| t.parse::<openidconnect::core::CoreIdToken>().ok()) {
            request = request.set_id_token_hint(&hint);
        }
        Some(request.http_get_url().to_string())
    }
}

/// A request error without the response body (which could echo a code or token).
fn describe<E: std::error::Error>(error: &E) -> String {
    error.to_string().lines().next().unwrap_or("").chars().take(200).collect()
}
