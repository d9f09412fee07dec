//! The command tree of `nemo`, as clap derive types.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Command-line interface for nmp, compatible with NeMo Platform's `nemo`.
#[derive(Debug, Parser)]
#[command(name = "nemo", version, about, propagate_version = true)]
#[command(after_help = "Examples:
  nemo quickstart configure && nemo quickstart up
  nemo auth login --base-url https://nemo.example.com
  nemo workspaces list -f json
  nemo completion bash > /etc/bash_completion.d/nemo

Exit codes: 0 ok, 1 local error, 2 usage error, 3 remote/API error.")]
pub struct Cli {
    /// Output format (default: table on a terminal, json otherwise; env NMP_OUTPUT_FORMAT).
    #[arg(short = 'f', long = "format", global = true, value_enum)]
    pub format: Option<OutputFormat>,
    /// Do not refresh an expiring OAuth token before the command.
    #[arg(long, global = true, hide = true)]
    pub no_auto_refresh: bool,
    /// PEM file of CA certificates to trust for https (a private CA). Also read: the cluster's
    /// `certificate_authority` in the config file, then SSL_CERT_FILE.
    #[arg(long, global = true, value_name = "FILE", env = "NMP_CLIENT_SSL_CERT_FILE")]
    pub ca_cert: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage authentication for NeMo Platform.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// View and change the CLI configuration (contexts, clusters, credentials).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage workspaces.
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// Identity and access management (PlatformAdmin / service principals).
    #[command(subcommand)]
    Iam(IamCommand),
    /// Run the platform locally in the background, with optional quickstart auth.
    #[command(subcommand)]
    Quickstart(QuickstartCommand),
    /// Run platform services in the foreground.
    #[command(subcommand)]
    Services(ServicesCommand),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  nemo completion bash > ~/.local/share/bash-completion/completions/nemo\n  nemo completion zsh > \"${fpath[1]}/_nemo\""
    )]
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Authenticate with the NeMo Platform cluster.
    ///
    /// Uses device flow (browser) by default, or password grant when username and
    /// password are provided (e.g. for CI).
    /// For quickstart, use `--unsigned-token` to generate an unsigned JWT.
    #[command(after_help = "Examples:
  nemo auth login --base-url https://nemo.example.com
  nemo auth login --context staging --base-url https://nmp.staging.example.com
  nemo auth login
  nemo auth login --no-browser
  nemo auth login --base-url http://127.0.0.1:8080 --unsigned-token --email admin@example.com")]
    Login(Box<LoginArgs>),
    /// Remove stored credentials for the current context.
    #[command(after_help = "Examples:\n  nemo auth logout")]
    Logout,
    /// Refresh the current access token.
    #[command(after_help = "Examples:\n  nemo auth refresh")]
    Refresh,
    /// Print the current access token (for use with SDK or curl).
    #[command(
        after_help = "Examples:\n  curl -H \"Authorization: Bearer $(nemo auth token)\" $URL\n  nemo auth token --decode"
    )]
    Token {
        /// Print the token's claims (unverified) as JSON instead.
        #[arg(long)]
        decode: bool,
    },
    /// Show current authentication status.
    #[command(after_help = "Examples:\n  nemo auth status\n  nemo auth status -f json")]
    Status,
    /// Who the server says you are: identity, groups, scopes, token kind and expiry, platform roles.
    #[command(after_help = "Examples:\n  nemo auth whoami\n  nemo auth whoami -f json")]
    Whoami,
    /// Whether you may do something: prints yes or no (exit 0 yes, 1 no).
    ///
    /// Either an HTTP request (`METHOD PATH`), or the kubectl-style `VERB RESOURCE --workspace W`
    /// (the permission `RESOURCE.VERB`: `get` means `read`, `members` means `workspaces.members`),
    /// or `--list --workspace W` for every permission you hold there.
    #[command(after_help = "Examples:
  nemo auth can-i DELETE /apis/entities/v2/workspaces/ml-team
  nemo auth can-i create members --workspace ml-team
  nemo auth can-i --list --workspace ml-team

