"""Export from cBox to Procore against the sandbox (issue 12; SPEC R5, R24-R31, R34; RELIABILITY 7),
through the real job function: CalidadCloud once, the tree kept for Documents, flat images with their
cBox path for Photos, automatic export of later changes, delete-and-recreate on rename or new version,
Procore-side edits undone by a refresh, deletions held while no account is valid, no import loop."""
from __future__ import annotations

import hashlib
import io
import threading

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token
from tests.sync.helpers import Procore, make_world
from tests.sync.test_import_documents import run_job, run_row

ROOT = "CalidadCloud"


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox, hook=False)


def cbox(app, db, world, tree: dict, category: str = "documents") -> dict[str, int]:
    """Build {path: content} under the categorized folder; return {path: cBox id} (folders too)."""
    from portal.cbox import store
    from portal.models import CboxFolder

    ids = {}
    with app.app_context():
        root = db.session.get(CboxFolder, world.documents_id if category == "documents" else world.photos_id)
        for path, content in tree.items():
            parent = root
            for name in path.split("/")[:-1]:
                parent = store.ensure_folder(parent, name)
                db.session.flush()
                ids[store_path(parent)] = parent.id
            ids[path] = store.add_file(parent, path.split("/")[-1], store.write_blob(io.BytesIO(content))).id
        db.session.commit()
    return ids


def store_path(folder) -> str:
    names = []
    while folder is not None and not folder.is_categorized:
        names.append(folder.name)
        folder = folder.parent
    return "/".join(reversed(names))


def export(app, db, world, folder_ids=(), file_ids=(), source=None, project="Hospital Regional Ñuñoa"):
    from portal.models import CboxFolder, ProcoreAccount, User
    from portal.sync import exports

    with app.app_context():
        user, account = db.session.get(User, world.user_id), db.session.get(ProcoreAccount, world.account_id)
        folder = db.session.get(CboxFolder, source or world.documents_id)
        integration, run = exports.create(user, account, folder, project_id=world.project_id, project_name=project,
                                          folder_ids=list(folder_ids), file_ids=list(file_ids))
        db.session.commit()
        return integration.id, run.id


def new_export_run(app, db, integration_id, kind="export"):
    from portal.models import Integration
    from portal.sync.jobs import create_run

    with app.app_context():
        run = create_run(db.session.get(Integration, integration_id), kind)
        db.session.commit()
        return run.id


def calidad(procore: Procore) -> dict:
    return next(f for f in procore.root()["folders"] if f["name"] == ROOT)


def procore_tree(procore: Procore) -> dict[str, str]:
    """{path below CalidadCloud: sha256 or "<folder>"} as Procore serves it."""
    tree = procore.tree(calidad(procore)["id"], ROOT)
    return {path[len(ROOT) + 1:]: sha for path, sha in tree.items() if path != ROOT}


def cbox_expected(tree: dict) -> dict[str, str]:
    out = {}
    for path, content in tree.items():
        parts = path.split("/")
        for i in range(1, len(parts)):
            out["/".join(parts[:i])] = "<folder>"
        out[path] = hashlib.sha256(content).hexdigest()
    return out


