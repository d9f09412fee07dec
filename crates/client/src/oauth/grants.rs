//! Single-request grants through the `oauth2` crate: password (CI) and refresh.

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse, BasicTokenType};
use oauth2::{
    AuthType, ClientId, RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername, Scope,
    TokenResponse, TokenUrl,
};

use super::transport::{IdpTransport, TransportError};
use super::{OidcEndpoints, TokenSet};
use crate::error::AuthError;
use crate::secret::Secret;

fn token_client(
    endpoints: &OidcEndpoints,
) -> Result<
    BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    AuthError,
> {
    let token_url = TokenUrl::new(endpoints.token_endpoint.clone())
        .map_err(|error| AuthError::InvalidTokenResponse(format!("token endpoint: {error}")))?;
    Ok(BasicClient::new(ClientId::new(endpoints.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri(token_url))
}

/// Resource-owner password grant, for CI (`--username/--password`).
pub async fn password_grant(
    http: &reqwest::Client,
    endpoints: &OidcEndpoints,
    username: &str,
    password: &Secret,
    scopes: &[String],
) -> Result<TokenSet, AuthError> {
    let client = token_client(endpoints)?;
    let username = ResourceOwnerUsername::new(username.to_string());
    let password = ResourceOwnerPassword::new(password.expose().to_string());
    let send = IdpTransport { client: http.clone(), budget: None };
    let response = client
        .exchange_password(&username, &password)
        .add_scopes(scopes.iter().cloned().map(Scope::new))
        .request_async(&send)
        .await
        .map_err(map_error)?;
    token_set_from(response)
}

/// Refresh-token grant. An answer without `refresh_token` means "keep the old one".
pub async fn refresh_grant(
    http: &reqwest::Client,
    endpoints: &OidcEndpoints,
    refresh_token: &Secret,
    scopes: &[String],
) -> Result<TokenSet, AuthError> {
    let client = token_client(endpoints)?;
    let refresh_token = RefreshToken::new(refresh_token.expose().to_string());
    let send = IdpTransport { client: http.clone(), budget: None };
    let response = client
        .exchange_refresh_token(&refresh_token)
        .add_scopes(scopes.iter().cloned().map(Scope::new))
        .request_async(&send)
        .await
        .map_err(map_error)?;
    token_set_from(response)
}

/// Accept only Bearer tokens with a non-empty access token (RFC 6749 §5.1).
pub(super) fn token_set_from(response: BasicTokenResponse) -> Result<TokenSet, AuthError> {
    if *response.token_type() != BasicTokenType::Bearer {
        return Err(AuthError::InvalidTokenResponse(format!(
            "token_type `{}` is not Bearer",
            response.token_type().as_ref()
        )));
    }
    let access_token = response.access_token().secret();
    if access_token.is_empty() {
        return Err(AuthError::InvalidTokenResponse("empty access_token".into()));
    }
    Ok(TokenSet {
        access_token: Secret::new(access_token.clone()),
        refresh_token: response.refresh_token().map(|token| Secret::new(token.secret().clone())),
        expires_in: response.expires_in(),
        scopes: response.scopes().map(|scopes| scopes.iter().map(|scope| scope.to_string()).collect()),
    })
}

pub(super) fn map_error(error: RequestTokenError<TransportError, BasicErrorResponse>) -> AuthError {
    match error {
        RequestTokenError::ServerResponse(response) => AuthError::Rejected {
            code: response.error().as_ref().to_string(),
            description: response.error_description().cloned(),
        },
        RequestTokenError::Request(transport) => AuthError::IdpUnavailable(transport.to_string()),
        RequestTokenError::Parse(error, _body) => AuthError::InvalidTokenResponse(error.to_string()),
        RequestTokenError::Other(message) => AuthError::IdpUnavailable(message),
    }
}
