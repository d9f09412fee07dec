"""The official `nemo workspaces ...` and `nemo workspaces members ...` against our server, as every
role: exit codes (0 ok, 1 local, 2 usage, 3 API error) and the printed errors."""

from __future__ import annotations

import re

import pytest
import requests

from conftest import ADMIN, Home, Server, add_member, as_user, create_workspace, unsigned_token

HINT_403 = (
    "Hint: Your current credentials do not have access to perform this operation. "
    "Contact your administrator to request access."
)
HINT_409 = (
    "Hint: This can mean a resource with that name already exists (try a different name or delete the "
    "existing one), or a concurrent update conflicted (retry the operation)."
)
NAIVE_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$")
GRANTED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_api_error(result, message: str, hint: str | None = None) -> None:
    assert result.returncode == 3, str(result)
    assert message in result.stderr, str(result)
    if hint:
        assert hint in flat(result.stderr), str(result)


def assert_forbidden(result) -> None:
    assert_api_error(result, "Permission denied: (403) Forbidden", HINT_403)


def test_workspaces_crud_as_platform_admin(server: Server, home: Home):
    home.login(server, ADMIN)
    created = home.ok("workspaces", "create", "ws1", "--description", "first").json
    assert re.fullmatch(r"workspace-[1-9A-HJ-NP-Za-km-z]+", created["id"])
    assert created["name"] == "ws1" and created["description"] == "first"
    assert created["created_by"] == created["updated_by"] == ADMIN
    assert NAIVE_TIMESTAMP.match(created["created_at"]) and NAIVE_TIMESTAMP.match(created["updated_at"])

    assert home.ok("workspaces", "get", "ws1").json == created

    listed = home.ok("workspaces", "list").json
    assert [w["name"] for w in listed["data"]][0] == "ws1"  # newest first
    assert listed["sort"] == "-created_at" and listed["filter"] is None
    assert listed["pagination"] == {
        "page": 1, "page_size": 100, "current_page_size": 3, "total_pages": 1, "total_results": 3,
    }

    updated = home.ok("workspaces", "update", "ws1", "--description", "second").json
    assert updated["description"] == "second" and updated["id"] == created["id"]

    deleted = home.ok("workspaces", "delete", "ws1")
    assert "Deleted successfully" in deleted.stdout + deleted.stderr
    missing = home.nemo("workspaces", "get", "ws1")
    assert_api_error(missing, "Not found: (404) Workspace 'ws1' not found")


def test_workspaces_create_conflict_and_exist_ok(server: Server, home: Home):
    home.login(server, ADMIN)
    first = home.ok("workspaces", "create", "ws1").json
    again = home.nemo("workspaces", "create", "ws1")
    assert_api_error(again, "Conflict: (409) Workspace 'ws1' already exists", HINT_409)
    existing = home.ok("workspaces", "create", "ws1", "--exist-ok").json
    assert existing == first


def test_workspaces_list_pagination_and_sorting(server: Server, home: Home):
    home.login(server, ADMIN)
    for name in ("cherry", "apple", "banana"):
        home.ok("workspaces", "create", name)
    page = home.ok("workspaces", "list", "--page", "2", "--page-size", "1", "--sort", "name")
    body = page.json
    assert [w["name"] for w in body["data"]] == ["banana"]
    assert body["pagination"] == {
        "page": 2, "page_size": 1, "current_page_size": 1, "total_pages": 5, "total_results": 5,
    }
    assert body["sort"] == "name"
    assert "More pages of results are available" in page.stderr

    by_name_desc = home.ok("workspaces", "list", "--sort", "-name").json
    assert [w["name"] for w in by_name_desc["data"]] == ["system", "default", "cherry", "banana", "apple"]
    oldest_first = home.ok("workspaces", "list", "--sort", "created_at").json
    assert [w["name"] for w in oldest_first["data"]][-3:] == ["cherry", "apple", "banana"]

    every = home.ok("workspaces", "list", "--page-size", "2", "--all-pages").json
    names = [w["name"] for w in (every["data"] if isinstance(every, dict) else every)]
    assert sorted(names) == ["apple", "banana", "cherry", "default", "system"]

    filtered = home.ok("workspaces", "list", "--filter", 'name:"apple"').json
    assert [w["name"] for w in filtered["data"]] == ["apple"]


