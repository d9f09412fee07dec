"""One config file, two CLIs and the SDK: a login done with OUR `nemo` serves the official CLI and
SDK, and a login done with the official CLI serves ours (ADR 0003)."""

from __future__ import annotations

import json

from nemo_platform import NeMoPlatform

from conftest import ADMIN, Home, Server, decode_claims, device_login


def test_our_unsigned_login_is_used_by_the_official_cli_and_sdk(server: Server, home: Home, sdk_env):
    result = home.ours("auth", "login", "--base-url", server.url, "--unsigned-token", "--email", ADMIN)
    assert result.returncode == 0, str(result)
    config = home.config()
    assert config["current_context"] == "default"
    [user] = config["users"]
    assert user["type"] == "oauth"
    claims = decode_claims(user["token"])
    assert claims["sub"] == claims["email"] == ADMIN and "exp" in claims

    official_token = home.ok("auth", "token").stdout.strip()
    assert official_token == user["token"]
    status = home.ok("auth", "status").stdout
    assert ADMIN in status and "Unsigned JWT" in status
    created = home.ok("workspaces", "create", "fromours").json
    assert created["created_by"] == ADMIN

    sdk_env(home)
    client = NeMoPlatform()
    assert client.workspaces.retrieve("fromours").id == created["id"]
    assert client.workspaces.members.list(workspace="fromours").data[0].principal == ADMIN


def test_our_login_with_principal_and_groups_read_by_the_official_cli(server: Server, home: Home):
    result = home.ours("auth", "login", "--base-url", server.url, "--unsigned-token", "--email", "dana@example.com",
                       "--principal-id", "u-42", "--group", "g1", "--group", "g2")
    assert result.returncode == 0, str(result)
    decoded = json.loads(home.ok("auth", "token", "--decode").stdout)
    assert decoded["sub"] == "u-42" and decoded["email"] == "dana@example.com" and decoded["groups"] == ["g1", "g2"]


def test_official_unsigned_login_is_used_by_our_cli(server: Server, home: Home):
    home.login(server, ADMIN)
    home.ok("workspaces", "create", "fromofficial")
    token = home.ours("auth", "token")
    assert token.returncode == 0, str(token)
    assert token.stdout.strip() == home.config()["users"][0]["token"]
    listed = home.ours("-f", "json", "workspaces", "list")
    assert listed.returncode == 0, str(listed)
    assert "fromofficial" in listed.stdout
    members = home.ours("-f", "json", "workspaces", "members", "list", "--workspace", "fromofficial")
    assert members.returncode == 0 and ADMIN in members.stdout, str(members)

    # Our logout leaves a file the official CLI still reads, logged out.
    assert home.ours("auth", "logout").returncode == 0
    assert home.config()["users"][0]["type"] == "no-auth"
    denied = home.nemo("workspaces", "list")
    assert denied.returncode == 3 and "Authentication error: (401) Unauthorized" in denied.stderr, str(denied)


def test_config_written_by_both_clis_round_trips(server: Server, home: Home):
    """Each CLI rewrites the file; what the other wrote (contexts, preferences) survives."""
    home.login(server, ADMIN, "--context", "alpha")
    ours = home.ours("auth", "login", "--context", "beta", "--base-url", server.url, "--unsigned-token",
                     "--email", "bob@example.com")
    assert ours.returncode == 0, str(ours)
    config = home.config()
    assert config["current_context"] == "beta"
    assert {c["name"] for c in config["contexts"]} >= {"alpha", "beta"}
    for context in config["contexts"]:
        if context["name"] == "alpha":
            assert context["preferences"]["output_format"] == "table"
    # The official CLI works with both contexts.
    bob = home.ok("workspaces", "list").json
    assert {w["name"] for w in bob["data"]} == {"default", "system"}
    admin = home.ok("--context", "alpha", "workspaces", "create", "alphaws").json
    assert admin["created_by"] == ADMIN


def test_official_device_login_is_used_by_our_cli(oidc_server: Server, idp, home: Home):
    assert device_login(home, oidc_server, "alice@example.com").returncode == 0
    listed = home.ours("-f", "json", "workspaces", "list")
    assert listed.returncode == 0, str(listed)
    assert '"default"' in listed.stdout
    status = home.ours("auth", "status")
    assert status.returncode == 0 and "alice@example.com" in status.stdout, str(status)


def test_our_device_login_is_used_by_the_official_cli(oidc_server: Server, idp, home: Home):
    result = device_login(home, oidc_server, "alice@example.com", program=_our_nemo())
    assert result.returncode == 0, str(result)
    [user] = home.config()["users"]
    assert user.get("refresh_token") and decode_claims(user["token"])["sub"] == "u-alice"
    listed = home.ok("workspaces", "list").json
    assert {w["name"] for w in listed["data"]} == {"default", "system"}


def _our_nemo() -> str:
    from conftest import OUR_NEMO

    return OUR_NEMO
