"""OPS-02 and the metrics endpoint: /metrics of the real server, parsed by the Prometheus client's
OpenMetrics parser. The series named in docs/operations.md move as requests are made, and 10 000
random paths plus 10 000 distinct tokens add no series: labels hold route templates and fixed
reason names, never paths, tokens, principals, emails or workspace names."""

from __future__ import annotations

import secrets
import threading

from prometheus_client.openmetrics.parser import text_string_to_metric_families

from nmp_http import QUICKSTART, Connection, bearer, call, unsigned_token

ADMIN = unsigned_token("admin@example.com")
WORKSPACES = "/apis/entities/v2/workspaces"


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    status, headers, text = call(base, "GET", "/metrics")
    assert status == 200, text
    assert headers["content-type"].startswith("application/openmetrics-text"), headers
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_series_move_as_requests_are_made(start_server):
    server = start_server(QUICKSTART)
    before = scrape(server.base)
    assert value(before, "nmp_build_info", version="0.1.0") == 1.0

    status, _, body = call(server.base, "POST", WORKSPACES, {"name": "metrics-team"}, bearer(ADMIN))
    assert status == 201, body
    for _ in range(3):
        assert call(server.base, "GET", f"{WORKSPACES}/metrics-team", None, bearer(ADMIN))[0] == 200
    bob = unsigned_token("bob@example.com")
    assert call(server.base, "DELETE", f"{WORKSPACES}/metrics-team", None, bearer(bob))[0] == 403
    assert call(server.base, "GET", WORKSPACES)[0] == 401
    assert call(server.base, "GET", WORKSPACES, None, bearer("not-a-jwt"))[0] == 401
    after = scrape(server.base)

    def moved(name, by=None, **labels):
        delta = value(after, name, **labels) - value(before, name, **labels)
        if by is None:
            assert delta > 0, (name, labels, delta)
        else:
            assert delta == by, (name, labels, delta)

    moved("nmp_http_requests_total", 1, route=WORKSPACES, method="POST", status="201")
    moved("nmp_http_requests_total", 3, route=f"{WORKSPACES}/{{name}}", method="GET", status="200")
    moved("nmp_http_requests_total", 1, route=f"{WORKSPACES}/{{name}}", method="DELETE", status="403")
    moved("nmp_http_request_duration_seconds_count", 3, route=f"{WORKSPACES}/{{name}}", method="GET")
    moved("nmp_authentications_total", 5, outcome="accepted", reason="unsigned_token")
    moved("nmp_authentications_total", 1, outcome="anonymous", reason="no_credentials")
    moved("nmp_authentications_total", 1, outcome="rejected", reason="BadSegments")
    moved("nmp_authz_decisions_total", 4, result="allow", reason="PlatformAdmin")
    moved("nmp_authz_decisions_total", 1, result="deny", reason="Anonymous")
    denials = [k for k in after if k[0] == "nmp_authz_decisions_total" and ("result", "deny") in k[1]]
    assert sum(value(after, k[0], **dict(k[1])) - value(before, k[0], **dict(k[1])) for k in denials) == 2
    moved("nmp_token_cache_hits_total")
    moved("nmp_token_cache_misses_total")
    moved("nmp_store_call_duration_seconds_count")
    assert value(after, "nmp_token_cache_entries") >= 2
    # No IdP configured: the JWKS series exist and say so.
    assert value(after, "nmp_jwks_keys") == 0 and value(after, "nmp_jwks_age_seconds") == -1
    # One server on SQLite: no change feed, nothing to lag behind.
    assert value(after, "nmp_replica_propagation_lag_seconds") == 0


def test_ops_02_random_paths_and_distinct_tokens_add_no_series(start_server):
    server = start_server(QUICKSTART)
    marker = secrets.token_hex(4)
    # One request of each shape first, so that every status and reason already has its series.
    warm = Connection(server.base)
    warm.call("GET", f"/{marker}-warmup")
    warm.call("GET", f"{WORKSPACES}/{marker}-warmup", None, bearer(unsigned_token(f"warm-{marker}@example.com")))
    warm.call("GET", f"{WORKSPACES}/{marker}-warmup", None, bearer(f"{marker}.bad.token"))
    warm.close()
    scrape(server.base)  # the scrape itself is a request with its own series
    before = set(scrape(server.base))

    errors: list[str] = []

    def worker(offset: int, count: int) -> None:
        connection = Connection(server.base)
        try:
            for index in range(offset, offset + count):
                path = f"/{marker}-{secrets.token_hex(8)}/{index}"
                status = connection.call("GET", path)[0]
                if status != 401:  # anonymous, and no endpoint matches
                    errors.append(f"{path}: {status}")
                email = f"user-{marker}-{index}@example.com"
                token = unsigned_token(email)
                status = connection.call("GET", f"{WORKSPACES}/{marker}-ws-{index}", None, bearer(token))[0]
                if status not in (403, 404):
                    errors.append(f"token {index}: {status}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n * 2500, 2500)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [], errors[:5]

    after_samples = scrape(server.base)
    after = set(after_samples)
    assert after == before, sorted(after ^ before)[:10]
    # The requests were counted, under templates.
    assert value(after_samples, "nmp_http_requests_total", route="unmatched", method="GET", status="401") >= 10_001
    for name, labels in after:
        for _, label_value in labels:
            assert marker not in label_value, (name, labels)
            assert "@" not in label_value and "eyJ" not in label_value, (name, labels)


def test_metrics_on_a_separate_address(start_server):
    from conftest import free_port

    port = free_port()
    server = start_server(QUICKSTART + f"server:\n  metrics_address: 127.0.0.1:{port}\n")
    assert server.metrics_base == f"http://127.0.0.1:{port}"
    samples = scrape(server.metrics_base)
    assert ("nmp_build_info", (("version", "0.1.0"),)) in samples
    status, _, _ = call(server.base, "GET", "/metrics")
    assert status == 404, "not on the main port when a metrics address is set"
