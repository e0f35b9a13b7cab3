"""Issue 10 in a real browser, from `make run`: every status icon a cBox folder shows, each reached by
what happens in Procore, and the permission-loss case ("pending", nothing deleted). Screenshots land
in test-artifacts/screenshots/ (30-… to 39-…)."""
from __future__ import annotations

import re

import pytest
import requests

from sandbox.testing import SandboxServer
from tests.browser.conftest import _running, portal_errors
from tests.browser.helpers import connect_sandbox_admin, repair_hook_and_create_project, sign_in

pytestmark = pytest.mark.browser
ADMIN = "admin@constructora.test"
PROJECT = "Hospital Regional Ñuñoa"


@pytest.fixture
def run_with_small_limits(tmp_path):
    """make run, with a deletion of more than 3 items asking first and a 4 s deadline per download."""
    yield from _running(tmp_path, SYNC_DELETE_CONFIRM_ITEMS="3", SYNC_ITEM_DEADLINE="4")


class Procore:
    """What a person does in Procore while the portal runs (the sandbox's REST API and knobs)."""

    def __init__(self, port: int, tmp_path):
        self.sb = SandboxServer(port=port, db_path=str(tmp_path / "unused.sqlite3"))
        self.company, self.project = self.sb.company_id(), self.sb.project_id(PROJECT)
        self.token = self.sb.token(ADMIN)["access_token"]

    def rest(self, method: str, path: str, **body):
        response = requests.request(method, self.sb.url + path, json=body or None, timeout=60,
                                    params={"project_id": self.project},
                                    headers={"Authorization": f"Bearer {self.token}",
                                             "Procore-Company-Id": str(self.company)})
        assert response.status_code < 300, response.text[:300]
        return response.json() if response.content else None

    def child(self, name: str, folder_id: int | None = None) -> dict:
        folder = self.rest("GET", f"/rest/v1.0/folders/{folder_id}" if folder_id else "/rest/v1.0/folders")
        return next(item for item in folder["folders"] + folder["files"] if item["name"] == name)

    def new_version(self, file_id: int, data: bytes) -> None:
        slot = self.rest("POST", f"/rest/v1.1/projects/{self.project}/uploads",
                         response_filename="v.pdf", response_content_type="application/pdf")
        stored = requests.post(slot["url"], data=slot["fields"], files={"file": ("v.pdf", data)}, timeout=60)
        assert stored.status_code == 204, stored.text[:300]
        self.rest("POST", "/rest/v1.0/file_versions", file_id=file_id, file_version={"upload_uuid": slot["uuid"]})

    def permission(self, level: str) -> None:
        self.sb._post("/_sandbox/permissions", {"login": ADMIN, "company_id": self.company,
                                                "project_id": self.project, "tool": "documents", "level": level})


def _row(page, name: str):
    return page.locator("tbody tr", has_text=name).first


def _status(page, name: str) -> str | None:
    icon = _row(page, name).locator("[data-status]")
    return icon.get_attribute("data-status") if icon.count() else None


def _refresh_from_menu(page) -> None:
    """ "Procore › Actualizar" from the folder's own ⋯ menu."""
    page.locator(".page-head summary").click()
    page.locator(".page-head").get_by_role("menuitem", name="Procore › Actualizar").click()
    page.wait_for_url(re.compile(r".*/integrations/\d+$"))


def _wait_run_end(page) -> None:
    page.locator(".run-summary").wait_for(timeout=120_000)


