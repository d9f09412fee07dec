"""Fixtures of the compatibility suite: our server on a free port, a scratch HOME per test, the
official and our `nemo` CLIs as subprocesses, the official SDK in-process, and the test IdP.

Run through `tests/compat/run.sh`, which provides the binaries in environment variables."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
import requests
import yaml

ADMIN = "admin@example.com"
START_TIMEOUT = 30.0
CLI_TIMEOUT = 90.0


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the suite through tests/compat/run.sh")
    return value


SERVER_BIN = _required_env("NMP_COMPAT_SERVER_BIN")
OUR_NEMO = _required_env("NMP_COMPAT_OUR_NEMO")
OFFICIAL_NEMO = _required_env("NMP_COMPAT_OFFICIAL_NEMO")
IDP_DIR = _required_env("NMP_COMPAT_IDP_DIR")


# --- no test may skip -----------------------------------------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: tests of the compatibility suite may not skip ({report.longrepr})"


# --- processes ------------------------------------------------------------------------------

class Process:
    """A child process whose stderr/stdout go to a log file, killed (by pid) on close."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None, cwd: str | None = None):
        self.argv = argv
        self.log_path = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output())
            if match:
                return match
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.argv[0]} exited with {self.proc.returncode} before printing /{pattern}/:\n{self.output()}"
                )
            time.sleep(0.05)
        raise RuntimeError(f"{self.argv[0]} did not print /{pattern}/ within {timeout} s:\n{self.output()}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


# --- our server -----------------------------------------------------------------------------

@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    process: Process
    data_dir: Path

    @property
    def api(self) -> str:
        return self.url + "/apis/entities/v2"

    def log(self) -> str:
        return self.process.output()


def start_server(tmp: Path, auth: dict | None, store: dict | None = None) -> Server:
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "platform.yaml"
    document = {"auth": auth or {"enabled": False}}
    if store:
        document["store"] = store
    config.write_text(yaml.safe_dump(document))
    data_dir = tmp / "data"
    data_dir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NMP_AUTH_")}
    process = Process(
        [SERVER_BIN, "--host", "127.0.0.1", "--port", "0", "--config", str(config), "--data-dir", str(data_dir)],
        tmp / "server.log",
        env=env,
    )
    try:
        match = process.wait_for(r"nmp listening on (http://[0-9.:]+)")
        url = match.group(1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(url + "/health/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server at {url} never became ready:\n{process.output()}")
            time.sleep(0.05)
    except BaseException:
        process.close()
        raise
    return Server(url=url, process=process, data_dir=data_dir)


QUICKSTART_AUTH = {"enabled": True, "allow_unsigned_jwt": True, "admin_email": ADMIN}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """Our server, auth on, quickstart config (unsigned JWTs, admin@example.com PlatformAdmin)."""
    srv = start_server(tmp_path / "server", QUICKSTART_AUTH)
    yield srv
    srv.process.close()


@pytest.fixture
def noauth_server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "server-noauth", {"enabled": False})
    yield srv
    srv.process.close()


# --- unsigned tokens (the official CLI's format) --------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(email: str, sub: str | None = None, groups: list[str] | None = None, ttl: int = 3600) -> str:
    now = int(time.time())
    claims: dict = {"sub": sub or email, "iat": now, "email": email}
    if groups:
        claims["groups"] = groups
    claims["exp"] = now + ttl
    header = {"alg": "none", "typ": "JWT"}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def decode_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- a scratch home and the two CLIs --------------------------------------------------------

@dataclass
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"$ {' '.join(self.argv)}\nrc={self.returncode}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


@dataclass
class Home:
    """A scratch HOME with its own XDG dirs; runs either CLI with it."""

    path: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def config_file(self) -> Path:
        return self.path / ".config" / "nmp" / "config.yaml"

    def config(self) -> dict:
        return yaml.safe_load(self.config_file.read_text())

    def env(self, **overrides: str) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TERM", "SYSTEMROOT", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            HOME=str(self.path),
            XDG_CONFIG_HOME=str(self.path / ".config"),
            XDG_STATE_HOME=str(self.path / ".local" / "state"),
            XDG_CACHE_HOME=str(self.path / ".cache"),
            XDG_DATA_HOME=str(self.path / ".local" / "share"),
            NEMO_TELEMETRY_ENABLED="false",
            NO_COLOR="1",
            COLUMNS="200",
        )
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def run(self, program: str, *args: str, env: dict[str, str] | None = None, timeout: float = CLI_TIMEOUT) -> Result:
        argv = [program, *args]
        completed = subprocess.run(
            argv, capture_output=True, text=True, env=self.env(**(env or {})), timeout=timeout, stdin=subprocess.DEVNULL
        )
        return Result(argv, completed.returncode, completed.stdout, completed.stderr)

    def nemo(self, *args: str, env: dict[str, str] | None = None, timeout: float = CLI_TIMEOUT) -> Result:
        """The OFFICIAL nemo CLI."""
        return self.run(OFFICIAL_NEMO, *args, env=env, timeout=timeout)

    def ours(self, *args: str, env: dict[str, str] | None = None, timeout: float = CLI_TIMEOUT) -> Result:
        """Our nemo CLI."""
        return self.run(OUR_NEMO, *args, env=env, timeout=timeout)

    def ok(self, *args: str, **kwargs) -> Result:
        result = self.nemo(*args, **kwargs)
        assert result.returncode == 0, str(result)
        return result

    def login(self, server: Server, email: str, *extra: str) -> Result:
        return self.ok("auth", "login", "--base-url", server.url, "--unsigned-token", "--email", email, *extra)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    path = tmp_path / "home"
    path.mkdir()
    (path / ".config").mkdir()
    return Home(path)


