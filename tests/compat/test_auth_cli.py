"""The official `nemo auth login|status|token|logout` against our server, auth on and off."""

from __future__ import annotations

import json
import stat

from conftest import ADMIN, Home, Server, decode_claims

HINT_401 = (
    "Hint: Run 'nemo auth login' or set the token manually with nemo config set --access-token <token>, "
    "or use NMP_ACCESS_TOKEN."
)


def test_login_unsigned_token_writes_the_reference_config(server: Server, home: Home):
    result = home.login(server, ADMIN)
    assert "Unsigned token saved to config file." in result.stdout
    assert "Principal: admin@example.com" in result.stdout
    assert "Cluster authentication is enabled" in result.stdout  # read from our /apis/auth/discovery

    config = home.config()
    assert config["current_context"] == "default"
    assert config["clusters"] == [{"name": "default-cluster", "base_url": server.url + "/", "metadata": {}}]
    [user] = config["users"]
    assert (user["type"], user["name"]) == ("oauth", "default-user")
    token = user["token"]
    header, _, signature = token.split(".")
    assert signature == ""
    assert list(decode_claims(token)) == ["sub", "iat", "email", "exp"]
    claims = decode_claims(token)
    assert claims["sub"] == claims["email"] == ADMIN and claims["exp"] - claims["iat"] == 3600
    [context] = config["contexts"]
    assert (context["cluster"], context["user"], context["workspace"]) == ("default-cluster", "default-user", "default")
    assert stat.S_IMODE(home.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.config_file.parent.stat().st_mode) == 0o700

    # The token works: the PlatformAdmin sees every workspace.
    listed = home.ok("workspaces", "list").json
    assert {w["name"] for w in listed["data"]} == {"default", "system"}


def test_login_with_principal_id_and_groups(server: Server, home: Home, make_home):
    admin = make_home("admin")
    admin.login(server, ADMIN)
    admin.ok("workspaces", "create", "team")
    admin.ok("workspaces", "members", "create", "--workspace", "team", "--principal", "g-readers", "--roles", "Viewer")

    home.login(server, "dana@example.com", "--principal-id", "u-42", "--group", "g-readers", "--group", "g2")
    claims = json.loads(home.ok("auth", "token", "--decode").stdout)
    assert claims["sub"] == "u-42" and claims["email"] == "dana@example.com"
    assert claims["groups"] == ["g-readers", "g2"]

    # Our server maps sub, email and groups: the group binding grants Viewer in `team`.
    assert home.ok("workspaces", "get", "team").json["name"] == "team"
    denied = home.nemo("workspaces", "update", "team", "--description", "x")
    assert denied.returncode == 3, str(denied)
    assert "Permission denied: (403) Forbidden" in denied.stderr

    # A workspace created by a principal id is attributed to that id.
    created = home.ok("workspaces", "create", "danaws").json
    assert created["created_by"] in ("u-42", "dana@example.com")


def test_auth_status_rows(server: Server, home: Home):
    home.login(server, ADMIN)
    status = home.ok("auth", "status").stdout
    for row in ("Cluster", "Context", "Config File", "Auth Type", "Credential Source", "Warning", "Email",
                "User ID", "Scopes", "Expires", "Refresh Token", "Token"):
        assert row in status, f"row {row!r} missing:\n{status}"
    assert server.url + "/" in status
    assert "oauth" in status and "Unsigned JWT (alg=none)" in status and ADMIN in status
    assert "not available" in status  # no refresh token for unsigned tokens


def test_auth_token_raw_and_decoded(server: Server, home: Home):
    home.login(server, ADMIN, "--expires-in", "120")
    raw = home.ok("auth", "token").stdout.strip()
    assert raw == home.config()["users"][0]["token"]
    decoded = json.loads(home.ok("auth", "token", "--decode").stdout)
    assert decoded == decode_claims(raw)
    assert decoded["exp"] - decoded["iat"] == 120


def test_logout_with_auth_on_then_401(server: Server, home: Home):
    home.login(server, ADMIN)
    result = home.ok("auth", "logout")
    assert "Logged out successfully." in result.stdout
    assert "Context: default" in result.stdout and str(home.config_file) in result.stdout
    [user] = home.config()["users"]
    assert user == {"type": "no-auth", "name": "default-user"}

    denied = home.nemo("workspaces", "list")
    assert denied.returncode == 3, str(denied)
    assert "Authentication error: (401) Unauthorized" in denied.stderr
    assert HINT_401 in " ".join(denied.stderr.split())


def test_no_exp_token_is_rejected_like_the_reference(server: Server, home: Home):
    home.login(server, ADMIN, "--no-exp")
    assert "exp" not in decode_claims(home.config()["users"][0]["token"])
    result = home.nemo("workspaces", "list")
    assert result.returncode == 3, str(result)
    assert "Authentication error: (401) Invalid or expired token" in result.stderr


def test_garbage_token_from_env_is_401(server: Server, home: Home):
    result = home.nemo("workspaces", "list", env={"NMP_BASE_URL": server.url, "NMP_ACCESS_TOKEN": "garbage"})
    assert result.returncode == 3, str(result)
    assert "Authentication error: (401) Invalid or expired token" in result.stderr


def test_auth_commands_with_auth_off(noauth_server: Server, home: Home):
    server = noauth_server
    # With only NMP_BASE_URL and no config file at all, the CLI works (no-auth).
    anonymous = home.ok("workspaces", "list", env={"NMP_BASE_URL": server.url})
    assert {w["name"] for w in anonymous.json["data"]} >= {"default"}

    home.login(server, ADMIN)
    status = home.ok("auth", "status").stdout
    assert "disabled" in status.lower(), status

    created = home.ok("workspaces", "create", "offws").json
    assert created["name"] == "offws"

    logout = home.ok("auth", "logout")
    assert "Authentication is disabled on this cluster" in logout.stdout
    assert "nothing to log out from" in logout.stdout
    assert home.config()["users"][0].get("token"), "logout on an auth-off cluster keeps the token"


def test_usage_error_exit_code_2(server: Server, home: Home):
    home.login(server, ADMIN)
    result = home.nemo("workspaces", "create")
    assert result.returncode == 2, str(result)
    assert "Missing required options" in result.stderr
    bad_flag = home.nemo("workspaces", "list", "--no-such-flag")
    assert bad_flag.returncode == 2, str(bad_flag)


def test_missing_config_file_is_local_error_1(server: Server, home: Home):
    result = home.nemo("workspaces", "list", env={"NMP_CONFIG_FILE": str(home.path / "nope.yaml")})
    assert result.returncode == 1, str(result)
    assert "Config file not found" in result.stdout + result.stderr
