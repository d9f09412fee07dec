//! Prometheus metrics (`prometheus-client`, OpenMetrics text) served at `/metrics`, on the main
//! port or on `server.metrics_address`.
//!
//! Invariant: every label value comes from a small fixed set: route templates (never raw paths),
//! methods, status codes, reason names. Tokens, principals, emails and workspace names never
//! become labels, so the number of series does not grow with traffic.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::state::{AppState, Clock};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    result: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram>,
    authentications: PresetCounters<OutcomeLabels>,
    decisions: PresetCounters<DecisionLabels>,
    store_duration: Histogram,
    store_errors: Family<KindLabels, Counter>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// A counter family whose everyday label sets are resolved once, at start: counting one of them
/// costs a few comparisons of short static strings instead of hashing the labels under the
/// family's lock. Those series are exported from the start, at zero (as Prometheus advises for
/// series known in advance); any other label set goes through the family as before.
struct PresetCounters<L> {
    family: Family<L, Counter>,
    preset: Vec<(L, Counter)>,
}

impl<L> PresetCounters<L>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
{
    fn new(family: Family<L, Counter>, preset: impl IntoIterator<Item = L>) -> Self {
        let preset = preset
            .into_iter()
            .map(|labels| (labels.clone(), family.get_or_create(&labels).clone()))
            .collect();
        PresetCounters { family, preset }
    }

    fn inc(&self, labels: &L) {
        match self.preset.iter().find(|(preset, _)| preset == labels) {
            Some((_, counter)) => {
                counter.inc();
            }
            None => {
                self.family.get_or_create(labels).inc();
            }
        }
    }
}

/// The authentication outcomes of an ordinary request (accepted tokens, no credentials).
const HOT_AUTHENTICATIONS: [(&str, &str); 5] = [
    ("accepted", "oidc_access_token"),
    ("accepted", "unsigned_token"),
    ("accepted", crate::access_keys::TOKEN_KIND),
    ("accepted", "gateway_headers"),
    ("anonymous", "no_credentials"),
];

/// The reasons an ordinary request is allowed.
const HOT_ALLOWS: [&str; 5] =
    ["RoleGrants", "PlatformAdmin", "AllWorkspacesRead", "Authenticated", "HealthPath"];

fn latency_histogram() -> Histogram {
    // 0.5 ms to ~16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    /// The registry with every metric; `authenticator` feeds the token-cache and JWKS series.
    pub fn new(
        authenticator: Option<nmp_authn::Authenticator>,
        replication: Arc<crate::replication::ReplicaSync>,
        clock: Arc<dyn Clock>,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("nmp");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status",
            requests.clone(),
        );
        let request_duration =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to produce a response, by route template and method",
            request_duration.clone(),
        );
        let authentications = Family::<OutcomeLabels, Counter>::default();
        let authentications = PresetCounters::new(
            authentications,
            HOT_AUTHENTICATIONS.map(|(outcome, reason)| OutcomeLabels { outcome, reason }),
        );
        registry.register(
            "authentications",
            "Identification of callers: outcome (accepted, rejected, unavailable, anonymous) and reason",
            authentications.family.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        let decisions = PresetCounters::new(
            decisions,
            HOT_ALLOWS.map(|reason| DecisionLabels { result: "allow", reason }),
        );
        registry.register(
            "authz_decisions",
            "Access decisions by result and reason",
            decisions.family.clone(),
        );
        let store_duration = latency_histogram();
        registry.register(
            "store_call_duration_seconds",
            "Duration of one store call",
            store_duration.clone(),
        );
        let store_errors = Family::<KindLabels, Counter>::default();
        registry.register(
            "store_errors",
            "Store calls that failed as unavailable (I/O, lock, connection)",
            store_errors.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build.get_or_create(&BuildLabels { version: env!("CARGO_PKG_VERSION").to_string() }).set(1);
        registry.register("build_info", "Version of the running server (value 1)", build);
        registry.register_collector(Box::new(AuthnCollector { authenticator }));
        registry.register_collector(Box::new(ReplicationCollector { replication }));
        Metrics {
            registry,
            requests,
            request_duration,
            authentications,
            decisions,
            store_duration,
            store_errors,
            clock,
        }
    }

    /// The OpenMetrics text of every series.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "encoding metrics failed");
        }
        text
    }

    /// One caller identified (or not). `reason` must come from a fixed set of names.
    pub fn authentication(&self, outcome: &'static str, reason: &'static str) {
        // Static labels: counting a request allocates nothing.
        self.authentications.inc(&OutcomeLabels { outcome, reason });
    }

    /// One access decision; `reason` is [`nmp_core::policy::Reason::kind`].
    pub fn decision(&self, allowed: bool, reason: &'static str) {
        let result = if allowed { "allow" } else { "deny" };
        self.decisions.inc(&DecisionLabels { result, reason });
    }

    /// One store call, with whether it failed as unavailable.
    pub fn store_call(&self, seconds: f64, unavailable: bool) {
        self.store_duration.observe(seconds);
        if unavailable {
            self.store_errors.get_or_create(&KindLabels { kind: "unavailable".into() }).inc();
        }
    }
}

/// Token cache and JWKS figures, read from the authenticator at scrape time.
#[derive(Debug)]
struct AuthnCollector {
    authenticator: Option<nmp_authn::Authenticator>,
}

impl Collector for AuthnCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.authenticator.as_ref().map(|a| a.stats()).unwrap_or_default();
        let counters = [
            (
                "token_cache_hits",
                "Bearer tokens answered from the verified-token cache",
                stats.token_cache_hits,
            ),
            ("token_cache_misses", "Bearer tokens that had to be verified", stats.token_cache_misses),
            ("jwks_fetches", "JWKS requests made to the identity provider", stats.jwks_fetches),
            ("jwks_fetch_failures", "JWKS requests that failed", stats.jwks_fetch_failures),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)?;
        }
        let gauges = [
            ("token_cache_entries", "Verified tokens currently cached", stats.cached_tokens as f64),
            ("jwks_keys", "Keys in the identity provider's current JWKS", stats.jwks_keys as f64),
            (
                "jwks_age_seconds",
                "Seconds since the current JWKS was fetched (-1: none yet)",
                stats.jwks_age_seconds.unwrap_or(-1.0),
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// Propagation between replicas, read when scraped.
#[derive(Debug)]
struct ReplicationCollector {
    replication: Arc<crate::replication::ReplicaSync>,
}

impl Collector for ReplicationCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let lag = ConstGauge::new(self.replication.lag().as_secs_f64());
        lag.encode(encoder.encode_descriptor(
            "replica_propagation_lag_seconds",
            "Seconds since this replica last found its bindings index up to date with the change feed (0 without one)",
            None,
            lag.metric_type(),
        )?)?;
        Ok(())
    }
}

/// The method as a label: the standard ones by name, anything else as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts requests and their latency by route template (`unmatched` when no route matched).
pub async fn record_requests(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = method_label(request.method());
    let started = metrics.clock.instant();
    let response = next.run(request).await;
    let elapsed = metrics.clock.instant().saturating_duration_since(started);
    metrics
        .request_duration
        .get_or_create(&RouteLabels { route: route.clone(), method: method.into() })
        .observe(elapsed.as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method: method.into(),
            status: response.status().as_u16().to_string(),
        })
        .inc();
    response
}

/// `GET /metrics`.
pub async fn serve_metrics(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}
