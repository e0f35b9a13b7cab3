"""Issue 12 in a real browser, from `make run`: export a Documentos folder and a nested Imágenes folder to
Procore, watch the progress, and see CalidadCloud in the sandbox's own web UI (R5, R24, R28-R30).
Screenshots 50-… to 55-… in test-artifacts/screenshots/."""
from __future__ import annotations

import re

import pytest
import requests

from tests.browser.conftest import portal_errors
from tests.browser.helpers import connect_sandbox_admin, sign_in

pytestmark = pytest.mark.browser
PROJECT = "Hospital Regional Ñuñoa"
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + b"\x08" * 64 + bytes.fromhex("ffd9")


def _new_folder(page, name: str) -> None:
    page.get_by_label("Nueva carpeta").fill(name)
    page.get_by_role("button", name="Crear carpeta").click()
    page.get_by_role("link", name=name).click()


def _upload(page, files: list[tuple[str, str, bytes]]) -> None:
    page.get_by_label("Subir archivos").set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files])
    page.get_by_role("button", name="Subir", exact=True).click()
    page.locator("tbody tr", has_text=files[-1][0]).wait_for()


def _export_from_row(page, name: str, screenshots, shot: str) -> None:
    """ "⋯ › Exportar a… › Procore" on a folder row, the project, "Continuar", then the progress to its end."""
    row = page.locator("tbody tr", has_text=name)
    row.locator("summary").click()
    row.get_by_role("menuitem", name="Exportar a… › Procore").click()
    page.get_by_role("link", name=PROJECT).click()
    page.get_by_role("button", name="Continuar").click()
    page.wait_for_url(re.compile(r".*/integrations/\d+$"))
    page.locator(".run-summary").wait_for(timeout=60_000)
    page.screenshot(path=str(screenshots / shot), full_page=True)


def test_export_a_documents_folder_and_a_nested_images_folder(fresh_run, page, console_errors, screenshots):
    url = fresh_run.url
    sandbox = f"http://127.0.0.1:{fresh_run.sandbox_port}"
    sign_in(page, url)
    connect_sandbox_admin(page, url)
    page.goto(url + "/cbox/")
    page.get_by_label("Nuevo proyecto de cBox").fill("Obra Exportada")
    page.get_by_role("button", name="Crear proyecto").click()

    page.get_by_role("link", name="Documentos").first.click()
    documentos = page.url
    _new_folder(page, "Entregables")
    _upload(page, [("informe final.pdf", "application/pdf", b"%PDF-1.4 informe"),
                   ("planilla.csv", "text/csv", b"a;b\n1;2\n")])
    page.goto(documentos)
    page.screenshot(path=str(screenshots / "50-export-menu.png"), full_page=True)
    _export_from_row(page, "Entregables", screenshots, "51-export-documents-progress.png")
    assert page.get_by_text(re.compile(r"2 exportados")).is_visible()

    page.goto(url + "/cbox/")
    page.get_by_role("link", name="Obra Exportada").click()
    page.get_by_role("link", name="Imágenes").first.click()
    imagenes = page.url
    _new_folder(page, "Visitas")
    _new_folder(page, "Semana 1")
    _upload(page, [("frente.JPEG", "image/jpeg", JPEG), ("notas.txt", "text/plain", b"solo texto")])
    page.goto(imagenes)
    _export_from_row(page, "Visitas", screenshots, "52-export-photos-progress.png")
    assert page.get_by_text(re.compile(r"1 exportado, .* 1 sin cambios o no exportado \(no es una imagen\)")) \
        .is_visible()
    page.get_by_role("link", name="Todas las integraciones").wait_for()

    # The exported folder in cBox: each item with its state (the .txt stays only in cBox, with why).
    page.goto(imagenes)
    page.get_by_role("link", name="Visitas").click()
    page.get_by_role("link", name="Semana 1").click()
    assert page.locator("tbody tr", has_text="frente.JPEG").locator("[data-status]").get_attribute(
        "data-status") == "synced"
    assert page.locator("tbody tr", has_text="notas.txt").locator("[data-status]").get_attribute(
        "data-status") == "local"
    page.screenshot(path=str(screenshots / "53-export-photos-states.png"), full_page=True)

    # Procore's side, in the sandbox's own web UI: CalidadCloud with the tree, and the album.
    nunoa = next(p["id"] for c in requests.get(sandbox + "/_sandbox/state", timeout=10).json()["companies"]
                 for p in c["projects"] if p["name"] == PROJECT)
    page.goto(sandbox + "/ui/login")
    page.get_by_label(re.compile(r"\badmin@constructora\.test")).check()
    page.get_by_role("button", name=re.compile("Entrar")).click()
    page.goto(f"{sandbox}/ui/projects/{nunoa}/documents")
    page.get_by_role("link", name="CalidadCloud").first.click()
    page.get_by_role("link", name="Entregables").first.click()
    page.get_by_text("informe final.pdf").first.wait_for()
    page.screenshot(path=str(screenshots / "54-sandbox-calidadcloud-documents.png"), full_page=True)
    page.goto(f"{sandbox}/ui/projects/{nunoa}/photos")
    page.get_by_role("link", name=re.compile("CalidadCloud")).first.click()
    page.get_by_text("frente.JPEG").first.wait_for()
    page.screenshot(path=str(screenshots / "55-sandbox-calidadcloud-album.png"), full_page=True)
    assert portal_errors(console_errors, url) == []
