//! Figures for one phase of a scenario (requests, statuses, latency percentiles) and the
//! Markdown the harness prints.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::load::Sample;

#[derive(Debug, Clone, Default)]
pub struct PhaseStats {
    pub name: String,
    pub seconds: f64,
    pub requests: usize,
    /// Status → count; status 0 is "no answer" (connection refused or reset, timeout).
    pub statuses: BTreeMap<u16, usize>,
    pub p50: Duration,
    pub p99: Duration,
}

impl PhaseStats {
    pub fn of(name: &str, seconds: f64, samples: &[Sample]) -> PhaseStats {
        let mut latencies: Vec<Duration> =
            samples.iter().filter(|s| s.status != 0).map(|s| s.latency).collect();
        latencies.sort_unstable();
        let percentile = |q: f64| -> Duration {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[index]
        };
        let mut statuses = BTreeMap::new();
        for sample in samples {
            *statuses.entry(sample.status).or_insert(0) += 1;
        }
        PhaseStats {
            name: name.to_string(),
            seconds,
            requests: samples.len(),
            statuses,
            p50: percentile(0.50),
            p99: percentile(0.99),
        }
    }

    fn statuses_text(&self) -> String {
        self.statuses
            .iter()
            .map(
                |(status, count)| {
                    if *status == 0 {
                        format!("no answer: {count}")
                    } else {
                        format!("{status}: {count}")
                    }
                },
            )
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// One target and whether it was met.
#[derive(Debug, Clone)]
pub struct Check {
    pub target: String,
    pub measured: String,
    pub met: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ScenarioReport {
    pub name: String,
    pub description: String,
    pub phases: Vec<PhaseStats>,
    /// (seconds since the scenario started, RSS in MiB)
    pub rss: Vec<(f64, f64)>,
    pub oracle: String,
    pub checks: Vec<Check>,
    pub notes: Vec<String>,
}

impl ScenarioReport {
    pub fn failed(name: &str, why: String) -> ScenarioReport {
        let mut report = ScenarioReport {
            name: name.to_string(),
            description: "did not complete".into(),
            ..Default::default()
        };
        report.check("scenario completes", why, false);
        report
    }

    pub fn check(&mut self, target: &str, measured: String, met: bool) {
        self.checks.push(Check { target: target.to_string(), measured, met });
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.met)
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "### `{}`: {}\n", self.name, self.description);
        let _ = writeln!(out, "| phase | seconds | requests | by status | p50 ms | p99 ms |");
        let _ = writeln!(out, "| --- | ---: | ---: | --- | ---: | ---: |");
        for phase in &self.phases {
            let _ = writeln!(
                out,
                "| {} | {:.1} | {} | {} | {} | {} |",
                phase.name,
                phase.seconds,
                phase.requests,
                phase.statuses_text(),
                millis(phase.p50),
                millis(phase.p99)
            );
        }
        let rss: Vec<String> =
            sample_evenly(&self.rss, 12).iter().map(|(at, mib)| format!("{at:.0} s: {mib:.1}")).collect();
        let _ = writeln!(out, "\nResident memory (MiB): {}\n", rss.join(", "));
        let _ = writeln!(out, "Oracle: {}\n", self.oracle);
        let _ = writeln!(out, "| target | measured | met |");
        let _ = writeln!(out, "| --- | --- | --- |");
        for check in &self.checks {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                check.target,
                check.measured,
                if check.met { "yes" } else { "**NO**" }
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "\n{note}");
        }
        out.push('\n');
        out
    }
}

fn sample_evenly(points: &[(f64, f64)], count: usize) -> Vec<(f64, f64)> {
    if points.len() <= count {
        return points.to_vec();
    }
    (0..count).map(|i| points[i * (points.len() - 1) / (count - 1)]).collect()
}
