//! `nmp-scale`: builds stores of a given size for the scale benchmark (`scripts/scale.sh`,
//! `docs/benchmarks.md#scale`), reproducibly: the same arguments always give the same rows.
//!
//! The rows go straight into a store that the server has already created, migrated and seeded
//! (start it once on the empty store, stop it, then fill), so the schema is the real one:
//!
//! - workspaces `scale-<i>` for i in 0..W, each with one Admin, `user-<i>@scale.test`;
//! - each user also a Viewer of two more workspaces (`user-42@scale.test` lists 3 workspaces);
//! - the rest of the bindings: Viewer bindings of groups `group-<g>`, 70 consecutive workspaces
//!   each, until the requested number of active bindings is reached.
//!
//! `nmp-scale postgres --url-file F` starts a throwaway PostgreSQL cluster (the testkit's),
//! writes its URL to F and keeps it running until this process is stopped.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Build stores of a given size for the scale benchmark")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add the generated workspaces and bindings to a migrated, seeded store.
    Fill {
        /// The SQLite database file.
        #[arg(long, conflicts_with = "postgres", required_unless_present = "postgres")]
        sqlite: Option<PathBuf>,
        /// A PostgreSQL URL.
        #[arg(long)]
        postgres: Option<String>,
        #[arg(long)]
        workspaces: u32,
        /// Active bindings to add (at least 3 per workspace: the Admin and two Viewers).
        #[arg(long)]
        bindings: u32,
    },
    /// Run one SQL statement on PostgreSQL (the scale script creates its databases with it).
    Sql {
        #[arg(long)]
        postgres: String,
        statement: String,
    },
    /// Run a throwaway PostgreSQL cluster until stopped; its URL goes to `url_file`.
    Postgres {
        #[arg(long)]
        url_file: PathBuf,
    },
}

/// Workspaces one group is a Viewer of.
const WORKSPACES_PER_GROUP: u32 = 70;
/// Viewer bindings of each user besides its own workspace's Admin.
const VIEWS_PER_USER: u32 = 2;
/// 2026-01-01T00:00:00Z, the time of every generated row, in microseconds.
const GRANTED_AT_MICROS: i64 = 1_767_225_600_000_000;

/// One generated binding: (principal, workspace index, role).
type Triple = (String, u32, &'static str);

fn workspace_name(index: u32) -> String {
    format!("scale-{index}")
}

/// Every generated binding, in a fixed order.
fn bindings(workspaces: u32, total: u32) -> Result<Vec<Triple>> {
    let per_user = 1 + VIEWS_PER_USER;
    if workspaces < per_user || total < workspaces * per_user {
        bail!("need at least {per_user} workspaces and {per_user} bindings per workspace");
    }
    let mut out = Vec::with_capacity(total as usize);
    for user in 0..workspaces {
        let principal = format!("user-{user}@scale.test");
        out.push((principal.clone(), user, "Admin"));
        // A third of the way round, and two thirds: distinct from the own workspace and each other.
        let stride = workspaces / per_user;
        for view in 1..=VIEWS_PER_USER {
            out.push((principal.clone(), (user + view * stride) % workspaces, "Viewer"));
        }
    }
    let mut group = 0;
    while (out.len() as u32) < total {
        let principal = format!("group-{group}");
        let first = group * WORKSPACES_PER_GROUP;
        for offset in 0..WORKSPACES_PER_GROUP.min(workspaces) {
            if out.len() as u32 == total {
                break;
            }
            out.push((principal.clone(), (first + offset) % workspaces, "Viewer"));
        }
        group += 1;
    }
    Ok(out)
}

/// The API's binding name (`rb-` + 24 hex digits of sha256), so generated rows look like real ones.
fn binding_name(principal: &str, workspace: &str, role: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{principal}:{workspace}:{role}").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("rb-{hex}")
}

/// A stable id per row: `<kind>-scale-<n>`.
fn row_id(kind: &str, n: usize) -> String {
    format!("{kind}-scale-{n}")
}

fn fill_sqlite(path: &PathBuf, workspaces: u32, triples: &[Triple]) -> Result<()> {
    let mut connection =
        rusqlite::Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    connection.busy_timeout(std::time::Duration::from_secs(30))?;
    let tx = connection.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO workspaces (id, name, description, created_at, created_by, updated_at, updated_by) \
             VALUES (?1, ?2, NULL, ?3, 'scale-generator', ?3, 'scale-generator')",
        )?;
        for index in 0..workspaces {
            // One microsecond apart, so sorting by creation time is total.
            insert.execute(rusqlite::params![
                row_id("workspace", index as usize),
                workspace_name(index),
                GRANTED_AT_MICROS + i64::from(index)
            ])?;
        }
        let mut insert = tx.prepare(
            "INSERT INTO role_bindings (id, name, principal, workspace, role, granted_by, granted_at, revoked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'scale-generator', ?6, NULL)",
        )?;
        for (n, (principal, workspace, role)) in triples.iter().enumerate() {
            let workspace = workspace_name(*workspace);
            insert.execute(rusqlite::params![
                row_id("rolebinding", n),
                binding_name(principal, &workspace, role),
                principal,
                workspace,
                role,
                GRANTED_AT_MICROS
            ])?;
        }
    }
    tx.commit()?;
    connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    Ok(())
}

