"""Webhook health in a real browser (issue 5; SPEC R8, D1): connect the sandbox admin, see the
three seeded states on /projects, repair the wrong endpoint in place (preview, then apply), then
see a real Procore delivery in /support. Screenshots in test-artifacts/screenshots/."""
from __future__ import annotations

import re
import time

import pytest
import requests

from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser
NUNOA = "Hospital Regional Ñuñoa"


def _sign_in(page, url, email):
    page.goto(url + "/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(url + "/")


def _upload_file(sb, project_id):
    """What a Procore user does in the Documents tool (through the sandbox REST API)."""
    token = sb.token("admin@constructora.test", client_id="other-client")["access_token"]
    response = requests.post(f"{sb.url}/rest/v1.0/files", params={"project_id": project_id}, timeout=10,
                             headers={"Authorization": f"Bearer {token}", "Procore-Company-Id": str(sb.company_id())},
                             files={"file[data]": ("acta-obra.pdf", b"%PDF-1.4 acta", "application/pdf")},
                             data={"file[name]": "acta-obra.pdf"})
    assert response.status_code == 201, response.text


def test_webhook_health_repair_and_support(app, live_server, procore_sandbox, page, console_errors, screenshots,
                                           make_company, make_user, monkeypatch):
    sb, url = procore_sandbox, live_server.url
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", url)
    sb.control({"portal_url": url})
    sb._post("/_sandbox/reset", {"keep_config": True})
    company = make_company("Constructora Demo")
    make_user("admin@demo.test", "admin", company, procore=True)
    make_user("support@demo.test", "support")
    _sign_in(page, url, "admin@demo.test")
    page.goto(url + "/projects/")
    page.get_by_role("link", name=re.compile("Conectar una cuenta de Procore")).click()
    page.get_by_text("admin@constructora.test", exact=True).click()
    page.get_by_role("button", name="Approve").click()
    page.get_by_label(re.compile("Constructora Demo")).check()
    page.get_by_role("button", name=re.compile("Conectar")).click()
    page.goto(url + "/projects/")
    page.locator(".hook-cell", has_text="Propiedad de otra aplicación").wait_for()
    page.locator(".hook-cell", has_text="Endpoint incorrecto").wait_for()
    page.locator(".hook-cell", has_text="Faltan disparadores").wait_for()
    page.screenshot(path=str(screenshots / "webhooks-01-projects-states.png"), full_page=True)

    row = page.locator("tr", has_text=NUNOA)
    row.get_by_role("button", name="Reparar…").click()
    row.get_by_text("Se harán estos cambios en Procore:").wait_for()
    assert row.get_by_text("cbox-antiguo.example.com").count() >= 1
    page.screenshot(path=str(screenshots / "webhooks-02-repair-preview.png"), full_page=True)
    row.get_by_role("button", name="Aplicar cambios").click()
    row.get_by_text("Saludable").wait_for()
    assert page.url.rstrip("/") == url + "/projects"  # swapped in place
    page.screenshot(path=str(screenshots / "webhooks-03-repaired.png"), full_page=True)

    _upload_file(sb, sb.project_id(NUNOA))
    page.get_by_role("button", name="Cerrar sesión").click()
    _sign_in(page, url, "support@demo.test")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        page.goto(url + "/support/")
        if page.get_by_text("Archivos del proyecto · creación").count():
            break
        time.sleep(0.5)
    page.get_by_text("Archivos del proyecto · creación").first.wait_for(timeout=1000)
    page.get_by_role("link", name=re.compile("Constructora Demo")).first.click()
    timeline = page.locator("table.timeline")  # the filter's <select> names the same sources
    timeline.get_by_text("Entrega de Procore").first.wait_for()
    timeline.get_by_text("Recibido aquí").first.wait_for()
    page.screenshot(path=str(screenshots / "webhooks-04-support-timeline.png"), full_page=True)
    # The sandbox's consent page has no favicon; only the portal's own pages must be clean.
    assert [e for e in console_errors if sb.url not in e] == []
