//! Names users choose (workspaces, projects): the pattern lives with the wire types
//! (`nmp_proto::names`) so validation and the published schema share it; the names the platform
//! reserves for itself live here.

pub use nmp_proto::names::{is_valid_name, MAX_NAME_LEN, NAME_PATTERN};

/// Names the platform creates itself; users cannot create or delete them.
pub fn is_reserved_workspace(name: &str) -> bool {
    name == crate::SYSTEM_WORKSPACE || name == crate::DEFAULT_WORKSPACE
}
