//! The mixed workload and its oracle. A fixed number of workers loop over: reads by many
//! principals, gateway callouts, member grants and revocations, workspace creations and
//! deletions. Each worker owns its own workspaces, so the operations on one entity happen in
//! order and the oracle can say exactly what the store must hold: every acknowledged write is
//! recorded; a write whose answer was lost (connection cut, timeout) makes that entity
//! "unknown" until the next acknowledged write on it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const WS: &str = "/apis/entities/v2/workspaces";
pub const PRINCIPALS: usize = 50;

/// One answered (or failed) request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    pub latency: Duration,
    /// HTTP status, or 0 when no answer came (refused, reset, timed out).
    pub status: u16,
}

#[derive(Debug, Default)]
pub struct Recorder {
    samples: Mutex<Vec<Sample>>,
}

impl Recorder {
    pub fn record(&self, sample: Sample) {
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(sample);
        }
    }

    pub fn between(&self, from: Instant, to: Instant) -> Vec<Sample> {
        let samples = self.samples.lock().map(|s| s.clone()).unwrap_or_default();
        samples.into_iter().filter(|s| s.at >= from && s.at < to).collect()
    }
}

/// An unsigned quickstart token (the servers under test accept them) for `email`.
pub fn quickstart_token(email: &str, nonce: u64) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let claims =
        json!({"sub": email, "email": email, "iat": now, "exp": now + 7200, "jti": format!("soak-{nonce}")});
    format!(
        "{}.{}.",
        engine.encode(br#"{"alg":"none","typ":"JWT"}"#),
        engine.encode(serde_json::to_vec(&claims).unwrap_or_default())
    )
}

/// What the oracle knows about one fact in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Yes,
    No,
    Unknown,
}

#[derive(Debug)]
struct WorkspaceFacts {
    exists: Known,
    members: BTreeMap<String, Known>,
}

/// A workspace, whether it exists, and its members with whether each is one.
type ExpectedWorkspace = (String, Known, Vec<(String, Known)>);

/// The expected store, per worker.
#[derive(Debug, Default)]
pub struct Oracle {
    workspaces: Mutex<BTreeMap<String, WorkspaceFacts>>,
    pub acknowledged_writes: std::sync::atomic::AtomicU64,
}

#[derive(Debug, Default, Clone)]
pub struct Verdict {
    pub checked: usize,
    pub acknowledged_writes: u64,
    pub violations: Vec<String>,
}

pub struct Load {
    pub base: String,
    http: reqwest::Client,
    admin: String,
    principals: Vec<String>,
    pub recorder: Recorder,
    pub oracle: Oracle,
    stop: AtomicBool,
}