def test_documents_keep_the_tree_under_one_calidadcloud(app, db, procore_sandbox, world):
    """R5, R24, R28: the chosen folder's tree lands under CalidadCloud byte for byte (a 12 MB file through a
    segmented upload); a second export of another folder reuses the same CalidadCloud."""
    big = bytes(range(256)) * (12 * 1024 * 1024 // 256)
    tree = {"Obra/Actas/acta 1.pdf": b"%PDF acta uno", "Obra/plano grande.dwg": big, "Obra/léame.txt": b"hola"}
    ids = cbox(app, db, world, tree)
    integration_id, run_id = export(app, db, world, folder_ids=[ids["Obra"]])
    assert run_job(app, run_id) == "done", run_row(app, db, run_id).error
    procore = Procore(procore_sandbox, world)
    assert procore_tree(procore) == cbox_expected(tree)
    run = run_row(app, db, run_id)
    assert (run.imported, run.failed) == (3, 0)
    writes = procore_sandbox.stats()["endpoints"]
    assert writes.get("/rest/v1.1/projects/<int:project_id>/uploads/<uuid>", 0) >= 1, "the big file was segmented"

    more = cbox(app, db, world, {"Otra/nota.txt": b"otra"})
    _other, second = export(app, db, world, folder_ids=[more["Otra"]], source=world.documents_id)
    assert run_job(app, second) == "done"
    assert [f["name"] for f in procore.root()["folders"]].count(ROOT) == 1, "CalidadCloud once (R24)"
    assert procore_tree(procore)["Otra/nota.txt"] == hashlib.sha256(b"otra").hexdigest()


def test_four_workers_starting_together_make_one_calidadcloud(app, db, procore_sandbox, world):
    """R24 at the engine: four export runs of four integrations (four source folders) start at once."""
    runs = []
    for index in range(4):
        ids = cbox(app, db, world, {f"Carpeta {index}/f.txt": f"{index}".encode()})
        folder = ids[f"Carpeta {index}"]
        runs.append(export(app, db, world, folder_ids=[folder], source=folder)[1])
    results = []
    threads = [threading.Thread(target=lambda run_id=run_id: results.append(run_job(app, run_id))) for run_id in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(results) == ["done"] * 4
    procore = Procore(procore_sandbox, world)
    assert [f["name"] for f in procore.root()["folders"]].count(ROOT) == 1
    exported = {path for path in procore_tree(procore) if path.endswith("f.txt")}
    assert exported == {f"Carpeta {i}/f.txt" for i in range(4)}


def test_photos_flat_only_images_with_their_cbox_path(app, db, procore_sandbox, world):
    """R29, R30: from a nested Imágenes folder, a .JPEG goes flat into the CalidadCloud album with its cBox
    path as description; the .txt beside it is skipped with the reason; same-named images stay apart."""
    from portal.models import SyncItem

    jpeg = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 64 + b"\xff\xd9"
    tree = {"Obra/Semana 1/FOTO.JPEG": jpeg, "Obra/Semana 1/notas.txt": b"texto",
            "Obra/Semana 2/FOTO.JPEG": jpeg + b"2"}
    ids = cbox(app, db, world, tree, category="photos")
    integration_id, run_id = export(app, db, world, folder_ids=[ids["Obra"]], source=world.photos_id)
    assert run_job(app, run_id) == "done", run_row(app, db, run_id).error
    procore = Procore(procore_sandbox, world)
    album = next(a for a in procore.get("/rest/v1.0/image_categories") if a["name"] == ROOT)
    images = procore.get("/rest/v1.0/images", image_category_id=album["id"])
    assert sorted(image["description"] for image in images) == [
        "Imágenes/Obra/Semana 1/FOTO.JPEG", "Imágenes/Obra/Semana 2/FOTO.JPEG"]
    assert all(image["filename"] == "FOTO.JPEG" for image in images)
    with app.app_context():
        skipped = db.session.scalar(select(SyncItem).where(SyncItem.cbox_file_id == ids["Obra/Semana 1/notas.txt"]))
        assert (skipped.status, skipped.reason_code) == ("skipped", "not_an_image")
    assert run_row(app, db, run_id).skipped == 1


def test_exported_items_show_their_states(app, db, procore_sandbox, world, signed_in):
    """R7 for exports: exported files read synced, a file the Photos export skips reads "only in cBox" with the
    reason, a file added while no run has copied it yet reads pending."""
    import re

    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 32 + b"\xff\xd9"
    ids = cbox(app, db, world, {"Obra/foto.jpg": jpeg, "Obra/notas.txt": b"x"}, category="photos")
    _integration_id, run_id = export(app, db, world, folder_ids=[ids["Obra"]], source=world.photos_id)
    assert run_job(app, run_id) == "done"
    cbox(app, db, world, {"Obra/nueva.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 16}, category="photos")
    page = signed_in.get(f"/cbox/folders/{ids['Obra']}").get_data(as_text=True).replace("\n", " ")
    rows = {name: re.search(r'data-status="([a-z_]+)"', row).group(1)
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page) for name in ("foto.jpg", "notas.txt", "nueva.png")
            if f" {name}</a>" in row}
    assert rows == {"foto.jpg": "synced", "notas.txt": "local", "nueva.png": "pending"}
    assert "No se exporta: solo las imágenes" in page and "Aún no se exportó a Procore" in page


def test_later_changes_go_out_by_themselves_rename_and_version_recreate(app, db, procore_sandbox, world, signed_in):
    """R5: a file uploaded later into the exported folder is exported automatically; R31: a rename or a new
    version deletes the Procore file and creates it again (a new Procore id; the old one in the bin)."""
    from portal.models import SyncItem, SyncRun

    ids = cbox(app, db, world, {"Obra/a.txt": b"uno"})
    integration_id, run_id = export(app, db, world, folder_ids=[ids["Obra"]])
    assert run_job(app, run_id) == "done"
    response = signed_in.post(f"/cbox/folders/{ids['Obra']}/files", content_type="multipart/form-data", data={
        "files": [(io.BytesIO(b"nuevo"), "b.txt")], "csrf_token": csrf_token(signed_in)})
    assert response.status_code == 302

    def queued_run():
        with app.app_context():
            return db.session.scalar(select(SyncRun.id).where(SyncRun.status == "queued"))

    assert run_job(app, queued_run()) == "done"
    procore = Procore(procore_sandbox, world)
    assert set(procore_tree(procore)) == {"Obra", "Obra/a.txt", "Obra/b.txt"}

    def procore_id(cbox_id):
        with app.app_context():
            return db.session.scalar(select(SyncItem.procore_id).where(SyncItem.cbox_file_id == cbox_id))

    before = procore_id(ids["Obra/a.txt"])
    page = signed_in.get(f"/cbox/folders/{ids['Obra']}").get_data(as_text=True)
    assert "se pierden" in page, "R31: the page warns before a rename or a new version"
    signed_in.post(f"/cbox/files/{ids['Obra/a.txt']}/rename",
                   data={"name": "a2.txt", "csrf_token": csrf_token(signed_in)})
    assert run_job(app, queued_run()) == "done"
    renamed = procore_id(ids["Obra/a.txt"])
    assert renamed != before and set(procore_tree(procore)) == {"Obra", "Obra/a2.txt", "Obra/b.txt"}
    assert procore.get(f"/rest/v1.0/files/{before}")["is_deleted"] is True, "the old one is in Procore's bin"
    signed_in.post(f"/cbox/files/{ids['Obra/a.txt']}/versions", content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"version dos"), "a2.txt"), "csrf_token": csrf_token(signed_in)})
    assert run_job(app, queued_run()) == "done"
    assert procore_id(ids["Obra/a.txt"]) not in (before, renamed)
    assert procore_tree(procore)["Obra/a2.txt"] == hashlib.sha256(b"version dos").hexdigest()


