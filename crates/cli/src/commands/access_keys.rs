//! `nemo auth access-keys create | list | revoke | suspend | unsuspend`, printing what the
//! official CLI prints (create: the key alone; list: the metadata; the others: one sentence).

use nmp_client::wire::access_keys::{AccessKeyCreateRequest, ACCESS_KEYS_DISABLED_DETAIL};
use nmp_client::{ApiDetail, Error};

use crate::cli::{AccessKeysCommand, Cli};
use crate::exit::Unexpected;
use crate::output::{self, Column};
use crate::session::Session;

const COLUMNS: &[Column] = &[
    ("jti", "jti"),
    ("name", "name"),
    ("description", "description"),
    ("entity_type", "entity_type"),
    ("principal", "principal"),
    ("status", "status"),
    ("issuer", "issuer"),
    ("audiences", "audiences"),
    ("created_at", "created_at"),
    ("expires_at", "expires_at"),
];

/// `--expires-in`: a positive number of seconds, or `none`/`null` (any case) for no expiry.
fn expires_in(text: &str) -> Result<Option<u64>, Unexpected> {
    if text.eq_ignore_ascii_case("none") || text.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    match text.trim().parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Some(seconds)),
        _ => Err(Unexpected("--expires-in must be a positive integer number of seconds or 'none'.".into())),
    }
}

/// The "feature off" answer is a local error (exit 1) for the official CLI too.
fn disabled_is_unexpected(error: Error) -> anyhow::Error {
    match &error {
        Error::Api { status: 404, detail: ApiDetail::Message(message) }
            if message == ACCESS_KEYS_DISABLED_DETAIL =>
        {
            Unexpected(ACCESS_KEYS_DISABLED_DETAIL.into()).into()
        }
        _ => error.into(),
    }
}

pub async fn run(cli: &Cli, command: &AccessKeysCommand) -> anyhow::Result<()> {
    if let AccessKeysCommand::Create { expires_in: Some(text), .. } = command {
        expires_in(text)?;
    }
    let session = Session::open(cli).await?;
    let keys = session.client.access_keys();
    match command {
        AccessKeysCommand::Create { name, description, expires_in: lifetime, service_account } => {
            let request = AccessKeyCreateRequest {
                name: name.clone(),
                description: description.clone(),
                expires_in_seconds: lifetime.as_deref().map(expires_in).transpose()?,
                service_account_id: service_account.clone(),
            };
            let created = keys.create(&request).await.map_err(disabled_is_unexpected)?;
            println!("{}", created.token);
        }
        AccessKeysCommand::List { page, page_size } => {
            let listed = keys.list(Some(*page), Some(*page_size)).await.map_err(disabled_is_unexpected)?;
            output::print(session.format, &listed.data, COLUMNS)?;
            if listed.has_more {
                eprintln!("More Scoped Access Keys are available; use --page {} to retrieve them.", page + 1);
            }
        }
        AccessKeysCommand::Revoke { jti } => {
            let outcome = keys.delete(jti).await.map_err(disabled_is_unexpected)?;
            if outcome.revoked {
                println!("Revoked Scoped Access Key {jti}.");
            } else {
                println!("Scoped Access Key {jti} was already revoked.");
            }
        }
        AccessKeysCommand::Suspend { jti } => {
            let outcome = keys.suspend(jti).await.map_err(disabled_is_unexpected)?;
            if outcome.changed {
                println!("Suspended Scoped Access Key {jti}.");
            } else {
                println!("Scoped Access Key {jti} was already {}.", outcome.status.to_lowercase());
            }
        }
        AccessKeysCommand::Unsuspend { jti } => {
            let outcome = keys.unsuspend(jti).await.map_err(disabled_is_unexpected)?;
            if outcome.changed {
                println!("Unsuspended Scoped Access Key {jti}.");
            } else {
                println!("Scoped Access Key {jti} was already {}.", outcome.status.to_lowercase());
            }
        }
    }
    Ok(())
}
