//! Domain records to wire types, at the HTTP boundary.

use nmp_core::RoleBinding;
use nmp_proto::{self as wire, timestamps};
use nmp_store::{Project, Workspace};

pub fn workspace(w: Workspace) -> wire::Workspace {
    wire::Workspace {
        id: w.id,
        name: w.name.into_string(),
        description: w.description,
        created_at: timestamps::naive(w.created_at),
        created_by: Some(w.created_by),
        updated_at: timestamps::naive(w.updated_at),
        updated_by: Some(w.updated_by),
    }
}

pub fn project(p: Project) -> wire::Project {
    wire::Project {
        id: p.id,
        name: p.name,
        workspace: p.workspace.into_string(),
        description: p.description,
        created_at: timestamps::naive(p.created_at),
        created_by: Some(p.created_by),
        updated_at: timestamps::naive(p.updated_at),
        updated_by: Some(p.updated_by),
    }
}

pub fn role_binding(b: RoleBinding) -> wire::RoleBinding {
    wire::RoleBinding {
        id: b.id,
        name: b.name,
        principal: b.principal.into_string(),
        workspace: Some(b.workspace.into_string()),
        role: b.role.into_string(),
        granted_by: b.granted_by,
        granted_at: timestamps::utc(b.granted_at),
        revoked_at: b.revoked_at.map(timestamps::utc),
    }
}

/// Group a workspace's active bindings into members: roles in grant order, `granted_at` the
/// earliest grant and `granted_by` its granter; members newest first, as the reference lists them.
pub fn members(bindings: &[RoleBinding]) -> Vec<wire::WorkspaceMember> {
    let mut grouped: Vec<(String, Vec<&RoleBinding>)> = Vec::new();
    for binding in bindings {
        match grouped.iter_mut().find(|(principal, _)| *principal == binding.principal) {
            Some((_, list)) => list.push(binding),
            None => grouped.push((binding.principal.to_string(), vec![binding])),
        }
    }
    let mut out: Vec<(time::OffsetDateTime, wire::WorkspaceMember)> = grouped
        .into_iter()
        .filter_map(|(principal, mut list)| {
            list.sort_by_key(|b| b.granted_at);
            let first = *list.first()?;
            Some((
                first.granted_at,
                wire::WorkspaceMember {
                    principal,
                    roles: list.iter().map(|b| b.role.to_string()).collect(),
                    granted_at: Some(timestamps::utc(first.granted_at)),
                    granted_by: Some(first.granted_by.clone()),
                },
            ))
        })
        .collect();
    out.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    out.into_iter().map(|(_, m)| m).collect()
}

pub fn member(principal: &str, current: &[RoleBinding]) -> wire::WorkspaceMember {
    members(current).into_iter().next().unwrap_or(wire::WorkspaceMember {
        principal: principal.to_string(),
        roles: Vec::new(),
        granted_at: None,
        granted_by: None,
    })
}
