"""Connecting Procore accounts against the local sandbox (issue 4; SPEC R1, R2, R6, R9;
RELIABILITY 17-21). Real HTTP between the portal's test client and the sandbox process."""
from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select, text

from portal.models import AccountStatus, Company, ProcoreAccount
from tests.conftest import UNREACHABLE_PROCORE, csrf_token

ADMIN = "admin@constructora.test"


@pytest.fixture
def portal_admin(make_company, make_user, login_as):
    company = make_company("Constructora Demo")
    user = make_user("admin@demo.test", "admin", company, procore=True)
    login_as(user)
    return user


def start(client, path="/procore/connect"):
    response = client.get(path)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.headers["Location"]


def approve(authorize_url: str, login: str = ADMIN, decision: str = "approve") -> str:
    """Do what the person does on Procore's consent page; return the callback URL."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    base = authorize_url.split("?")[0]
    response = requests.post(base, data={**params, "login": login, "decision": decision},
                             allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:300]
    return response.headers["Location"]


def callback(client, url: str):
    parts = urlsplit(url)
    return client.get(parts.path + "?" + parts.query)


def connect(client, login=ADMIN, pick=None):
    response = callback(client, approve(start(client), login))
    if response.status_code == 302 and response.headers["Location"].endswith("/procore/company"):
        page = client.get("/procore/company")
        assert page.status_code == 200
        response = client.post("/procore/company", data={"procore_company_id": str(pick),
                                                          "csrf_token": csrf_token(client, "/procore/company")})
    return response


def accounts(app, db):
    with app.app_context():
        rows = db.session.scalars(select(ProcoreAccount)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def test_full_flow_with_company_choice(app, db, client, portal_admin, procore_sandbox):
    """R2: an admin of two Procore companies picks one; the portal company is linked to it."""
    demo = procore_sandbox.company_id("Constructora Demo")
    response = callback(client, approve(start(client)))
    assert response.status_code == 302 and response.headers["Location"].endswith("/procore/company")
    page = client.get("/procore/company").get_data(as_text=True)
    assert "Constructora Demo" in page and "Inmobiliaria Sur" in page
    response = client.post("/procore/company", data={"procore_company_id": str(demo),
                                                      "csrf_token": csrf_token(client, "/procore/company")})
    assert response.status_code == 302
    [account] = accounts(app, db)
    assert account.procore_login == ADMIN and account.status == AccountStatus.VALID
    assert account.procore_company_id == demo and account.procore_user_id > 2**32
    with app.app_context():
        company = db.session.get(Company, portal_admin.company_id)
        assert company.procore_company_id == demo and company.procore_company_name == "Constructora Demo"
    html = client.get("/connections").get_data(as_text=True)
    assert ADMIN in html and "Válida" in html


def test_company_choice_cannot_be_tampered(app, db, client, portal_admin, procore_sandbox):
    callback(client, approve(start(client)))
    response = client.post("/procore/company", data={"procore_company_id": "123",
                                                      "csrf_token": csrf_token(client, "/procore/company")})
    assert response.status_code == 200 and "Elija una de las empresas" in response.get_data(as_text=True)
    assert accounts(app, db) == []


def test_projects_page_lists_projects_and_permissions(client, portal_admin, procore_sandbox):
    connect(client, pick=procore_sandbox.company_id())
    html = client.get("/projects/").get_data(as_text=True)
    assert "Edificio Los Álamos" in html and "Puente Río Claro" in html
    fragment = client.get(f"/projects/{procore_sandbox.project_id('Edificio Los Álamos')}/access",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Puede configurar integraciones en este proyecto." in fragment


@pytest.mark.parametrize("error, says", [("ProcoreAuthError", "Procore necesita que vuelva a iniciar sesión"),
                                          ("ProcoreUnavailable", "No se puede contactar Procore")])
def test_projects_page_names_procore_problems_through_the_one_mapping(client, portal_admin, procore_sandbox,
                                                                      monkeypatch, error, says):
    """Issue 16: the projects page reads a Procore error's kind from portal/sync/reasons.py like every view;
    an authorization Procore rejects asks to sign in again (both the page and a project's row)."""
    import portal.procore as procore_errors
    from portal.views import projects

    connect(client, pick=procore_sandbox.company_id())

    class Refusing:
        def __getattr__(self, name):
            def call(*args, **kwargs):
                raise getattr(procore_errors, error)("refused by the test")
            return call

    monkeypatch.setattr(projects, "client_for_account", lambda account: Refusing())
    page = client.get("/projects/")
    assert page.status_code == 502 and says in page.get_data(as_text=True)
    row = client.get(f"/projects/{procore_sandbox.project_id('Edificio Los Álamos')}/access").get_data(as_text=True)
    assert ("Vuelva a iniciar sesión en Procore" in row) == (error == "ProcoreAuthError")


def test_user_without_project_admin_is_told_what_is_missing(client, portal_admin, procore_sandbox):
    """R9: sinadmin can connect (Directory Admin) but lacks Admin on the project Admin tool."""
    response = connect(client, login="sinadmin@constructora.test")
    assert response.status_code == 302
    fragment = client.get(f"/projects/{procore_sandbox.project_id('Edificio Los Álamos')}/access").get_data(
        as_text=True)
    assert "Falta para integraciones" in fragment and "Admin" in fragment
    assert "Quién puede otorgarlo" in fragment


def test_standard_only_user_gets_the_directory_admin_page(app, db, client, portal_admin, procore_sandbox):
    """R1: connecting needs Admin on the company Directory tool, named plainly."""
    response = connect(client, login="estandar@constructora.test")
    html = response.get_data(as_text=True)
    assert "Directorio" in html or "Directory" in html
    assert "Administrador de la compañía" in html or "administrador de la compañía" in html.lower()
    assert accounts(app, db) == []


def test_user_without_company_gets_the_no_account_page(app, db, client, portal_admin, procore_sandbox):
    """R6: a clear page with the configurable contact address."""
    html = connect(client, login="sinempresa@otra.test").get_data(as_text=True)
    assert "no tiene empresa" in html and app.config["SUPPORT_CONTACT_EMAIL"] in html
    assert accounts(app, db) == []


def test_denied_consent(app, db, client, portal_admin, procore_sandbox):
    response = callback(client, approve(start(client), decision="deny"))
    assert response.status_code == 400 and "Autorización cancelada" in response.get_data(as_text=True)
    assert accounts(app, db) == []


@pytest.mark.parametrize("tamper", ["missing", "wrong", "replayed", "old"])
def test_bad_state_is_refused_before_any_token_exchange(app, db, client, portal_admin, procore_sandbox,
                                                        monkeypatch, tamper):
    """RELIABILITY 20."""
    url = approve(start(client))
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if tamper == "replayed":
        callback(client, url)
        client.post("/procore/company", data={"procore_company_id": str(procore_sandbox.company_id()),
                                               "csrf_token": csrf_token(client, "/procore/company")})
    issued = procore_sandbox.stats()["tokens_issued"]
    if tamper == "missing":
        response = client.get(f"{parts.path}?code={query['code'][0]}")
    elif tamper == "wrong":
        response = client.get(f"{parts.path}?code={query['code'][0]}&state=forged")
    elif tamper == "old":
        import portal.connections.oauth_flow as flow

        real = flow.time.time
        monkeypatch.setattr(flow.time, "time", lambda: real() + 601)
        response = callback(client, url)
    else:
        response = callback(client, url)
    assert response.status_code == 400
    assert procore_sandbox.stats()["tokens_issued"] == issued, "a token exchange happened"


def test_callback_without_code(client, portal_admin, procore_sandbox):
    url = approve(start(client))
    state = parse_qs(urlsplit(url).query)["state"][0]
    response = client.get(f"/procore/callback?state={state}")
    assert response.status_code == 400 and "no envió un código" in response.get_data(as_text=True)


def test_expired_code(app, db, client, portal_admin, procore_sandbox):
    url = approve(start(client))
    procore_sandbox.advance_clock(11 * 60)
    response = callback(client, url)
    assert response.status_code == 400 and "expiró" in response.get_data(as_text=True)
    assert accounts(app, db) == []


def test_procore_down_during_the_exchange(app, db, client, portal_admin, procore_sandbox, monkeypatch):
    url = approve(start(client))
    monkeypatch.setitem(app.config, "PROCORE_LOGIN_URL", UNREACHABLE_PROCORE)
    response = callback(client, url)
    assert response.status_code == 503 and "No se puede contactar Procore" in response.get_data(as_text=True)
    assert accounts(app, db) == []


def test_reconnect_as_a_different_procore_user_changes_nothing(app, db, client, portal_admin, procore_sandbox):
    connect(client, login="sinadmin@constructora.test")
    [account] = accounts(app, db)
    response = callback(client, approve(start(client, f"/procore/connect?account={account.id}"), ADMIN))
    if response.status_code == 302 and response.headers["Location"].endswith("/procore/company"):
        pytest.fail("company already linked: no choice expected")
    assert response.status_code == 409 and "sinadmin@constructora.test" in response.get_data(as_text=True)
    [after] = accounts(app, db)
    assert after.procore_login == "sinadmin@constructora.test" and after.access_token_enc == account.access_token_enc


def test_disconnect_revokes_and_erases(app, db, client, portal_admin, procore_sandbox):
    """RELIABILITY 21: Procore's revoke is called and our copy of the tokens is gone."""
    connect(client, pick=procore_sandbox.company_id())
    [account] = accounts(app, db)
    with app.app_context():
        from portal.connections.credentials import DbCredential

        token = DbCredential(account.id).load().access_token
    revoked = procore_sandbox.stats()["tokens_revoked"]
    asked = client.get(f"/connections/{account.id}/disconnect").get_data(as_text=True)  # asked first (issue 14)
    assert "No se elimina nada en cBox ni en Procore." in asked and 'action="/connections/' in asked
    assert procore_sandbox.stats()["tokens_revoked"] == revoked and accounts(app, db)[0].status == AccountStatus.VALID
    response = client.post(f"/connections/{account.id}/disconnect", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert procore_sandbox.stats()["tokens_revoked"] > revoked
    [after] = accounts(app, db)
    assert after.status == AccountStatus.REVOKED and after.access_token_enc is None and after.refresh_token_enc is None
    me = requests.get(procore_sandbox.url + "/rest/v1.0/me", headers={"Authorization": f"Bearer {token}"},
                      timeout=10)
    assert me.status_code == 401


def test_twenty_concurrent_calls_with_an_expired_token_refresh_once(app, db, client, portal_admin, procore_sandbox):
    """RELIABILITY 19: exactly one refresh call; all twenty succeed."""
    connect(client, pick=procore_sandbox.company_id())
    [account] = accounts(app, db)
    procore_sandbox.advance_clock(5400 + 60)  # the access token is now expired at Procore
    refreshed = procore_sandbox.stats().get("tokens_refreshed", 0)
    results, errors = [], []
    barrier = threading.Barrier(20)

    def call():
        with app.app_context():
            from portal.connections.credentials import client_for_account

            procore = client_for_account(account)
            barrier.wait()
            try:
                results.append(procore.me().login)
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                errors.append(repr(error))

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and results == [ADMIN] * 20
    assert procore_sandbox.stats()["tokens_refreshed"] - refreshed == 1


def test_no_token_in_the_database_or_logs(app, db, client, portal_admin, procore_sandbox, caplog):
    """RELIABILITY 17: dump every table as text; the tokens appear nowhere, nor in the logs."""
    caplog.set_level("DEBUG")
    connect(client, pick=procore_sandbox.company_id())
    [account] = accounts(app, db)
    with app.app_context():
        from portal.connections.credentials import DbCredential, client_for_account

        pair = DbCredential(account.id).load()
        client_for_account(account).projects(procore_sandbox.company_id())
        dump = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608 - our table names
                dump.append(repr(tuple(row)))
    dump_text = "\n".join(dump)
    for secret in (pair.access_token, pair.refresh_token):
        assert secret not in dump_text
        assert secret not in caplog.text


def test_key_rotation_keeps_accounts_working(app, db, client, portal_admin, procore_sandbox, monkeypatch):
    """RELIABILITY 18: add a new key in front, rotate, drop the old key: still connected."""
    from portal.connections import crypto

    connect(client, pick=procore_sandbox.company_id())
    [account] = accounts(app, db)
    old_key = app.config["TOKEN_ENCRYPTION_KEY"]
    new_key = crypto.generate_key()
    monkeypatch.setitem(app.config, "TOKEN_ENCRYPTION_KEY", f"{new_key},{old_key}")
    result = app.test_cli_runner().invoke(args=["procore", "rotate-keys"])
    assert result.exit_code == 0 and "1 Procore account" in result.output
    monkeypatch.setitem(app.config, "TOKEN_ENCRYPTION_KEY", new_key)
    with app.app_context():
        from portal.connections.credentials import client_for_account

        assert client_for_account(account).me().login == ADMIN
