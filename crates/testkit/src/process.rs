//! The node process running `tests/idp/idp.mjs`: spawn, wait for its ready line, keep its stderr
//! for error messages, kill it on drop. Plain threads and `std::process`, so it works from any
//! tokio runtime (or none) and dies with the test even when the test panics.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const STDERR_KEEP_BYTES: usize = 64 * 1024;

/// The JSON line idp.mjs prints when it listens.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Ready {
    pub issuer: String,
    pub port: u16,
    pub audience: String,
    pub resource: String,
}

pub(crate) struct Launch<'a> {
    pub dir: &'a Path,
    pub port: u16,
    pub state_file: &'a Path,
    pub audience: &'a str,
    pub access_token_ttl_seconds: u64,
}

pub(crate) struct IdpProcess {
    child: Child,
    /// Held open: idp.mjs runs with --exit-with-stdin, so it exits when this closes, even if
    /// the test process is killed before it can run `Drop`.
    _stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl IdpProcess {
    pub async fn spawn(launch: Launch<'_>) -> Result<(IdpProcess, Ready)> {
        let script = launch.dir.join("idp.mjs");
        let mut child = Command::new(crate::npm::node_program())
            .arg(&script)
            .args(["--port", &launch.port.to_string()])
            .arg("--state")
            .arg(launch.state_file)
            .args(["--audience", launch.audience])
            .args(["--access-token-ttl", &launch.access_token_ttl_seconds.to_string()])
            .arg("--exit-with-stdin")
            .current_dir(launch.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| {
                format!("cannot start `node {}` (is Node.js 20+ installed?)", script.display())
            })?;

        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_reader = child.stderr.take().map(|pipe| {
            let stderr = Arc::clone(&stderr);
            std::thread::spawn(move || keep_tail(pipe, &stderr))
        });
        let (ready_sender, ready_receiver) = tokio::sync::oneshot::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut lines = BufReader::new(stdout).lines();
                if let Some(Ok(line)) = lines.next() {
                    let _ = ready_sender.send(line);
                }
                lines.for_each(drop); // keep draining so the IdP never blocks on a full pipe
            });
        }
        let mut process = IdpProcess { _stdin: child.stdin.take(), child, stderr, stderr_reader };

        let line = match tokio::time::timeout(READY_TIMEOUT, ready_receiver).await {
            Ok(Ok(line)) => line,
            Ok(Err(_closed)) => return Err(process.failure("exited before printing its ready line")),
            Err(_elapsed) => return Err(process.failure(&format!("not ready after {READY_TIMEOUT:?}"))),
        };
        let ready: Ready = serde_json::from_str(&line)
            .map_err(|error| process.failure(&format!("printed `{line}`, not the ready JSON ({error})")))?;
        Ok((process, ready))
    }

    /// The last 64 KiB the IdP wrote to stderr.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|text| text.clone()).unwrap_or_default()
    }

    /// Kills the process and builds an error carrying its exit status and stderr.
    fn failure(&mut self, what: &str) -> anyhow::Error {
        self.kill();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let status = self.child.try_wait().ok().flatten().map(|status| status.to_string());
        anyhow!(
            "test IdP {what} (exit: {}); stderr:\n{}",
            status.unwrap_or_else(|| "unknown".to_owned()),
            self.stderr()
        )
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for IdpProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn keep_tail(mut pipe: impl Read, into: &Mutex<String>) {
    let mut buffer = [0u8; 4096];
    while let Ok(read) = pipe.read(&mut buffer) {
        if read == 0 {
            return;
        }
        let Ok(mut text) = into.lock() else { return };
        text.push_str(&String::from_utf8_lossy(&buffer[..read]));
        if text.len() > STDERR_KEEP_BYTES {
            let mut cut = text.len() - STDERR_KEEP_BYTES;
            while !text.is_char_boundary(cut) {
                cut += 1;
            }
            text.drain(..cut);
        }
    }
}
