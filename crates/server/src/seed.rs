//! Seeding at start: the `system` and default workspaces and the reference's seed bindings.
//! Idempotent and safe on every start; a seed binding an operator revoked stays revoked.

use nmp_core::{binding_name_for_seed, SYSTEM_ACTOR, SYSTEM_WORKSPACE, WILDCARD_PRINCIPAL};
use nmp_store::{Grant, NewWorkspace, SeedOutcome, Store, StoreResult};
use time::OffsetDateTime;

use crate::config::AuthConfig;

/// The bindings seeding maintains: (principal, workspace, role).
pub fn seed_bindings(auth: &AuthConfig) -> Vec<(String, String, &'static str)> {
    let mut seeds = Vec::new();
    if let Some(admin) = &auth.admin_email {
        seeds.push((admin.clone(), SYSTEM_WORKSPACE.to_string(), "PlatformAdmin"));
    }
    if auth.seed_default_workspace_editor {
        seeds.push((WILDCARD_PRINCIPAL.to_string(), auth.default_workspace.clone(), "Editor"));
    }
    seeds.push((WILDCARD_PRINCIPAL.to_string(), SYSTEM_WORKSPACE.to_string(), "Viewer"));
    seeds.push((WILDCARD_PRINCIPAL.to_string(), SYSTEM_WORKSPACE.to_string(), "WorkspaceCreator"));
    seeds
}

pub fn seed(store: &dyn Store, auth: &AuthConfig, at: OffsetDateTime) -> StoreResult<()> {
    for (name, description) in [
        (SYSTEM_WORKSPACE.to_string(), "Platform-level bindings"),
        (auth.default_workspace.clone(), "Default workspace"),
    ] {
        let new = NewWorkspace {
            name: name.as_str().into(),
            description: Some(description.into()),
            actor: SYSTEM_ACTOR.into(),
            at,
        };
        if store.ensure_workspace(&new)? {
            tracing::info!(workspace = %name, "created workspace");
        }
    }
    for (principal, workspace, role) in seed_bindings(auth) {
        let grant = Grant {
            name: binding_name_for_seed(&principal, &workspace, role),
            principal: principal.as_str().into(),
            workspace: workspace.as_str().into(),
            role: role.into(),
            granted_by: SYSTEM_ACTOR.into(),
            at,
        };
        match store.ensure_seed_binding(&grant)? {
            SeedOutcome::Created(_) => {
                tracing::info!(%principal, %workspace, %role, "created seed role binding")
            }
            SeedOutcome::AlreadyActive => {}
            SeedOutcome::RevokedByOperator => tracing::warn!(
                %principal, %workspace, %role,
                "seed role binding was revoked by an operator; not re-creating it"
            ),
        }
    }
    Ok(())
}
