//! `nemo auth whoami|can-i|explain` and `nemo iam who-can|audit|access-state`: the server's
//! access-insight API.
//! `can-i` exits 0 for yes and 1 for no, printing the answer either way.

use futures_util::TryStreamExt;
use nmp_client::wire::insight::{ExplainInput, Explanation, SuggestedChange};
use nmp_client::Error;

use crate::cli::{AuditArgs, CanIArgs, Cli, ExplainArgs, OutputFormat};
use crate::exit::{AnswerNo, UsageError};
use crate::output;
use crate::session::Session;

pub async fn whoami(cli: &Cli) -> anyhow::Result<()> {
    let session = Session::open(cli).await?;
    let me = session.client.insight().whoami().await?;
    if session.format != OutputFormat::Table {
        return output::print(session.format, &me, &[]);
    }
    let list = |items: &[String]| if items.is_empty() { "-".to_string() } else { items.join(", ") };
    let pairs = [
        ("Auth enabled", me.auth_enabled.to_string()),
        ("Principal", me.principal.clone().unwrap_or_else(|| "(anonymous)".into())),
        ("Email", me.email.clone().unwrap_or_else(|| "-".into())),
        ("Groups", list(&me.groups)),
        ("Scopes", me.scopes.as_deref().map(list).unwrap_or_else(|| "(no scope claim)".into())),
        ("Token kind", me.token_kind.clone().unwrap_or_else(|| "-".into())),
        ("Expires at", me.expires_at.clone().unwrap_or_else(|| "-".into())),
        ("Platform roles", list(&me.platform_roles)),
        ("PlatformAdmin", me.platform_admin.to_string()),
    ];
    output::print_pairs(session.format, &pairs.map(|(k, v)| (k.to_string(), v)))
}

/// The permission a kubectl-style `VERB RESOURCE` names: `RESOURCE.VERB`, with `get` read as
/// `read`, `members` as `workspaces.members` and `role-bindings` as `iam`.
pub fn permission_for(verb: &str, resource: &str) -> String {
    let verb = match verb.to_ascii_lowercase().as_str() {
        "get" => "read".to_string(),
        other => other.to_string(),
    };
    let resource = match resource.to_ascii_lowercase().as_str() {
        "members" | "member" => "workspaces.members".to_string(),
        "role-bindings" | "rolebindings" => "iam".to_string(),
        "workspace" => "workspaces".to_string(),
        "project" => "projects".to_string(),
        other => other.to_string(),
    };
    format!("{resource}.{verb}")
}

fn yes_no(allowed: bool) -> anyhow::Result<()> {
    if allowed {
        Ok(())
    } else {
        Err(AnswerNo.into())
    }
}

pub async fn can_i(cli: &Cli, args: &CanIArgs) -> anyhow::Result<()> {
    let session = Session::open(cli).await?;
    let insight = session.client.insight();
    if args.list {
        let workspace = session.workspace(args.workspace.as_deref())?;
        let list = insight.permissions(&workspace, None).await?;
        if session.format != OutputFormat::Table {
            return output::print(session.format, &list, &[]);
        }
        let rows: Vec<serde_json::Value> =
            list.permissions.iter().map(|p| serde_json::json!({"permission": p})).collect();
        println!(
            "Roles in {}: {}",
            list.workspace,
            if list.roles.is_empty() { "none".into() } else { list.roles.join(", ") }
        );
        return output::print(session.format, &rows, &[("PERMISSION", "permission")]);
    }
    let [first, second] = args.request.as_slice() else {
        return Err(UsageError(
            "can-i needs METHOD PATH, VERB RESOURCE --workspace W, or --list --workspace W".into(),
        )
        .into());
    };
    if second.starts_with('/') {
        let input = ExplainInput { method: first.clone(), path: second.clone(), ..ExplainInput::default() };
        let explanation = insight.explain(&input).await?;
        match session.format {
            OutputFormat::Table => {
                println!("{}", if explanation.allowed { "yes" } else { "no" });
                if !explanation.allowed {
                    println!("{}", explanation.summary);
                }
            }
            format => output::print(
                format,
                &serde_json::json!({"allowed": explanation.allowed, "summary": explanation.summary}),
                &[],
            )?,
        }
        return yes_no(explanation.allowed);
    }
    let workspace = session.workspace(args.workspace.as_deref())?;
    let permission = permission_for(first, second);
    let held = match insight.permissions(&workspace, Some(&permission)).await {
        Ok(list) => list.permissions.contains(&permission),
        Err(Error::Api { status: 422, .. }) => {
            return Err(
                UsageError(format!("unknown permission `{permission}` (from `{first} {second}`)")).into()
            )
        }
        Err(error) => return Err(error.into()),
    };
    match session.format {
        OutputFormat::Table => println!("{}", if held { "yes" } else { "no" }),
        format => output::print(
            format,
            &serde_json::json!({"allowed": held, "permission": permission, "workspace": workspace}),
            &[],
        )?,
    }
    yes_no(held)
}

