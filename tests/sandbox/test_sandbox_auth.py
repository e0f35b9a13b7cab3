"""OAuth, bearer and company-header strictness (real HTTP against the subprocess)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

CB = "http://127.0.0.1:5000/procore/callback"


def _authorize(sb, world, login="admin@constructora.test", redirect_uri=CB, state="xyz", decision="approve"):
    r = requests.get(sb.url + "/oauth/authorize", params={
        "response_type": "code", "client_id": "demo-client", "redirect_uri": redirect_uri, "state": state})
    assert r.status_code == 200 and "Approve" in r.text and login in r.text
    r = requests.post(sb.url + "/oauth/authorize", data={
        "response_type": "code", "client_id": "demo-client", "redirect_uri": redirect_uri, "state": state,
        "user_id": world.users[login], "decision": decision}, allow_redirects=False)
    assert r.status_code == 302
    loc = r.headers["Location"]
    assert loc.startswith(redirect_uri)
    return {k: v[0] for k, v in parse_qs(urlsplit(loc).query).items()}


def _exchange(sb, code, redirect_uri=CB, as_json=False):
    body = {"grant_type": "authorization_code", "code": code, "client_id": "demo-client",
            "client_secret": "demo-secret", "redirect_uri": redirect_uri}
    return requests.post(sb.url + "/oauth/token", **({"json": body} if as_json else {"data": body}))


def _refresh(sb, refresh_token):
    return requests.post(sb.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": "demo-client", "client_secret": "demo-secret"})


def _me(sb, token, company_id=None):
    h = {"Authorization": f"Bearer {token}"}
    if company_id:
        h["Procore-Company-Id"] = str(company_id)
    return requests.get(sb.url + "/rest/v1.0/me", headers=h)


def test_code_flow_and_single_use_code(sb, world):
    q = _authorize(sb, world)
    assert q["state"] == "xyz"
    r = _exchange(sb, q["code"], as_json=True)
    assert r.status_code == 200, r.text
    tok = r.json()
    assert tok["token_type"] == "bearer" and tok["expires_in"] == 5400
    assert tok["refresh_token"] and isinstance(tok["created_at"], int)
    assert _me(sb, tok["access_token"]).json()["login"] == "admin@constructora.test"
    again = _exchange(sb, q["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # replaying the code also revokes the grant it issued
    assert _me(sb, tok["access_token"]).status_code == 401


def test_code_checks_redirect_uri_and_secret(sb, world):
    q = _authorize(sb, world)
    assert _exchange(sb, q["code"], redirect_uri="http://127.0.0.1:5001/procore/callback").status_code == 400
    bad = requests.post(sb.url + "/oauth/token", data={
        "grant_type": "authorization_code", "code": q["code"], "client_id": "demo-client",
        "client_secret": "wrong", "redirect_uri": CB})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


def test_deny_and_unknown_redirect(sb, world):
    q = _authorize(sb, world, decision="deny", state="s1")
    assert q == {"error": "access_denied", "state": "s1", "error_description": q["error_description"]}
    r = requests.get(sb.url + "/oauth/authorize", params={
        "response_type": "code", "client_id": "demo-client", "redirect_uri": "https://evil.example/cb"})
    assert r.status_code == 400
    # loopback convenience: any port on 127.0.0.1 with /procore/callback
    q = _authorize(sb, world, redirect_uri="http://127.0.0.1:43210/procore/callback")
    assert "code" in q


def test_code_expires(sb, world):
    q = _authorize(sb, world)
    sb.advance_clock(601)
    r = _exchange(sb, q["code"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_refresh_tokens_rotate_and_are_single_use(sb, world):
    tok = _exchange(sb, _authorize(sb, world)["code"]).json()
    r1 = _refresh(sb, tok["refresh_token"])
    assert r1.status_code == 200
    new = r1.json()
    assert new["refresh_token"] != tok["refresh_token"] and new["access_token"] != tok["access_token"]
    r2 = _refresh(sb, tok["refresh_token"])
    assert r2.status_code in (400, 401) and r2.json()["error"] == "invalid_grant"
    assert _me(sb, new["access_token"]).status_code == 200
    assert _me(sb, tok["access_token"]).status_code == 401  # stricter: old access token dies
    assert _refresh(sb, new["refresh_token"]).status_code == 200


def test_revoke_kills_access_and_refresh(sb, world):
    tok = _exchange(sb, _authorize(sb, world)["code"]).json()
    r = requests.post(sb.url + "/oauth/revoke", data={
        "token": tok["access_token"], "client_id": "demo-client", "client_secret": "demo-secret"})
    assert r.status_code == 200
    assert _me(sb, tok["access_token"]).status_code == 401
    assert _refresh(sb, tok["refresh_token"]).json()["error"] == "invalid_grant"
    unknown = requests.post(sb.url + "/oauth/revoke", data={
        "token": "nope", "client_id": "demo-client", "client_secret": "demo-secret"})
    assert unknown.status_code == 200


def test_token_info(sb, world):
    tok = sb.token("estandar@constructora.test")
    r = requests.get(sb.url + "/oauth/token/info", headers={"Authorization": f"Bearer {tok['access_token']}"})
    j = r.json()
    assert j["resource_owner_id"] == world.users["estandar@constructora.test"]
    assert j["scopes"] == [] and j["application"] == {"uid": "demo-client"} and 0 < j["expires_in_seconds"] <= 5400


def test_client_credentials_needs_company_header_everywhere(sb, world):
    r = requests.post(sb.url + "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "demo-client", "client_secret": "demo-secret"})
    tok = r.json()
    assert r.status_code == 200 and "refresh_token" not in tok
    h = {"Authorization": f"Bearer {tok['access_token']}"}
    for path in ("/rest/v1.0/me", "/rest/v1.0/companies"):
        r = requests.get(sb.url + path, headers=h)
        assert r.status_code == 400 and r.json() == {"errors": "Missing Procore-Company-Id header!"}
    r = requests.get(sb.url + "/rest/v1.0/companies", headers={**h, "Procore-Company-Id": str(world.demo)})
    assert [c["name"] for c in r.json()] == ["Constructora Demo"]


def test_company_header_and_bearer_required(sb, world, admin):
    r = admin.get(f"/rest/v1.0/projects?company_id={world.demo}", company=False)
    assert r.status_code == 400 and r.json() == {"errors": "Missing Procore-Company-Id header!"}
    assert admin.get("/rest/v1.0/me", company=False).status_code == 200
    assert admin.get("/rest/v1.0/companies", company=False).status_code == 200
    assert admin.get(f"/rest/v1.0/me?company_id={world.demo}", company=False).status_code == 400
    r = requests.get(sb.url + "/rest/v1.0/me")
    assert r.status_code == 401
    r = requests.get(sb.url + "/rest/v1.0/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401
    # deactivated user
    lector = sb.token("lector@constructora.test")["access_token"]
    assert _me(sb, lector).status_code == 200
    sb.http.post(sb.url + "/_sandbox/users", json={"login": "lector@constructora.test", "is_active": False})
    assert _me(sb, lector).status_code == 401
    # expired
    short = sb.token("admin@constructora.test")
    sb.advance_clock(5401)
    assert _me(sb, short["access_token"]).status_code == 401


def test_companies_projects_and_permissions(sb, world, api_for):
    admin = api_for("admin@constructora.test")
    assert [c["name"] for c in admin.get("/rest/v1.0/companies", company=False).json()] == \
        ["Constructora Demo", "Inmobiliaria Sur"]
    names = [p["name"] for p in admin.get(f"/rest/v1.0/projects?company_id={world.demo}").json()]
    assert "Puente Río Claro" in names and "Bodega Antigua (cerrado)" not in names  # active only
    assert all(p["id"] > 2**32 for p in admin.get(f"/rest/v1.0/projects?company_id={world.demo}").json())
    std = api_for("estandar@constructora.test")
    names = [p["name"] for p in std.get(f"/rest/v1.0/projects?company_id={world.demo}").json()]
    assert names == ["Edificio Los Álamos", "Hospital Regional Ñuñoa"]
    assert std.get(f"/rest/v1.0/folders?project_id={world.rio_claro}").status_code == 403
    # a company the user does not belong to
    assert api_for("estandar@constructora.test", "Inmobiliaria Sur").get(
        f"/rest/v1.0/projects?company_id={world.sur}").status_code == 403
    assert api_for("sinempresa@otra.test", None).get("/rest/v1.0/companies", company=False).json() == []
    tools = {t["name"]: t for t in api_for("sinadmin@constructora.test").get(
        f"/rest/v1.0/settings/permissions?project_id={world.alamos}").json()["tools"]}
    assert tools["admin"]["user_access_level"] == {"id": 2, "name": "Standard"}
    assert tools["documents"]["user_access_level"]["name"] == "Admin"
    assert tools["drawings"]["friendly_name"] == "Drawings"
    comp = {t["name"]: t["user_access_level"]["name"] for t in admin.get(
        f"/rest/v1.0/settings/permissions?company_id={world.demo}").json()["tools"]}
    assert comp == {"admin": "Admin", "directory": "Admin"}
