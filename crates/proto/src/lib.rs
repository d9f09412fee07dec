//! Wire types of the nmp HTTP API (what goes over the wire between the server, the Rust SDK and
//! the CLI) and the name rules both sides check.
//!
//! Invariants: no policy, no I/O; field names, optionality and shapes follow the reference
//! contract so the official clients parse our answers unchanged. OpenAPI schemas are derived only
//! with the `openapi` feature, which the server turns on and clients leave off.

pub mod names;
mod wire;

pub use wire::*;