pub async fn explain(cli: &Cli, args: &ExplainArgs) -> anyhow::Result<()> {
    let session = Session::open(cli).await?;
    let input = ExplainInput {
        method: args.method.clone(),
        path: args.path.clone(),
        principal: args.as_principal.clone(),
        email: args.as_email.clone(),
        groups: (!args.as_groups.is_empty()).then(|| args.as_groups.clone()),
        scopes: (!args.as_scopes.is_empty()).then(|| args.as_scopes.clone()),
    };
    let explanation = session.client.insight().explain(&input).await?;
    if session.format != OutputFormat::Table {
        return output::print(session.format, &explanation, &[]);
    }
    print_explanation(&explanation);
    Ok(())
}

fn print_explanation(e: &Explanation) {
    let none = |items: &[String]| if items.is_empty() { "-".to_string() } else { items.join(", ") };
    println!("{} {} as {}: {}", e.method, e.path, e.principal, if e.allowed { "ALLOWED" } else { "DENIED" });
    println!("  {}", e.summary);
    println!("  rule:        {}", e.reason);
    println!("  endpoint:    {}", e.endpoint.as_deref().unwrap_or("(none matches)"));
    println!("  workspace:   {}", e.role_workspace.as_deref().or(e.workspace.as_deref()).unwrap_or("-"));
    println!("  needs:       {}", none(&e.required_permissions));
    println!(
        "  scopes:      accepts {}; token has {}",
        none(&e.accepted_scopes),
        e.token_scopes.as_deref().map(none).unwrap_or_else(|| "no scope claim".into())
    );
    let identities: Vec<String> = e.identities.iter().map(|i| format!("{} ({})", i.value, i.kind)).collect();
    println!("  identities:  {}", none(&identities));
    let layers: Vec<String> =
        e.layers.iter().map(|l| format!("{} {}", l.layer, if l.passed { "✓" } else { "✗" })).collect();
    println!("  checked:     {}", layers.join(" → "));
    if e.bindings.is_empty() {
        println!("  bindings:    none");
    }
    for b in &e.bindings {
        let through = match (&b.through, &b.through_kind) {
            (Some(who), Some(kind)) => format!("through {kind} {who}"),
            _ => "implicit for services".to_string(),
        };
        println!("  binding:     {} in {} {} (grants: {})", b.role, b.workspace, through, none(&b.grants));
    }
    for change in &e.suggestion {
        match change {
            SuggestedChange::AddScope { scope, accepted } => {
                println!("  to allow:    add scope {scope} to the token (any of {})", accepted.join(", "))
            }
            SuggestedChange::Grant { .. } => {
                if let Some(command) = change.command() {
                    println!("  to allow:    {command}")
                }
            }
        }
    }
    if let Some(why) = &e.impossible {
        println!("  no change of roles or scopes allows it: {why}");
    }
}

pub async fn who_can(cli: &Cli, permission: &str, workspace: Option<&str>) -> anyhow::Result<()> {
    let session = Session::open(cli).await?;
    let workspace = session.workspace(workspace)?;
    let who = session.client.insight().who_can(&workspace, permission).await?;
    if session.format != OutputFormat::Table {
        return output::print(session.format, &who, &[]);
    }
    output::print(
        session.format,
        &who.holders,
        &[("PRINCIPAL", "principal"), ("ROLE", "role"), ("WORKSPACE", "workspace"), ("VIA", "via")],
    )
}

const AUDIT_COLUMNS: &[output::Column] = &[
    ("AT", "at"),
    ("ACTOR", "actor"),
    ("ACTION", "action"),
    ("WORKSPACE", "workspace"),
    ("PRINCIPAL", "principal"),
    ("BEFORE", "before"),
    ("AFTER", "after"),
    ("REQUEST ID", "request_id"),
];

pub async fn audit(cli: &Cli, args: &AuditArgs) -> anyhow::Result<()> {
    let session = Session::open(cli).await?;
    let insight = session.client.insight();
    let query = nmp_client::AuditEventQuery {
        workspace: args.workspace.clone(),
        principal: args.principal.clone(),
        actor: args.actor.clone(),
        action: args.action.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
        page: args.page,
        page_size: args.page_size,
        sort: args.oldest_first.then(|| "created_at".to_string()),
    };
    let events = if args.all_pages {
        insight.audit_events_all(query).try_collect().await?
    } else {
        insight.audit_events(&query).await?.data
    };
    output::print(session.format, &events, AUDIT_COLUMNS)
}

pub async fn access_state(cli: &Cli, csv: bool) -> anyhow::Result<()> {
    let session = Session::open(cli).await?;
    let insight = session.client.insight();
    if csv {
        print!("{}", insight.access_state_csv().await?);
        return Ok(());
    }
    let state = insight.access_state().await?;
    if session.format != OutputFormat::Table {
        return output::print(session.format, &state, &[]);
    }
    output::print(
        session.format,
        &state.bindings,
        &[
            ("WORKSPACE", "workspace"),
            ("PRINCIPAL", "principal"),
            ("ROLE", "role"),
            ("GRANTED BY", "granted_by"),
            ("GRANTED AT", "granted_at"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::permission_for;

    #[test]
    fn kubectl_style_verbs_and_resources_name_permissions() {
        assert_eq!(permission_for("create", "members"), "workspaces.members.create");
        assert_eq!(permission_for("get", "workspaces"), "workspaces.read");
        assert_eq!(permission_for("delete", "workspace"), "workspaces.delete");
        assert_eq!(permission_for("list", "role-bindings"), "iam.list");
        assert_eq!(permission_for("exec", "inference.gateway.openai"), "inference.gateway.openai.exec");
    }
}
