//! `nmp-soak`: the soak and fault harness. Starts the real `nmp-server` binary (and, for the IdP
//! scenario, the real test IdP) on 127.0.0.1 only, drives a mixed workload at a fixed
//! concurrency, injects named faults, checks the store against an oracle of acknowledged writes
//! and prints a Markdown report. Exits 1 when any target is missed. Every loop is bounded in
//! time; nothing is sent anywhere but the loopback servers it started.
//!
//! Run it through `scripts/soak.sh` (which builds it and the server).

// A load generator measures real elapsed time (latencies, phases, recovery), like the test crates.
#![allow(clippy::disallowed_methods)]

mod load;
mod report;
mod scenarios;
mod server;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Soak and fault harness for nmp (127.0.0.1 only)")]
pub struct Args {
    /// The `nmp-server` binary to test.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// Scenarios to run, in order (default: all).
    #[arg(long = "scenario", value_enum)]
    pub scenarios: Vec<scenarios::Scenario>,
    /// Length of each "before" and "after" phase, in seconds.
    #[arg(long, default_value_t = 10)]
    pub phase_seconds: u64,
    /// Length of the steady (no fault) scenario, in seconds.
    #[arg(long, default_value_t = 20)]
    pub steady_seconds: u64,
    /// Concurrent workers of the mixed workload.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Distinct valid tokens sent by the token flood.
    #[arg(long, default_value_t = 100_000)]
    pub flood_tokens: usize,
    /// Idle connections opened by the connection flood.
    #[arg(long, default_value_t = 2_000)]
    pub idle_connections: usize,
    /// Slow-header (slowloris) clients during the connection flood.
    #[arg(long, default_value_t = 200)]
    pub slowloris: usize,
    /// Also write the report to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if args.scenarios.is_empty() {
        args.scenarios = scenarios::Scenario::all();
    }
    let mut reports = Vec::new();
    for scenario in args.scenarios.clone() {
        eprintln!("==> soak scenario {scenario:?}");
        let report = tokio::time::timeout(scenario.time_limit(&args), scenarios::run(scenario, &args)).await;
        let report = match report {
            Ok(Ok(report)) => report,
            Ok(Err(error)) => report::ScenarioReport::failed(scenario.name(), format!("{error:#}")),
            Err(_) => report::ScenarioReport::failed(scenario.name(), "exceeded its time limit".into()),
        };
        eprintln!("{}", report.markdown());
        reports.push(report);
    }
    let mut text = String::new();
    for report in &reports {
        text.push_str(&report.markdown());
    }
    let failed: Vec<&str> = reports.iter().filter(|r| !r.passed()).map(|r| r.name.as_str()).collect();
    text.push_str(&if failed.is_empty() {
        format!("All {} scenarios met their targets.\n", reports.len())
    } else {
        format!("TARGETS MISSED in: {}\n", failed.join(", "))
    });
    if let Some(path) = &args.report {
        std::fs::write(path, &text)?;
    }
    println!("{text}");
    println!("{} passed, {} failed", reports.len() - failed.len(), failed.len());
    if !failed.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// Sleep helper used by the scenarios.
pub async fn pause(seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
}
