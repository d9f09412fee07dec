//! The server under test: the real `nmp-server` binary as a child process on a fixed
//! 127.0.0.1 port (so a restart after `kill -9` comes back where the clients look), with its
//! stderr kept and its resident memory readable from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};

pub struct ServerProcess {
    binary: PathBuf,
    config: PathBuf,
    data_dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
    pub log: Arc<Mutex<Vec<String>>>,
}

/// A port that was free a moment ago (the kernel picks it; we release it at once).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl ServerProcess {
    pub fn start(binary: &Path, config: &Path, data_dir: &Path) -> Result<ServerProcess> {
        let mut server = ServerProcess {
            binary: binary.to_path_buf(),
            config: config.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            port: free_port()?,
            child: None,
            log: Arc::new(Mutex::new(Vec::new())),
        };
        server.spawn()?;
        Ok(server)
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn spawn(&mut self) -> Result<()> {
        let mut child = Command::new(&self.binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string(), "--config"])
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("NMP_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.binary.display()))?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let log = Arc::clone(&self.log);
        std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with("nmp listening on ") {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(());
                    }
                }
                if let Ok(mut log) = log.lock() {
                    if log.len() < 10_000 {
                        log.push(line);
                    }
                }
            }
        });
        self.child = Some(child);
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let tail = self.log.lock().map(|log| log.join("\n")).unwrap_or_default();
            self.kill9();
            bail!("nmp-server did not start listening within 30 s:\n{tail}");
        }
        Ok(())
    }

    /// SIGKILL: no chance to flush or clean up, as a crash or the OOM killer would do.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) -> Result<()> {
        self.kill9();
        self.spawn()
    }

    /// Resident set size in KiB, from `/proc/<pid>/status`.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log.lock().map(|log| log.clone()).unwrap_or_default();
        log[log.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
