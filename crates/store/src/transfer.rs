//! Moving a whole store to another backend (a quickstart's SQLite file into PostgreSQL): every
//! workspace, project and role binding, revoked bindings included, with their ids, names and
//! times unchanged, so listings and decisions are the same afterwards; and the audit trail, with
//! its event ids, so its history continues where it was.

use crate::{AuditEvent, Project, RoleBinding, Workspace};

/// Everything a store holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub workspaces: Vec<Workspace>,
    pub projects: Vec<Project>,
    pub bindings: Vec<RoleBinding>,
    /// Oldest first.
    pub audit_events: Vec<AuditEvent>,
}

/// What an import did (or would have refused to overwrite).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub workspaces: usize,
    pub projects: usize,
    pub bindings: usize,
    pub audit_events: usize,
}

impl Snapshot {
    pub fn counts(&self) -> Counts {
        Counts {
            workspaces: self.workspaces.len(),
            projects: self.projects.len(),
            bindings: self.bindings.len(),
            audit_events: self.audit_events.len(),
        }
    }
}