def test_workspaces_validation_errors_are_422(server: Server, home: Home):
    home.login(server, ADMIN)
    bad = home.nemo("workspaces", "create", "Bad Name!")
    assert_api_error(bad, "API error: (422)")
    assert "string_pattern_mismatch" in bad.stderr


# --- the role matrix ------------------------------------------------------------------------
# Expected results on OUR server. Differences from the reference server are deliberate:
#   ADR 0013: workspaces update/delete need Admin (the reference lets an Editor update);
#   ADR 0023: Viewers and Editors may list members (the reference gives it to Admins only).
ROLES = {
    "PlatformAdmin": ADMIN,
    "Admin": "adam@example.com",
    "Editor": "ed@example.com",
    "Viewer": "vic@example.com",
    "no-role": "nora@example.com",
}
OK, DENIED = "ok", "403"
MATRIX = {
    #                      PlatformAdmin  Admin  Editor  Viewer  no-role
    "get":                 (OK, OK, OK, OK, DENIED),
    "update":              (OK, OK, DENIED, DENIED, DENIED),
    "members list":        (OK, OK, OK, OK, DENIED),
    "members create":      (OK, OK, DENIED, DENIED, DENIED),
    "members update":      (OK, OK, DENIED, DENIED, DENIED),
    "members delete":      (OK, OK, DENIED, DENIED, DENIED),
    "delete":              (OK, OK, DENIED, DENIED, DENIED),
}


def setup_ws1(server: Server) -> None:
    create_workspace(server, "ws1")
    for role in ("Admin", "Editor", "Viewer"):
        add_member(server, "ws1", ROLES[role], [role])
    add_member(server, "ws1", "target@example.com", ["Viewer"])


@pytest.mark.parametrize("role", list(ROLES))
def test_workspace_and_member_commands_by_role(server: Server, home: Home, role: str):
    setup_ws1(server)
    email = ROLES[role]
    column = list(ROLES).index(role)
    env = {"NMP_BASE_URL": server.url, "NMP_ACCESS_TOKEN": unsigned_token(email)}

    def run(*args: str):
        return home.nemo(*args, env=env)

    commands = {
        "get": ("workspaces", "get", "ws1"),
        "update": ("workspaces", "update", "ws1", "--description", f"by {role}"),
        "members list": ("workspaces", "members", "list", "--workspace", "ws1"),
        "members create": ("workspaces", "members", "create", "--workspace", "ws1",
                           "--principal", "new@example.com", "--roles", "Viewer"),
        "members update": ("workspaces", "members", "update", "target@example.com", "--workspace", "ws1",
                           "--roles", "Editor"),
        "members delete": ("workspaces", "members", "delete", "target@example.com", "--workspace", "ws1"),
        "delete": ("workspaces", "delete", "ws1"),
    }
    for action, argv in commands.items():  # in this order: delete last
        result = run(*argv)
        expected = MATRIX[action][column]
        if expected == OK:
            assert result.returncode == 0, f"{role} {action}:\n{result}"
        else:
            assert_forbidden(result)

    # Listing never fails; it shows only what the caller may see.
    listed = {w["name"] for w in run("workspaces", "list").json["data"]}
    if role in ("PlatformAdmin", "Admin"):
        assert "ws1" not in listed  # deleted above
    elif role == "no-role":
        assert listed == {"default", "system"}  # wildcard bindings only
    else:
        assert "ws1" in listed

    # Existence hiding (ADR 0014): only someone who can see everything learns "not found".
    missing = run("workspaces", "get", "nope")
    if role == "PlatformAdmin":
        assert_api_error(missing, "Not found: (404) Workspace 'nope' not found")
    else:
        assert_forbidden(missing)

    # Any authenticated user may create a workspace (WorkspaceCreator@system for `*`) and becomes its Admin.
    own = run("workspaces", "create", f"own-{column}").json
    assert own["created_by"] == email
    members = run("workspaces", "members", "list", "--workspace", f"own-{column}").json["data"]
    assert {"principal": email, "roles": ["Admin"]}.items() <= members[0].items()