impl Load {
    pub fn new(base: String) -> Arc<Load> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        let principals =
            (0..PRINCIPALS).map(|i| quickstart_token(&format!("user{i}@example.com"), i as u64)).collect();
        Arc::new(Load {
            base,
            http,
            admin: quickstart_token("admin@example.com", 1_000_000),
            principals,
            recorder: Recorder::default(),
            oracle: Oracle::default(),
            stop: AtomicBool::new(false),
        })
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Send one request and record it. `None` when no answer came.
    pub async fn send(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Option<StatusCode> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let outcome = match request.send().await {
            Ok(response) => {
                let status = response.status();
                // Read the body so the connection can be reused.
                let _ = response.bytes().await;
                Some(status)
            }
            Err(_) => None,
        };
        self.recorder.record(Sample {
            at: started,
            latency: started.elapsed(),
            status: outcome.map_or(0, |s| s.as_u16()),
        });
        if outcome.is_none() {
            // Server down: back off a little, as a real client would, instead of spinning.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        outcome
    }

    pub async fn admin_send(&self, method: Method, path: &str, body: Option<Value>) -> Option<StatusCode> {
        self.send(&self.admin.clone(), method, path, body).await
    }

    /// Start `workers` tasks looping over the mixed workload until [`Load::stop`].
    pub fn spawn_workers(self: &Arc<Load>, workers: usize) -> Vec<tokio::task::JoinHandle<()>> {
        (0..workers)
            .map(|worker| {
                let load = Arc::clone(self);
                tokio::spawn(async move { load.worker(worker).await })
            })
            .collect()
    }

    async fn worker(&self, worker: usize) {
        let mut created = 0usize;
        let mut mine: Vec<String> = Vec::new();
        while !self.stop.load(Ordering::SeqCst) {
            let roll: u32 = rand::thread_rng().gen_range(0..100);
            let principal_index = rand::thread_rng().gen_range(0..PRINCIPALS);
            let principal = format!("user{principal_index}@example.com");
            let token = self.principals[principal_index].clone();
            let target = if mine.is_empty() {
                None
            } else {
                Some(mine[rand::thread_rng().gen_range(0..mine.len())].clone())
            };
            match (roll, target) {
                (0..=39, _) => {
                    self.send(&token, Method::GET, &format!("{WS}?page_size=20"), None).await;
                }
                (40..=54, Some(ws)) => {
                    self.send(&token, Method::GET, &format!("{WS}/{ws}"), None).await;
                }
                (55..=64, Some(ws)) => {
                    let path = format!("/apis/auth/ext-authz{WS}/{ws}");
                    self.send(&token, Method::GET, &path, None).await;
                }
                (65..=77, Some(ws)) => {
                    let body = json!({"principal": principal, "roles": ["Viewer"]});
                    let status =
                        self.admin_send(Method::POST, &format!("{WS}/{ws}/members"), Some(body)).await;
                    let known = match status {
                        Some(StatusCode::CREATED) => Known::Yes,
                        _ => Known::Unknown,
                    };
                    self.learn_member(&ws, &principal, known, status);
                }
                (78..=89, Some(ws)) => {
                    let path = format!("{WS}/{ws}/members/{principal}");
                    let status = self.admin_send(Method::DELETE, &path, None).await;
                    let known = match status {
                        Some(StatusCode::OK | StatusCode::NO_CONTENT | StatusCode::NOT_FOUND) => Known::No,
                        _ => Known::Unknown,
                    };
                    self.learn_member(&ws, &principal, known, status);
                }
                (90..=94, Some(ws)) if mine.len() > 2 => {
                    let status = self.admin_send(Method::DELETE, &format!("{WS}/{ws}"), None).await;
                    let known = match status {
                        Some(StatusCode::OK | StatusCode::NOT_FOUND) => Known::No,
                        _ => Known::Unknown,
                    };
                    self.learn_workspace(&ws, known, status);
                    if known == Known::No {
                        mine.retain(|name| name != &ws);
                    }
                }
                _ if mine.len() < 6 => {
                    let ws = format!("soak-w{worker}-{created}");
                    created += 1;
                    let status = self.admin_send(Method::POST, WS, Some(json!({"name": ws}))).await;
                    let known = match status {
                        Some(StatusCode::CREATED | StatusCode::CONFLICT) => Known::Yes,
                        _ => Known::Unknown,
                    };
                    self.learn_workspace(&ws, known, status);
                    mine.push(ws);
                }
                _ => {
                    self.send(&token, Method::GET, "/apis/auth/authenticate", None).await;
                }
            }
        }
    }

    fn learn_workspace(&self, ws: &str, known: Known, status: Option<StatusCode>) {
        if status.is_some_and(|s| s.is_success()) {
            self.oracle.acknowledged_writes.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut workspaces) = self.oracle.workspaces.lock() {
            let facts = workspaces
                .entry(ws.to_string())
                .or_insert_with(|| WorkspaceFacts { exists: Known::Unknown, members: BTreeMap::new() });
            facts.exists = known;
            // A workspace that was (or may have been) deleted takes its members with it.
            if known != Known::Yes {
                for member in facts.members.values_mut() {
                    *member = if known == Known::No { Known::No } else { Known::Unknown };
                }
            }
        }
    }

    fn learn_member(&self, ws: &str, principal: &str, known: Known, status: Option<StatusCode>) {
        if status.is_some_and(|s| s.is_success()) {
            self.oracle.acknowledged_writes.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut workspaces) = self.oracle.workspaces.lock() {
            if let Some(facts) = workspaces.get_mut(ws) {
                facts.members.insert(principal.to_string(), known);
            }
        }
    }

    /// Compare the store (read through the API as the admin) with every acknowledged write.
    pub async fn check(&self) -> Verdict {
        let expected: Vec<ExpectedWorkspace> = self
            .oracle
            .workspaces
            .lock()
            .map(|workspaces| {
                workspaces
                    .iter()
                    .map(|(name, facts)| {
                        let members = facts.members.iter().map(|(p, k)| (p.clone(), *k)).collect();
                        (name.clone(), facts.exists, members)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut verdict = Verdict {
            acknowledged_writes: self.oracle.acknowledged_writes.load(Ordering::Relaxed),
            ..Verdict::default()
        };
        for (ws, exists, members) in expected {
            let response = self
                .http
                .get(format!("{}{WS}/{ws}/members", self.base))
                .bearer_auth(&self.admin)
                .send()
                .await;
            let (status, body) = match response {
                Ok(response) => (response.status(), response.json::<Value>().await.unwrap_or(Value::Null)),
                Err(error) => {
                    verdict.violations.push(format!("{ws}: store not readable: {error}"));
                    continue;
                }
            };
            verdict.checked += 1;
            let present = status == StatusCode::OK;
            match (exists, present) {
                (Known::Yes, false) => {
                    verdict.violations.push(format!("{ws}: acknowledged creation lost ({status})"))
                }
                (Known::No, true) => verdict.violations.push(format!("{ws}: acknowledged deletion undone")),
                _ => {}
            }
            if !present {
                continue;
            }
            let listed: Vec<&str> = body["data"]
                .as_array()
                .map(|data| data.iter().filter_map(|m| m["principal"].as_str()).collect())
                .unwrap_or_default();
            for (principal, known) in members {
                verdict.checked += 1;
                let is_member = listed.contains(&principal.as_str());
                match (known, is_member) {
                    (Known::Yes, false) if exists == Known::Yes => {
                        verdict.violations.push(format!("{ws}/{principal}: acknowledged grant lost"))
                    }
                    (Known::No, true) => {
                        verdict.violations.push(format!("{ws}/{principal}: acknowledged revocation undone"))
                    }
                    _ => {}
                }
            }
        }
        verdict
    }
}
