//! Policy: roles, permissions, scopes, the endpoint map, the binding index and the access
//! decision, all pure. The shipped data lives in `crates/core/policy/` (TSV and Rego).
//!
//! Entry points: `classify` (public paths, callouts, the rest) per request path,
//! `PolicyData::builtin` / `PolicyData::with_extensions` once at start,
//! `BindingIndex` kept current by the server, and `decide` / `has_permissions` / `has_role` /
//! `BindingIndex::visible_workspaces` per request, `PolicyData::check_grantable` per grant;
//! `explain`, `permissions_held`, `who_can` and `may_inspect` for access insight (same code path). `bundle_data` and `rego_sources` feed OPA.

mod bundle;
mod data;
mod decide;
pub mod docs;
mod error;
mod explain;
mod extensions;
pub mod grammar;
mod grants;
mod index;
mod interner;
mod load;
mod pattern;
pub mod surface;

pub use bundle::{allow_input, bundle_data, identity_input, rego_sources};
pub use data::{Endpoint, PolicyData, Role, Route};
pub use decide::{
    decide, has_permissions, has_role, is_platform_admin, scopes_allow, Allow, Decision, Deny, DenyRule,
    Layer, Request, Verdict, ALL_WORKSPACES, HEALTH_PATHS,
};
pub use error::PolicyError;
pub use explain::{
    explain, may_inspect, permissions_held, role_sources_in, roles_granting, who_can, Change, Explanation,
    Holder, Identity, IdentityKind, Remedy, RoleSource, INSPECT_PERMISSION,
};
pub use extensions::{Callers, EndpointSpec, PolicyExtensions, RoleSpec};
pub use grants::{GrantError, IMPLICIT_ROLES, PLATFORM_ROLES};
pub use index::{
    BindingIndex, BindingIndexBuilder, Resolved, Visibility, PLATFORM_ADMIN_ROLE, SERVICE_DEFAULT_ROLE,
};
pub use load::{PolicySources, MAX_INCLUDE_DEPTH, SHIPPED};
pub use pattern::{PathPattern, Segment};
pub use surface::{classify, is_pdp_path, PathClass};
