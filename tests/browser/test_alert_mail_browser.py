"""Issue 14: an alert mail as the admin's mail client shows it: the HTML part of a real mail received by a
local SMTP server (aiosmtpd), rendered in Chromium. Screenshots 70-alert-mail.png and 77-alert-deletion-mail.png."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.portal.test_alerts import company, failed_run  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.browser


def test_an_alert_mail_reads_in_spanish(app, db, company, smtp_server, page, screenshots, monkeypatch):  # noqa: F811
    from portal import alerts

    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example")
    failed_run(app, db, company["integration"])
    with app.app_context():
        alerts.send_due(datetime.now(timezone.utc).replace(hour=6))
    mail = next(message for message in smtp_server if message["To"] == "ana@a.test")
    page.set_content(mail.get_body(("html",)).get_content())
    assert page.get_by_role("heading", name="Falló una ejecución de sincronización").is_visible()
    assert page.get_by_text("No se pudo listar el contenido de Procore.").is_visible()
    assert page.get_by_role("link", name="Abrirlo en el portal").get_attribute("href").startswith(
        "https://portal.example/integrations/")
    page.screenshot(path=str(screenshots / "70-alert-mail.png"), full_page=True)


def test_a_waiting_deletion_alert_mail_says_how_many_and_where(app, db, company, smtp_server, page,  # noqa: F811
                                                                screenshots, monkeypatch):
    """R7: a refresh ends waiting for an admin's confirmation of a large deletion (as the engine ends one:
    its items pending deletion, alerts.run_ended before the final commit); the mail says how many items
    and links to the integration's page, where the admin answers."""
    from portal import alerts
    from portal.models import SyncItem, SyncRun

    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example")
    integration = company["integration"]
    with app.app_context():
        run = SyncRun(integration_id=integration.id, kind="refresh", status="awaiting_confirmation")
        db.session.add(run)
        db.session.flush()
        db.session.add_all(SyncItem(integration_id=integration.id, procore_kind="file", procore_id=100 + n,
                                    name=f"plano-{n}.pdf", status="pending_deletion", attempts=0, last_run_id=run.id)
                           for n in range(37))
        db.session.flush()
        alerts.run_ended(run)
        db.session.commit()
        alerts.send_due(datetime.now(timezone.utc).replace(hour=6))
    mail = next(message for message in smtp_server if message["To"] == "ana@a.test")
    page.set_content(mail.get_body(("html",)).get_content())
    assert page.get_by_role("heading", name="Una eliminación grande espera la confirmación de un administrador"
                            ).is_visible()
    assert page.get_by_text("37 elementos se eliminarían de cBox; no se elimina nada hasta que un administrador "
                            "lo confirme en la página de la integración.").is_visible()
    assert page.get_by_role("link", name="Abrirlo en el portal").get_attribute("href") == (
        f"https://portal.example/integrations/{integration.id}")
    page.screenshot(path=str(screenshots / "77-alert-deletion-mail.png"), full_page=True)
