//! `nemo services migrate-store`: copy a SQLite store (a quickstart's) into PostgreSQL, so a
//! one-machine deployment becomes a replicated one without losing a grant. Workspaces, projects
//! and role bindings (revoked ones too) keep their ids, names and times, audit events their ids;
//! the copy is one transaction; a target that already holds workspaces is refused unless `--force`.

use std::path::PathBuf;

use anyhow::Context;
use nmp_store::postgres::{PostgresOptions, PostgresStore};
use nmp_store::sqlite::SqliteStore;
use nmp_store::transfer::Counts;

/// Arguments of `nemo services migrate-store`.
#[derive(Debug, Clone, clap::Args)]
pub struct MigrateStoreArgs {
    /// The SQLite database file to copy (e.g. `~/.local/share/nmp/nmp-platform.db`).
    #[arg(long)]
    pub from: PathBuf,
    /// The PostgreSQL URL to copy into (`postgres://user:password@host:port/database`).
    #[arg(long, env = "NMP_MIGRATE_TO_URL", hide_env_values = true)]
    pub to: String,
    /// Replace whatever the target database holds.
    #[arg(long)]
    pub force: bool,
}

/// Copy and report what was copied. Errors name the problem, never the target's password.
pub fn migrate_store(args: &MigrateStoreArgs) -> anyhow::Result<Counts> {
    if !args.from.is_file() {
        anyhow::bail!("`{}` is not a SQLite database file", args.from.display());
    }
    let source = SqliteStore::open(&args.from).with_context(|| format!("opening {}", args.from.display()))?;
    let snapshot = source.snapshot().with_context(|| format!("reading {}", args.from.display()))?;
    let options = PostgresOptions::from_url(&args.to)?;
    let target = PostgresStore::open(&options)?;
    let counts = target
        .import(&snapshot, args.force)
        .with_context(|| format!("copying into {}", options.redacted()))?;
    Ok(counts)
}

/// The command: copy, then print one line of counts.
pub async fn run(args: MigrateStoreArgs) -> anyhow::Result<()> {
    let counts = tokio::task::spawn_blocking(move || migrate_store(&args)).await??;
    println!(
        "Copied {} workspaces, {} projects, {} role bindings and {} audit events.",
        counts.workspaces, counts.projects, counts.bindings, counts.audit_events
    );
    Ok(())
}
