"""The Helm chart deploy/helm/nmp, with Helm's real engine (helm-python-sdk: Helm v4's Go SDK as
a shared library) and no cluster: rendered for the documented examples, linted strictly, every
manifest validated against the Kubernetes schemas (kubernetes-validate), and the rendered objects
checked: the platform config (which must load in our server), secrets referenced and never
inlined, the securityContext, probes, replicas on SQLite. Bad values are refused."""

from __future__ import annotations

import json
import re
import subprocess

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from certs import make_pki
from conftest import CHART, REPO

KUBE_VERSION = "1.30.0"
# Custom resources: no schema in kubernetes-validate; checked by hand below.
CUSTOM_RESOURCES = {("monitoring.coreos.com/v1", "ServiceMonitor")}


def example(name: str) -> dict:
    return yaml.safe_load((CHART / "examples" / f"{name}.yaml").read_text())


EXAMPLES = {"defaults": {}, "quickstart": example("quickstart"), "production": example("production")}


@pytest.fixture(scope="module")
def chart() -> helm.Chart:
    return helm.Chart.load(str(CHART))


def render(chart: helm.Chart, values: dict) -> list[dict]:
    chart.validate_schema(values)
    manifests = chart.render(values, name="nmp", namespace="nmp", is_install=True)
    objects = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects.append(document)
    return objects


def find(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict], kind: str) -> dict:
    found = find(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def platform_config(objects: list[dict]) -> dict:
    config_map = one(objects, "ConfigMap")
    return yaml.safe_load(config_map["data"]["platform-config.yaml"])


def container(objects: list[dict]) -> dict:
    return one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("name", EXAMPLES)
def test_lint_strict_reports_nothing(name):
    report = helm.lint(str(CHART), EXAMPLES[name], strict=True, kube_version="v" + KUBE_VERSION)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report.get("errors") in (None, []), report
    assert problems == [], problems


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_rendered_manifest_is_valid_kubernetes(chart, name):
    objects = render(chart, EXAMPLES[name])
    kinds = set()
    for manifest in objects:
        kinds.add(manifest["kind"])
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_RESOURCES:
            continue
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)
    assert {"ConfigMap", "Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"} <= kinds


