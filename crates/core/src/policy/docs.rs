//! Documentation generated from the policy data, so `docs/access-control.md` cannot drift from
//! what the PDP enforces (a test compares the doc section with this output).

use std::fmt::Write;

use super::data::PolicyData;
use super::index::{PLATFORM_ADMIN_ROLE, SERVICE_DEFAULT_ROLE};

/// Marker comments around the generated section of `docs/access-control.md`.
pub const MATRIX_BEGIN: &str =
    "<!-- BEGIN GENERATED: role matrix (nmp_core::policy::docs::role_matrix_markdown) -->";
pub const MATRIX_END: &str = "<!-- END GENERATED: role matrix -->";

/// The roles table and the permission × role matrix, as Markdown.
pub fn role_matrix_markdown(policy: &PolicyData) -> String {
    let mut out = String::new();
    let roles = policy.roles();

    out.push_str("| Role | Includes | Grants |\n| --- | --- | --- |\n");
    for role in roles {
        let includes = if role.includes.is_empty() {
            "—".to_string()
        } else {
            role.includes.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
        };
        let count = role.effective_permissions(policy.permissions()).len();
        let mut grants = match (role.grants_everything(), count) {
            (true, _) => "every permission (`*`)".to_string(),
            (false, 1) => "1 permission".to_string(),
            (false, n) => format!("{n} permissions"),
        };
        if role.name == PLATFORM_ADMIN_ROLE {
            grants.push_str("; bound in `system`, also bypasses workspace and scope checks");
        }
        if role.name == SERVICE_DEFAULT_ROLE {
            grants.push_str("; implicit for `service:` principals without bindings");
        }
        let _ = writeln!(out, "| `{}` | {includes} | {grants} |", role.name);
    }

    out.push_str("\n| Permission | Endpoints |");
    for role in roles {
        let _ = write!(out, " {} |", role.name);
    }
    out.push_str("\n| --- | ---: |");
    for _ in roles {
        out.push_str(" :---: |");
    }
    out.push('\n');
    for permission in policy.permissions() {
        let endpoints =
            policy.endpoints().iter().filter(|endpoint| endpoint.permissions.contains(permission)).count();
        let _ = write!(out, "| `{permission}` | {endpoints} |");
        for role in roles {
            out.push_str(if role.grants(permission) { " ✓ |" } else { " |" });
        }
        out.push('\n');
    }
    out
}

/// The text between the markers of `document`, if both are present.
pub fn generated_section(document: &str) -> Option<&str> {
    let start = document.find(MATRIX_BEGIN)? + MATRIX_BEGIN.len();
    let end = document[start..].find(MATRIX_END)? + start;
    Some(document[start..end].trim_matches('\n'))
}
