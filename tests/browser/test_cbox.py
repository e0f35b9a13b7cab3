"""cBox folder view in a real browser: htmx multipart upload, status icons, the ⋯ menu (R7, D1)."""
from __future__ import annotations

import io

import pytest

from tests.browser.helpers import sign_in
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser




@pytest.fixture
def folder_id(app, db, make_company, make_user):
    from portal.cbox import store

    company = make_company("Constructora Visual")
    make_user("jefa@cbox.test", "admin", company)
    make_user("obrero@cbox.test", "member", company)
    with app.app_context():
        docs = store.categorized_folder(store.create_project(company.id, "Torre Sur"), "documents")
        procore = store.ensure_folder(docs, "Procore", origin="procore")
        store.set_status(store.create_folder(procore, "Especificaciones", origin="procore"), "syncing")
        plans = store.create_folder(docs, "Planos de obra")
        store.set_status(plans, "error", "Procore respondió 403: falta permiso Admin en Documents")
        for name, status, reason in (("Acta de inicio.pdf", "synced", None),
                                     ("Contrato firmado.pdf", "pending", "Sin credenciales válidas de Procore"),
                                     ("Presupuesto viejo.xlsx", "pending_deletion", "Eliminado en Procore")):
            item = store.add_file(docs, name, store.write_blob(io.BytesIO(name.encode() * 300)))
            store.set_status(item, status, reason)
        db.session.commit()
        return docs.id


def test_folder_view_upload_status_icons_and_menu(app, live_server, page, console_errors, screenshots, folder_id,
                                                  tmp_path):
    sign_in(page, live_server.url, "jefa@cbox.test", TEST_PASSWORD)
    page.goto(f"{live_server.url}/cbox/folders/{folder_id}")
    files = [tmp_path / "Memoria descriptiva.pdf", tmp_path / "Foto fachada.jpg"]
    for path in files:
        path.write_bytes(b"x" * 200_000)
    page.get_by_label("Subir archivos").set_input_files([str(p) for p in files])
    with page.expect_navigation():  # htmx upload, then HX-Redirect back to the folder
        page.get_by_role("button", name="Subir", exact=True).click()
    page.locator(".flash-success").get_by_text("2 archivos subidos").wait_for()
    assert page.get_by_role("link", name="Memoria descriptiva.pdf").is_visible()
    status = page.locator("tr", has_text="Planos de obra").locator(".cbox-status-error")
    assert "falta permiso Admin" in status.get_attribute("title")
    assert page.locator(".cbox-status-pending_deletion").count() == 1
    page.screenshot(path=str(screenshots / "cbox-01-folder-status.png"), full_page=True)

    menu = page.locator("tr", has_text="Planos de obra").locator("details.cbox-menu")
    menu.locator("summary").click()
    assert menu.get_by_role("menuitem", name="Mover…").is_visible()
    if "integrations.new" in app.view_functions:  # only categorized folders offer the import: never a 404
        assert menu.get_by_role("menuitem", name="Importar desde… › Procore").count() == 0
    page.screenshot(path=str(screenshots / "cbox-02-folder-menu.png"), full_page=True)

    menu.get_by_label("Nuevo nombre").fill("Planos definitivos")
    menu.get_by_role("button", name="Renombrar").click()
    page.get_by_text("Renombrado a Planos definitivos.").wait_for()
    page.get_by_role("navigation", name="Ruta de navegación").get_by_role("link", name="Torre Sur").click()
    page.get_by_role("heading", name="Quién puede editar").wait_for()
    page.screenshot(path=str(screenshots / "cbox-03-project.png"), full_page=True)
    assert console_errors == []
