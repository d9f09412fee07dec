//! The pure domain of nmp: identities, names, role bindings and the access decision.
//!
//! Invariant: nothing in this crate performs I/O, reads the clock or spawns tasks. Time is passed
//! in as a parameter, so every rule here is testable in microseconds.

pub mod binding;
/// The one clock of the project (defined with the types every crate shares).
pub use nmp_proto::clock;
pub mod filter;
pub mod ident;
pub mod names;
pub mod policy;
pub mod principal;

pub use binding::{binding_name_for_api, binding_name_for_seed, BindingRef, RoleBinding};
pub use ident::{PrincipalId, RoleName, WorkspaceName};
pub use policy::{decide, BindingIndex, Decision, PolicyData, Request, Verdict, Visibility};
pub use principal::{Principal, PrincipalHeaderError};

/// The workspace that holds platform-level bindings (`PlatformAdmin`, `WorkspaceCreator`, ...).
pub use nmp_proto::names::SYSTEM_WORKSPACE;
/// The workspace every authenticated user may edit by default.
pub const DEFAULT_WORKSPACE: &str = "default";
/// The principal that stands for "every authenticated principal" in a binding.
pub const WILDCARD_PRINCIPAL: &str = "*";
/// `granted_by` / `created_by` when nobody in particular did it (seeding, auth off without headers).
pub const SYSTEM_ACTOR: &str = "system";
