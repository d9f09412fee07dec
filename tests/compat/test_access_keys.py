"""Scoped Access Keys with the OFFICIAL CLI (`nemo auth access-keys ...`) and SDK
(`client.access_keys`): every command and method against our server, output and exit codes as
the reference prints them, and a key made by the official CLI used by curl, by the official SDK
and by our CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator

import pytest
import requests
from nemo_platform import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NeMoPlatform,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)

from conftest import ADMIN, QUICKSTART_AUTH, Home, Server, decode_claims, start_server, unsigned_token

KEYS = "/apis/auth/v2/access-keys"
JTI_422 = (
    "Invalid input: (422) [{'type': 'string_pattern_mismatch', 'loc': ['path', 'jti'], "
    "'msg': \"String should match pattern '^ak_[0-9a-f]{32}$'\", 'input': 'not-a-jti', "
    "'ctx': {'pattern': '^ak_[0-9a-f]{32}$'}}]"
)


def signing_key(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "signing.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def keys_auth(pem: Path, **access_keys) -> dict:
    return {
        **QUICKSTART_AUTH,
        "access_keys": {"enabled": True, **access_keys},
        "token_signing": {"private_key_file": str(pem)},
    }


@pytest.fixture
def keys_server(tmp_path: Path) -> Iterator[Server]:
    """Our server, quickstart auth plus Scoped Access Keys with default limits."""
    srv = start_server(tmp_path / "server", keys_auth(signing_key(tmp_path / "keys")))
    yield srv
    srv.process.close()


def one_line(text: str) -> str:
    """stderr with rich's line wrapping undone."""
    return " ".join(text.split())


def fail(result, rc: int, *expected: str) -> None:
    assert result.returncode == rc, str(result)
    for text in expected:
        assert one_line(text) in one_line(result.stderr), str(result)