Exit codes: 0 yes (or the list was printed), 1 no, 2 usage error, 3 remote/API error.")]
    CanI(CanIArgs),
    /// Why a request is allowed or denied, and the smallest change that would allow it.
    #[command(after_help = "Examples:
  nemo auth explain POST /apis/entities/v2/workspaces/ml-team/members
  nemo auth explain DELETE /apis/entities/v2/workspaces/ml-team --as bob@example.com --as-group ml-readers")]
    Explain(ExplainArgs),
    /// Manage NeMo Platform Scoped Access Keys.
    #[command(subcommand)]
    AccessKeys(AccessKeysCommand),
}

#[derive(Debug, Args)]
pub struct CanIArgs {
    /// `METHOD PATH` or `VERB RESOURCE`.
    #[arg(num_args = 0..=2, value_names = ["METHOD|VERB", "PATH|RESOURCE"])]
    pub request: Vec<String>,
    /// The workspace (for `VERB RESOURCE` and `--list`; default: the context's workspace).
    #[arg(long)]
    pub workspace: Option<String>,
    /// List every permission you hold in the workspace.
    #[arg(long, conflicts_with = "request")]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// HTTP method, e.g. GET or POST.
    pub method: String,
    /// Request path, e.g. /apis/entities/v2/workspaces/ml-team.
    pub path: String,
    /// Explain for this principal (an id or email) instead of yourself (PlatformAdmins, and the
    /// Admins of the workspace the request concerns).
    #[arg(long = "as", value_name = "PRINCIPAL")]
    pub as_principal: Option<String>,
    /// The other principal's email.
    #[arg(long = "as-email", requires = "as_principal")]
    pub as_email: Option<String>,
    /// A group of the other principal (repeatable).
    #[arg(long = "as-group", requires = "as_principal")]
    pub as_groups: Vec<String>,
    /// A scope of the other principal's token (repeatable; none: no scope claim).
    #[arg(long = "as-scope", requires = "as_principal")]
    pub as_scopes: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum AccessKeysCommand {
    /// Create a user-bound or service-bound Scoped Access Key.
    ///
    /// Prints only the key: it is shown this once and stored nowhere.
    #[command(after_help = "Examples:
  nemo auth access-keys create --name ci --expires-in 86400
  nemo auth access-keys create --name reader --service-account intake-reader
  nemo config set --access-token \"$(nemo auth access-keys create --name ci)\"")]
    Create {
        /// A name for the key.
        #[arg(short = 'n', long)]
        name: Option<String>,
        /// A description of the key.
        #[arg(short = 'd', long)]
        description: Option<String>,
        /// Lifetime in seconds, or `none` for a key that never expires (if the server allows it).
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<String>,
        /// Create a key for `service-account:<ID>` (PlatformAdmin only).
        #[arg(long, value_name = "ID")]
        service_account: Option<String>,
    },
    /// List Scoped Access Keys owned by the currently authenticated user.
    #[command(
        after_help = "Examples:\n  nemo auth access-keys list\n  nemo auth access-keys list --page 2 --page-size 10"
    )]
    List {
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        page: u64,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100))]
        page_size: u64,
    },
    /// Revoke a Scoped Access Key owned by the currently authenticated user.
    Revoke { jti: String },
    /// Temporarily suspend a Scoped Access Key owned by the current user.
    Suspend { jti: String },
    /// Restore a suspended Scoped Access Key owned by the current user.
    Unsuspend { jti: String },
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Context to use for this login command.
    #[arg(long, value_name = "CONTEXT_NAME")]
    pub context: Option<String>,
    /// Set cluster base URL for the selected context before login.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Don't open browser (device flow only).
    #[arg(long)]
    pub no_browser: bool,
    /// OAuth scopes to request (space-separated; replaces the cluster's API scopes).
    #[arg(long)]
    pub scope: Option<String>,
    /// Username for password grant (CI / non-interactive).
    #[arg(long, env = "NMP_OIDC_USERNAME", requires = "password")]
    pub username: Option<String>,
    /// Password for password grant (prefer env NMP_OIDC_PASSWORD).
    #[arg(long, env = "NMP_OIDC_PASSWORD", hide_env_values = true, requires = "username")]
    pub password: Option<String>,
    /// Generate and save an unsigned JWT for local/testing authentication.
    #[arg(long, help_heading = "Unsigned Token Options", requires = "email", conflicts_with_all = ["username", "password"])]
    pub unsigned_token: bool,
    /// Principal ID for the unsigned token (`sub` claim). Defaults to --email.
    #[arg(long, help_heading = "Unsigned Token Options", requires = "unsigned_token")]
    pub principal_id: Option<String>,
    /// Email claim for the unsigned token (required with --unsigned-token).
    #[arg(long, help_heading = "Unsigned Token Options", requires = "unsigned_token")]
    pub email: Option<String>,
    /// Group claim value for unsigned token (repeat for multiple).
    #[arg(
        long = "group",
        value_name = "GROUPS",
        help_heading = "Unsigned Token Options",
        requires = "unsigned_token"
    )]
    pub groups: Vec<String>,
    /// Unsigned token expiry in seconds from now.
    #[arg(long, default_value_t = 3600, help_heading = "Unsigned Token Options")]
    pub expires_in: i64,
    /// Omit the exp claim from the unsigned token (servers reject such tokens).
    #[arg(long, help_heading = "Unsigned Token Options", requires = "unsigned_token")]
    pub no_exp: bool,
    /// Audience (`aud`) claim for unsigned token.
    #[arg(long, help_heading = "Unsigned Token Options", requires = "unsigned_token")]
    pub audience: Option<String>,
    /// Issuer (`iss`) claim for unsigned token.
    #[arg(long, help_heading = "Unsigned Token Options", requires = "unsigned_token")]
    pub issuer: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Set values of a context (created if missing).
    #[command(after_help = "Examples:
  nemo config set --base-url http://127.0.0.1:8080 --workspace default
  nemo config set --access-token -          # prompts without echo
  nemo config set --context staging --base-url https://staging.example.com --activate")]
    Set(ConfigSetArgs),
    /// Show the configuration (tokens redacted).
    #[command(after_help = "Examples:\n  nemo config view\n  nemo config view --all-contexts")]
    View {
        /// Show every context, not only the current one.
        #[arg(long)]
        all_contexts: bool,
    },
    /// Make a context the current one.
    #[command(after_help = "Examples:\n  nemo config use-context quickstart")]
    UseContext { name: String },
    /// Print the current context's name.
    #[command(after_help = "Examples:\n  nemo config current-context")]
    CurrentContext,
}

