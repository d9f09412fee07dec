//! The named scenarios. Each starts its own server on a fresh data directory, runs the mixed
//! workload through a "before" phase, injects its fault, measures recovery once the dependency
//! is back, runs an "after" phase, then checks the oracle and the targets:
//! zero acknowledged writes lost; no 5xx except the designed 503/504 while a dependency is down;
//! full service within 5 s of the dependency's return; memory bounded; normal clients' p99
//! under the connection flood within 3× the quiet p99.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::load::{quickstart_token, Load};
use crate::report::{PhaseStats, ScenarioReport};
use crate::server::ServerProcess;
use crate::{pause, Args};

const QUICKSTART: &str =
    "auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n";
const RECOVERY_TARGET: Duration = Duration::from_secs(5);
/// The server's default `server.header_read_timeout_seconds`.
const HEADER_READ_TIMEOUT_SECONDS: f64 = 10.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The workload alone: memory and latency over time.
    Steady,
    /// `kill -9` of the server under load, then a restart on the same data.
    Kill9,
    /// The IdP stopped under load (cached keys keep working, new kids refused), then restarted.
    IdpOutage,
    /// The SQLite file locked by another process under load, then released.
    StoreLocked,
    /// A flood of distinct valid tokens: memory stays bounded.
    TokenFlood,
    /// Idle connections and slow-header clients while normal clients are served.
    ConnectionFlood,
}

impl Scenario {
    pub fn all() -> Vec<Scenario> {
        vec![
            Scenario::Steady,
            Scenario::Kill9,
            Scenario::IdpOutage,
            Scenario::StoreLocked,
            Scenario::TokenFlood,
            Scenario::ConnectionFlood,
        ]
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Steady => "steady",
            Scenario::Kill9 => "kill9",
            Scenario::IdpOutage => "idp-outage",
            Scenario::StoreLocked => "store-locked",
            Scenario::TokenFlood => "token-flood",
            Scenario::ConnectionFlood => "connection-flood",
        }
    }

    /// A hard bound on the scenario's run time.
    pub fn time_limit(self, args: &Args) -> Duration {
        let phases = Duration::from_secs(args.phase_seconds * 3 + 120);
        match self {
            Scenario::Steady => Duration::from_secs(args.steady_seconds + 120),
            Scenario::TokenFlood => phases + Duration::from_secs(args.flood_tokens as u64 / 200),
            _ => phases,
        }
    }
}

/// A server, its workload and the memory samples of one scenario.
struct Run {
    server: ServerProcess,
    load: Arc<Load>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    rss: Arc<Mutex<Vec<(f64, f64)>>>,
    pid: Arc<AtomicU32>,
    sampling: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
    report: ScenarioReport,
    marks: Vec<(String, Instant)>,
}

