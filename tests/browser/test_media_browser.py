"""Issue 11 in a real browser, from `make run`: import a Procore album into Imágenes and a drawing area into
Planos, watch the progress, browse both trees with their status icons (R3, R10, R15-R18). Screenshots
40-… to 45-… in test-artifacts/screenshots/."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import portal_errors
from tests.browser.helpers import connect_sandbox_admin, repair_hook_and_create_project, sign_in

pytestmark = pytest.mark.browser
PROJECT = "Hospital Regional Ñuñoa"


def _import_from(page, url: str, category: str, tick) -> None:
    """ "Importar desde… › Procore" on a categorized folder of the cBox project, pick the project, tick, import."""
    page.goto(url + "/cbox/")
    page.get_by_role("link", name="Hospital Ñuñoa").click()
    card = page.locator(".cbox-category", has_text=category)
    card.locator("summary").click()
    card.get_by_role("menuitem", name="Importar desde… › Procore").click()
    page.get_by_role("link", name=PROJECT).click()
    tick(page)
    page.get_by_role("button", name="Importar").click()
    page.wait_for_url(re.compile(r".*/integrations/\d+$"))
    page.locator(".run-summary").wait_for(timeout=60_000)


def _states(page) -> set[str]:
    return {icon.get_attribute("data-status") for icon in page.locator("tbody [data-status]").all()}


def test_import_an_album_and_a_drawing_area(fresh_run, page, console_errors, screenshots):
    url = fresh_run.url
    sign_in(page, url)
    connect_sandbox_admin(page, url)
    repair_hook_and_create_project(page, url, PROJECT)

    def albums(page):
        page.screenshot(path=str(screenshots / "40-photos-choose-albums.png"), full_page=True)
        page.get_by_label(re.compile("Avance de obra")).check()

    _import_from(page, url, "Imágenes", albums)
    assert page.get_by_text(re.compile(r"\d+ importados")).is_visible()
    page.screenshot(path=str(screenshots / "41-photos-import-done.png"), full_page=True)
    page.goto(url + "/cbox/")
    page.get_by_role("link", name="Hospital Ñuñoa").click()
    page.get_by_role("link", name="Imágenes").first.click()
    page.locator("main").get_by_role("link", name="Procore", exact=True).click()
    page.get_by_role("link", name="Avance de obra").click()
    assert page.locator("tbody tr").count() > 0 and _states(page) == {"synced"}
    page.screenshot(path=str(screenshots / "42-photos-tree.png"), full_page=True)

    def area(page):
        page.screenshot(path=str(screenshots / "43-drawings-choose-areas.png"), full_page=True)
        page.locator("input[name=area_ids]").first.check()

    _import_from(page, url, "Planos", area)
    page.screenshot(path=str(screenshots / "44-drawings-import-done.png"), full_page=True)
    page.goto(url + "/cbox/")
    page.get_by_role("link", name="Hospital Ñuñoa").click()
    page.get_by_role("link", name="Planos").first.click()
    page.locator("main").get_by_role("link", name="Procore", exact=True).click()
    page.locator("tbody tr a.cbox-name").first.click()  # the area
    page.locator("tbody tr a.cbox-name").first.click()  # a discipline
    names = page.locator("tbody tr a.cbox-name").all_inner_texts()
    assert names and all(name.strip().endswith(".pdf") for name in names), names
    assert _states(page) == {"synced"}
    page.screenshot(path=str(screenshots / "45-drawings-tree.png"), full_page=True)
    assert portal_errors(console_errors, url) == []
