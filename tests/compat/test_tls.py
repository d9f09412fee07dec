"""The official CLI against our server serving TLS itself, with a private CA made in the test
(openssl): trusted through its `NMP_CLIENT_SSL_CERT_FILE`, refused without it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from conftest import SERVER_BIN, Home, Process


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(directory: Path) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (directory / n for n in ("ca.key", "ca.pem", "tls.key", "tls.csr", "tls.crt"))
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", "/CN=nmp test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", str(ca_key), "-out", str(ca))
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=nmp",
             "-keyout", str(key), "-out", str(csr))
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
             "-days", "1", "-extfile", str(directory / "san.ext"), "-out", str(cert))
    return {"ca": ca, "cert": cert, "key": key}


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