#[derive(Debug, Args)]
pub struct ConfigSetArgs {
    /// Cluster base URL.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Store a bearer token (`-` prompts for it).
    #[arg(long, conflicts_with = "access_token")]
    pub api_key: Option<String>,
    /// Store a bearer access token (`-` prompts for it).
    #[arg(long)]
    pub access_token: Option<String>,
    /// Default workspace.
    #[arg(short = 'w', long)]
    pub workspace: Option<String>,
    /// Preferred output format.
    #[arg(long, value_enum)]
    pub output_format: Option<OutputFormat>,
    /// Preferred timestamp format.
    #[arg(long)]
    pub timestamp_format: Option<String>,
    /// Truncate long table cells.
    #[arg(long)]
    pub truncate: Option<bool>,
    /// Context to change (default: the current one, or `default`).
    #[arg(long)]
    pub context: Option<String>,
    /// Make the context current.
    #[arg(long)]
    pub activate: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// Create a workspace.
    #[command(
        after_help = "Examples:\n  nemo workspaces create ml-team --description \"ML team\"\n  nemo workspaces create ml-team --exist-ok"
    )]
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Succeed (and print the existing one) if it already exists.
        #[arg(long)]
        exist_ok: bool,
    },
    /// List workspaces you can see.
    #[command(
        after_help = "Examples:\n  nemo workspaces list\n  nemo workspaces list --sort name --filter 'name:\"ml-team\"'\n  nemo workspaces list --all-pages -f json"
    )]
    List(ListArgs),
    /// Show one workspace.
    #[command(after_help = "Examples:\n  nemo workspaces get ml-team")]
    Get { name: String },
    /// Change a workspace's description.
    #[command(after_help = "Examples:\n  nemo workspaces update ml-team --description \"new text\"")]
    Update {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Delete a workspace.
    #[command(after_help = "Examples:\n  nemo workspaces delete ml-team")]
    Delete { name: String },
    /// Manage workspace members and their roles.
    #[command(subcommand)]
    Members(MembersCommand),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub page: Option<u64>,
    #[arg(long)]
    pub page_size: Option<u64>,
    /// Field to sort by; `-` in front for descending.
    #[arg(long)]
    pub sort: Option<String>,
    /// Filter expression, e.g. `name:"ml-team"`.
    #[arg(long)]
    pub filter: Option<String>,
    /// Fetch every page.
    #[arg(long)]
    pub all_pages: bool,
}

