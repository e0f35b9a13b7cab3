"""Issue 5 from `make run`, as the issue demands: the sandbox's three seeded broken projects
show their states, repairing the wrong endpoint turns it healthy, and a file uploaded through
the sandbox's own UI (a person working in Procore) shows as a received event in /support."""
from __future__ import annotations

import re

import pytest
import requests

from tests.browser.conftest import MadeRun, portal_errors
from tests.browser.helpers import connect_sandbox_admin, sign_in

pytestmark = pytest.mark.browser


def _sandbox_url(run: MadeRun) -> str:
    return re.search(r"Procore:\s+(http://\S+)", run.log_path.read_text()).group(1)


def test_states_repair_and_a_sandbox_ui_upload_reaching_support(fresh_run, page, console_errors, screenshots,
                                                                  tmp_path):
    url, sandbox = fresh_run.url, _sandbox_url(fresh_run)
    sign_in(page, url)
    connect_sandbox_admin(page, url)

    page.goto(url + "/projects/")
    for project, state in (("Edificio Los Álamos", "Propiedad de otra aplicación"),
                           ("Hospital Regional Ñuñoa", "Endpoint incorrecto"),
                           ("Puente Río Claro", "Faltan disparadores")):
        page.locator("tr", has_text=project).get_by_text(state).wait_for()
    assert page.locator("tr", has_text="Edificio Los Álamos").get_by_text("otra-app.example.com").is_visible()
    page.screenshot(path=str(screenshots / "30-make-run-hook-states.png"), full_page=True)

    row = page.locator("tr", has_text="Hospital Regional Ñuñoa")
    row.get_by_role("button", name="Reparar…").click()
    page.get_by_text("Se harán estos cambios en Procore").wait_for()
    page.screenshot(path=str(screenshots / "31-make-run-repair-preview.png"), full_page=True)
    page.get_by_role("button", name="Aplicar cambios").click()
    page.locator("tr", has_text="Hospital Regional Ñuñoa").get_by_text("Saludable").wait_for()

    # Someone working in Procore uploads a file through the sandbox's own web UI.
    nunoa = next(p["id"] for c in requests.get(sandbox + "/_sandbox/state", timeout=10).json()["companies"]
                 for p in c["projects"] if p["name"] == "Hospital Regional Ñuñoa")
    page.goto(sandbox + "/ui/login")
    page.get_by_label(re.compile(r"\badmin@constructora\.test")).check()
    page.get_by_role("button", name=re.compile("Entrar")).click()
    page.goto(f"{sandbox}/ui/projects/{nunoa}/documents")
    page.locator("summary", has_text="Subir archivos").click()
    upload = tmp_path / "acta-de-visita.txt"
    upload.write_text("Acta de visita de obra, Ñuñoa.\n", encoding="utf-8")
    page.locator("input[type=file][name=file]").set_input_files(str(upload))
    page.get_by_role("button", name=re.compile(r"^\s*Subir\s*$")).click()
    page.get_by_text("acta-de-visita.txt").first.wait_for()
    page.screenshot(path=str(screenshots / "32-sandbox-ui-upload.png"), full_page=True)

    # Support staff see the delivery: our receiver stored it.
    page.goto(url + "/")
    page.get_by_role("button", name="Cerrar sesión").click()
    sign_in(page, url, "support@demo.test")
    page.goto(url + "/support/")
    received = page.locator("tr", has_text="Archivos del proyecto · creación").filter(has_text=str(nunoa))
    for _attempt in range(30):  # the sandbox delivers within a second or two
        if received.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    assert received.count() == 1 and received.is_visible()
    assert page.locator("tr", has_text="Hospital Regional Ñuñoa").get_by_text("Saludable").is_visible()
    page.screenshot(path=str(screenshots / "33-support-received-event.png"), full_page=True)
    assert portal_errors(console_errors, url) == []
