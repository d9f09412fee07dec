//! Wire types of access insight, our own API under `/apis/auth/v2/` (no reference
//! counterpart): `whoami`, `explain`, a caller's permissions in a workspace (`can-i --list`),
//! `who-can`, the audit trail and the access-state export.

use serde::{Deserialize, Serialize};

/// `POST /apis/auth/v2/explain`: a request to explain, for the caller or, when `principal` is
/// given, for that principal (PlatformAdmins, and the Admins of the workspace the request
/// concerns). `email`, `groups` and `scopes` describe that principal; without `scopes` its
/// token is taken to carry no scope claim.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainInput {
    pub method: String,
    /// The request path, with or without its query string.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// Why a request is allowed or denied, from the decision code that enforces it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explanation {
    pub allowed: bool,
    /// The rule that decided (`RoleGrants`, `MissingPermissions`, `MissingScope`, ...).
    pub reason: String,
    /// One or two sentences for people.
    pub summary: String,
    /// Whose access was explained.
    pub principal: String,
    pub method: String,
    pub path: String,
    /// The matched endpoint pattern.
    pub endpoint: Option<String>,
    /// The workspace the path names (`-` = all workspaces).
    pub workspace: Option<String>,
    pub required_permissions: Vec<String>,
    /// Scopes the endpoint accepts (any one).
    pub accepted_scopes: Vec<String>,
    /// The identities bindings were matched against: id, email, groups and `*`.
    pub identities: Vec<ExplainedIdentity>,
    pub token_scopes: Option<Vec<String>>,
    /// The layers of the decision in the order it went through them.
    pub layers: Vec<ExplainedLayer>,
    /// The workspace whose roles count (`system` for platform-level endpoints).
    pub role_workspace: Option<String>,
    /// The principal's bindings there (and a PlatformAdmin binding in `system`).
    pub bindings: Vec<ExplainedBinding>,
    /// Roles that on their own would grant every required permission there, least first.
    pub granting_roles: Vec<String>,
    /// Apply all of these and the request is allowed (empty when allowed or impossible).
    pub suggestion: Vec<SuggestedChange>,
    /// When denied and no change of bindings or scopes helps: why.
    pub impossible: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainedIdentity {
    pub value: String,
    /// `id`, `email`, `group` or `wildcard`.
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainedLayer {
    pub layer: String,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExplainedBinding {
    pub workspace: String,
    pub role: String,
    /// The binding's principal (one of the identities, or `*`); absent for the implicit role of
    /// a service principal.
    pub through: Option<String>,
    pub through_kind: Option<String>,
    /// Which required permissions this role grants.
    pub grants: Vec<String>,
}

/// One change of the smallest set that would allow the request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuggestedChange {
    /// The token must carry `scope` (any of `accepted`).
    AddScope { scope: String, accepted: Vec<String> },
    /// Bind `role` to `principal` in `workspace`.
    Grant { principal: String, workspace: String, role: String },
}

impl SuggestedChange {
    /// The `nemo` command that makes this change, when a command can; the one rule for the CLI's
    /// `auth explain` and Studio's "why" page. A grant in `system` is a platform-level binding,
    /// made through the IAM role-bindings API (which stores it in `system` by default); a grant
    /// anywhere else is a workspace membership. A missing scope needs a new token: no command.
    /// Arguments are quoted for a POSIX shell (a group name may hold spaces, `*` would glob).
    pub fn command(&self) -> Option<String> {
        match self {
            SuggestedChange::AddScope { .. } => None,
            SuggestedChange::Grant { principal, workspace, role }
                if workspace == crate::names::SYSTEM_WORKSPACE =>
            {
                Some(shell_words::join([
                    "nemo",
                    "iam",
                    "role-bindings",
                    "create",
                    "--principal",
                    principal,
                    "--role",
                    role,
                ]))
            }
            SuggestedChange::Grant { principal, workspace, role } => Some(shell_words::join([
                "nemo",
                "workspaces",
                "members",
                "create",
                "--workspace",
                workspace,
                "--principal",
                principal,
                "--roles",
                role,
            ])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SuggestedChange;

    fn grant(principal: &str, workspace: &str, role: &str) -> SuggestedChange {
        SuggestedChange::Grant { principal: principal.into(), workspace: workspace.into(), role: role.into() }
    }

    #[test]
    fn each_suggested_change_has_the_command_that_makes_it() {
        assert_eq!(
            grant("bob@example.com", "ml-team", "Admin").command().as_deref(),
            Some("nemo workspaces members create --workspace ml-team --principal bob@example.com --roles Admin")
        );
        // Platform-level bindings live in `system` and are made through the IAM API.
        assert_eq!(
            grant("bob@example.com", "system", "WorkspaceCreator").command().as_deref(),
            Some("nemo iam role-bindings create --principal bob@example.com --role WorkspaceCreator")
        );
        // What a shell would split or expand is quoted.
        assert_eq!(
            grant("ML Readers", "ml-team", "Viewer").command().as_deref(),
            Some(
                "nemo workspaces members create --workspace ml-team --principal 'ML Readers' --roles Viewer"
            )
        );
        assert_eq!(
            grant("*", "system", "Viewer").command().as_deref(),
            Some("nemo iam role-bindings create --principal '*' --role Viewer")
        );
        let scope = SuggestedChange::AddScope { scope: "entities:write".into(), accepted: vec![] };
        assert_eq!(scope.command(), None);
    }
}

/// `GET /apis/auth/v2/whoami`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoAmI {
    pub auth_enabled: bool,
    pub principal: Option<String>,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub scopes: Option<Vec<String>>,
    /// `oidc_access_token`, `unsigned_token` or `gateway_headers`.
    pub token_kind: Option<String>,
    /// When the token expires (UTC, RFC 3339).
    pub expires_at: Option<String>,
    /// The caller's roles in `system` (PlatformAdmin, WorkspaceCreator, ...).
    pub platform_roles: Vec<String>,
    pub platform_admin: bool,
}

/// `GET /apis/auth/v2/workspaces/{workspace}/permissions`: what the caller holds there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PermissionList {
    pub workspace: String,
    pub principal: String,
    /// The caller's effective roles there.
    pub roles: Vec<String>,
    pub platform_admin: bool,
    /// Every registered permission the caller holds there (only `permission` when asked for one).
    pub permissions: Vec<String>,
}

/// `GET /apis/auth/v2/workspaces/{workspace}/who-can?permission=...`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoCan {
    pub workspace: String,
    pub permission: String,
    pub holders: Vec<WhoCanHolder>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoCanHolder {
    /// The binding's principal: a user id, an email, a group, or `*` (everyone).
    pub principal: String,
    pub role: String,
    /// Where the binding is: the workspace, or `system` for PlatformAdmins.
    pub workspace: String,
    /// `binding` (the principal's own or its group's), `wildcard` (`*`) or `platform_admin`.
    pub via: String,
}

/// One access change, as the audit trail recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Grows with every event.
    pub id: i64,
    /// When (UTC, RFC 3339).
    pub at: String,
    /// Who made the change (principal id; `system` for seeding).
    pub actor: String,
    /// `workspace.created`, `workspace.deleted`, `binding.granted`, `binding.revoked`,
    /// `member.added`, `member.roles_changed`, `member.removed`.
    pub action: String,
    pub workspace: Option<String>,
    /// The principal whose access changed.
    pub principal: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    /// The `X-Request-Id` of the request that made the change.
    pub request_id: Option<String>,
}

/// `GET /apis/auth/v2/access-state`: who holds which role where, for access reviews.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessState {
    /// When the export was made (UTC, RFC 3339).
    pub generated_at: String,
    pub bindings: Vec<AccessStateRow>,
}

/// One active role binding (also one CSV row, in this field order).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessStateRow {
    pub workspace: String,
    pub principal: String,
    pub role: String,
    pub granted_by: String,
    pub granted_at: String,
}