fn fill_postgres(url: &str, workspaces: u32, triples: &[Triple]) -> Result<()> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).context("connecting to PostgreSQL")?;
    let mut tx = client.transaction()?;
    let at = "2026-01-01 00:00:00+00";
    {
        let mut writer = tx.copy_in(
            "COPY workspaces (id, name, description, created_at, created_by, updated_at, updated_by) FROM STDIN",
        )?;
        for index in 0..workspaces {
            let created = format!("2026-01-01 00:00:00.{:06}+00", index % 1_000_000);
            let (id, name) = (row_id("workspace", index as usize), workspace_name(index));
            writeln!(writer, "{id}\t{name}\t\\N\t{created}\tscale-generator\t{created}\tscale-generator")?;
        }
        writer.finish()?;
        let mut writer = tx.copy_in(
            "COPY role_bindings (id, name, principal, workspace, role, granted_by, granted_at, revoked_at) \
             FROM STDIN",
        )?;
        for (n, (principal, workspace, role)) in triples.iter().enumerate() {
            let workspace = workspace_name(*workspace);
            let name = binding_name(principal, &workspace, role);
            let id = row_id("rolebinding", n);
            writeln!(writer, "{id}\t{name}\t{principal}\t{workspace}\t{role}\tscale-generator\t{at}\t\\N")?;
        }
        writer.finish()?;
    }
    tx.commit()?;
    client.batch_execute("ANALYZE workspaces; ANALYZE role_bindings;")?;
    Ok(())
}

fn main() -> Result<()> {
    match Args::parse().command {
        Command::Fill { sqlite, postgres, workspaces, bindings: total } => {
            let triples = bindings(workspaces, total)?;
            match (sqlite, postgres) {
                (Some(path), _) => fill_sqlite(&path, workspaces, &triples)?,
                (None, Some(url)) => fill_postgres(&url, workspaces, &triples)?,
                (None, None) => bail!("give --sqlite PATH or --postgres URL"),
            }
            eprintln!("added {workspaces} workspaces and {} active bindings", triples.len());
            Ok(())
        }
        Command::Sql { postgres: url, statement } => {
            let mut client =
                postgres::Client::connect(&url, postgres::NoTls).context("connecting to PostgreSQL")?;
            client.batch_execute(&statement)?;
            Ok(())
        }
        Command::Postgres { url_file } => {
            let cluster = nmp_testkit::PgCluster::start()?;
            std::fs::write(&url_file, cluster.url("postgres"))?;
            // Until stopped: the cluster's watchdog stops it once this process is gone.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                let _ = &cluster;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triples_are_unique_and_sized() {
        for (workspaces, total) in [(10, 100), (1000, 10_000), (3, 9)] {
            let triples = bindings(workspaces, total).unwrap();
            assert_eq!(triples.len(), total as usize);
            let unique: std::collections::BTreeSet<_> = triples.iter().collect();
            assert_eq!(unique.len(), triples.len());
            assert!(triples.iter().all(|(_, w, _)| *w < workspaces));
        }
        let user_42: Vec<_> =
            bindings(1000, 10_000).unwrap().into_iter().filter(|t| t.0 == "user-42@scale.test").collect();
        assert_eq!(user_42.len(), 3);
    }
}
