"""Alerts (issue 14): raised where the fact is recorded (a run's end, a hook check, an account marked for a
new login), shown in the header and on /alerts, and mailed through a real SMTP server (aiosmtpd on
loopback) by the "alerts-mail" job: at once to each admin who keeps the kind on, and in a daily digest."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token, save


@pytest.fixture
def company(app, db, make_company, make_user):
    from portal.models import Integration

    a = make_company("Empresa A")
    people = {"ana": make_user("ana@a.test", "admin", a), "beto": make_user("beto@a.test", "admin", a),
              "memo": make_user("memo@a.test", "member", a),
              "otra": make_user("otra@b.test", "admin", make_company("Empresa B"))}
    integration = save(app, db, Integration(company_id=a.id, cbox_folder_id=1, procore_company_id=7,
                                            procore_project_id=77, procore_project_name="Obra Norte", selections={}))
    return {"company": a, "integration": integration, **people}


def failed_run(app, db, integration, error="Procore could not be listed: Procore unreachable (ConnectionError)"):
    """A run ending "failed" the way the engine ends one (alerts.run_ended before its final commit)."""
    from portal import alerts
    from portal.models import SyncRun

    with app.app_context():
        run = SyncRun(integration_id=integration.id, kind="refresh", status="failed", error=error)
        db.session.add(run)
        db.session.flush()
        alerts.run_ended(run)
        db.session.commit()
        return run.id


def stored(app, db):
    from portal.models import Alert

    with app.app_context():
        rows = db.session.scalars(select(Alert).order_by(Alert.id))
        return [(a.kind, a.subject, a.mailed_at is not None) for a in rows]


def test_a_failed_run_is_mailed_at_once_to_the_admins_who_want_it(app, db, company, smtp_server, monkeypatch):
    from portal import alerts
    from portal.models import User

    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example")
    with app.app_context():
        beto = db.session.get(User, company["beto"].id)
        beto.alert_settings = {"immediate": {"run_failed": False}, "digest": False}
        db.session.commit()
    run_id = failed_run(app, db, company["integration"])
    assert stored(app, db) == [("run_failed", "Obra Norte", False)]
    with app.app_context():
        now = datetime(2026, 12, 6, 6, 0, tzinfo=timezone.utc)  # before the digest hour
        assert alerts.send_due(now) == 1
        assert alerts.send_due(now) == 0  # mailed once
    [mail] = smtp_server
    assert mail["To"] == "ana@a.test"
    assert mail["Subject"] == "[cBox Procore] Falló una ejecución de sincronización: Obra Norte"
    body = mail.get_body(("plain",)).get_content()
    assert f"https://portal.example/integrations/{company['integration'].id}/runs/{run_id}" in body
    assert "No se pudo listar el contenido de Procore." in body  # the stored reason, in Spanish
    assert "ConnectionError" not in body and "unreachable" not in body  # the stored English stays out
    assert mail.get_body(("html",)) is not None
    assert stored(app, db) == [("run_failed", "Obra Norte", True)]


def test_the_daily_digest_once_a_day_after_its_hour(app, db, company, smtp_server):
    from portal import alerts
    from portal.models import User

    with app.app_context():
        for key in ("ana", "beto"):  # nobody wants them at once; only Ana wants the digest
            db.session.get(User, company[key].id).alert_settings = {
                "immediate": {kind: False for kind in alerts.KINDS}, "digest": key == "ana"}
        db.session.commit()
    failed_run(app, db, company["integration"])
    failed_run(app, db, company["integration"], error="Unexpected error: RuntimeError: boom")
    with app.app_context():
        morning = datetime.now(timezone.utc).replace(hour=6, minute=30)
        alerts.send_due(morning)  # the immediate pass marks them; nobody wanted them at once
        assert [m["To"] for m in smtp_server if "Resumen" not in m["Subject"]] == []
        assert alerts.send_due(morning + timedelta(hours=2)) == 1  # 08:30: the digest is due
        assert alerts.send_due(morning + timedelta(hours=5)) == 0  # once a day
    [digest] = smtp_server
    assert digest["To"] == "ana@a.test" and digest["Subject"] == "[cBox Procore] Resumen diario: 2"
    assert digest.get_body(("plain",)).get_content().count("Falló una ejecución de sincronización") == 2


def test_without_smtp_nothing_is_mailed_or_marked(app, db, company, monkeypatch):
    from portal import alerts

    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    failed_run(app, db, company["integration"])
    with app.app_context():
        assert alerts.send_due() == 0
    assert stored(app, db) == [("run_failed", "Obra Norte", False)]


def test_hook_turning_unhealthy_and_account_needing_a_new_login_raise_alerts(app, db, company, make_account,
                                                                             monkeypatch):
    from portal.connections.credentials import DbCredential
    from portal.models import Company, HookCheck
    from portal.webhooks import health

    save(app, db, HookCheck(company_id=company["company"].id, procore_project_id=77, state="healthy",
                            procore_project_name="Obra Norte", checked_by="x"))
    verdicts = iter([health.Diagnosis("check_failed"), health.Diagnosis("wrong_endpoint"),
                     health.Diagnosis("wrong_endpoint")])
    monkeypatch.setattr(health, "diagnose", lambda client, comp, project_id: next(verdicts))
    with app.app_context():
        comp = db.session.get(Company, company["company"].id)
        for _ in range(3):  # unreachable (proves nothing), then broken, then still broken
            health.check(comp, 77, client=None, checked_by="x", project_name="Obra Norte")
            db.session.commit()
    account = make_account(company["company"], "ana@a.test")
    with app.app_context():
        DbCredential(account.id).mark_needs_reauth("refresh token refused")
        DbCredential(account.id).mark_needs_reauth("again")  # already marked: no second alert
    assert stored(app, db) == [("hook_unhealthy", "Obra Norte", False), ("auth_lost", "ana@a.test", False)]


def test_header_page_and_choices(app, db, client, login_as, company):
    failed_run(app, db, company["integration"])
    login_as(company["ana"])
    page = client.get("/").get_data(as_text=True)
    assert "⚠ 1" in page and 'href="/alerts/"' in page
    listing = client.get("/alerts/").get_data(as_text=True)
    assert "Falló una ejecución de sincronización" in listing and "Obra Norte" in listing
    assert "run_failed" not in listing[listing.index("<tbody>"):listing.index("</tbody>")]
    # the page's intro names every kind; no setting name in the Spanish page
    assert "o una eliminación grande que espera la confirmación de un administrador" in listing
    assert "SMTP_HOST" not in listing and "El correo no está configurado en este portal" in listing
    token = csrf_token(client, "/alerts/")
    client.post("/alerts/settings", data={"csrf_token": token, "immediate": ["auth_lost"], "digest": "1"})
    from portal import alerts
    from portal.models import User

    with app.app_context():
        chosen = alerts.settings_of(db.session.get(User, company["ana"].id))
    assert chosen == {"immediate": {"auth_lost": True, "hook_unhealthy": False, "run_failed": False,
                                    "drift_repaired": False, "deletion_awaiting": False}, "digest": True}
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as(company["otra"])
    assert "⚠" not in client.get("/").get_data(as_text=True)  # company B has none
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as(company["memo"])
    assert client.post("/alerts/settings", data={"csrf_token": csrf_token(client, "/alerts/")}).status_code == 403
