//! Exit codes and error wording: 0 ok, 1 local error, 2 usage, 3 remote/API error.

use nmp_client::{AuthError, Error};

pub const LOCAL: i32 = 1;
pub const USAGE: i32 = 2;
pub const REMOTE: i32 = 3;

const HINT_403: &str = "Hint: Your current credentials do not have access to perform this operation. Contact your administrator to request access.";
const HINT_409: &str = "Hint: This can mean a resource with that name already exists (try a different name or delete the existing one), or a concurrent update conflicted (retry the operation).";
const HINT_401: &str = "Hint: Run 'nemo auth login' or set the token manually with nemo config set --access-token <token>, or use NMP_ACCESS_TOKEN.";
const HINT_EXPIRED: &str = "Hint: Run 'nemo auth login' to re-authenticate.";

/// A usage error found after parsing (clap's own exit with 2 already).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `can-i` answered no: exit 1, the answer is already printed.
#[derive(Debug, thiserror::Error)]
#[error("no")]
pub struct AnswerNo;

/// A local error the official CLI reports as `Unexpected error: ...` (exit 1), e.g. a bad
/// `--expires-in`, or Scoped Access Keys being off on the server.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unexpected(pub String);

/// The exit code and the stderr lines for an error.
pub fn report(error: &anyhow::Error) -> (i32, Vec<String>) {
    if error.downcast_ref::<AnswerNo>().is_some() {
        return (LOCAL, Vec::new());
    }
    if let Some(usage) = error.downcast_ref::<UsageError>() {
        return (USAGE, vec![format!("Error: {usage}")]);
    }
    if let Some(unexpected) = error.downcast_ref::<Unexpected>() {
        return (
            LOCAL,
            vec![
                format!("Unexpected error: {unexpected}"),
                "Hint: Run with --verbose for more details.".to_string(),
            ],
        );
    }
    if let Some(sdk) = error.downcast_ref::<Error>() {
        return report_sdk(sdk);
    }
    (LOCAL, vec![format!("Error: {error:#}")])
}

fn report_sdk(error: &Error) -> (i32, Vec<String>) {
    match error {
        Error::Api { status, detail } => {
            let (label, hint) = match status {
                401 => ("Authentication error", Some(HINT_401)),
                403 => ("Permission denied", Some(HINT_403)),
                404 => ("Not found", None),
                409 => ("Conflict", Some(HINT_409)),
                422 => ("Validation error", None),
                400 => ("Bad request", None),
                _ => ("API error", None),
            };
            let mut lines = vec![format!("{label}: ({status}) {detail}")];
            lines.extend(hint.map(str::to_string));
            (REMOTE, lines)
        }
        Error::Transport { .. } | Error::Decode { .. } => (REMOTE, vec![format!("Error: {error}")]),
        Error::Auth(AuthError::TokenExpired) => {
            (LOCAL, vec![format!("Error: {error}"), HINT_EXPIRED.to_string()])
        }
        Error::Auth(AuthError::Rejected { .. }) => {
            (LOCAL, vec![format!("Error: {error}"), HINT_EXPIRED.to_string()])
        }
        Error::Auth(AuthError::IdpUnavailable(_)) => (REMOTE, vec![format!("Error: {error}")]),
        Error::Config(nmp_client::config::ConfigError::NotFound(_)) => {
            (LOCAL, vec![format!("Unexpected error: {error}")])
        }
        _ => (LOCAL, vec![format!("Error: {error}")]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nmp_client::ApiDetail;

    fn api(status: u16, detail: &str) -> anyhow::Error {
        Error::Api { status, detail: ApiDetail::Message(detail.into()) }.into()
    }

    #[test]
    fn api_errors_exit_3_with_reference_wording() {
        assert_eq!(
            report(&api(403, "Forbidden")),
            (REMOTE, vec!["Permission denied: (403) Forbidden".to_string(), HINT_403.to_string()])
        );
        assert_eq!(
            report(&api(409, "Workspace 'ws1' already exists")),
            (
                REMOTE,
                vec!["Conflict: (409) Workspace 'ws1' already exists".to_string(), HINT_409.to_string()]
            )
        );
        assert_eq!(
            report(&api(401, "Unauthorized")),
            (REMOTE, vec!["Authentication error: (401) Unauthorized".to_string(), HINT_401.to_string()])
        );
        assert_eq!(report(&api(500, "boom")).0, REMOTE);
    }

    #[test]
    fn local_usage_and_expiry_errors() {
        assert_eq!(report(&anyhow::anyhow!("disk full")).0, LOCAL);
        assert_eq!(report(&UsageError("bad".into()).into()).0, USAGE);
        let expired: anyhow::Error = Error::Auth(AuthError::TokenExpired).into();
        assert_eq!(
            report(&expired),
            (
                LOCAL,
                vec![
                    "Error: Your access token has expired and could not be refreshed.".to_string(),
                    HINT_EXPIRED.to_string()
                ]
            )
        );
        let missing: anyhow::Error =
            Error::Config(nmp_client::config::ConfigError::NotFound("/x.yaml".into())).into();
        assert_eq!(
            report(&missing),
            (LOCAL, vec!["Unexpected error: Config file not found at /x.yaml".to_string()])
        );
    }
}
