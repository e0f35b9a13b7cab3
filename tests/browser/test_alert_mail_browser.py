"""Issue 14: an alert mail as the admin's mail client shows it: the HTML part of a real mail received by a
local SMTP server (aiosmtpd), rendered in Chromium. Screenshot 70-alert-mail.png."""
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