impl Run {
    async fn start(args: &Args, scenario: Scenario, description: &str, yaml: &str) -> Result<Run> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("platform.yaml");
        std::fs::write(&config, yaml)?;
        let data = dir.path().join("data");
        let server = ServerProcess::start(&args.server_bin, &config, &data)?;
        let load = Load::new(server.base());
        let started = Instant::now();
        let rss = Arc::new(Mutex::new(Vec::new()));
        let pid = Arc::new(AtomicU32::new(server.pid().unwrap_or(0)));
        let sampling = Arc::new(AtomicBool::new(true));
        {
            let (rss, pid, sampling) = (Arc::clone(&rss), Arc::clone(&pid), Arc::clone(&sampling));
            tokio::spawn(async move {
                while sampling.load(Ordering::SeqCst) {
                    if let Some(kib) = rss_of(pid.load(Ordering::SeqCst)) {
                        if let Ok(mut rss) = rss.lock() {
                            rss.push((started.elapsed().as_secs_f64(), kib as f64 / 1024.0));
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            });
        }
        let report = ScenarioReport {
            name: scenario.name().to_string(),
            description: description.to_string(),
            ..ScenarioReport::default()
        };
        let workers = load.spawn_workers(args.concurrency);
        Ok(Run {
            server,
            load,
            workers,
            rss,
            pid,
            sampling,
            _dir: dir,
            report,
            marks: vec![("start".into(), started)],
        })
    }

    fn data_dir(&self) -> PathBuf {
        self._dir.path().join("data")
    }

    fn mark(&mut self, name: &str) {
        self.marks.push((name.to_string(), Instant::now()));
    }

    fn restarted(&self) {
        self.pid.store(self.server.pid().unwrap_or(0), Ordering::SeqCst);
    }

    fn rss_now(&self) -> f64 {
        self.server.rss_kib().map_or(0.0, |kib| kib as f64 / 1024.0)
    }

    /// Stop the workload, compute the phases between marks, check the oracle and the 5xx rule.
    /// `designed_5xx`: (phase name, statuses allowed in it).
    async fn finish(mut self, designed_5xx: &[(&str, &[u16])]) -> ScenarioReport {
        self.load.stop();
        for worker in self.workers.drain(..) {
            let _ = worker.await;
        }
        self.sampling.store(false, Ordering::SeqCst);
        // Each mark ends the phase it names; requests after the last mark are not counted.
        for pair in self.marks.windows(2) {
            let ((_, from), (name, to)) = (&pair[0], &pair[1]);
            let samples = self.load.recorder.between(*from, *to);
            let seconds = to.duration_since(*from).as_secs_f64();
            self.report.phases.push(PhaseStats::of(name, seconds, &samples));
        }
        // A 5xx is designed when the phase it started in or the phase it was answered in allows
        // it: a write begun just before a fault and answered 503 during it is the outage's answer.
        let phase_at = |at: Instant| {
            self.marks
                .windows(2)
                .find(|pair| at >= pair[0].1 && at < pair[1].1)
                .map(|pair| pair[1].0.as_str())
        };
        let allows = |phase: Option<&str>, status: u16| {
            designed_5xx.iter().any(|(name, allowed)| Some(*name) == phase && allowed.contains(&status))
        };
        let (first, last) = (self.marks[0].1, self.marks[self.marks.len() - 1].1);
        let unexpected = self
            .load
            .recorder
            .between(first, last)
            .iter()
            .filter(|s| (500..600).contains(&s.status))
            .filter(|s| !allows(phase_at(s.at), s.status) && !allows(phase_at(s.at + s.latency), s.status))
            .count();
        self.report.check(
            "no 5xx outside the designed 503/504 of an outage",
            format!("{unexpected} unexpected 5xx"),
            unexpected == 0,
        );
        let verdict = self.load.check().await;
        self.report.oracle = format!(
            "{} acknowledged writes; {} facts checked against the store; {} violations{}",
            verdict.acknowledged_writes,
            verdict.checked,
            verdict.violations.len(),
            if verdict.violations.is_empty() {
                String::new()
            } else {
                format!(": {}", verdict.violations.iter().take(5).cloned().collect::<Vec<_>>().join("; "))
            }
        );
        self.report.check(
            "zero acknowledged writes lost",
            format!("{} violations in {} facts", verdict.violations.len(), verdict.checked),
            verdict.violations.is_empty() && verdict.checked > 0,
        );
        self.report.rss = self.rss.lock().map(|r| r.clone()).unwrap_or_default();
        if !self.report.passed() {
            self.report.notes.push(format!("Server log tail:\n\n```\n{}\n```", self.server.log_tail(20)));
        }
        self.report
    }

    /// Time from now until `probe` succeeds (polled every 100 ms), or `None` after 30 s.
    async fn recovery<F, Fut>(&self, mut probe: F) -> Option<Duration>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let from = Instant::now();
        while from.elapsed() < Duration::from_secs(30) {
            if probe().await {
                return Some(from.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    fn check_recovery(&mut self, what: &str, recovery: Option<Duration>) {
        let measured =
            recovery.map_or("not within 30 s".to_string(), |d| format!("{:.2} s", d.as_secs_f64()));
        let met = recovery.is_some_and(|d| d <= RECOVERY_TARGET);
        self.report.check(&format!("full service within 5 s of {what}"), measured, met);
    }
}

fn rss_of(pid: u32) -> Option<u64> {
    if pid == 0 {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

pub async fn run(scenario: Scenario, args: &Args) -> Result<ScenarioReport> {
    match scenario {
        Scenario::Steady => steady(args).await,
        Scenario::Kill9 => kill9(args).await,
        Scenario::IdpOutage => idp_outage(args).await,
        Scenario::StoreLocked => store_locked(args).await,
        Scenario::TokenFlood => token_flood(args).await,
        Scenario::ConnectionFlood => connection_flood(args).await,
    }
}

/// A write through the admin that must succeed: the probe of "full service".
async fn write_probe(load: &Load, n: &AtomicUsize) -> bool {
    let name = format!("probe-{}", n.fetch_add(1, Ordering::SeqCst));
    load.admin_send(Method::POST, "/apis/entities/v2/workspaces", Some(json!({"name": name}))).await
        == Some(StatusCode::CREATED)
}

async fn steady(args: &Args) -> Result<ScenarioReport> {
    let mut run = Run::start(args, Scenario::Steady, "the mixed workload, no fault", QUICKSTART).await?;
    let total = args.steady_seconds as f64;
    // Warm-up: the first fifth (at least 10 s): caches fill, the allocator settles.
    let warm_up = (total / 5.0).max(10.0).min(total / 2.0);
    pause(warm_up).await;
    run.mark("warm-up");
    let rss_warm = run.rss_now();
    pause(total - warm_up).await;
    run.mark("steady");
    let rss_end = run.rss_now();
    let growth = if rss_warm > 0.0 { (rss_end - rss_warm) / rss_warm } else { 0.0 };
    let measured = format!("{rss_warm:.1} → {rss_end:.1} MiB ({:+.1}%)", growth * 100.0);
    if total >= 600.0 {
        run.report.check("memory flat: ≤ 10% growth after warm-up", measured, growth <= 0.10);
    } else {
        run.report.notes.push(format!(
            "Memory after warm-up: {measured} (the ≤ 10% target is judged on runs of 10 minutes or more)."
        ));
    }
    Ok(run.finish(&[]).await)
}

async fn kill9(args: &Args) -> Result<ScenarioReport> {
    let mut run = Run::start(
        args,
        Scenario::Kill9,
        "`kill -9` of the server under load, restart on the same data after 1 s",
        QUICKSTART,
    )
    .await?;
    pause(args.phase_seconds as f64).await;
    run.mark("before");
    run.server.kill9();
    pause(1.0).await;
    run.server.restart()?;
    run.restarted();
    let probes = AtomicUsize::new(0);
    let load = Arc::clone(&run.load);
    let recovery = run.recovery(|| write_probe(&load, &probes)).await;
    run.mark("during (down, restart)");
    run.check_recovery("the restart", recovery);
    pause(args.phase_seconds as f64).await;
    run.mark("after");
    Ok(run.finish(&[]).await)
}

async fn idp_outage(args: &Args) -> Result<ScenarioReport> {
    let mut idp = nmp_testkit::TestIdp::start().await.context("starting the test IdP")?;
    let yaml = format!(
        "{QUICKSTART}  oidc:\n    enabled: true\n    issuer: {}\n    audience: {}\n    client_id: {}\n",
        idp.issuer(),
        idp.audience(),
        idp.client_id()
    );
    let mut run = Run::start(
        args,
        Scenario::IdpOutage,
        "the IdP stopped under load, a key rotated just before; then restarted",
        &yaml,
    )
    .await?;
    let load = Arc::clone(&run.load);
    let ready = run
        .recovery(|| async {
            reqwest::get(format!("{}/health/ready", load.base)).await.is_ok_and(|r| r.status().is_success())
        })
        .await;
    if ready.is_none() {
        bail!("the server never became ready with the IdP up");
    }
    let scopes = "openid email platform:read";
    let seen = idp.device_login("alice@example.com", scopes).await?.access_token;
    let unseen = idp.device_login("carol@example.com", scopes).await?.access_token;
    let status_of = |token: String| {
        let load = Arc::clone(&load);
        async move { load.send(&token, Method::GET, "/apis/auth/authenticate", None).await }
    };
    if status_of(seen.clone()).await != Some(StatusCode::OK) {
        bail!("an OIDC token was refused before the outage");
    }
    pause(args.phase_seconds as f64).await;
    run.mark("before");
    idp.rotate_key("RS256").await?;
    let new_kid = idp.device_login("bob@example.com", scopes).await?.access_token;
    idp.stop().await?;
    let outage = Instant::now();
    let mut cached_ok = true;
    let mut new_kid_refused = true;
    while outage.elapsed() < Duration::from_secs(args.phase_seconds) {
        cached_ok &= status_of(seen.clone()).await == Some(StatusCode::OK);
        cached_ok &= status_of(unseen.clone()).await == Some(StatusCode::OK);
        new_kid_refused &= status_of(new_kid.clone()).await == Some(StatusCode::UNAUTHORIZED);
        pause(0.5).await;
    }
    run.report.check(
        "IdP down: tokens signed by cached keys accepted",
        if cached_ok { "all accepted".into() } else { "some refused".into() },
        cached_ok,
    );
    run.report.check(
        "IdP down: a token naming a new kid refused (401)",
        if new_kid_refused { "all 401".into() } else { "not always 401".into() },
        new_kid_refused,
    );
    idp.restart().await?;
    run.mark("during (IdP down)");
    let recovery = run.recovery(|| async { status_of(new_kid.clone()).await == Some(StatusCode::OK) }).await;
    run.check_recovery("the IdP's return (new key accepted)", recovery);
    pause(args.phase_seconds as f64).await;
    run.mark("after");
    Ok(run.finish(&[]).await)
}

async fn store_locked(args: &Args) -> Result<ScenarioReport> {
    let mut run = Run::start(
        args,
        Scenario::StoreLocked,
        "the SQLite file locked by another process (`BEGIN EXCLUSIVE` held) under load, then released",
        QUICKSTART,
    )
    .await?;
    pause(args.phase_seconds as f64).await;
    run.mark("before");
    let database = run.data_dir().join("nmp-platform.db");
    let hold = Duration::from_secs(args.phase_seconds.max(6));
    let locker = std::thread::spawn(move || hold_exclusive_lock(&database, hold));
    let locked_at = Instant::now();
    // The lock is held for `hold`; the workload keeps running against it.
    while !locker.is_finished() {
        pause(0.1).await;
    }
    locker.join().map_err(|_| anyhow::anyhow!("the lock holder panicked"))??;
    run.mark("during (store locked)");
    run.report.notes.push(format!("Lock held {:.1} s.", locked_at.elapsed().as_secs_f64()));
    let probes = AtomicUsize::new(0);
    let load = Arc::clone(&run.load);
    let recovery = run.recovery(|| write_probe(&load, &probes)).await;
    run.mark("recovery");
    run.check_recovery("the lock's release", recovery);
    pause(args.phase_seconds as f64).await;
    run.mark("after");
    // Writes that started while the lock was held may be answered 503 just after it; so the
    // designed statuses are allowed in the recovery phase too.
    Ok(run.finish(&[("during (store locked)", &[503, 504]), ("recovery", &[503, 504])]).await)
}

/// Another process's view: a second connection to the file, holding the write lock.
fn hold_exclusive_lock(database: &Path, hold: Duration) -> Result<()> {
    let connection = rusqlite::Connection::open(database)?;
    connection.execute_batch("BEGIN EXCLUSIVE")?;
    std::thread::sleep(hold);
    connection.execute_batch("ROLLBACK")?;
    Ok(())
}

async fn token_flood(args: &Args) -> Result<ScenarioReport> {
    let mut run = Run::start(
        args,
        Scenario::TokenFlood,
        "a flood of distinct valid tokens (each seen once) beside the workload",
        QUICKSTART,
    )
    .await?;
    pause(args.phase_seconds as f64).await;
    run.mark("before");
    let rss_before = run.rss_now();
    let total = args.flood_tokens;
    // The cache holds 10 000 entries by default. The first half of the flood (at least twice the
    // cache) fills it and lets its tables and the allocator reach their size; a leak would keep
    // growing through the second half, which is what the target looks at.
    let filled_after = (2 * 10_000).max(total / 2).min(total);
    let sent = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut rss_filled = 0.0;
    let mut flooders = Vec::new();
    for _ in 0..16 {
        let (sent, refused, load) = (Arc::clone(&sent), Arc::clone(&refused), Arc::clone(&run.load));
        flooders.push(tokio::spawn(async move {
            loop {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                if n >= total {
                    return;
                }
                let token = quickstart_token(&format!("flood{n}@example.com"), 10_000_000 + n as u64);
                if load.send(&token, Method::GET, "/apis/auth/authenticate", None).await
                    != Some(StatusCode::OK)
                {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    let flood_started = Instant::now();
    while flooders.iter().any(|f| !f.is_finished()) {
        if rss_filled == 0.0 && sent.load(Ordering::SeqCst) >= filled_after {
            rss_filled = run.rss_now();
        }
        pause(0.2).await;
    }
    let rss_end = run.rss_now();
    run.mark("during (flood)");
    let seconds = flood_started.elapsed().as_secs_f64();
    run.report.notes.push(format!(
        "{total} distinct tokens in {seconds:.1} s ({:.0}/s); RSS before {rss_before:.1} MiB, cache full \
         ({filled_after} tokens) {rss_filled:.1} MiB, end {rss_end:.1} MiB.",
        total as f64 / seconds
    ));
    let refused = refused.load(Ordering::SeqCst);
    run.report.check("every flood token answered 200", format!("{refused} not 200"), refused == 0);
    let growth = if rss_filled > 0.0 { (rss_end - rss_filled) / rss_filled } else { 1.0 };
    run.report.check(
        "memory bounded: ≤ 10% growth over the second half of the flood",
        format!("{rss_filled:.1} → {rss_end:.1} MiB ({:+.1}%)", growth * 100.0),
        growth <= 0.10,
    );
    pause(args.phase_seconds as f64).await;
    run.mark("after");
    Ok(run.finish(&[]).await)
}

async fn connection_flood(args: &Args) -> Result<ScenarioReport> {
    let mut run = Run::start(
        args,
        Scenario::ConnectionFlood,
        "idle connections and slow-header clients opened while the workload runs",
        QUICKSTART,
    )
    .await?;
    pause(args.phase_seconds as f64).await;
    run.mark("before (quiet)");
    let addr = format!("127.0.0.1:{}", run.server.port);
    let flooding = Arc::new(AtomicBool::new(true));
    let closed_by_server = Arc::new(AtomicUsize::new(0));
    let mut idle = Vec::new();
    for _ in 0..args.idle_connections {
        match tokio::net::TcpStream::connect(&addr).await {
            Ok(stream) => idle.push(stream),
            Err(error) => bail!("opening idle connection {}: {error}", idle.len()),
        }
    }
    let mut slow = Vec::new();
    for index in 0..args.slowloris {
        let (addr, flooding, closed) = (addr.clone(), Arc::clone(&flooding), Arc::clone(&closed_by_server));
        slow.push(tokio::spawn(async move { slowloris(&addr, index, &flooding, &closed).await }));
    }
    run.report.notes.push(format!(
        "{} idle connections and {} slow-header clients (one header line a second, reconnecting when closed).",
        idle.len(),
        args.slowloris
    ));
    // Long enough for the default header-read timeout (10 s) to close every one of them.
    let flood_seconds = (args.phase_seconds as f64).max(HEADER_READ_TIMEOUT_SECONDS + 4.0);
    pause(flood_seconds).await;
    run.mark("during (flood)");
    flooding.store(false, Ordering::SeqCst);
    let mut idle_closed = 0;
    for mut stream in idle.drain(..) {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), stream.read(&mut byte)).await {
            idle_closed += 1;
        }
    }
    for task in slow {
        let _ = task.await;
    }
    let slow_closed = closed_by_server.load(Ordering::SeqCst);
    run.report.check(
        "idle connections closed by the server (header-read timeout, 10 s)",
        format!("{idle_closed} of {} after {flood_seconds:.0} s", args.idle_connections),
        idle_closed == args.idle_connections,
    );
    run.report.check(
        "slow-header connections closed by the server",
        format!("{slow_closed} closes of {} clients", args.slowloris),
        slow_closed >= args.slowloris,
    );
    pause(args.phase_seconds as f64).await;
    run.mark("after");
    let mut report = run.finish(&[]).await;
    let quiet = report.phases.iter().find(|p| p.name == "before (quiet)").map(|p| p.p99).unwrap_or_default();
    let during = report.phases.iter().find(|p| p.name == "during (flood)").map(|p| p.p99).unwrap_or_default();
    // Below a few milliseconds one scheduler hiccup on a shared machine is the whole p99.
    let floor = quiet.max(Duration::from_millis(5));
    report.check(
        "normal clients' p99 under the flood ≤ 3× quiet p99 (quiet floored at 5 ms)",
        format!("{:.1} ms vs quiet {:.1} ms", during.as_secs_f64() * 1e3, quiet.as_secs_f64() * 1e3),
        during <= floor * 3,
    );
    Ok(report)
}

/// One slow-header client: a request line, then one header line a second, never the end of
/// the head; reconnects when the server closes it, until the flood ends.
async fn slowloris(addr: &str, index: usize, flooding: &AtomicBool, closed: &AtomicUsize) {
    while flooding.load(Ordering::SeqCst) {
        let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
            pause(0.5).await;
            continue;
        };
        if stream.write_all(b"GET /apis/entities/v2/workspaces HTTP/1.1\r\nHost: x\r\n").await.is_err() {
            continue;
        }
        let mut line = 0;
        let mut buffer = [0u8; 512];
        loop {
            if !flooding.load(Ordering::SeqCst) {
                return;
            }
            tokio::select! {
                read = stream.read(&mut buffer) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        closed.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
                () = pause(1.0) => {
                    line += 1;
                    let header = format!("X-Slow-{index}-{line}: a\r\n");
                    if stream.write_all(header.as_bytes()).await.is_err() {
                        closed.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                }
            }
        }
    }
}
