"""Three replicas of our server on one PostgreSQL (a throwaway cluster this module starts:
initdb into a temporary directory, as the `postgres` user when run as root): a member granted
with the official CLI through one replica acts with our CLI through the others on the next
request, and once revoked through a third replica, cannot."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ADMIN, QUICKSTART_AUTH, Home, Server, start_server

PASSWORD = "nmp-compat-superuser"


def _bin_dir() -> Path:
    if os.environ.get("NMP_PG_BIN"):
        return Path(os.environ["NMP_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if not initdb:
        pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found: run scripts/test-deps.sh")
    return Path(initdb).parent


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bin_dir = _bin_dir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    work = Path(tempfile.mkdtemp(prefix="nmp-compat-pg-"))
    os.chmod(work, 0o755)
    (work / "pwfile").write_text(PASSWORD)
    if as_root:
        shutil.chown(work, "postgres", "postgres")
        shutil.chown(work / "pwfile", "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = work / "data"
    subprocess.run(prefix + [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-host=scram-sha-256",
                             "--auth-local=trust", "--no-sync", f"--pwfile={work / 'pwfile'}"],
                   check=True, capture_output=True)
    options = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(work / "server.log"), "-o", options,
                             "-w", "start"], check=True, capture_output=True)
    try:
        yield f"postgres://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[list[Server]]:
    store = {"backend": "postgres", "url": postgres_url, "pool_size": 4}
    servers = [start_server(tmp_path / f"replica-{i}", QUICKSTART_AUTH, store) for i in range(3)]
    yield servers
    for server in servers:
        server.process.close()


def test_official_cli_grant_through_one_replica_is_honoured_by_our_cli_on_the_others(replicas, make_home):
    one, two, three = replicas
    admin = make_home("admin")
    admin.login(one, ADMIN)
    admin.ok("workspaces", "create", "replicated")
    # The official CLI's default waits for propagation to every replica.
    admin.ok("workspaces", "members", "create", "--workspace", "replicated", "--principal", "bob@example.com",
             "--roles", "Viewer")

    for server in (two, three):
        bob = make_home(f"bob-{server.url.rsplit(':', 1)[1]}")
        login = bob.ours("auth", "login", "--base-url", server.url, "--unsigned-token", "--email", "bob@example.com")
        assert login.returncode == 0, str(login)
        got = bob.ours("-f", "json", "workspaces", "get", "replicated")
        assert got.returncode == 0 and "replicated" in got.stdout, str(got)

    admin_three = make_home("admin-three")
    admin_three.login(three, ADMIN)
    admin_three.ok("workspaces", "members", "delete", "--workspace", "replicated", "bob@example.com")
    bob_one = make_home("bob-one")
    assert bob_one.ours("auth", "login", "--base-url", one.url, "--unsigned-token", "--email",
                        "bob@example.com").returncode == 0
    denied = bob_one.ours("workspaces", "get", "replicated")
    assert denied.returncode == 3 and "403" in denied.stderr, str(denied)