def test_production_example_has_ingress_tls_networkpolicy_and_servicemonitor(chart):
    objects = render(chart, EXAMPLES["production"])
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["tls"] == [{"secretName": "nmp-ingress-tls", "hosts": ["nmp.example.com"]}]
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"] == "HTTPS"
    one(objects, "NetworkPolicy")
    monitor = one(objects, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert one(objects, "Deployment")["spec"]["replicas"] == 3
    assert find(objects, "PersistentVolumeClaim") == [], "no volume on PostgreSQL"
    config = platform_config(objects)
    assert config["server"]["metrics_address"] == "0.0.0.0:9090"
    assert config["server"]["tls"] == {"cert_file": "/etc/nmp/tls/tls.crt", "key_file": "/etc/nmp/tls/tls.key"}


def test_quickstart_example_is_one_replica_on_sqlite_with_a_volume(chart):
    objects = render(chart, EXAMPLES["quickstart"])
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    claim = one(objects, "PersistentVolumeClaim")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert platform_config(objects)["store"] == {"data_dir": "/var/lib/nmp"}
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1


def test_auth_enabled_appears_in_the_rendered_platform_config(chart):
    assert platform_config(render(chart, {}))["auth"]["enabled"] is False
    config = platform_config(render(chart, {"platformConfig": {"auth": {"enabled": True}}}))
    assert config["auth"]["enabled"] is True
    # Keys not set keep the documented defaults.
    assert config["auth"]["policy_decision_point_provider"] == "embedded"
    assert config["auth"]["oidc"]["email_claim"] == "email"


@pytest.mark.parametrize("name", EXAMPLES)
def test_rendered_platform_config_loads_in_our_server(chart, name, nemo_bin, tmp_path):
    objects = render(chart, EXAMPLES[name])
    text = one(objects, "ConfigMap")["data"]["platform-config.yaml"]
    # The pod's mounts, recreated under tmp_path: the Secrets' files exist as they would there.
    root = tmp_path / "etc-nmp"
    text = text.replace("/etc/nmp/", f"{root}/").replace("/var/lib/nmp", str(tmp_path / "data"))
    if "shared_secret_file" in text:
        (root / "gateway").mkdir(parents=True)
        (root / "gateway" / "shared-secret").write_text("a-gateway-secret-of-enough-length\n")
    if "tls.crt" in text:
        make_pki(root / "tls")  # tls.crt and tls.key, as the Secret's mount has them
    config = tmp_path / "platform-config.yaml"
    config.write_text(text)
    result = subprocess.run([nemo_bin, "services", "check", "--config", str(config), "-f", "json"],
                            capture_output=True, text=True, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    # 0: checklist passed, 1: findings, 2: the config does not load. It must load.
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    severities = {finding["id"]: finding["severity"] for finding in report["findings"]}
    if name == "production":
        assert not {s for s in severities.values() if s in ("critical", "high")}, report
    if name == "quickstart":
        assert severities.get("unsigned-tokens") == "critical", report


def test_services_check_refuses_a_config_the_server_would_refuse(nemo_bin, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("auth:\n  enabeld: true\n")
    result = subprocess.run([nemo_bin, "services", "check", "--config", str(config)],
                            capture_output=True, text=True, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "enabeld" in result.stderr, result.stderr


def test_secrets_are_referenced_never_inlined(chart):
    objects = render(chart, EXAMPLES["production"])
    assert find(objects, "Secret") == [], "the chart creates no Secret"
    env = {e["name"]: e for e in container(objects)["env"]}
    assert env["DATABASE_URL"] == {
        "name": "DATABASE_URL",
        "valueFrom": {"secretKeyRef": {"name": "nmp-database", "key": "database-url"}},
    }
    volumes = {v["name"]: v for v in one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "nmp-tls"
    assert volumes["gateway-secret"]["secret"]["secretName"] == "nmp-gateway"
    config = platform_config(objects)
    assert config["auth"]["gateway"]["shared_secret_file"] == "/etc/nmp/gateway/shared-secret"
    assert "shared_secret" not in config["auth"]["gateway"]
    text = json.dumps(objects)
    assert "postgres://" not in text and "password" not in text.lower()


def test_an_inline_secret_in_values_is_refused(chart):
    values = {"platformConfig": {"auth": {"gateway": {"shared_secret": "inline-secret-0123456789"}}}}
    with pytest.raises(helm.HelmError, match="shared_secret"):
        chart.validate_schema(values)


@pytest.mark.parametrize("name", EXAMPLES)
def test_security_context_is_restrictive(chart, name):
    objects = render(chart, EXAMPLES[name])
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    context = container(objects)["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("name,scheme", [("quickstart", "HTTP"), ("production", "HTTPS")])
def test_probes_use_the_health_endpoints(chart, name, scheme):
    objects = render(chart, EXAMPLES[name])
    main = container(objects)
    assert main["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert main["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert main["readinessProbe"]["httpGet"]["scheme"] == scheme
    grace = one(objects, "Deployment")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace == platform_config(objects)["server"]["shutdown_grace_seconds"] + 5


BAD_VALUES = [
    ({"replicaCount": "three"}, "replicaCount"),
    ({"platformConfig": {"auth": {"enabled": "yes"}}}, "enabled"),
    ({"platformConfig": {"auth": {"enabeld": True}}}, "enabeld"),
    ({"unknownTopLevel": 1}, "unknownTopLevel"),
    ({"store": {"backend": "mysql"}}, "backend"),
    ({"platformConfig": {"auth": {"policy_decision_point_provider": "wasm"}}}, "policy_decision_point_provider"),
]


@pytest.mark.parametrize("values,named", BAD_VALUES)
def test_bad_values_are_refused_by_the_schema(chart, values, named):
    with pytest.raises(helm.HelmError, match=named):
        chart.validate_schema(values)
    report = helm.lint(str(CHART), values, strict=True)
    assert report["messages"] and any(m["severity"] == 3 for m in report["messages"]), report


def test_more_than_one_replica_on_sqlite_is_refused(chart):
    with pytest.raises(helm.HelmError, match="SQLite serves one replica only"):
        chart.render({"replicaCount": 2}, name="nmp", namespace="nmp")
    # The same count on PostgreSQL renders.
    values = {"replicaCount": 2, "store": {"backend": "postgresql", "database": {"existingSecret": "db"}}}
    assert one(render(chart, values), "Deployment")["spec"]["replicas"] == 2


def flatten(prefix: str, value) -> dict:
    if isinstance(value, dict) and value:
        out = {}
        for key, inner in value.items():
            out.update(flatten(f"{prefix}.{key}", inner))
        return out
    return {prefix: value}


def documented_defaults() -> dict:
    """`| `key` | kind | `default` | `env` | meaning |` rows of docs/configuration.md, which a Rust
    test keeps equal to the code (crates/server/src/config_doc.rs)."""
    rows = {}
    for line in (REPO / "docs" / "configuration.md").read_text().splitlines():
        match = re.match(r"\| `([a-z_.]+)` \| \w+ \| `(.*?)` \| `NMP_", line)
        if match:
            rows[match.group(1)] = json.loads(match.group(2))
    return rows


def test_every_platform_config_auth_key_of_the_chart_is_a_real_key_with_the_same_default():
    defaults = documented_defaults()
    assert "auth.enabled" in defaults and "auth.oidc.issuer" in defaults
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    chart_keys = flatten("auth", values["platformConfig"]["auth"])
    assert len(chart_keys) >= 20
    for key, value in chart_keys.items():
        assert key in defaults, f"platformConfig.{key} is not a config key"
        assert value == defaults[key], f"platformConfig.{key}: chart {value!r}, server {defaults[key]!r}"
    for key, value in flatten("server", values["platformConfig"]["server"]).items():
        assert key in defaults, f"platformConfig.{key} is not a config key"
    # The README documents keys by name: each one must exist too.
    readme = (CHART / "README.md").read_text()
    for key in set(re.findall(r"`platformConfig\.(auth\.[a-z_.]+[a-z_])`", readme)):
        assert key in defaults or any(d.startswith(key + ".") for d in defaults), f"README: {key}"


def test_the_schema_knows_every_auth_key_of_the_server(chart):
    """No documented server key is refused by the chart's schema (it would block a valid config)."""
    defaults = documented_defaults()
    schema_auth = chart.schema["properties"]["platformConfig"]["properties"]["auth"]["properties"]
    for key in defaults:
        parts = key.split(".")
        if parts[0] != "auth" or parts[1] == "policy":
            continue
        if parts[1:3] in (["token_signing", "private_key_file"], ["token_signing", "previous_keys"]):
            continue  # key files: only from an existing Secret (signingKeySecret.*)
        if parts[1:3] == ["gateway", "shared_secret"] or parts[1:3] == ["gateway", "shared_secret_file"]:
            continue  # secrets: only from an existing Secret (gatewaySecret.*)
        if parts[1:3] == ["oidc", "workload_token_exchange_enabled"]:
            continue
        node = schema_auth.get(parts[1])
        assert node is not None, key
        for part in parts[2:]:
            node = node["properties"].get(part)
            assert node is not None, key


def test_access_keys_sign_with_the_key_of_an_existing_secret(chart):
    values = {"platformConfig": {"auth": {"access_keys": {"enabled": True}}}, "signingKeySecret": {"existingSecret": "nmp-signing"}}
    objects = render(chart, values)
    config = platform_config(objects)
    assert config["auth"]["access_keys"]["enabled"] is True
    assert config["auth"]["token_signing"]["private_key_file"] == "/etc/nmp/signing/signing.pem"
    mounts = {m["name"]: m["mountPath"] for m in container(objects)["volumeMounts"]}
    assert mounts["signing-key"] == "/etc/nmp/signing"
    volumes = one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    secret = next(v for v in volumes if v["name"] == "signing-key")["secret"]
    assert secret["secretName"] == "nmp-signing" and secret["items"] == [{"key": "signing.pem", "path": "signing.pem"}]
    with pytest.raises(helm.HelmError, match="signingKeySecret"):
        chart.render({"platformConfig": {"auth": {"access_keys": {"enabled": True}}}}, name="nmp", namespace="nmp")