def test_official_cli_every_access_keys_command(keys_server: Server, home: Home):
    home.login(keys_server, "bob@example.com")
    created = home.ok("auth", "access-keys", "create", "--name", "ci", "--description", "nightly", "--expires-in", "600")
    key = created.stdout.strip()
    assert created.stdout == key + "\n", "create prints only the key"
    claims = decode_claims(key)
    assert claims["nmp_token_type"] == "access_key" and claims["sub"] == "bob@example.com"
    assert claims["exp"] - claims["iat"] == 600
    jti = claims["jti"]

    listed = home.ok("auth", "access-keys", "list").json
    assert [k["jti"] for k in listed] == [jti]
    assert listed[0]["name"] == "ci" and listed[0]["description"] == "nightly"
    assert listed[0]["status"] == "ACTIVE" and listed[0]["entity_type"] == "USER"
    assert "token" not in listed[0]

    assert home.ok("auth", "access-keys", "suspend", jti).stdout == f"Suspended Scoped Access Key {jti}.\n"
    assert home.ok("auth", "access-keys", "suspend", jti).stdout == f"Scoped Access Key {jti} was already suspended.\n"
    assert requests.get(keys_server.api + "/workspaces", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    assert home.ok("auth", "access-keys", "unsuspend", jti).stdout == f"Unsuspended Scoped Access Key {jti}.\n"
    assert home.ok("auth", "access-keys", "unsuspend", jti).stdout == f"Scoped Access Key {jti} was already active.\n"
    assert requests.get(keys_server.api + "/workspaces", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert home.ok("auth", "access-keys", "revoke", jti).stdout == f"Revoked Scoped Access Key {jti}.\n"
    assert home.ok("auth", "access-keys", "revoke", jti).stdout == f"Scoped Access Key {jti} was already revoked.\n"
    assert requests.get(keys_server.api + "/workspaces", headers={"Authorization": f"Bearer {key}"}).status_code == 401

    # Paging: two keys, one per page; stderr says more are available.
    home.ok("auth", "access-keys", "create")
    home.ok("auth", "access-keys", "create")
    first = home.ok("auth", "access-keys", "list", "--page-size", "1")
    assert len(first.json) == 1
    assert "More Scoped Access Keys are available; use --page 2 to retrieve them." in one_line(first.stderr)
    last = home.ok("auth", "access-keys", "list", "--page", "3", "--page-size", "1")
    assert len(last.json) == 1 and last.json[0]["jti"] == jti and "More" not in last.stderr


def test_official_cli_errors_and_exit_codes_as_recorded(keys_server: Server, home: Home, make_home, tmp_path: Path):
    home.login(keys_server, "bob@example.com")
    fail(
        home.nemo("auth", "access-keys", "create", "--expires-in", "2592001"),
        3,
        "Bad request: (400) expires_in_seconds must be less than or equal to "
        "auth.access_keys.max_expires_in_seconds (2592000)",
    )
    fail(
        home.nemo("auth", "access-keys", "create", "--expires-in", "none"),
        3,
        "Bad request: (400) expires_in_seconds=null requires auth.access_keys.max_expires_in_seconds to be disabled",
    )
    fail(
        home.nemo("auth", "access-keys", "create", "--expires-in", "0"),
        1,
        "Unexpected error: --expires-in must be a positive integer number of seconds or 'none'.",
    )
    fail(
        home.nemo("auth", "access-keys", "create", "--service-account", "intake"),
        3,
        "Permission denied: (403) Only PlatformAdmin can create service-bound Scoped Access Keys",
    )
    unknown = "ak_" + "0" * 32
    fail(
        home.nemo("auth", "access-keys", "revoke", unknown),
        3,
        f"Not found: (404) Scoped Access Key {unknown} was not found",
    )
    fail(home.nemo("auth", "access-keys", "suspend", "not-a-jti"), 3, JTI_422)
    fail(home.nemo("auth", "access-keys", "list", "--page-size", "101"), 2, "Invalid value for '--page-size'")
    key = home.ok("auth", "access-keys", "create").stdout.strip()
    jti = decode_claims(key)["jti"]
    home.ok("auth", "access-keys", "revoke", jti)
    fail(
        home.nemo("auth", "access-keys", "suspend", jti),
        3,
        f"Conflict: (409) Revoked Scoped Access Key {jti} cannot be suspended",
    )
    # A PlatformAdmin may create a service-account key; another user's key is not theirs to touch.
    admin_home = make_home("admin")
    admin_home.login(keys_server, ADMIN)
    sa_key = admin_home.ok("auth", "access-keys", "create", "--service-account", "intake-reader").stdout.strip()
    assert decode_claims(sa_key)["sub"] == "service-account:intake-reader"
    bob_key = home.ok("auth", "access-keys", "create").stdout.strip()
    bob_jti = decode_claims(bob_key)["jti"]
    fail(admin_home.nemo("auth", "access-keys", "revoke", bob_jti), 3, f"Scoped Access Key {bob_jti} was not found")

    # The feature off: every subcommand exits 1 with the reference's message.
    off = start_server(tmp_path / "off", QUICKSTART_AUTH)
    try:
        off_home = make_home("off")
        off_home.login(off, "bob@example.com")
        for args in (["create"], ["list"], ["revoke", unknown], ["suspend", unknown], ["unsuspend", unknown]):
            fail(off_home.nemo("auth", "access-keys", *args), 1, "Unexpected error: Scoped Access Keys are not enabled")
    finally:
        off.process.close()


def test_official_sdk_access_keys_resource(keys_server: Server, home: Home, sdk_env):
    sdk_env(home)
    bob = NeMoPlatform(base_url=keys_server.url, access_token=unsigned_token("bob@example.com"), max_retries=0)
    created = bob.access_keys.create(name="sdk", expires_in_seconds=3600)
    assert created.jti.startswith("ak_") and created.token_type == "Bearer" and created.status == "ACTIVE"
    assert created.principal == "bob@example.com" and created.entity_type == "USER"
    default = bob.access_keys.create()
    assert default.name is None and default.expires_at is not None
    listed = bob.access_keys.list(page=1, page_size=1)
    assert listed.has_more is True and [k.jti for k in listed.data] == [default.jti]
    assert {k.jti for k in bob.access_keys.list().data} == {created.jti, default.jti}
    suspended = bob.access_keys.suspend(created.jti)
    assert (suspended.status, suspended.changed) == ("SUSPENDED", True)
    active = bob.access_keys.unsuspend(created.jti)
    assert (active.status, active.changed) == ("ACTIVE", True)
    revoked = bob.access_keys.delete(created.jti)
    assert (revoked.jti, revoked.revoked) == (created.jti, True)
    assert bob.access_keys.delete(created.jti).revoked is False

    with pytest.raises(ConflictError):
        bob.access_keys.suspend(created.jti)
    with pytest.raises(BadRequestError):
        bob.access_keys.create(expires_in_seconds=None)
    with pytest.raises(PermissionDeniedError):
        bob.access_keys.create(service_account_id="intake")
    with pytest.raises(NotFoundError):
        bob.access_keys.delete("ak_" + "0" * 32)
    with pytest.raises(UnprocessableEntityError):
        bob.access_keys.list(page_size=101)

    # A revoked key as the SDK's credential: AuthenticationError, as recorded.
    with pytest.raises(AuthenticationError) as raised:
        NeMoPlatform(base_url=keys_server.url, access_token=created.token, max_retries=0).workspaces.list()
    assert raised.value.body == {"detail": "Invalid or expired token"}


def test_a_key_from_the_official_cli_works_with_curl_the_official_sdk_and_our_cli(
    keys_server: Server, home: Home, make_home, sdk_env
):
    home.login(keys_server, "bob@example.com")
    key = home.ok("auth", "access-keys", "create", "--name", "everywhere").stdout.strip()
    jti = decode_claims(key)["jti"]

    curl = subprocess.run(
        ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {key}",
         keys_server.url + "/apis/auth/authenticate"],
        capture_output=True, text=True, check=True,
    )
    body, status = curl.stdout.rsplit("\n", 1)
    assert status == "200", curl.stdout
    assert '"token_kind":"access_key"' in body and jti in body

    sdk_env(home)
    client = NeMoPlatform(base_url=keys_server.url, access_token=key, max_retries=0)
    who = client.auth.authenticate_get()
    assert (who.token_kind, who.jti, who.principal) == ("access_key", jti, "bob@example.com")
    assert {w.name for w in client.workspaces.list()} >= {"default", "system"}

    ours = make_home("ours")
    configured = ours.ours("config", "set", "--base-url", keys_server.url, "--access-token", key)
    assert configured.returncode == 0, str(configured)
    listed = ours.ours("workspaces", "list", "-f", "json")
    assert listed.returncode == 0, str(listed)
    assert "default" in listed.stdout
    # And through the environment, with no config file at all.
    bare = make_home("bare")
    listed = bare.ours("workspaces", "list", "-f", "json", env={"NMP_BASE_URL": keys_server.url, "NMP_ACCESS_TOKEN": key})
    assert listed.returncode == 0, str(listed)
    home.ok("auth", "access-keys", "revoke", jti)
    refused = ours.ours("workspaces", "list")
    assert refused.returncode == 3, str(refused)


def test_our_cli_access_keys_commands_print_what_the_official_cli_prints(keys_server: Server, make_home):
    ours, theirs = make_home("ours"), make_home("theirs")
    ours.login(keys_server, "carol@example.com")
    theirs.login(keys_server, "dave@example.com")
    results = {}
    for name, h, run in (("ours", ours, ours.ours), ("theirs", theirs, theirs.nemo)):
        created = run("auth", "access-keys", "create", "--name", name, "--expires-in", "120")
        assert created.returncode == 0, str(created)
        key = created.stdout.strip()
        assert created.stdout == key + "\n"
        jti = decode_claims(key)["jti"]
        outputs = [
            run("auth", "access-keys", "suspend", jti),
            run("auth", "access-keys", "suspend", jti),
            run("auth", "access-keys", "unsuspend", jti),
            run("auth", "access-keys", "unsuspend", jti),
            run("auth", "access-keys", "revoke", jti),
            run("auth", "access-keys", "revoke", jti),
        ]
        results[name] = [(r.returncode, r.stdout.replace(jti, "<jti>")) for r in outputs]
        listed = run("auth", "access-keys", "list", "--page-size", "1")
        assert listed.returncode == 0, str(listed)
        assert [k["status"] for k in listed.json] == ["REVOKED"]
    assert results["ours"] == results["theirs"]
    for args, rc in ((["create", "--expires-in", "0"], 1), (["list", "--page-size", "101"], 2), (["revoke", "not-a-jti"], 3)):
        assert ours.ours("auth", "access-keys", *args).returncode == rc, args
    bad = ours.ours("auth", "access-keys", "create", "--expires-in", "abc")
    fail(bad, 1, "Unexpected error: --expires-in must be a positive integer number of seconds or 'none'.")
    forbidden = ours.ours("auth", "access-keys", "create", "--service-account", "intake")
    fail(forbidden, 3, "Permission denied: (403) Only PlatformAdmin can create service-bound Scoped Access Keys")