def test_a_refresh_undoes_edits_made_in_procore(app, db, procore_sandbox, world):
    """R26: cBox wins: a file renamed in Procore, a foreign file added and an exported file deleted there are
    put back in line by "Procore › Actualizar" (a refresh of the export)."""
    tree = {"Obra/a.txt": b"uno", "Obra/b.txt": b"dos", "Obra/c.txt": b"tres", "Obra/Sub/d.txt": b"cuatro"}
    ids = cbox(app, db, world, tree)
    integration_id, run_id = export(app, db, world, folder_ids=[ids["Obra"]])
    assert run_job(app, run_id) == "done"
    procore = Procore(procore_sandbox, world)
    obra = next(f for f in procore.folder(calidad(procore)["id"])["folders"] if f["name"] == "Obra")
    files = {f["name"]: f for f in procore.folder(obra["id"])["files"]}
    procore.send("PATCH", f"/rest/v1.0/files/{files['a.txt']['id']}", file={"name": "cambiado.txt"})
    procore.send("DELETE", f"/rest/v1.0/files/{files['b.txt']['id']}")
    from tests.sync.test_import_documents import _upload

    procore.send("POST", "/rest/v1.0/files", file={"name": "ajeno.txt", "parent_id": obra["id"],
                                                    "upload_uuid": _upload(procore_sandbox, world, b"ajeno")})
    refresh = new_export_run(app, db, integration_id, kind="refresh")
    assert run_job(app, refresh) == "done", run_row(app, db, refresh).error
    assert procore_tree(procore) == cbox_expected(tree)


