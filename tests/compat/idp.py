"""The test IdP (tests/idp: node + oidc-provider) from Python: start it, steer it through its
`/__control/*` API and play its users over HTTP the way a browser would (a port of
crates/testkit/src/browser.rs and html.rs)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

ANY_PASSWORD = "correct horse battery staple"
MAX_STEPS = 25


@dataclass
class Form:
    action: str = ""
    fields: list[list[str]] = field(default_factory=list)

    def set(self, name: str, value: str) -> None:
        for entry in self.fields:
            if entry[0] == name:
                entry[1] = value
                return
        self.fields.append([name, value])


class Page(HTMLParser):
    """The `nmp-idp-page` / `nmp-idp-error` meta tags and the first form of an IdP page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.name: str | None = None
        self.error: str | None = None
        self.form: Form | None = None
        self._in_first_form = False
        self._forms_seen = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {key: (value or "") for key, value in attrs}
        if tag == "meta":
            if attributes.get("name") == "nmp-idp-page":
                self.name = attributes.get("content")
            elif attributes.get("name") == "nmp-idp-error":
                self.error = attributes.get("content")
        elif tag == "form":
            self._forms_seen += 1
            if self._forms_seen == 1:
                self.form = Form(action=attributes.get("action", ""))
                self._in_first_form = True
        elif tag == "input" and self._in_first_form and "name" in attributes:
            self.form.fields.append([attributes["name"], attributes.get("value", "")])

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_first_form = False


def play_device_user(start_url: str, user: str, user_code: str | None = None, allow: bool = True) -> str:
    """Walk the IdP's device pages from `start_url` (verification_uri or _complete) as `user`:
    enter the code if asked, log in, consent. Returns the final page name (`device-success`)."""
    browser = requests.Session()
    method, url, form = "GET", start_url, None
    trail = []
    for _ in range(MAX_STEPS):
        trail.append(f"{method} {url}")
        if method == "POST":
            response = browser.post(url, data=form, allow_redirects=False, timeout=15)
        else:
            response = browser.get(url, allow_redirects=False, timeout=15)
        if response.is_redirect:
            method, url = "GET", urljoin(url, response.headers["Location"])
            continue
        page = Page(response.text)

        def stuck(why: str) -> AssertionError:
            flat = " ".join(response.text.split())[:600]
            return AssertionError(
                f"playing `{user}` at the IdP: {why} (HTTP {response.status_code} at {url}; "
                f"steps: {' -> '.join(trail)}): {flat}"
            )

        if response.status_code != 200:
            raise stuck("unexpected status")
        if page.name == "device-success":
            return page.name
        if page.error:
            raise stuck(page.error)
        if page.form is None:
            raise stuck("page has no form")
        if page.name == "device-input":
            if user_code is None:
                raise stuck("asked for a user code, none given")
            page.form.set("user_code", user_code)
        elif page.name == "login":
            page.form.set("login", user)
            page.form.set("password", ANY_PASSWORD)
        elif page.name == "consent":
            page.form.set("decision", "allow" if allow else "deny")
        elif page.name not in (None, "device-confirm"):
            raise stuck(f"unknown page `{page.name}`")
        method, url, form = "POST", urljoin(url, page.form.action), [tuple(f) for f in page.form.fields]
    raise AssertionError(f"playing `{user}` at the IdP: no end after {MAX_STEPS} steps: {' -> '.join(trail)}")


@dataclass
class Idp:
    issuer: str
    audience: str
    process: object  # conftest.Process

    client_id = "nemo-cli"

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        response = requests.request(method, f"{self.issuer}/__control/{path}", json=body, timeout=15)
        assert response.ok, f"IdP control {method} {path}: {response.status_code} {response.text}"
        return response.json()

    def set_access_token_ttl(self, seconds: int) -> None:
        self.control("POST", "ttl", {"access_token": seconds})

    def set_device_interval(self, seconds: int | None) -> None:
        self.control("POST", "device-interval", {"seconds": seconds})

    def counters(self) -> dict:
        return self.control("GET", "counters")


def parse_ready(line: str) -> dict:
    return json.loads(line)


def idp_argv(idp_dir: str, state_file: Path) -> list[str]:
    return ["node", str(Path(idp_dir) / "idp.mjs"), "--port", "0", "--state", str(state_file), "--exit-with-stdin"]
