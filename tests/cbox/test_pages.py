"""cBox pages: browse, upload several files, rename, move, delete, download, R32 permissions, isolation."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from portal.cbox import store, trash
from portal.models import CboxFile, CboxFolder, CboxFolderEditor
from tests.conftest import csrf_token


@pytest.fixture
def world(app, db, make_company, make_user):
    a, b = make_company("Empresa A"), make_company("Empresa B")
    people = {"admin": make_user("admin@a.test", "admin", a), "member": make_user("member@a.test", "member", a),
              "admin_b": make_user("admin@b.test", "admin", b), "support": make_user("support@x.test", "support")}
    with app.app_context():
        project = store.create_project(a.id, "Obra Norte")
        docs = store.categorized_folder(project, "documents")
        sub = store.create_folder(docs, "Contratos")
        db.session.commit()
        ids = {"project": project.id, "docs": docs.id, "sub": sub.id,
               "photos": store.categorized_folder(project, "photos").id}
    return {**people, **ids}


def _post(client, url, data=None, **kw):
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kw)


def _upload(client, folder_id, files, **kw):
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return _post(client, f"/cbox/folders/{folder_id}/files", data, content_type="multipart/form-data", **kw)


def _files(app, db, folder_id):
    with app.app_context():
        return {f.name: (f.id, f.original_name, f.size) for f in
                db.session.scalars(select(CboxFile).where(CboxFile.folder_id == folder_id))}


def test_admin_creates_a_project_with_its_three_folders(client, login_as, world):
    login_as(world["admin"])
    response = _post(client, "/cbox/projects", {"name": "Hospital Central"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert all(name in page for name in ("Documentos", "Imágenes", "Planos", "Hospital Central"))
    refused = _post(client, "/cbox/projects", {"name": "Hospital Central"}, follow_redirects=True)
    assert "Ya existe un proyecto de cBox llamado Hospital Central" in refused.get_data(as_text=True)  # Spanish UI


def test_upload_several_files_then_version_rename_move_delete_download(app, db, client, login_as, world):
    login_as(world["admin"])
    response = _upload(client, world["docs"], [("acta.pdf", b"%PDF one"), ("../../etc/passwd", b"root:x"),
                                               ("Fotó.JPG", b"\xff\xd8jpeg")])
    assert response.status_code == 302
    files = _files(app, db, world["docs"])
    assert set(files) == {"acta.pdf", "passwd", "Fotó.JPG"}  # the browser's directory part is dropped
    page = client.get(f"/cbox/folders/{world['docs']}").get_data(as_text=True)
    assert "acta.pdf" in page and "cbox-status" not in page  # no integration syncs it: no state (issue 10)

    acta = files["acta.pdf"][0]
    assert _post(client, f"/cbox/files/{acta}/versions", {"file": (io.BytesIO(b"%PDF two!"), "acta-v2.pdf")},
                 content_type="multipart/form-data").status_code == 302
    download = client.get(f"/cbox/files/{acta}/download")
    assert download.data == b"%PDF two!" and 'attachment; filename=acta.pdf' in download.headers["Content-Disposition"]

    assert _post(client, f"/cbox/files/{acta}/rename", {"name": "Acta 2024: final.pdf"}).status_code == 302
    assert "Acta 2024_ final.pdf" in _files(app, db, world["docs"])
    assert _post(client, f"/cbox/files/{acta}/move", {"destination": world["sub"]}).status_code == 302
    assert set(_files(app, db, world["sub"])) == {"Acta 2024_ final.pdf"}
    assert _post(client, f"/cbox/folders/{world['sub']}/delete").status_code == 302
    # Deleted means out of its tree and into the trash (issue 14): neither page nor download answers.
    page = client.get(f"/cbox/folders/{world['docs']}").get_data(as_text=True)
    assert "Contratos se movió a la papelera" in page and f'href="/cbox/folders/{world["sub"]}"' not in page
    assert client.get(f"/cbox/folders/{world['sub']}").status_code == 404
    assert client.get(f"/cbox/files/{acta}/download").status_code == 404


def test_bad_input_gets_a_clear_message(client, login_as, world):
    login_as(world["admin"])
    empty = _post(client, f"/cbox/folders/{world['docs']}/files", {}, follow_redirects=True)
    assert "Elija al menos un archivo para subir." in empty.get_data(as_text=True)
    bad_move = _post(client, f"/cbox/folders/{world['sub']}/move", {"destination": world["photos"]})
    assert bad_move.status_code == 400  # refused by the store: the move page again, with the reason
    page = bad_move.get_data(as_text=True)
    assert "solo se pueden mover dentro de la misma carpeta categorizada" in page
    assert _post(client, f"/cbox/folders/{world['sub']}/move", {"destination": "999999"}).status_code == 400
    protected = _post(client, f"/cbox/folders/{world['docs']}/delete", follow_redirects=True)
    assert "Las carpetas categorizadas no se pueden eliminar." in protected.get_data(as_text=True)


def test_member_needs_the_folder_edit_permission(app, db, client, login_as, world):
    """R32: read yes, edit only once the company admin ticks the member on that categorized folder."""
    login_as(world["member"])
    page = client.get(f"/cbox/folders/{world['docs']}").get_data(as_text=True)
    assert 'name="files"' not in page
    refused = _upload(client, world["docs"], [("a.txt", b"a")])
    assert refused.status_code == 403 and "Documentos" in refused.get_data(as_text=True)
    assert _files(app, db, world["docs"]) == {}

    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as(world["admin"])
    member = world["member"].id
    assert _post(client, f"/cbox/projects/{world['project']}/editors",
                 {f"editors-{world['docs']}": str(member)}).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(CboxFolderEditor.folder_id)).all() == [world["docs"]]
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as(world["member"])
    assert _upload(client, world["docs"], [("a.txt", b"a")]).status_code == 302
    assert "a.txt" in _files(app, db, world["docs"])
    assert _upload(client, world["photos"], [("b.jpg", b"b")]).status_code == 403  # only Documentos granted


def test_other_company_gets_404_and_support_reads_only(app, db, client, login_as, world):
    with app.app_context():
        docs = db.session.get(CboxFolder, world["docs"])
        file_id = store.add_file(docs, "x.pdf", store.write_blob(io.BytesIO(b"x"))).id
        db.session.commit()
    login_as(world["admin_b"])
    for url in (f"/cbox/projects/{world['project']}", f"/cbox/folders/{world['docs']}",
                f"/cbox/files/{file_id}/download"):
        assert client.get(url).status_code == 404, url
    assert _upload(client, world["docs"], [("a.txt", b"a")]).status_code == 404
    assert "Obra Norte" not in client.get("/cbox/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login_as(world["support"])
    assert "Obra Norte" in client.get("/cbox/").get_data(as_text=True)
    assert client.get(f"/cbox/files/{file_id}/download").data == b"x"
    assert _post(client, f"/cbox/files/{file_id}/delete").status_code == 403


def test_htmx_upload_answers_with_hx_redirect(app, db, client, login_as, world):
    login_as(world["admin"])
    response = _upload(client, world["docs"], [("one.txt", b"1"), ("two.txt", b"2")], headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/cbox/folders/{world['docs']}"
    assert set(_files(app, db, world["docs"])) == {"one.txt", "two.txt"}


def test_status_icons_reasons_and_menu(app, db, client, login_as, world, make_account):
    """R7 (issue 10 §4): items under an integration's Procore folder show their link's state with the reason,
    a file created in cBox there reads "only in cBox", a folder the worst state below it with a count;
    items outside every integration show none. The ⋯ menu offers the Procore actions (R3, R13)."""
    from portal.connections.credentials import record_integration
    from portal.models import AccountStatus, Integration, ProcoreAccount, SyncItem
    from portal.sync.apply import set_state
    from portal.sync.reasons import Reason

    from types import SimpleNamespace

    account = make_account(SimpleNamespace(id=world["admin"].company_id, procore_company_id=1), "admin@a.test")
    with app.app_context():
        docs = db.session.get(CboxFolder, world["docs"])
        procore = store.create_folder(docs, "Procore", origin="procore")
        sub = store.create_folder(procore, "Contratos", origin="procore")
        old = store.add_file(procore, "old.pdf", store.write_blob(io.BytesIO(b"o")), origin="procore")
        bad = store.add_file(sub, "bad.pdf", store.write_blob(io.BytesIO(b"b")), origin="procore")
        store.add_file(procore, "mine.txt", store.write_blob(io.BytesIO(b"m")))
        fine = store.add_file(procore, "fine.pdf", store.write_blob(io.BytesIO(b"f")), origin="procore")
        integration = Integration(company_id=docs.project.company_id, cbox_folder_id=docs.id,
                                  procore_folder_id=procore.id, procore_company_id=1, procore_project_id=2,
                                  procore_project_name="P", selections={}, status="active", account_id=account.id)
        db.session.add(integration)
        record_integration(db.session.get(ProcoreAccount, account.id), 2)
        db.session.flush()
        for kind, pid, cbox, status, reason in (
                ("file", 1, old.id, "pending_deletion", Reason("await_confirm")),
                ("file", 2, bad.id, "error", Reason("forbidden")),
                ("folder", 3, sub.id, "synced", None), ("file", 4, fine.id, "synced", None)):
            link = SyncItem(integration_id=integration.id, procore_kind=kind, procore_id=pid, name="x",
                            **{"cbox_file_id" if kind == "file" else "cbox_folder_id": cbox})
            set_state(link, status, reason)
            db.session.add(link)
        db.session.commit()
        procore_id = procore.id
    login_as(world["admin"])
    page = client.get(f"/cbox/folders/{procore_id}").get_data(as_text=True).replace("\n", " ")
    assert re.search(r'cbox-status-pending_deletion"[^>]*title="Pendiente de eliminación: Ya no está en Procore', page)
    assert re.search(r'cbox-status-error"[^>]*title="Error[^"]*1 con errores', page), "the folder: worst below it"
    assert re.search(r'cbox-status-local"[^>]*title="Solo en cBox', page), "created in cBox inside the import"
    assert re.search(r'cbox-status-synced"[^>]*title="Sincronizado"', page)
    assert page.count("<summary") >= 5  # the folder itself, the subfolder and the files
    top = client.get(f"/cbox/folders/{world['docs']}").get_data(as_text=True).replace("\n", " ")
    assert re.search(r'cbox-status-error"[^>]*title="Error \(1 con errores, 1 pendiente de eliminación, '
                     r'1 solo en cBox\)', top), "the Procore folder sums its tree"
    assert top.count("data-status=") == 1, "the local subfolder Contratos has no state"
    if "integrations.new" in app.view_functions:
        assert f"/integrations/new?folder_id={world['docs']}" in top
    with app.app_context():  # R34: no account can act on the project any more
        db.session.get(ProcoreAccount, account.id).status = AccountStatus.NEEDS_REAUTH
        db.session.commit()
    sub_page = client.get(f"/cbox/folders/{procore_id}").get_data(as_text=True).replace("\n", " ")
    assert re.search(r'cbox-status-pending"[^>]*title="Pendiente: No hay credenciales de Procore válidas', sub_page)
    assert "Volver a conectar Procore</a>" in sub_page and 'href="/connections"' in sub_page


def test_the_menu_offers_actions_and_a_deletion_is_asked_first(app, db, client, login_as, world):
    """Issue 14: the ⋯ menu leads to pages (no raw form in it); deleting a folder first says what goes with
    it; only the POST from that page deletes; rename and new version have their own pages."""
    login_as(world["admin"])
    _upload(client, world["sub"], [("uno.pdf", b"%PDF 1"), ("dos.pdf", b"%PDF 2")])
    with app.app_context():
        inner = store.create_folder(db.session.get(CboxFolder, world["sub"]), "Anexos")
        db.session.commit()
        inner_id = inner.id
    _upload(client, inner_id, [("tres.pdf", b"%PDF 3")])
    page = client.get(f"/cbox/folders/{world['docs']}").get_data(as_text=True)
    menus = re.findall(r'<details class="cbox-menu">.*?</details>', page, flags=re.S)
    assert menus and not any('type="text"' in menu or 'type="file"' in menu for menu in menus)
    assert f'href="/cbox/folders/{world["sub"]}/delete"' in page and "Eliminar…" in page

    confirm = client.get(f"/cbox/folders/{world['sub']}/delete").get_data(as_text=True)
    assert "¿Eliminar Contratos?" in confirm and "1 carpeta, 3 archivos" in confirm
    assert "Se puede restaurar desde allí durante 30 días" in confirm  # it goes to the trash (issue 14)
    with app.app_context():
        assert db.session.get(CboxFolder, world["sub"]) is not None  # asking deletes nothing
    file_id = _files(app, db, world["sub"])["uno.pdf"][0]
    assert "Nuevo nombre" in client.get(f"/cbox/files/{file_id}/rename").get_data(as_text=True)
    assert "Nueva versión de uno.pdf" in client.get(f"/cbox/files/{file_id}/versions").get_data(as_text=True)
    assert "El archivo y todas sus versiones" in client.get(f"/cbox/files/{file_id}/delete").get_data(as_text=True)
    assert _post(client, f"/cbox/folders/{world['sub']}/delete").status_code == 302
    with app.app_context():
        assert trash.is_trashed(db.session.get(CboxFolder, world["sub"]))
