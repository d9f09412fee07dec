"""Raw HTTP exchanges the official clients rely on, checked against what the reference answered
in recorded sessions (the expected values below come from them); deliberate differences are in
docs/compatibility.md."""

from __future__ import annotations

import requests

from conftest import ADMIN, Server, as_user, create_workspace, unsigned_token


def test_public_endpoints_and_discovery(server: Server, noauth_server: Server):
    assert requests.get(server.url + "/apis/auth/discovery", timeout=10).json() == {"auth_enabled": True, "oidc": None}
    assert requests.get(noauth_server.url + "/apis/auth/discovery", timeout=10).json() == {
        "auth_enabled": False, "oidc": None,
    }
    assert requests.get(server.url + "/health/ready", timeout=10).json() == {"status": "ready"}
    assert requests.get(server.url + "/status", timeout=10).status_code == 200
    assert set(requests.get(server.url + "/cluster-info", timeout=10).json()) == {"platform_version", "revision"}


def test_401_bodies_and_bearer_scheme(server: Server):
    url = server.api + "/workspaces"
    assert requests.get(url, timeout=10).json() == {"detail": "Unauthorized"}
    basic = requests.get(url, headers={"Authorization": "Basic YTpi"}, timeout=10)
    assert (basic.status_code, basic.json()) == (401, {"detail": "Unauthorized"})
    garbage = requests.get(url, headers={"Authorization": "Bearer garbage"}, timeout=10)
    assert (garbage.status_code, garbage.json()) == (401, {"detail": "Invalid or expired token"})
    lowercase = requests.get(url, headers={"Authorization": f"bearer {unsigned_token(ADMIN)}"}, timeout=10)
    assert lowercase.status_code == 200


def test_delete_bodies_and_member_shapes(server: Server):
    create_workspace(server, "ws1")
    base = server.api + "/workspaces/ws1/members"
    created = requests.post(base, json={"principal": "zed@example.com"}, headers=as_user(ADMIN), timeout=10)
    assert created.status_code == 201
    assert set(created.json()) == {"principal", "roles", "granted_at", "granted_by"}
    assert created.json()["roles"] == ["Editor"]
    deleted = requests.delete(base + "/zed@example.com", headers=as_user(ADMIN), timeout=10)
    assert deleted.status_code == 200
    assert {"id": "zed@example.com", "message": "Member removed from workspace 'ws1'"}.items() <= deleted.json().items()
    listed = requests.get(base, headers=as_user(ADMIN), timeout=10).json()
    assert set(listed) == {"data"}

    gone = requests.delete(server.api + "/workspaces/ws1", headers=as_user(ADMIN), timeout=10)
    assert gone.status_code == 200 and gone.json()["id"] == "ws1" and "message" in gone.json()
    missing = requests.get(server.api + "/workspaces/ws1", headers=as_user(ADMIN), timeout=10)
    assert (missing.status_code, missing.json()) == (404, {"detail": "Workspace 'ws1' not found"})


def test_validation_error_bodies(server: Server):
    url = server.api + "/workspaces"
    bad = requests.post(url, json={"name": "Bad Name!"}, headers=as_user(ADMIN), timeout=10)
    pattern = "^[a-z](?!.*--)[a-z0-9\\-@.+_]{1,62}(?<!-)$"
    assert bad.status_code == 422
    assert bad.json() == {"detail": [{
        "type": "string_pattern_mismatch", "loc": ["body", "name"],
        "msg": f"String should match pattern '{pattern}'", "input": "Bad Name!", "ctx": {"pattern": pattern},
    }]}
    empty = requests.post(url, json={}, headers=as_user(ADMIN), timeout=10)
    assert empty.json() == {"detail": [{"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": {}}]}
    unquoted = requests.get(url, params={"filter": "name:ws1"}, headers=as_user(ADMIN), timeout=10)
    assert unquoted.status_code == 400 and unquoted.json()["detail"].startswith("Invalid filter query")
