"""Procore answering garbage during the connect flow: a clear page, no half-stored account
(issue 4 "Bad input"). Procore is played by `responses` here: the sandbox never misbehaves so."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from sqlalchemy import func, select

from portal.models import ProcoreAccount

LOGIN = "https://login.procore.test"
API = "https://api.procore.test"
TOKEN = {"access_token": "tok-a", "token_type": "bearer", "expires_in": 5400, "refresh_token": "tok-r",
         "created_at": 1_800_000_000}


@pytest.fixture
def fake_procore(app, monkeypatch):
    monkeypatch.setitem(app.config, "PROCORE_API_URL", API)
    monkeypatch.setitem(app.config, "PROCORE_LOGIN_URL", LOGIN)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def admin(make_company, make_user, login_as):
    user = make_user("admin@demo.test", "admin", make_company("Constructora Demo"), procore=True)
    login_as(user)
    return user


def _callback(client):
    state = parse_qs(urlsplit(client.get("/procore/connect").headers["Location"]).query)["state"][0]
    return client.get(f"/procore/callback?code=abc&state={state}")


def _no_account(app, db):
    with app.app_context():
        return db.session.scalar(select(func.count(ProcoreAccount.id))) == 0


def test_token_response_missing_refresh_token(app, db, client, admin, fake_procore):
    fake_procore.post(f"{LOGIN}/oauth/token", json={k: v for k, v in TOKEN.items() if k != "refresh_token"})
    response = _callback(client)
    assert response.status_code == 502 and "Procore respondió algo inesperado" in response.get_data(as_text=True)
    assert _no_account(app, db)


def test_token_endpoint_answers_html(app, db, client, admin, fake_procore):
    fake_procore.post(f"{LOGIN}/oauth/token", body="<html>maintenance</html>", content_type="text/html")
    response = _callback(client)
    assert response.status_code == 502
    assert _no_account(app, db)


def test_me_answers_html(app, db, client, admin, fake_procore):
    fake_procore.post(f"{LOGIN}/oauth/token", json=TOKEN)
    fake_procore.get(f"{API}/rest/v1.0/me", body="<html>oops</html>", content_type="text/html")
    response = _callback(client)
    assert response.status_code == 502 and "Procore respondió algo inesperado" in response.get_data(as_text=True)
    assert "tok-a" not in response.get_data(as_text=True)
    assert _no_account(app, db)


def test_companies_answers_garbage_json(app, db, client, admin, fake_procore):
    fake_procore.post(f"{LOGIN}/oauth/token", json=TOKEN)
    fake_procore.get(f"{API}/rest/v1.0/me", json={"id": 5_000_000_123, "login": "a@b.test", "name": "A"})
    fake_procore.get(f"{API}/rest/v1.0/companies", json={"unexpected": "shape"})
    response = _callback(client)
    assert response.status_code == 502
    assert _no_account(app, db)


def test_token_endpoint_invalid_client(app, db, client, admin, fake_procore):
    fake_procore.post(f"{LOGIN}/oauth/token", status=401, json={"error": "invalid_client"})
    response = _callback(client)
    assert response.status_code == 502 and "Procore rechazó la conexión" in response.get_data(as_text=True)
    assert _no_account(app, db)
