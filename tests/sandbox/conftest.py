"""Fixtures for the sandbox suite: one sandbox subprocess per session, reset per test.

Other suites may reuse them with ``pytest_plugins = ["tests.sandbox.conftest"]`` or
simply by using sandbox.testing.SandboxServer directly.
"""
from __future__ import annotations

import pytest
import requests

from sandbox.testing import SandboxServer


@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer(config={"seed_on_empty": True})
    server.start()
    yield server
    server.cleanup()


@pytest.fixture()
def sb(sandbox_server):
    """The running sandbox, freshly re-seeded with the startup config."""
    sandbox_server.reset()
    return sandbox_server


class World:
    def __init__(self, sb: SandboxServer):
        st = sb.state()
        self.companies = {c["name"]: c["id"] for c in st["companies"]}
        self.projects = {p["name"]: p["id"] for c in st["companies"] for p in c["projects"]}
        self.users = {u["login"]: u["id"] for u in st["users"]}
        self.demo = self.companies["Constructora Demo"]
        self.sur = self.companies["Inmobiliaria Sur"]
        self.alamos = self.projects["Edificio Los Álamos"]
        self.rio_claro = self.projects["Puente Río Claro"]


@pytest.fixture()
def world(sb):
    return World(sb)


class Api:
    """Minimal Procore client: Bearer token + Procore-Company-Id, no auto-redirects."""

    def __init__(self, sb: SandboxServer, token: str, company_id: int | None):
        self.sb, self.token, self.company_id = sb, token, company_id
        self.http = requests.Session()

    def headers(self, extra=None, company=True):
        h = {"Authorization": f"Bearer {self.token}"}
        if company and self.company_id:
            h["Procore-Company-Id"] = str(self.company_id)
        h.update(extra or {})
        return h

    def request(self, method, path, company=True, headers=None, **kw):
        url = path if path.startswith("http") else self.sb.url + path
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 30)
        return self.http.request(method, url, headers=self.headers(headers, company), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture()
def api_for(sb, world):
    def make(login="admin@constructora.test", company="Constructora Demo"):
        tok = sb.token(login)["access_token"]
        return Api(sb, tok, world.companies.get(company) if company else None)
    return make


@pytest.fixture()
def admin(api_for):
    return api_for("admin@constructora.test")
