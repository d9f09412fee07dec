//! One module per command group.

pub mod access_keys;
pub mod auth;
pub mod config;
pub mod iam;
pub mod insight;
pub mod login;
pub mod quickstart;
pub mod workspaces;
