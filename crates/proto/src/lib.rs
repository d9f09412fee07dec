//! What every part of nmp shares: the wire types of the HTTP API (between the server, the Rust
//! SDK and the CLI), the name rules both sides check, and the one [`clock::Clock`].
//!
//! Invariants: no policy, no I/O; field names, optionality and shapes follow the reference
//! contract so the official clients parse our answers unchanged. OpenAPI schemas are derived only
//! with the `openapi` feature, which the server turns on and clients leave off.

pub mod access_keys;
pub mod clock;
pub mod insight;
pub mod names;
mod wire;

pub use wire::*;
