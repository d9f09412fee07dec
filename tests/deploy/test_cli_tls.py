"""Our `nemo` CLI against a server serving TLS itself, with a private CA made in the test: trusted
through `--ca-cert`, `NMP_CLIENT_SSL_CERT_FILE` (the official CLI's variable), the cluster's
`certificate_authority` in the shared config file (the official CLI's key) or the conventional
`SSL_CERT_FILE`; refused without."""

from __future__ import annotations

import json
import os
import subprocess

from certs import make_pki, tls_config


def run_nemo(nemo_bin, home, base, *args, env=None):
    environment = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "NMP_BASE_URL": base, **(env or {})}
    return subprocess.run([nemo_bin, *args], capture_output=True, text=True, env=environment, timeout=60)


def test_our_cli_trusts_a_private_ca_by_flag_or_environment(start_server, nemo_bin, tmp_path):
    pki = make_pki(tmp_path / "pki")
    server = start_server(tls_config(pki))
    assert server.base.startswith("https://127.0.0.1:"), server.base
    home = tmp_path / "home"
    home.mkdir()

    ways = [
        (["--ca-cert", str(pki["ca"])], {}),
        ([], {"NMP_CLIENT_SSL_CERT_FILE": str(pki["ca"])}),
        ([], {"SSL_CERT_FILE": str(pki["ca"])}),
    ]
    for flags, env in ways:
        result = run_nemo(nemo_bin, home, server.base, *flags, "workspaces", "list", "-f", "json", env=env)
        assert result.returncode == 0, (flags, env, result.stderr)
        names = [w["name"] for w in json.loads(result.stdout)]
        assert "default" in names, result.stdout

    refused = run_nemo(nemo_bin, home, server.base, "workspaces", "list", "-f", "json")
    assert refused.returncode != 0, refused.stdout
    assert "certificate" in refused.stderr.lower() or "could not reach" in refused.stderr.lower(), refused.stderr

    # The official CLI's config shape, with the cluster's CA: no flag, no variable needed.
    config = home / ".config" / "nmp" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "current_context: tls\n"
        f"clusters:\n- name: tls\n  base_url: {server.base}\n  certificate_authority: {pki['ca']}\n"
        "users:\n- type: no-auth\n  name: tls\n"
        "contexts:\n- name: tls\n  cluster: tls\n  user: tls\n"
    )
    environment = {"HOME": str(home), "PATH": os.environ.get("PATH", "")}
    from_config = subprocess.run([nemo_bin, "workspaces", "list", "-f", "json"], capture_output=True, text=True,
                                 env=environment, timeout=60)
    assert from_config.returncode == 0, from_config.stderr

    missing = run_nemo(nemo_bin, home, server.base, "--ca-cert", str(tmp_path / "nope.pem"), "workspaces", "list")
    assert missing.returncode != 0
    assert "nope.pem" in missing.stderr, missing.stderr