@pytest.fixture
def make_home(tmp_path: Path):
    """More homes: one per user in multi-user tests."""

    def make(name: str) -> Home:
        path = tmp_path / f"home-{name}"
        path.mkdir()
        (path / ".config").mkdir()
        return Home(path)

    return make


# --- the SDK, in-process, with a given HOME -------------------------------------------------

@pytest.fixture
def sdk_env(monkeypatch):
    """Point the in-process official SDK at a Home (its config is found through HOME/XDG)."""

    def use(h: Home) -> None:
        for key, value in h.env().items():
            monkeypatch.setenv(key, value)
        for key in list(os.environ):
            if key.startswith("NMP_") or key.startswith("NEMO_WORKLOAD"):
                monkeypatch.delenv(key, raising=False)

    return use


# --- plain HTTP as a given user -------------------------------------------------------------

def as_user(email: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {unsigned_token(email)}"}


def admin_call(server: Server, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, server.url + path, headers=as_user(ADMIN), timeout=15, **kwargs)


def add_member(server: Server, workspace: str, principal: str, roles: list[str]) -> None:
    response = admin_call(
        server, "POST", f"/apis/entities/v2/workspaces/{workspace}/members", json={"principal": principal, "roles": roles}
    )
    assert response.status_code == 201, response.text


def create_workspace(server: Server, name: str, description: str | None = None) -> dict:
    body = {"name": name}
    if description is not None:
        body["description"] = description
    response = admin_call(server, "POST", "/apis/entities/v2/workspaces", json=body)
    assert response.status_code == 201, response.text
    return response.json()


# --- the test IdP and our server configured for it ------------------------------------------

@pytest.fixture
def idp(tmp_path: Path):
    from idp import Idp, idp_argv

    directory = tmp_path / "idp"
    directory.mkdir()
    process = Process(idp_argv(IDP_DIR, directory / "state.json"), directory / "idp.log", cwd=IDP_DIR)
    try:
        match = process.wait_for(r'(?m)^(\{"issuer".*\})\s*$')
        ready = json.loads(match.group(1))
        provider = Idp(issuer=ready["issuer"], audience=ready["audience"], process=process)
        provider.set_device_interval(1)  # the CLI polls every `interval` seconds (default 5)
        yield provider
    finally:
        process.close()


def oidc_auth(idp, **oidc) -> dict:
    return {
        "enabled": True,
        "admin_email": ADMIN,
        "oidc": {
            "enabled": True,
            "issuer": idp.issuer,
            "client_id": idp.client_id,
            "audience": idp.audience,
            "leeway_seconds": 0,  # so that an expired access token is refused at once
            **oidc,
        },
    }


@pytest.fixture
def oidc_server(tmp_path: Path, idp) -> Iterator[Server]:
    srv = start_server(tmp_path / "server-oidc", oidc_auth(idp))
    yield srv
    srv.process.close()


def device_login(home: Home, server: Server, user: str, program: str | None = None, timeout: float = 60.0) -> Result:
    """`nemo auth login --no-browser` as a subprocess; plays `user` at the IdP from what it prints."""
    from idp import play_device_user

    argv = [program or OFFICIAL_NEMO, "auth", "login", "--base-url", server.url, "--no-browser"]
    log = home.path.parent / f"device-login-{user.split('@')[0]}-{int(time.time() * 1000)}.log"
    process = Process(argv, log, env=home.env())
    try:
        visit = process.wait_for(r"(?:Visit|visit|Open|open)[^:\n]*:\s*(https?://\S+)", timeout=timeout)
        code = process.wait_for(r"(?:[Cc]ode)[^:\n]*:\s*([A-Z0-9]{4}-?[A-Z0-9]{4})", timeout=timeout)
        verification_uri = visit.group(1).rstrip("│ ").strip()
        play_device_user(verification_uri, user, user_code=code.group(1))
        returncode = process.proc.wait(timeout=timeout)
    finally:
        process.close()
    output = process.output()
    return Result(argv, returncode, output, "")
