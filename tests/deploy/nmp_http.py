"""Small HTTP helpers for the deployment suite: unsigned quickstart tokens, keep-alive calls."""

from __future__ import annotations

import base64
import http.client
import json
import time
from urllib.parse import urlsplit

QUICKSTART = "auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(email: str, **extra) -> str:
    """An `alg: none` token as `nemo auth login --unsigned-token` makes them."""
    now = int(time.time())
    claims = {"sub": email, "email": email, "iat": now, "exp": now + 3600, **extra}
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}."


class Connection:
    """One keep-alive HTTP/1.1 connection to `base` (http://host:port)."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def call(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, dict, str]:
        headers = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, text

    def close(self) -> None:
        self.connection.close()


def call(base: str, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, dict, str]:
    connection = Connection(base)
    try:
        return connection.call(method, path, body, headers)
    finally:
        connection.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}
