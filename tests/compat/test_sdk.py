"""The official Python SDK (`nemo_platform.NeMoPlatform`), in-process, against our server."""

from __future__ import annotations

import pytest
from nemo_platform import (
    AuthenticationError,
    ConflictError,
    NeMoPlatform,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)
from nemo_platform.pagination import SyncDefaultPagination

from conftest import ADMIN, Home, Server, add_member, create_workspace, unsigned_token


def direct(server: Server, email: str) -> NeMoPlatform:
    return NeMoPlatform(base_url=server.url, access_token=unsigned_token(email), max_retries=0)


def test_sdk_zero_config_reads_the_cli_login(server: Server, home: Home, sdk_env):
    home.login(server, ADMIN)
    sdk_env(home)
    client = NeMoPlatform()
    assert str(client.base_url).rstrip("/") == server.url
    assert client.workspace == "default"
    page = client.workspaces.list()
    assert isinstance(page, SyncDefaultPagination)
    assert {w.name for w in page} == {"default", "system"}
    created = client.workspaces.create(name="sdkws", description="from the SDK")
    assert created.created_by == ADMIN


def test_sdk_direct_mode_with_access_token(server: Server, home: Home, sdk_env):
    sdk_env(home)  # an empty home: no config file at all
    client = direct(server, ADMIN)
    assert client.workspaces.retrieve("system").name == "system"


def test_sdk_direct_mode_without_token_is_authentication_error(server: Server, home: Home, sdk_env):
    sdk_env(home)
    client = NeMoPlatform(base_url=server.url, max_retries=0)
    with pytest.raises(AuthenticationError) as raised:
        client.workspaces.list()
    assert raised.value.status_code == 401
    assert raised.value.body == {"detail": "Unauthorized"}


def test_sdk_workspace_methods(server: Server, home: Home, sdk_env):
    sdk_env(home)
    client = direct(server, ADMIN)
    created = client.workspaces.create(name="ws1", description="one")
    assert created.id.startswith("workspace-") and created.description == "one"
    assert client.workspaces.create(name="ws1", exist_ok=True).id == created.id
    no_wait = client.workspaces.create(name="ws2", wait_role_propagation=False)
    assert no_wait.name == "ws2"

    fetched = client.workspaces.retrieve("ws1")
    assert fetched.id == created.id and fetched.created_by == ADMIN

    updated = client.workspaces.update("ws1", description="uno")
    assert updated.description == "uno" and updated.updated_by == ADMIN

    page = client.workspaces.list(sort="name", page_size=10)
    assert [w.name for w in page.data] == ["default", "system", "ws1", "ws2"]
    assert page.pagination.total_results == 4 and page.pagination.page_size == 10

    client.workspaces.delete("ws2")
    with pytest.raises(NotFoundError):
        client.workspaces.retrieve("ws2")


def test_sdk_member_methods(server: Server, home: Home, sdk_env):
    sdk_env(home)
    client = direct(server, ADMIN)
    client.workspaces.create(name="ws1")

    member = client.workspaces.members.create(workspace="ws1", principal="bob@example.com", roles=["Viewer"])
    assert member.principal == "bob@example.com" and member.roles == ["Viewer"] and member.granted_by == ADMIN
    defaulted = client.workspaces.members.create(workspace="ws1", principal="dave@example.com")
    assert defaulted.roles == ["Editor"]

    listed = client.workspaces.members.list(workspace="ws1")
    assert [m.principal for m in listed.data] == ["dave@example.com", "bob@example.com", ADMIN]

    updated = client.workspaces.members.update("bob@example.com", workspace="ws1", roles=["Admin"])
    assert updated.roles == ["Admin"]
    # bob is Admin now: he can manage members of ws1.
    bob = direct(server, "bob@example.com")
    bob.workspaces.members.create(workspace="ws1", principal="erin@example.com", roles=["Viewer"],
                                  wait_role_propagation=False)

    client.workspaces.members.delete("dave@example.com", workspace="ws1")
    with pytest.raises(NotFoundError) as raised:
        client.workspaces.members.delete("dave@example.com", workspace="ws1")
    assert raised.value.body == {"detail": "Member 'dave@example.com' not found in workspace 'ws1'"}

    # The client's workspace is the default for member calls.
    scoped = NeMoPlatform(base_url=server.url, access_token=unsigned_token(ADMIN), workspace="ws1")
    assert {m.principal for m in scoped.workspaces.members.list().data} == {
        "erin@example.com", "bob@example.com", ADMIN,
    }


