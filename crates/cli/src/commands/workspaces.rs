//! `nemo workspaces ...` and `nemo workspaces members ...`.

use futures_util::TryStreamExt;
use nmp_client::wire::{WorkspaceInput, WorkspaceMemberInput, WorkspaceMemberUpdate, WorkspaceUpdate};
use nmp_client::ListParams;

use crate::cli::{Cli, ListArgs, MembersCommand, WorkspacesCommand};
use crate::output::{self, Column};
use crate::session::Session;

const WORKSPACE_COLUMNS: &[Column] = &[
    ("NAME", "name"),
    ("DESCRIPTION", "description"),
    ("CREATED AT", "created_at"),
    ("CREATED BY", "created_by"),
];
const MEMBER_COLUMNS: &[Column] = &[
    ("PRINCIPAL", "principal"),
    ("ROLES", "roles"),
    ("GRANTED AT", "granted_at"),
    ("GRANTED BY", "granted_by"),
];
const DELETE_COLUMNS: &[Column] = &[("ID", "id"), ("MESSAGE", "message")];

pub async fn run(cli: &Cli, command: &WorkspacesCommand) -> anyhow::Result<()> {
    let session = Session::open(cli).await?;
    let workspaces = session.client.workspaces();
    let format = session.format;
    match command {
        WorkspacesCommand::Create { name, description, exist_ok } => {
            let input = WorkspaceInput { name: name.clone(), description: description.clone() };
            let workspace = match workspaces.create(&input).await {
                Err(error) if *exist_ok && error.is_conflict() => workspaces.get(name).await?,
                other => other?,
            };
            output::print(format, &workspace, WORKSPACE_COLUMNS)
        }
        WorkspacesCommand::List(args) => {
            let params = list_params(args);
            if args.all_pages {
                let all: Vec<_> = workspaces.list_all(params).try_collect().await?;
                output::print(format, &all, WORKSPACE_COLUMNS)
            } else {
                let page = workspaces.list(&params).await?;
                output::print(format, &page.data, WORKSPACE_COLUMNS)
            }
        }
        WorkspacesCommand::Get { name } => {
            output::print(format, &workspaces.get(name).await?, WORKSPACE_COLUMNS)
        }
        WorkspacesCommand::Update { name, description } => {
            let update = WorkspaceUpdate { description: description.clone() };
            output::print(format, &workspaces.update(name, &update).await?, WORKSPACE_COLUMNS)
        }
        WorkspacesCommand::Delete { name } => {
            output::print(format, &workspaces.delete(name).await?, DELETE_COLUMNS)
        }
        WorkspacesCommand::Members(members) => run_members(&session, members).await,
    }
}

fn list_params(args: &ListArgs) -> ListParams {
    ListParams {
        page: args.page,
        page_size: args.page_size,
        sort: args.sort.clone(),
        filter: args.filter.clone(),
    }
}

async fn run_members(session: &Session, command: &MembersCommand) -> anyhow::Result<()> {
    let format = session.format;
    match command {
        MembersCommand::Create { workspace, principal, roles, wait } => {
            let workspace = session.workspace(workspace.workspace.as_deref())?;
            let input = WorkspaceMemberInput {
                principal: principal.clone(),
                roles: if roles.is_empty() {
                    nmp_client::wire::default_member_roles()
                } else {
                    roles.clone()
                },
            };
            let member = session.client.members(&workspace).create(&input, wait.value()).await?;
            output::print(format, &member, MEMBER_COLUMNS)
        }
        MembersCommand::List { workspace } => {
            let workspace = session.workspace(workspace.workspace.as_deref())?;
            let members = session.client.members(&workspace).list().await?;
            output::print(format, &members.data, MEMBER_COLUMNS)
        }
        MembersCommand::Update { principal_id, workspace, roles, wait } => {
            let workspace = session.workspace(workspace.workspace.as_deref())?;
            let update = WorkspaceMemberUpdate { roles: roles.clone() };
            let member =
                session.client.members(&workspace).update(principal_id, &update, wait.value()).await?;
            output::print(format, &member, MEMBER_COLUMNS)
        }
        MembersCommand::Delete { principal_id, workspace, wait } => {
            let workspace = session.workspace(workspace.workspace.as_deref())?;
            let deleted = session.client.members(&workspace).delete(principal_id, wait.value()).await?;
            output::print(format, &deleted, DELETE_COLUMNS)
        }
    }
}