#[derive(Debug, Args)]
pub struct WorkspaceArg {
    /// Workspace (default: the context's workspace).
    #[arg(long, env = "NMP_WORKSPACE")]
    pub workspace: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Wait until the role change is enforced (server default).
    #[arg(long, overrides_with = "no_wait_role_propagation")]
    pub wait_role_propagation: bool,
    /// Return at once, before the role change propagates.
    #[arg(long)]
    pub no_wait_role_propagation: bool,
}

impl WaitArgs {
    pub fn value(&self) -> Option<bool> {
        if self.no_wait_role_propagation {
            Some(false)
        } else if self.wait_role_propagation {
            Some(true)
        } else {
            None
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// Add a new member to the workspace with specified roles.
    #[command(
        after_help = "Examples:\n  nemo workspaces members create --principal bob@example.com --roles Viewer --workspace ml-team\n  nemo workspaces members create --principal '*' --roles Viewer"
    )]
    Create {
        #[command(flatten)]
        workspace: WorkspaceArg,
        /// Email, user id, group id, or `*` (every authenticated user).
        #[arg(long)]
        principal: String,
        /// Role to grant (repeat for several; server default Editor).
        #[arg(long = "roles", value_name = "ROLE")]
        roles: Vec<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List all members of a workspace with their roles.
    #[command(after_help = "Examples:\n  nemo workspaces members list --workspace ml-team")]
    List {
        #[command(flatten)]
        workspace: WorkspaceArg,
    },
    /// Update the roles for a workspace member.
    #[command(
        after_help = "Examples:\n  nemo workspaces members update bob@example.com --roles Editor --workspace ml-team"
    )]
    Update {
        principal_id: String,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[arg(long = "roles", value_name = "ROLE", required = true)]
        roles: Vec<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Remove a member from the workspace by revoking all their roles.
    #[command(
        after_help = "Examples:\n  nemo workspaces members delete bob@example.com --workspace ml-team"
    )]
    Delete {
        principal_id: String,
        #[command(flatten)]
        workspace: WorkspaceArg,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// Platform-level role bindings.
    #[command(subcommand)]
    RoleBindings(RoleBindingsCommand),
    /// Every principal holding a permission in a workspace, and through which binding
    /// (PlatformAdmins and the workspace's Admins).
    #[command(
        after_help = "Examples:\n  nemo iam who-can workspaces.delete --workspace ml-team\n  nemo iam who-can projects.create --workspace ml-team -f json"
    )]
    WhoCan {
        /// A permission, e.g. `workspaces.members.create`.
        permission: String,
        /// Default: the context's workspace.
        #[arg(long)]
        workspace: Option<String>,
    },
    /// The audit trail of access changes, newest first (PlatformAdmins; a workspace's Admins
    /// with `--workspace`).
    #[command(after_help = "Examples:
  nemo iam audit --workspace ml-team
  nemo iam audit --principal bob@example.com --since 2026-01-01T00:00:00Z -f json
  nemo iam audit --actor admin@example.com --action binding.granted --all-pages")]
    Audit(AuditArgs),
    /// Export who holds which role where, for access reviews (PlatformAdmins).
    #[command(
        after_help = "Examples:\n  nemo iam access-state -f json > access.json\n  nemo iam access-state --csv > access.csv"
    )]
    AccessState {
        /// Print CSV (workspace,principal,role,granted_by,granted_at) instead.
        #[arg(long)]
        csv: bool,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this workspace's events (its own endpoint, open to its Admins).
    #[arg(long)]
    pub workspace: Option<String>,
    /// Only changes to this principal's access.
    #[arg(long)]
    pub principal: Option<String>,
    /// Only changes made by this principal.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this kind of event, e.g. `binding.granted` or `member.removed`.
    #[arg(long)]
    pub action: Option<String>,
    /// Events at or after this time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Events at or before this time (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long)]
    pub page: Option<u64>,
    #[arg(long)]
    pub page_size: Option<u64>,
    /// Oldest first.
    #[arg(long)]
    pub oldest_first: bool,
    /// Fetch every page.
    #[arg(long)]
    pub all_pages: bool,
}

