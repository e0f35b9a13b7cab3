"""cBox folder view in a real browser: htmx multipart upload, status icons, the ⋯ menu (R7, D1)."""
from __future__ import annotations

import io

import pytest

from tests.browser.helpers import sign_in
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser




@pytest.fixture
def folder_id(app, db, make_company, make_user, make_account):
    """Documentos/Procore of an integration whose links hold one item in each state (R7, issue 10)."""
    from portal.cbox import store
    from portal.connections.credentials import record_integration
    from portal.models import Integration, ProcoreAccount, SyncItem
    from portal.sync.apply import set_state
    from portal.sync.reasons import Reason

    company = make_company("Constructora Visual")
    make_user("jefa@cbox.test", "admin", company)
    make_user("obrero@cbox.test", "member", company)
    account = make_account(company, "jefa@cbox.test")
    with app.app_context():
        docs = store.categorized_folder(store.create_project(company.id, "Torre Sur"), "documents")
        procore = store.ensure_folder(docs, "Procore", origin="procore")
        integration = Integration(company_id=company.id, cbox_folder_id=docs.id, procore_folder_id=procore.id,
                                  procore_company_id=1, procore_project_id=2, procore_project_name="Torre Sur",
                                  selections={}, status="active", account_id=account.id)
        db.session.add(integration)
        db.session.flush()
        record_integration(db.session.get(ProcoreAccount, account.id), 2)
        items = [(store.create_folder(procore, "Especificaciones", origin="procore"), "syncing", None),
                 (store.create_folder(procore, "Planos de obra", origin="procore"), "error", Reason("forbidden"))]
        for name, status, reason in (("Acta de inicio.pdf", "synced", None),
                                     ("Contrato firmado.pdf", "pending", Reason("changed_unverified")),
                                     ("Presupuesto viejo.xlsx", "pending_deletion", Reason("await_confirm"))):
            items.append((store.add_file(procore, name, store.write_blob(io.BytesIO(name.encode() * 300)),
                                         origin="procore"), status, reason))
        for number, (item, status, reason) in enumerate(items):
            folder = not hasattr(item, "folder_id")
            link = SyncItem(integration_id=integration.id, procore_kind="folder" if folder else "file",
                            procore_id=number + 1, name=item.name,
                            **{"cbox_folder_id" if folder else "cbox_file_id": item.id})
            set_state(link, status, reason)
            db.session.add(link)
        db.session.commit()
        return procore.id


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
    assert "Procore denegó el acceso (403)" in status.get_attribute("title")
    assert page.locator(".cbox-status-pending_deletion").count() == 1
    assert page.locator("tr", has_text="Memoria descriptiva.pdf").locator(".cbox-status-local").count() == 1
    page.screenshot(path=str(screenshots / "cbox-01-folder-status.png"), full_page=True)

    menu = page.locator("tr", has_text="Planos de obra").locator("details.cbox-menu")
    menu.locator("summary").click()
    assert menu.get_by_role("menuitem", name="Mover…").is_visible()
    assert menu.get_by_role("menuitem", name="Procore › Actualizar").is_visible()  # an integration writes here
    assert menu.get_by_role("menuitem", name="Importar desde… › Procore").count() == 0  # only categorized folders
    page.screenshot(path=str(screenshots / "cbox-02-folder-menu.png"), full_page=True)

    assert menu.locator("form input[type=text], form input[type=file]").count() == 0  # actions, not raw forms
    menu.get_by_role("menuitem", name="Renombrar…").click()
    page.get_by_label("Nuevo nombre").fill("Planos definitivos")
    page.get_by_role("button", name="Renombrar").click()
    page.get_by_text("Renombrado a Planos definitivos.").wait_for()

    # Issue 14: right-click opens the same menu; a deletion is asked first and goes to the trash.
    row = page.locator("tr", has_text="Memoria descriptiva.pdf")
    row.click(button="right")
    row.locator("details.cbox-menu").get_by_role("menuitem", name="Eliminar…").click()
    page.get_by_text("Se puede restaurar desde allí durante 30 días").wait_for()
    page.screenshot(path=str(screenshots / "cbox-04-delete-asked.png"), full_page=True)
    page.get_by_role("button", name="Eliminar", exact=True).click()
    page.get_by_text("Memoria descriptiva.pdf se movió a la papelera.").wait_for()
    assert page.get_by_role("link", name="Memoria descriptiva.pdf").count() == 0

    page.get_by_role("navigation", name="Ruta de navegación").get_by_role("link", name="Torre Sur").click()
    page.get_by_role("heading", name="Quién puede editar").wait_for()
    page.screenshot(path=str(screenshots / "cbox-03-project.png"), full_page=True)
    page.get_by_role("link", name="Papelera (1)").click()
    trashed = page.locator("tr", has_text="Memoria descriptiva.pdf")
    assert "Documentos / Procore" in trashed.inner_text() and "jefa@cbox.test" in trashed.inner_text()
    page.screenshot(path=str(screenshots / "cbox-05-trash.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})  # the table scrolls inside its card, the page does not
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 720})
    trashed.get_by_role("button", name="Restaurar").click()
    page.get_by_text("Memoria descriptiva.pdf se restauró en Documentos / Procore.").wait_for()
    assert page.get_by_text("La papelera está vacía.").is_visible()
    page.goto(f"{live_server.url}/cbox/folders/{folder_id}")
    assert page.get_by_role("link", name="Memoria descriptiva.pdf").is_visible()
    assert console_errors == []
