"""Headers, cookies, hashes, config fail-fast, error pages (RELIABILITY 24, 27)."""
from __future__ import annotations

import pytest

from config import ConfigError, load_config
from tests.conftest import TEST_PASSWORD, csrf_token


def test_security_headers_on_every_page(client):
    for path in ("/login", "/does-not-exist"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"


def test_session_cookie_flags(client, make_company, make_user):
    make_user("ana@a.test", "admin", make_company())
    response = client.post("/login", data={"email": "ana@a.test", "password": TEST_PASSWORD,
                                           "csrf_token": csrf_token(client)})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(monkeypatch):
    for name, value in {"SECRET_KEY": "x" * 40, "DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://r/0",
                        "TOKEN_ENCRYPTION_KEY": "k", "PROCORE_CLIENT_ID": "id", "PROCORE_CLIENT_SECRET": "s",
                        "PUBLIC_BASE_URL": "https://portal.example", "STORAGE_DIR": "/srv/cbox"}.items():
        monkeypatch.setenv(name, value)
    config = load_config("production")
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_production_refuses_to_start_without_secrets(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "TOKEN_ENCRYPTION_KEY", "PROCORE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as error:
        load_config("production")
    assert "SECRET_KEY" in str(error.value) and "TOKEN_ENCRYPTION_KEY" in str(error.value)


def test_passwords_are_hashed_with_argon2id(app, db, make_company, make_user):
    """RELIABILITY 27."""
    from portal.models import User

    make_user("ana@a.test", "admin", make_company())
    with app.app_context():
        stored = db.session.query(User).one().password_hash
    assert stored.startswith("$argon2id$")
    assert "m=65536" in stored and "t=3" in stored


def test_friendly_404_page_and_htmx_fragment(client):
    page = client.get("/nope")
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True)
    assert "No encontrado" in page.get_data(as_text=True)
    fragment = client.get("/nope", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.get_data(as_text=True)


def test_unexpected_error_is_a_friendly_500(client, login_as, make_company, make_user, monkeypatch):
    from portal.views import dashboard

    login_as(make_user("soporte@x.test", "support"))  # support's dashboard reads the queue

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(dashboard, "_background_status", broken)
    response = client.get("/")
    assert response.status_code == 500
    assert "Algo salió mal" in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)
