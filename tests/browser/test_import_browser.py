"""Issue 6 in a real browser, from `make run`: repair the webhook, import a Procore folder of
the demo project into Documentos, watch the progress, browse the result (R3, R7, R10, R12)."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import portal_errors
from tests.browser.helpers import connect_sandbox_admin, sign_in

pytestmark = pytest.mark.browser


def test_import_a_procore_folder_with_progress(fresh_run, page, console_errors, screenshots):
    url = fresh_run.url
    sign_in(page, url)
    connect_sandbox_admin(page, url)

    # R12: imports need our webhook; Ñuñoa's points at a wrong endpoint. Repair it first.
    page.goto(url + "/projects/")
    row = page.locator("tr", has_text="Hospital Regional Ñuñoa")
    row.get_by_text("Endpoint incorrecto").wait_for()
    row.get_by_role("button", name="Reparar…").click()
    page.get_by_role("button", name="Aplicar cambios").click()
    page.locator("tr", has_text="Hospital Regional Ñuñoa").get_by_text("Saludable").wait_for()

    # A cBox project, its Documentos folder, then "Importar desde… › Procore".
    page.goto(url + "/cbox/")
    page.get_by_label("Nuevo proyecto de cBox").fill("Hospital Ñuñoa")
    page.get_by_role("button", name="Crear proyecto").click()
    page.get_by_role("link", name="Documentos").first.click()
    page.locator("summary", has_text="⋯").first.click()
    page.get_by_role("menuitem", name="Importar desde… › Procore").first.click()
    page.get_by_role("link", name="Hospital Regional Ñuñoa").click()
    page.screenshot(path=str(screenshots / "20-import-tree.png"), full_page=True)
    first_folder = page.locator(".tree-folder input[type=checkbox]").first
    first_folder.check()
    page.get_by_role("button", name="Importar").click()

    # Progress polls itself and stops when the run is done.
    page.wait_for_url(re.compile(r".*/integrations/\d+$"))
    page.screenshot(path=str(screenshots / "21-import-progress.png"), full_page=True)
    page.locator(".run-summary").wait_for(timeout=60_000)
    assert page.get_by_text(re.compile(r"\d+ importados")).is_visible()
    page.screenshot(path=str(screenshots / "22-import-done.png"), full_page=True)

    # Browse the result: Documentos/Procore/<the same tree>, each item with its status icon.
    page.goto(url + "/cbox/")
    page.get_by_role("link", name="Hospital Ñuñoa").click()
    page.get_by_role("link", name="Documentos").first.click()
    page.locator("main").get_by_role("link", name="Procore", exact=True).click()
    page.locator("tbody tr a").first.click()
    assert page.locator("tbody tr").count() > 0
    page.screenshot(path=str(screenshots / "23-imported-folder.png"), full_page=True)
    assert portal_errors(console_errors, url) == []
