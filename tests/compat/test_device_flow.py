"""Device-flow login with the OFFICIAL CLI against our server configured for the real test IdP
(oidc-provider), then the CLI and the SDK using (and refreshing) the IdP's tokens."""

from __future__ import annotations

import json
import time

import requests
from nemo_platform import NeMoPlatform

from conftest import ADMIN, Home, Server, decode_claims, device_login


def test_discovery_advertises_the_idp(oidc_server: Server, idp):
    discovery = requests.get(oidc_server.url + "/apis/auth/discovery", timeout=10).json()
    assert discovery["auth_enabled"] is True
    oidc = discovery["oidc"]
    assert oidc["issuer"] == idp.issuer and oidc["client_id"] == "nemo-cli"
    assert oidc["token_endpoint"] == idp.issuer + "/token"
    assert oidc["device_authorization_endpoint"] == idp.issuer + "/device/auth"


def test_official_device_flow_login_then_workspaces_list(oidc_server: Server, idp, home: Home):
    result = device_login(home, oidc_server, "alice@example.com")
    assert result.returncode == 0, str(result)
    assert "Authorization successful" in result.stdout

    [user] = home.config()["users"]
    assert user["type"] == "oauth" and user.get("refresh_token"), user
    claims = decode_claims(user["token"])
    assert claims["iss"] == idp.issuer and claims["aud"] == "nmp-api"
    assert claims["sub"] == "u-alice" and claims["email"] == "alice@example.com"

    status = home.ok("auth", "status").stdout
    assert "alice@example.com" in status and "u-alice" in status and "available" in status

    listed = home.ok("workspaces", "list").json
    assert {w["name"] for w in listed["data"]} == {"default", "system"}
    created = home.ok("workspaces", "create", "alicews").json
    assert created["created_by"] == "u-alice"
    # An unsigned token is refused by a server that does not allow them.
    forged = home.nemo("workspaces", "list", env={"NMP_ACCESS_TOKEN": _unsigned(ADMIN), "NMP_BASE_URL": oidc_server.url})
    assert forged.returncode == 3 and "(401)" in forged.stderr, str(forged)


def test_official_device_flow_as_platform_admin(oidc_server: Server, idp, home: Home):
    assert device_login(home, oidc_server, "admin@example.com").returncode == 0
    home.ok("workspaces", "create", "ws1")
    home.ok("workspaces", "members", "create", "--workspace", "ws1", "--principal", "ml-team", "--roles", "Viewer")
    members = home.ok("workspaces", "members", "list", "--workspace", "ws1").json["data"]
    assert {m["principal"] for m in members} >= {"ml-team"}


def test_group_binding_from_idp_groups_claim(oidc_server: Server, idp, make_home):
    admin = make_home("admin")
    assert device_login(admin, oidc_server, "admin@example.com").returncode == 0
    admin.ok("workspaces", "create", "ml")
    admin.ok("workspaces", "members", "create", "--workspace", "ml", "--principal", "ml-team", "--roles", "Viewer")

    carol = make_home("carol")  # groups ml-team, data-team
    assert device_login(carol, oidc_server, "carol").returncode == 0
    assert carol.ok("workspaces", "get", "ml").json["name"] == "ml"
    bob = make_home("bob")  # no groups
    assert device_login(bob, oidc_server, "bob").returncode == 0
    denied = bob.nemo("workspaces", "get", "ml")
    assert denied.returncode == 3 and "Permission denied: (403) Forbidden" in denied.stderr, str(denied)


def test_sdk_and_cli_refresh_an_expired_idp_token(oidc_server: Server, idp, home: Home, sdk_env):
    idp.set_access_token_ttl(4)
    assert device_login(home, oidc_server, "alice@example.com").returncode == 0
    first = home.config()["users"][0]
    first_claims = decode_claims(first["token"])
    assert first_claims["exp"] - first_claims["iat"] == 4

    time.sleep(5)
    # The stored access token has expired: our server refuses it (leeway 0)...
    expired = requests.get(oidc_server.api + "/workspaces", headers={"Authorization": f"Bearer {first['token']}"},
                           timeout=10)
    assert expired.status_code == 401 and expired.json() == {"detail": "Invalid or expired token"}
    # (The SDK itself checks `exp` client-side: an explicit expired token fails before any request.)
    try:
        NeMoPlatform(base_url=oidc_server.url, access_token=first["token"], max_retries=0)
        raise AssertionError("the SDK accepted an expired explicit token")
    except RuntimeError as error:
        assert "expired" in str(error)

    # ...and the zero-config SDK refreshes it transparently with the stored refresh token.
    idp.set_access_token_ttl(600)
    sdk_env(home)
    client = NeMoPlatform()
    assert {w.name for w in client.workspaces.list()} == {"default", "system"}
    second = home.config()["users"][0]
    assert second["token"] != first["token"], "the SDK did not write the refreshed token back"
    assert second["refresh_token"] != first["refresh_token"], "the IdP rotates refresh tokens"
    assert decode_claims(second["token"])["sub"] == "u-alice"
    assert client.workspaces.create(name="after-refresh").created_by == "u-alice"

    # The CLI auto-refreshes too (it refreshes when < 300 s remain: force it with a short TTL).
    idp.set_access_token_ttl(4)
    refreshed_by_cli = home.nemo("auth", "refresh")
    assert refreshed_by_cli.returncode == 0, str(refreshed_by_cli)
    before = home.config()["users"][0]["token"]
    assert before != second["token"]
    time.sleep(5)
    idp.set_access_token_ttl(600)
    listed = home.nemo("workspaces", "list")
    assert listed.returncode == 0, str(listed)
    assert home.config()["users"][0]["token"] != before, "the CLI did not refresh the expired token"
    assert {w["name"] for w in json.loads(listed.stdout)["data"]} == {"default", "system", "after-refresh"}


def _unsigned(email: str) -> str:
    from conftest import unsigned_token

    return unsigned_token(email)
