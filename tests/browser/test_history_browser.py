"""Issue 14 in a real browser, from `make run`: an import whose downloads fail (a slow Procore whose links
expire), its run history and run details with the reasons, "retry failed items", the integrations list
at 1366 and 390 px wide, pause and the removal page. Screenshots in test-artifacts/screenshots/ (60-…)."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import _running, portal_errors
from tests.browser.helpers import connect_sandbox_admin, repair_hook_and_create_project, sign_in
from tests.browser.test_states_browser import PROJECT, Procore

pytestmark = pytest.mark.browser


@pytest.fixture
def run_with_short_deadline(tmp_path):
    """make run, with a 4 s deadline per download (a link that keeps expiring fails soon)."""
    yield from _running(tmp_path, SYNC_ITEM_DEADLINE="4")


def test_history_retry_list_pause_and_remove(run_with_short_deadline, page, console_errors, screenshots, tmp_path):
    url = run_with_short_deadline.url
    procore = Procore(run_with_short_deadline.sandbox_port, tmp_path)
    sign_in(page, url)
    connect_sandbox_admin(page, url)
    repair_hook_and_create_project(page, url, PROJECT)

    # Import "02 Contratos" while Procore is slow and its download links expire before use: every file fails.
    procore.sb.control({"latency_ms": 1500, "storage_url_ttl": 1})
    page.get_by_role("link", name="Documentos").first.click()
    page.locator("summary", has_text="⋯").first.click()
    page.get_by_role("menuitem", name="Importar desde… › Procore").first.click()
    page.get_by_role("link", name=PROJECT).click()
    page.locator(".tree-folder label", has_text="02 Contratos").locator("input[type=checkbox]").first.check()
    page.get_by_role("button", name="Importar").click()
    page.wait_for_url(re.compile(r".*/integrations/\d+$"))
    integration_url = page.url
    page.locator(".run-summary").wait_for(timeout=180_000)
    procore.sb.control({"latency_ms": 0, "storage_url_ttl": 300})
    retry = page.get_by_role("button", name=re.compile(r"Reintentar \d+ elementos? con errores"))
    assert retry.is_visible()
    failed = int(re.search(r"\d+", retry.inner_text()).group())
    page.screenshot(path=str(screenshots / "60-integration-with-failed-items.png"), full_page=True)

    page.get_by_role("link", name="Historial de ejecuciones").click()
    page.wait_for_load_state()  # click() waits for the navigation to commit, not for the page (seen flaky in CI)
    assert page.get_by_text(f"{failed} con errores").first.is_visible()
    page.screenshot(path=str(screenshots / "61-run-history.png"), full_page=True)
    page.get_by_role("link", name="Detalles").first.click()
    page.wait_for_load_state()
    assert page.locator("tbody tr").count() == failed
    assert "siguió caducando" in page.locator("tbody").inner_text()
    page.screenshot(path=str(screenshots / "62-run-details-with-reasons.png"), full_page=True)

    page.goto(integration_url)
    page.get_by_role("button", name=re.compile(r"Reintentar \d+ elementos? con errores")).click()
    page.locator(".run-summary").wait_for(timeout=120_000)
    assert page.get_by_role("button", name=re.compile("Reintentar")).count() == 0
    page.get_by_role("link", name="Historial de ejecuciones").click()
    page.wait_for_load_state()
    history_path = page.url[len(url):]
    assert page.locator("tbody tr").count() == 2, page.locator("tbody").inner_text()
    assert page.get_by_text("Reintento de elementos fallidos").first.is_visible()
    assert page.get_by_text(re.compile(r"\d+ sincronizados")).first.is_visible()
    page.screenshot(path=str(screenshots / "63-run-history-after-retry.png"), full_page=True)

    # Support staff see the project's sync runs beside its events, at 1366 and 390 px.
    page.goto(url + "/")
    page.get_by_role("button", name="Cerrar sesión").click()
    sign_in(page, url, "support@demo.test")
    page.goto(url + "/support/")
    page.screenshot(path=str(screenshots / "74-support.png"), full_page=True)
    page.locator("tr", has_text=PROJECT).get_by_role("link", name="Diagnosticar").first.click()
    page.wait_for_load_state()
    assert page.locator("table.timeline").get_by_text("Ejecución de sincronización").first.is_visible()
    page.screenshot(path=str(screenshots / "75-support-project-timeline.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots / "76-support-project-390px.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(url + "/")
    page.get_by_role("button", name="Cerrar sesión").click()
    sign_in(page, url)

    page.goto(url + "/integrations/")
    row = page.locator("tbody tr", has_text=PROJECT).first
    assert row.get_by_text("Nunca").count() == 0  # the retry ended done: a last successful sync is shown
    page.screenshot(path=str(screenshots / "64-integrations-list.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert not page.locator("#mainnav").is_visible()  # collapsed behind "Menú"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    page.screenshot(path=str(screenshots / "65-integrations-list-390px.png"), full_page=True)
    page.get_by_role("button", name="☰ Menú").click()
    assert page.locator("#mainnav").get_by_role("link", name="Auditoría").is_visible()
    page.screenshot(path=str(screenshots / "69-navigation-390px-open.png"))
    page.get_by_role("button", name="☰ Menú").click()
    for path, shot in (("/", "71-dashboard-390px.png"), (history_path, "72-run-history-390px.png")):
        page.goto(url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        page.screenshot(path=str(screenshots / shot), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(url + "/integrations/")
    assert page.locator("#mainnav").is_visible()

    row.get_by_role("button", name="Pausar").click()
    page.wait_for_load_state()
    row = page.locator("tbody tr", has_text=PROJECT).first
    assert row.get_by_text("En pausa").is_visible() and row.get_by_role("button", name="Reanudar").is_visible()
    page.screenshot(path=str(screenshots / "66-integration-paused.png"), full_page=True)

    row.get_by_role("link", name="Eliminar").click()
    page.wait_for_load_state()
    assert page.get_by_text("Las copias en cBox permanecen donde están").is_visible()
    page.screenshot(path=str(screenshots / "67-remove-integration.png"), full_page=True)
    page.get_by_role("button", name="Eliminar la integración").click()
    page.wait_for_url(re.compile(r".*/integrations/$"))
    assert page.get_by_text("Integración eliminada").is_visible()
    assert page.locator("tbody tr", has_text=PROJECT).count() == 0

    # The audit log says who did each of these, newest first.
    page.get_by_role("link", name="Auditoría").click()
    page.wait_for_load_state()
    rows = page.locator("tbody tr")
    assert [rows.nth(i).locator("td").nth(2).inner_text() for i in range(4)] == [
        "Eliminó una integración", "Pausó una integración", "Reintentó elementos con errores",
        "Inició una integración"]
    assert page.get_by_role("cell", name="Conectó una cuenta de Procore", exact=True).is_visible()
    assert page.get_by_role("cell", name="Reparó un webhook de Procore", exact=True).is_visible()
    page.screenshot(path=str(screenshots / "68-audit-log.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots / "73-audit-log-390px.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    assert portal_errors(console_errors, url) == []