def test_sdk_pagination_iteration(server: Server, home: Home, sdk_env):
    sdk_env(home)
    client = direct(server, ADMIN)
    names = [f"page-{i:02d}" for i in range(7)]
    for name in names:
        client.workspaces.create(name=name, wait_role_propagation=False)

    first = client.workspaces.list(page_size=3, sort="name")
    assert len(first.data) == 3 and first.pagination.total_pages == 3 and first.has_next_page()
    everything = [w.name for w in first]  # auto-pagination follows `page`
    assert everything == sorted(["default", "system", *names])
    pages = list(first.iter_pages())
    assert [len(p.data) for p in pages] == [3, 3, 3]
    assert not pages[-1].has_next_page()


def test_sdk_typed_errors(server: Server, home: Home, sdk_env):
    sdk_env(home)
    admin = direct(server, ADMIN)
    admin.workspaces.create(name="ws1")
    add_member(server, "ws1", "vic@example.com", ["Viewer"])
    viewer = direct(server, "vic@example.com")
    stranger = direct(server, "carol@example.com")

    with pytest.raises(AuthenticationError) as raised:
        NeMoPlatform(base_url=server.url, access_token="garbage", max_retries=0).workspaces.list()
    assert raised.value.status_code == 401
    assert raised.value.body == {"detail": "Invalid or expired token"}

    with pytest.raises(PermissionDeniedError) as raised:
        stranger.workspaces.retrieve("ws1")
    assert raised.value.status_code == 403
    assert str(raised.value) == "Error code: 403 - {'detail': 'Forbidden'}"

    with pytest.raises(PermissionDeniedError):
        viewer.workspaces.members.create(workspace="ws1", principal="x@example.com", roles=["Viewer"])
    with pytest.raises(PermissionDeniedError):
        viewer.workspaces.delete("ws1")

    with pytest.raises(NotFoundError) as raised:
        admin.workspaces.retrieve("nope")
    assert raised.value.body == {"detail": "Workspace 'nope' not found"}

    with pytest.raises(ConflictError) as raised:
        admin.workspaces.create(name="ws1")
    assert raised.value.body == {"detail": "Workspace 'ws1' already exists"}

    with pytest.raises(UnprocessableEntityError) as raised:
        admin.workspaces.create(name="Bad Name!")
    [detail] = raised.value.body["detail"]
    assert detail["type"] == "string_pattern_mismatch" and detail["loc"] == ["body", "name"]

    with pytest.raises(UnprocessableEntityError):  # ADR 0020: unknown roles
        admin.workspaces.members.create(workspace="ws1", principal="carol@example.com", roles=["Superuser"])


def test_sdk_with_auth_off(noauth_server: Server, home: Home, sdk_env):
    sdk_env(home)
    client = NeMoPlatform(base_url=noauth_server.url, max_retries=0)
    created = client.workspaces.create(name="offws")
    assert created.created_by == "" and created.updated_by == ""
    member = client.workspaces.members.create(workspace="offws", principal="bob@example.com", roles=["Viewer"])
    assert member.granted_by == "system"
    assert client.workspaces.members.list(workspace="offws").data[0].principal == "bob@example.com"


def test_sdk_strict_response_validation(server: Server, home: Home, sdk_env):
    """Every response parses against the SDK's own generated models with strict validation on
    (an out-of-schema value, e.g. an unknown `token_kind`, would raise APIResponseValidationError)."""
    sdk_env(home)
    strict = NeMoPlatform(base_url=server.url, access_token=unsigned_token(ADMIN), max_retries=0,
                          _strict_response_validation=True)
    created = strict.workspaces.create(name="strict", description="d")
    strict.workspaces.retrieve("strict")
    strict.workspaces.update("strict", description="e")
    assert [w.name for w in strict.workspaces.list(sort="name", page_size=1)] == ["default", "strict", "system"]
    strict.workspaces.members.create(workspace="strict", principal="bob@example.com", roles=["Viewer"])
    strict.workspaces.members.update("bob@example.com", workspace="strict", roles=["Editor"])
    assert len(strict.workspaces.members.list(workspace="strict").data) == 2
    strict.workspaces.members.delete("bob@example.com", workspace="strict")
    deleted = strict.workspaces.delete("strict")
    assert deleted.id == "strict" and created.name == "strict"

    for method in (strict.auth.authenticate, strict.auth.authenticate_get):
        who = method()
        assert who.principal == ADMIN and who.email == ADMIN
        assert who.token_kind == "oidc_access_token"  # the reference's kind for unsigned JWTs too