def test_every_state_icon_and_a_lost_permission(run_with_small_limits, page, console_errors, screenshots,
                                                 tmp_path):
    url = run_with_small_limits.url
    procore = Procore(run_with_small_limits.sandbox_port, tmp_path)
    sign_in(page, url)
    connect_sandbox_admin(page, url)
    repair_hook_and_create_project(page, url, PROJECT)

    # Import the whole Documents tree (the private "06 Confidencial" too: the account is Documents Admin).
    page.get_by_role("link", name="Documentos").first.click()
    page.locator("summary", has_text="⋯").first.click()
    page.get_by_role("menuitem", name="Importar desde… › Procore").first.click()
    page.get_by_role("link", name=PROJECT).click()
    for box in page.locator(".tree > .tree-level > .tree-folder > label input[type=checkbox]").all():
        box.check()
    page.get_by_role("button", name="Importar").click()
    page.wait_for_url(re.compile(r".*/integrations/\d+$"))
    integration_url = page.url
    _wait_run_end(page)

    # Synced, and "only in cBox" for a file uploaded here.
    page.goto(url + "/cbox/")
    page.get_by_role("link", name="Hospital Ñuñoa").click()
    page.get_by_role("link", name="Documentos").first.click()
    page.locator("main").get_by_role("link", name="Procore", exact=True).click()
    procore_url = page.url
    assert _status(page, "06 Confidencial") == "synced" and _status(page, "02 Contratos") == "synced"
    page.get_by_role("link", name="02 Contratos").click()
    contratos_url = page.url
    page.get_by_label("Subir archivos").set_input_files(
        files=[{"name": "nota local.txt", "mimeType": "text/plain", "buffer": b"solo en cBox"}])
    page.get_by_role("button", name="Subir", exact=True).click()
    page.locator("tbody tr", has_text="nota local.txt").wait_for()
    assert _status(page, "nota local.txt") == "local"
    page.screenshot(path=str(screenshots / "30-states-synced-and-only-in-cbox.png"), full_page=True)

    # In Procore: a new version of one file, a folder of several items deleted. Then a slow Procore whose
    # download links always expire (latency 1.5 s > link lifetime 1 s): the refresh lists slowly.
    contratos = procore.child("02 Contratos")
    versioned = procore.rest("GET", f"/rest/v1.0/folders/{contratos['id']}")["files"][0]
    procore.new_version(versioned["id"], b"%PDF-1.4 nueva version")
    planos = procore.child("01 Planos y Especificaciones")
    procore.rest("DELETE", f"/rest/v1.0/folders/{planos['id']}")
    procore.sb.control({"latency_ms": 1500, "storage_url_ttl": 1})
    page.goto(procore_url)
    _refresh_from_menu(page)
    page.goto(procore_url)
    for _ in range(60):  # syncing: the run is writing these folders now
        if page.locator('[data-status="syncing"]').count():
            break
        page.wait_for_timeout(500)
        page.reload()
    assert page.locator('[data-status="syncing"]').count() > 0
    page.screenshot(path=str(screenshots / "31-state-syncing.png"), full_page=True)
    page.goto(integration_url)
    _wait_run_end(page)
    procore.sb.control({"latency_ms": 0, "storage_url_ttl": 300})
    assert page.get_by_role("button", name="Eliminarlos").is_visible()
    assert page.get_by_role("button", name="Conservarlos en cBox").is_visible()
    assert page.get_by_role("button", name="Cancelar").is_visible()
    page.screenshot(path=str(screenshots / "32-deletion-awaits-confirmation.png"), full_page=True)

    page.goto(procore_url)
    assert _status(page, "01 Planos y Especificaciones") == "pending_deletion"
    assert _status(page, "02 Contratos") == "error", "the folder shows the worst state below it"
    page.screenshot(path=str(screenshots / "33-states-pending-deletion-and-error.png"), full_page=True)
    page.goto(contratos_url)
    assert _status(page, versioned["name"]) == "error"
    assert "siguió caducando" in _row(page, versioned["name"]).inner_text()
    page.screenshot(path=str(screenshots / "34-state-error-with-reason.png"), full_page=True)

    # Cancel the deletion; then the account loses Admin on Documents: a refresh deletes nothing, and what
    # it can no longer see (the private folder, the deleted one) waits as "pending" with the reason.
    page.goto(integration_url)
    page.get_by_role("button", name="Cancelar").click()
    procore.permission("Standard")
    page.goto(procore_url)
    before = page.locator("tbody tr").count()
    _refresh_from_menu(page)
    _wait_run_end(page)
    assert "0 eliminados" in page.locator(".run-summary").inner_text()
    page.goto(procore_url)
    assert page.locator("tbody tr").count() == before, "nothing deleted"
    assert _status(page, "06 Confidencial") == "pending"
    assert "ya no puede ver este elemento" in _row(page, "06 Confidencial").inner_text()
    page.screenshot(path=str(screenshots / "35-permission-lost-pending-nothing-deleted.png"), full_page=True)
    procore.permission("Admin")

    # Credentials lost (R34): disconnect the only account; items wait as pending, with the way back.
    page.goto(url + "/connections")
    page.get_by_role("link", name="Desconectar…").first.click()
    assert page.get_by_text("No se elimina nada en cBox ni en Procore.").is_visible()  # asked first (issue 14)
    page.get_by_role("button", name="Desconectar", exact=True).click()
    page.wait_for_url(re.compile(r".*/connections$"))
    page.goto(contratos_url)
    assert _status(page, "nota local.txt") == "local"
    assert page.get_by_role("link", name="Volver a conectar Procore").first.is_visible()
    page.screenshot(path=str(screenshots / "36-credentials-lost-pending.png"), full_page=True)
    page.goto(integration_url)
    assert page.get_by_text("No hay credenciales de Procore válidas para este proyecto").first.is_visible()
    page.screenshot(path=str(screenshots / "37-integration-credentials-lost.png"), full_page=True)
    assert portal_errors(console_errors, url) == []
