"""Shared fixtures of the deployment suite: paths, the chart, our binaries, a running server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(os.environ.get("NMP_DEPLOY_REPO", Path(__file__).resolve().parents[2]))
CHART = REPO / "deploy" / "helm" / "nmp"


def _binary(variable: str) -> str:
    path = os.environ.get(variable)
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"{variable} must name a built binary (run tests/deploy/run.sh)")
    return path


@pytest.fixture(scope="session")
def server_bin() -> str:
    return _binary("NMP_DEPLOY_SERVER_BIN")


@pytest.fixture(scope="session")
def nemo_bin() -> str:
    return _binary("NMP_DEPLOY_NEMO_BIN")


@pytest.fixture(scope="session")
def traefik_bin() -> str:
    return _binary("NMP_DEPLOY_TRAEFIK_BIN")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """nmp-server as a child process on 127.0.0.1, stopped at the end of the test."""

    def __init__(self, binary: str, config: str, directory: Path):
        path = directory / "platform.yaml"
        path.write_text(config)
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [binary, "--host", "127.0.0.1", "--port", "0", "--config", str(path),
             "--data-dir", str(directory / "data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "NMP_LOG": "warn"},
        )
        started = threading.Event()
        self.base = ""
        self.metrics_base = ""

        def pump() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                self.lines.append(line.rstrip())
                match = re.match(r"nmp listening on (\S+)", line)
                if match:
                    self.base = match.group(1)
                match = re.match(r"nmp metrics on (http://\S+)/metrics", line)
                if match:
                    self.metrics_base = match.group(1)
                if self.base and ("metrics_address" not in config or self.metrics_base):
                    started.set()
            started.set()

        threading.Thread(target=pump, daemon=True).start()
        if not started.wait(60) or not self.base:
            self.stop()
            raise RuntimeError("nmp-server did not start:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_server(server_bin, tmp_path):
    servers: list[Server] = []

    def start(config: str) -> Server:
        server = Server(server_bin, config, tmp_path / f"server{len(servers)}")
        servers.append(server)
        return server

    (tmp_path / "server0").mkdir()
    for index in range(1, 4):
        (tmp_path / f"server{index}").mkdir()
    yield start
    for server in servers:
        server.stop()


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")
