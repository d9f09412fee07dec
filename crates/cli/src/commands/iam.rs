//! `nemo iam role-bindings ...`.

use futures_util::TryStreamExt;
use nmp_client::wire::RoleBindingInput;
use nmp_client::RoleBindingQuery;

use crate::cli::{Cli, IamCommand, RoleBindingsCommand};
use crate::output::{self, Column};
use crate::session::Session;

const COLUMNS: &[Column] = &[
    ("NAME", "name"),
    ("PRINCIPAL", "principal"),
    ("WORKSPACE", "workspace"),
    ("ROLE", "role"),
    ("GRANTED BY", "granted_by"),
    ("GRANTED AT", "granted_at"),
    ("REVOKED AT", "revoked_at"),
];

pub async fn run(cli: &Cli, command: &IamCommand) -> anyhow::Result<()> {
    let command = match command {
        IamCommand::RoleBindings(command) => command,
        IamCommand::WhoCan { permission, workspace } => {
            return crate::commands::insight::who_can(cli, permission, workspace.as_deref()).await
        }
        IamCommand::Audit(args) => return crate::commands::insight::audit(cli, args).await,
        IamCommand::AccessState { csv } => return crate::commands::insight::access_state(cli, *csv).await,
    };
    let session = Session::open(cli).await?;
    let bindings = session.client.role_bindings();
    let format = session.format;
    match command {
        RoleBindingsCommand::Create { principal, role, workspace, wait } => {
            let input = RoleBindingInput {
                principal: principal.clone(),
                workspace: workspace.clone(),
                role: role.clone(),
            };
            output::print(format, &bindings.create(&input, wait.value()).await?, COLUMNS)
        }
        RoleBindingsCommand::List {
            principal,
            workspace,
            role,
            granted_by,
            is_active,
            page,
            page_size,
            all_pages,
        } => {
            let query = RoleBindingQuery {
                principal: principal.clone(),
                workspace: workspace.clone(),
                role: role.clone(),
                granted_by: granted_by.clone(),
                is_active: *is_active,
                page: *page,
                page_size: *page_size,
                sort: None,
            };
            if *all_pages {
                let all: Vec<_> = bindings.list_all(query).try_collect().await?;
                output::print(format, &all, COLUMNS)
            } else {
                output::print(format, &bindings.list(&query).await?.data, COLUMNS)
            }
        }
        RoleBindingsCommand::Get { name } => output::print(format, &bindings.get(name).await?, COLUMNS),
        RoleBindingsCommand::Delete { name, wait } => output::print(
            format,
            &bindings.delete(name, wait.value()).await?,
            &[("ID", "id"), ("DELETED AT", "deleted_at")],
        ),
    }
}