def test_deleted_in_cbox_without_credentials_waits_then_leaves(app, db, procore_sandbox, world, signed_in):
    """R25, R34: an exported file deleted in cBox while no account is valid stays in Procore, "pending
    deletion" on the integration page; once the account is valid again it leaves Procore."""
    from portal.models import AccountStatus, ProcoreAccount, SyncItem, SyncRun

    ids = cbox(app, db, world, {"Obra/a.txt": b"uno", "Obra/b.txt": b"dos"})
    integration_id, run_id = export(app, db, world, folder_ids=[ids["Obra"]])
    assert run_job(app, run_id) == "done"
    with app.app_context():
        db.session.get(ProcoreAccount, world.account_id).status = AccountStatus.NEEDS_REAUTH
        db.session.commit()
    signed_in.post(f"/cbox/files/{ids['Obra/a.txt']}/delete", data={"csrf_token": csrf_token(signed_in)})
    with app.app_context():
        queued = db.session.scalar(select(SyncRun.id).where(SyncRun.status == "queued"))
    assert run_job(app, queued) == "failed"
    procore = Procore(procore_sandbox, world)
    assert "Obra/a.txt" in procore_tree(procore), "nothing deleted without credentials"
    page = signed_in.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert "Pendiente de eliminación" in page and "a.txt" in page
    with app.app_context():
        db.session.get(ProcoreAccount, world.account_id).status = AccountStatus.VALID
        db.session.commit()
    signed_in.post(f"/integrations/{integration_id}/sync", data={"csrf_token": csrf_token(signed_in)})
    with app.app_context():
        queued = db.session.scalar(select(SyncRun.id).where(SyncRun.status == "queued"))
    assert run_job(app, queued) == "done"
    assert set(procore_tree(procore)) == {"Obra", "Obra/b.txt"}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SyncItem).where(
            SyncItem.status == "pending_deletion")) == 0


def test_our_writes_are_not_imported_back(app, db, procore_sandbox, world):
    """RELIABILITY 7: an import of the whole Documents root of the same project leaves CalidadCloud out, and
    the webhook events of our own writes (our client id) start nothing."""
    from portal.models import CboxFolder
    from tests.sync.test_import_documents import procore_folder, start

    ids = cbox(app, db, world, {"Obra/a.txt": b"uno"})
    _integration_id, run_id = export(app, db, world, folder_ids=[ids["Obra"]])
    assert run_job(app, run_id) == "done"
    procore = Procore(procore_sandbox, world)
    events = [e for e in procore_sandbox.events() if e["resource_name"] in ("Project Files", "Project Folders")]
    assert events and all(e["application_id"] == "demo-client" for e in events[-3:]), "our writes carry our id"
    import_id, import_run = start(app, db, world, folders=[procore.root()["id"]])
    assert run_job(app, import_run) == "done"
    with app.app_context():
        names = set(db.session.scalars(select(CboxFolder.name).where(
            CboxFolder.parent_id == procore_folder(app, db, import_id))))
    assert ROOT not in names and "02 Contratos" in names


def test_export_pages_name_missing_permissions_and_start_the_copy(app, db, procore_sandbox, world, signed_in):
    """R5, R32: the chooser names what is missing; "Continuar" starts the export and shows its progress; Planos
    offers no export (R27); a folder inside an import neither."""
    ids = cbox(app, db, world, {"Obra/a.txt": b"uno"})
    page = signed_in.get(f"/exports/new?folder_id={world.documents_id}").get_data(as_text=True)
    assert "Hospital Regional Ñuñoa" in page and f"project_id={world.project_id}" in page
    form = signed_in.get(f"/exports/new?folder_id={world.documents_id}&project_id={world.project_id}")
    assert "CalidadCloud" in form.get_data(as_text=True)
    response = signed_in.post("/exports/", data={"folder_id": world.documents_id, "project_id": world.project_id,
                                                 "folder_ids": [ids["Obra"]], "csrf_token": csrf_token(signed_in)})
    assert response.status_code == 302 and "/integrations/" in response.headers["Location"]
    assert signed_in.get(f"/exports/new?folder_id={world.drawings_id}").status_code == 404
    grant = {"login": "admin@constructora.test", "company_id": world.procore_company_id,
             "project_id": world.project_id, "tool": "documents", "level": "Standard"}
    procore_sandbox._post("/_sandbox/permissions", grant)
    try:
        page = signed_in.get(f"/exports/new?folder_id={world.documents_id}").get_data(as_text=True)
        assert "Admin en la herramienta Documentos" in page
    finally:
        procore_sandbox._post("/_sandbox/permissions", {**grant, "level": "Admin"})
