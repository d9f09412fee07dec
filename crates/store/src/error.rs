//! Typed storage errors. Handlers map them to HTTP statuses in exactly one place (the server).

/// What can go wrong in a store. Messages are the reference's `detail` texts where one exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist. The message names it (`Workspace 'x' not found`).
    #[error("{0}")]
    NotFound(String),
    /// The write conflicts with current state (duplicate name, last Admin, non-empty workspace).
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but not acceptable to the store (e.g. bad filter field).
    #[error("{0}")]
    Invalid(String),
    /// The backend cannot serve requests right now (I/O error, locked, disk full, connection lost).
    /// The message is for logs only: it may name files or SQL.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

pub(crate) fn workspace_not_found(name: &str) -> StoreError {
    StoreError::NotFound(format!("Workspace '{name}' not found"))
}