def test_members_crud_as_admin(server: Server, home: Home):
    home.login(server, ADMIN)
    home.ok("workspaces", "create", "ws1")

    created = home.ok("workspaces", "members", "create", "--workspace", "ws1",
                      "--principal", "bob@example.com", "--roles", "Viewer").json
    assert created["principal"] == "bob@example.com" and created["roles"] == ["Viewer"]
    assert created["granted_by"] == ADMIN and GRANTED_AT.match(created["granted_at"])

    # Roles default to Editor, as in the reference.
    dave = home.ok("workspaces", "members", "create", "--workspace", "ws1", "--principal", "dave@example.com").json
    assert dave["roles"] == ["Editor"]

    # Several roles at once.
    multi = home.ok("workspaces", "members", "create", "--workspace", "ws1", "--principal", "erin@example.com",
                    "--roles", "Viewer", "--roles", "Editor").json
    assert sorted(multi["roles"]) == ["Editor", "Viewer"]

    listed = home.ok("workspaces", "members", "list", "--workspace", "ws1").json
    assert set(listed) == {"data"}  # no pagination object
    assert [m["principal"] for m in listed["data"]] == [
        "erin@example.com", "dave@example.com", "bob@example.com", ADMIN,
    ]  # newest first

    updated = home.ok("workspaces", "members", "update", "bob@example.com", "--workspace", "ws1",
                      "--roles", "Editor").json
    assert updated["roles"] == ["Editor"] and updated["granted_by"] == ADMIN

    # Update of a non-member is an upsert.
    upsert = home.ok("workspaces", "members", "update", "zed@example.com", "--workspace", "ws1",
                     "--roles", "Viewer").json
    assert upsert["principal"] == "zed@example.com"

    deleted = home.ok("workspaces", "members", "delete", "zed@example.com", "--workspace", "ws1")
    assert "Deleted successfully" in deleted.stdout + deleted.stderr
    again = home.nemo("workspaces", "members", "delete", "zed@example.com", "--workspace", "ws1")
    assert_api_error(again, "Not found: (404) Member 'zed@example.com' not found in workspace 'ws1'")

    missing_ws = home.nemo("workspaces", "members", "list", "--workspace", "nope")
    assert_api_error(missing_ws, "Not found: (404) Workspace 'nope' not found")

    # The context's workspace (`default`) is used when --workspace is omitted.
    default_members = home.ok("workspaces", "members", "list").json["data"]
    assert any(m["principal"] == "*" for m in default_members)


def test_members_unknown_role_is_422(server: Server, home: Home):
    """ADR 0020: the reference accepts any role name (201); we reject unknown ones."""
    home.login(server, ADMIN)
    home.ok("workspaces", "create", "ws1")
    result = home.nemo("workspaces", "members", "create", "--workspace", "ws1",
                       "--principal", "carol@example.com", "--roles", "Superuser")
    assert_api_error(result, "API error: (422)")
    assert "Unknown role 'Superuser'" in result.stderr


def test_members_wait_role_propagation(server: Server, home: Home):
    """ADR 0017: propagation is immediate. The reference makes a new Admin added with
    `wait_role_propagation=false` wait ~3 s (403 meanwhile); ours acts at once."""
    home.login(server, ADMIN)
    home.ok("workspaces", "create", "ws1")
    home.ok("workspaces", "members", "create", "--workspace", "ws1", "--principal", "adam@example.com",
            "--roles", "Admin", "--wait-role-propagation")
    response = requests.post(
        server.api + "/workspaces/ws1/members", params={"wait_role_propagation": "false"},
        json={"principal": "eve@example.com", "roles": ["Admin"]}, headers=as_user(ADMIN), timeout=10,
    )
    assert response.status_code == 201, response.text
    for email in ("adam@example.com", "eve@example.com"):
        result = home.nemo("workspaces", "members", "list", "--workspace", "ws1",
                           env={"NMP_BASE_URL": server.url, "NMP_ACCESS_TOKEN": unsigned_token(email)})
        assert result.returncode == 0, str(result)
