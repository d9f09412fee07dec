//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory, the server on a
//! free 127.0.0.1 port (password authentication over TCP), stopped on drop. A watchdog process
//! stops it and removes its directory when the test process dies without running `Drop`
//! (`kill -9`, or a process-wide shared cluster, which statics never drop).
//!
//! PostgreSQL refuses to run as root: as root, every cluster command runs as the `postgres` user
//! that Debian's `postgresql` package creates (`scripts/test-deps.sh` installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};

/// The superuser's password in every test cluster (test clusters listen on 127.0.0.1 only).
pub const SUPERUSER_PASSWORD: &str = "nmp-test-superuser";

#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

static SHARED: OnceLock<PgCluster> = OnceLock::new();

impl PgCluster {
    /// One cluster for the whole test process (e.g. one per test binary), started on first use.
    /// Panics with the reason when PostgreSQL cannot be started: tests that need it must fail.
    pub fn shared() -> &'static PgCluster {
        SHARED.get_or_init(|| match PgCluster::start() {
            Ok(cluster) => cluster,
            Err(error) => panic!("cannot start the test PostgreSQL cluster: {error:#}"),
        })
    }

    /// A new cluster of its own (for tests that stop and start the database).
    pub fn start() -> Result<PgCluster> {
        let bin = find_bin_dir()?;
        let as_postgres_user = running_as_root();
        let dir =
            std::env::temp_dir().join(format!("nmp-pg-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let port = free_port()?;
        let cluster = PgCluster { bin, dir, port, as_postgres_user };
        if as_postgres_user {
            run(Command::new("chown").arg("postgres:postgres").arg(&cluster.dir), "chown")?;
        }
        std::fs::write(cluster.dir.join("pwfile"), SUPERUSER_PASSWORD)?;
        if as_postgres_user {
            run(Command::new("chown").arg("postgres:postgres").arg(cluster.dir.join("pwfile")), "chown")?;
        }
        cluster.spawn_watchdog()?;
        let data = cluster.data_dir();
        let mut initdb = cluster.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync"])
            .args(["--encoding=UTF8", "--locale=C"])
            .arg(format!("--pwfile={}", cluster.dir.join("pwfile").display()));
        run(&mut initdb, "initdb")?;
        cluster.start_server()?;
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `database` as the superuser, over TCP with the password.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{}/{database}", self.port)
    }

    /// A URL without the password (for tests that give the password another way).
    pub fn url_without_password(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Run SQL as the superuser in `database` through `psql` over the Unix socket.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String> {
        let output = self
            .command("psql")
            .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-h"])
            .arg(self.socket_dir())
            .args(["-p", &self.port.to_string(), "-d", database, "-c", sql])
            .output()
            .context("running psql")?;
        if !output.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }

    /// Create an empty database with a fresh name and return its name.
    pub fn create_database(&self, prefix: &str) -> Result<String> {
        let name = format!("{prefix}_{}", rand::random::<u32>());
        self.psql("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(name)
    }

    /// Stop the server (fast shutdown: open connections are closed), keeping the data.
    pub fn stop_server(&self) -> Result<()> {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D").arg(self.data_dir()).args(["-m", "fast", "-w", "stop"]);
        run(&mut stop, "pg_ctl stop")
    }

    /// Start the server again on the same port.
    pub fn start_server(&self) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
            self.port,
            self.socket_dir().display()
        );
        let mut start = self.command("pg_ctl");
        start
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-o", &options, "-w", "-t", "60", "start"]);
        run(&mut start, "pg_ctl start").with_context(|| {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            format!("server log:\n{}", tail(&log, 2000))
        })
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// A cluster command, as the `postgres` user when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// A shell loop that waits for this process to end, then stops the server and removes the
    /// directory: the cluster never outlives the tests, however they end.
    fn spawn_watchdog(&self) -> Result<()> {
        let pg_ctl = self.bin.join("pg_ctl");
        let stop = if self.as_postgres_user {
            format!("runuser -u postgres -- '{}'", pg_ctl.display())
        } else {
            format!("'{}'", pg_ctl.display())
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {stop} -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            data = self.data_dir().display(),
            dir = self.dir.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting the cluster watchdog")?;
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D").arg(self.data_dir()).args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `$NMP_PG_BIN`, else the newest `/usr/lib/postgresql/<version>/bin` (Debian), else the `PATH`.
fn find_bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("NMP_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let found = Command::new("sh").args(["-c", "command -v initdb"]).output()?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    match Path::new(&path).parent() {
        Some(dir) if found.status.success() && !path.is_empty() => Ok(dir.to_path_buf()),
        _ => Err(anyhow!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's `postgresql` \
             package (scripts/test-deps.sh does) or set NMP_PG_BIN"
        )),
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let output = command.output().with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn tail(text: &str, max: usize) -> &str {
    let start = text.len().saturating_sub(max);
    let start = (start..text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
    &text[start..]
}
