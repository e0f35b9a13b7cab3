"""Sign-in, sign-out and throttling (RELIABILITY 25, 26; issue 2 "Bad input")."""
from __future__ import annotations

import re
from http.cookies import SimpleCookie

from tests.conftest import TEST_PASSWORD, csrf_token


def _login(client, email, password):
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)})


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_company, make_user):
    make_user("ana@a.test", "admin", make_company())
    wrong = _login(client, "ana@a.test", "not the password")
    unknown = _login(client, "nobody@a.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    def strip(html: str) -> str:  # the typed email and the (timestamped) CSRF token may differ
        html = html.split("<main", 1)[1].replace("nobody@a.test", "X").replace("ana@a.test", "X")
        return re.sub(r'value="[^"]*\.[^"]*"', 'value="TOKEN"', html)

    assert strip(wrong.get_data(as_text=True)) == strip(unknown.get_data(as_text=True))
    assert "Correo o contraseña incorrectos." in wrong.get_data(as_text=True)


def test_missing_fields_are_reported_next_to_the_fields(client):
    response = client.post("/login", data={"email": "not-an-email", "password": "", "csrf_token": csrf_token(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="email-error"' in html and 'id="password-error"' in html


def test_deactivated_user_cannot_sign_in(client, make_company, make_user):
    make_user("off@a.test", "admin", make_company(), active=False)
    assert _login(client, "off@a.test", TEST_PASSWORD).status_code == 401


def test_user_of_deactivated_company_cannot_sign_in(client, make_company, make_user):
    make_user("ana@a.test", "admin", make_company("Cerrada", active=False))
    assert _login(client, "ana@a.test", TEST_PASSWORD).status_code == 401


def test_login_redirects_to_a_local_next_only(client, make_company, make_user):
    make_user("ana@a.test", "admin", make_company())
    token = csrf_token(client)
    response = client.post("/login?next=//evil.example/x",
                           data={"email": "ana@a.test", "password": TEST_PASSWORD, "csrf_token": token,
                                 "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def _session_cookie(response) -> str:
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie(header)
        if "session" in cookie:
            return cookie["session"].value
    return ""


def test_session_is_regenerated_at_login(client, make_company, make_user):
    """RELIABILITY 25: nothing planted in the anonymous session survives the sign-in."""
    make_user("ana@a.test", "admin", make_company())
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
        before = dict(session)
    _login(client, "ana@a.test", TEST_PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != before.get("csrf_token")
        assert session.get("_user_id")


def test_logout_invalidates_a_copied_session_cookie(app, client, login_as, make_company, make_user):
    """RELIABILITY 25: a copy of the cookie taken before sign-out no longer works."""
    user = make_user("ana@a.test", "admin", make_company())
    login_as(user)
    with client.session_transaction() as session:
        stolen = dict(session)
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/").status_code == 302

    thief = app.test_client()
    with thief.session_transaction() as session:
        session.update(stolen)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_deactivation_signs_the_user_out(app, client, login_as, make_company, make_user):
    company = make_company()
    admin = make_user("admin@a.test", "admin", company)
    member = make_user("m@a.test", "member", company)
    other = app.test_client()
    other.post("/login", data={"email": "m@a.test", "password": TEST_PASSWORD, "csrf_token": csrf_token(other)})
    assert other.get("/").status_code == 200
    login_as(admin)
    client.post(f"/users/{member.id}/active", data={"active": "0", "csrf_token": csrf_token(client)})
    assert other.get("/").status_code == 302


def test_login_is_throttled_per_account(app, client, make_company, make_user):
    """RELIABILITY 26: 5 failures per account per minute, whatever the IP."""
    make_user("ana@a.test", "admin", make_company())
    statuses = []
    for i in range(6):
        ip_client = app.test_client()
        token = csrf_token(ip_client)
        response = ip_client.post("/login", data={"email": "ana@a.test", "password": "bad", "csrf_token": token},
                                  environ_overrides={"REMOTE_ADDR": f"10.0.0.{i + 1}"})
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429]
    assert "Demasiados intentos" in response.get_data(as_text=True)
    # Even the right password is refused while the account is throttled.
    response = client.post("/login", data={"email": "ana@a.test", "password": TEST_PASSWORD,
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 429


def test_login_is_throttled_per_ip(client, make_company, make_user):
    """RELIABILITY 26: 20 failures per IP per minute, whatever the account."""
    statuses = []
    token = csrf_token(client)
    for i in range(21):
        response = client.post("/login", data={"email": f"u{i}@a.test", "password": "bad", "csrf_token": token})
        statuses.append(response.status_code)
    assert statuses[:20] == [401] * 20 and statuses[20] == 429


def test_successful_logins_do_not_count_against_the_limit(client, make_company, make_user):
    make_user("ana@a.test", "admin", make_company())
    for _ in range(7):
        assert _login(client, "ana@a.test", TEST_PASSWORD).status_code == 302
        client.post("/logout", data={"csrf_token": csrf_token(client)})
