"""The official CLI against our server serving TLS itself, with a private CA made in the test
(openssl, tests/deploy/certs.py): trusted through its `NMP_CLIENT_SSL_CERT_FILE`, refused without it."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from conftest import SERVER_BIN, Home, Process

# The certificates are made as the deployment suite makes them (tests/deploy/certs.py: openssl).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from certs import make_pki  # noqa: E402


def test_official_cli_over_https_with_a_private_ca(tmp_path: Path, home: Home):
    pki = make_pki(tmp_path / "pki")
    config = tmp_path / "platform.yaml"
    config.write_text(f"server:\n  tls:\n    cert_file: {pki['cert']}\n    key_file: {pki['key']}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NMP_AUTH_")}
    server = Process(
        [SERVER_BIN, "--host", "127.0.0.1", "--port", "0", "--config", str(config), "--data-dir", str(tmp_path / "data")],
        tmp_path / "server.log",
        env=env,
    )
    try:
        url = server.wait_for(r"nmp listening on (https://[0-9.:]+)").group(1)
        time.sleep(0.2)
        trusted = home.nemo("workspaces", "list", "--output-format", "json",
                            env={"NMP_BASE_URL": url, "NMP_CLIENT_SSL_CERT_FILE": str(pki["ca"])})
        assert trusted.returncode == 0, str(trusted)
        listing = json.loads(trusted.stdout)
        items = listing["data"] if isinstance(listing, dict) else listing
        assert "default" in [w["name"] for w in items], trusted.stdout
        untrusted = home.nemo("workspaces", "list", "--output-format", "json", env={"NMP_BASE_URL": url})
        assert untrusted.returncode != 0, str(untrusted)
    finally:
        server.close()