#[derive(Debug, Subcommand)]
pub enum RoleBindingsCommand {
    /// Bind a role to a principal (in a workspace, or platform-wide in `system`).
    #[command(
        after_help = "Examples:\n  nemo iam role-bindings create --principal alice@example.com --role PlatformAdmin"
    )]
    Create {
        #[arg(long)]
        principal: String,
        #[arg(long)]
        role: String,
        /// Workspace (default: platform-level, stored in `system`).
        #[arg(long)]
        workspace: Option<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List role bindings.
    #[command(
        after_help = "Examples:\n  nemo iam role-bindings list --filter.principal alice@example.com --filter.is-active true"
    )]
    List {
        #[arg(long = "filter.principal")]
        principal: Option<String>,
        #[arg(long = "filter.workspace")]
        workspace: Option<String>,
        #[arg(long = "filter.role")]
        role: Option<String>,
        #[arg(long = "filter.granted-by")]
        granted_by: Option<String>,
        #[arg(long = "filter.is-active")]
        is_active: Option<bool>,
        #[arg(long)]
        page: Option<u64>,
        #[arg(long)]
        page_size: Option<u64>,
        /// Fetch every page.
        #[arg(long)]
        all_pages: bool,
    },
    /// Show one role binding.
    #[command(after_help = "Examples:\n  nemo iam role-bindings get admin-example-com-system-platformadmin")]
    Get { name: String },
    /// Revoke a role binding.
    #[command(
        after_help = "Examples:\n  nemo iam role-bindings delete admin-example-com-system-platformadmin"
    )]
    Delete {
        name: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum QuickstartCommand {
    /// Choose quickstart options (interactive, or with flags for scripts).
    #[command(after_help = "Examples:
  nemo quickstart configure
  nemo quickstart configure --auth --admin-email admin@example.com --non-interactive
  nemo quickstart configure --no-auth --port 8081 --non-interactive")]
    Configure(ConfigureArgs),
    /// Start the platform in the background and write the `quickstart` context.
    #[command(after_help = "Examples:\n  nemo quickstart up && nemo workspaces list")]
    Up,
    /// Stop the background platform.
    #[command(after_help = "Examples:\n  nemo quickstart down")]
    Down,
    /// Is the background platform running?
    #[command(after_help = "Examples:\n  nemo quickstart status")]
    Status,
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// Enable authentication (unsigned quickstart tokens).
    #[arg(long, overrides_with = "no_auth")]
    pub auth: bool,
    /// Disable authentication.
    #[arg(long)]
    pub no_auth: bool,
    /// Admin email (grants PlatformAdmin).
    #[arg(long)]
    pub admin_email: Option<String>,
    /// Local port of the platform.
    #[arg(long)]
    pub port: Option<u16>,
    /// Never prompt; use flags and defaults.
    #[arg(long)]
    pub non_interactive: bool,
}

#[derive(Debug, Subcommand)]
pub enum ServicesCommand {
    /// Run the platform in the foreground until Ctrl-C.
    #[command(after_help = "Examples:\n  nemo services run --port 8080 --config platform.yaml")]
    Run(nmp_server::cli::ServicesRunArgs),
    /// Check a platform config against the security checklist (docs/security-checklist.md).
    #[command(after_help = "Examples:
  nemo services check --config platform.yaml --production
  nemo services check --config platform.yaml --fail-on critical -f json
  nemo services check --config platform.yaml --production --replicas 3

Exit codes: 0 no finding at or above the threshold, 1 findings at or above it,
2 the config does not load or validate (or a usage error).")]
    Check(nmp_server::cli::ServicesCheckArgs),
    /// Copy a SQLite store (workspaces, projects, role bindings, revoked ones too) into PostgreSQL.
    #[command(
        name = "migrate-store",
        after_help = "Examples:\n  NMP_MIGRATE_TO_URL=postgres://nmp:PASSWORD@db:5432/nmp \\\n    nemo services migrate-store --from ~/.local/share/nmp/nmp-platform.db"
    )]
    MigrateStore(nmp_server::migrate_store::MigrateStoreArgs),
}
