"""Importing Procore Documents into cBox against the sandbox (SPEC R3, R7, R10, R13, R21, R33;
RELIABILITY 9, 12, 16). Each test drives the real engine through the RQ job function."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from tests.sync.helpers import Procore, cbox_tree, counts, make_world


def start(app, db, world, folders=(), files=(), kind="import"):
    """An integration and its first run, committed but not enqueued (the test runs the job itself)."""
    from portal.models import CboxFolder, ProcoreAccount, User
    from portal.sync import gate, service

    with app.app_context():
        user, account = db.session.get(User, world.user_id), db.session.get(ProcoreAccount, world.account_id)
        project = gate.Verdict(world.project_id, "Edificio Los Álamos")
        integration, run = service.create_integration(user, account, db.session.get(CboxFolder, world.documents_id),
                                                      project, list(folders), list(files))
        db.session.commit()
        return integration.id, run.id


def run_job(app, run_id):
    from portal.sync.jobs import run_sync

    with app.app_context():
        return run_sync(run_id)


def new_run(app, db, integration_id, kind="refresh"):
    from portal.models import Integration
    from portal.sync.jobs import create_run

    with app.app_context():
        run = create_run(db.session.get(Integration, integration_id), kind)
        db.session.commit()
        return run.id


def run_row(app, db, run_id):
    from portal.models import SyncRun

    with app.app_context():
        run = db.session.get(SyncRun, run_id)
        db.session.expunge(run)
        return run


def procore_folder(app, db, integration_id):
    from portal.models import Integration

    with app.app_context():
        return db.session.get(Integration, integration_id).procore_folder_id


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox)


@pytest.mark.keeps_sandbox
def test_import_whole_project_equals_procore_by_sha256(app, db, procore_sandbox, world):
    """R10, R21: Documentos/Procore/<the same tree>; hostile names, 0-byte file and versions included."""
    procore = Procore(procore_sandbox, world)
    root = procore.root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "done"
    expected = procore.tree(root["id"], "Procore")
    got = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert got == expected
    assert any("../informe?.pdf" in path for path in got), "the hostile name is kept as the original name"
    assert any(sha == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" for sha in got.values())
    run = run_row(app, db, run_id)
    files = sum(1 for sha in expected.values() if sha != "<folder>")
    assert (run.files_total, run.files_done, run.imported, run.failed) == (files, files, files, 0)


@pytest.mark.keeps_sandbox
def test_second_import_and_refresh_write_nothing(app, db, procore_sandbox, world):
    """A re-run plans by Procore id + version: no download, no new row (RELIABILITY 9)."""
    root = Procore(procore_sandbox, world).root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    run_job(app, run_id)
    before = counts(app, db)
    procore_sandbox.control({})  # no-op, keeps the sandbox warm
    stats_before = procore_sandbox.stats()["storage_downloads"]
    for kind in ("import", "refresh"):
        again = new_run(app, db, integration_id, kind)
        assert run_job(app, again) == "done"
        run = run_row(app, db, again)
        assert (run.imported, run.updated, run.deleted, run.failed) == (0, 0, 0, 0)
        assert run.skipped == run.files_total > 0
    assert counts(app, db) == before
    assert procore_sandbox.stats()["storage_downloads"] == stats_before


def test_refresh_converges_after_add_new_version_delete_and_move(app, db, procore_sandbox, world):
    """R7, R22: changes in Procore reach cBox; a moved item moves (same cBox row) inside the selection."""
    procore = Procore(procore_sandbox, world)
    root = procore.root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    run_job(app, run_id)
    first, second = procore.child("04 Informes Técnicos", root), procore.child("02 Contratos", root)
    files = procore.folder(first["id"])["files"]
    procore.send("PATCH", f"/rest/v1.0/files/{files[0]['id']}", file={"parent_id": second["id"]})   # move
    procore.send("DELETE", f"/rest/v1.0/files/{files[1]['id']}")                                      # delete
    created = procore.send("POST", "/rest/v1.0/folders", folder={"name": "Nueva carpeta", "parent_id": first["id"]})
    upload = _upload(procore_sandbox, world, b"nuevo contenido")
    procore.send("POST", "/rest/v1.0/files", file={"name": "nuevo.txt", "parent_id": created["id"],
                                                    "upload_uuid": upload})
    target = next(f for f in procore.folder(second["id"])["files"] if f["id"] != files[0]["id"])
    procore.send("POST", "/rest/v1.0/file_versions", file_id=target["id"],
                 file_version={"upload_uuid": _upload(procore_sandbox, world, b"version nueva")})
    moved_before = _cbox_file_of(app, db, files[0]["id"])
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done"
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == procore.tree(root["id"], "Procore")
    assert _cbox_file_of(app, db, files[0]["id"]) == moved_before, "a move keeps the same cBox file"
    run = run_row(app, db, refresh)
    assert run.imported == 1 and run.deleted == 1 and run.updated >= 2
    second_refresh = new_run(app, db, integration_id)
    run_job(app, second_refresh)
    assert run_row(app, db, second_refresh).imported == run_row(app, db, second_refresh).updated == 0


def _cbox_file_of(app, db, procore_id):
    from portal.models import SyncItem

    with app.app_context():
        return db.session.scalar(select(SyncItem.cbox_file_id).where(SyncItem.procore_id == procore_id))


def _upload(sb, world, data: bytes) -> str:
    """A Procore upload slot holding `data` (the sandbox's presigned POST)."""
    import requests

    headers = {"Authorization": f"Bearer {world.token}", "Procore-Company-Id": str(world.procore_company_id)}
    body = {"response_filename": "x.bin", "response_content_type": "application/octet-stream"}
    slot = requests.post(f"{sb.url}/rest/v1.1/projects/{world.project_id}/uploads", headers=headers, timeout=30,
                         json=body).json()
    response = requests.post(slot["url"], data=slot["fields"], files={"file": ("x.bin", data)}, timeout=30)
    assert response.status_code == 204, response.text[:300]
    return slot["uuid"]


def test_large_deletion_waits_for_confirmation(app, db, procore_sandbox, world, monkeypatch):
    """R7: a refresh deleting more than the threshold previews and waits; confirmed, it deletes."""
    procore = Procore(procore_sandbox, world)
    root = procore.root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    run_job(app, run_id)
    monkeypatch.setitem(app.config, "SYNC_DELETE_CONFIRM_ITEMS", 2)
    victim = procore.child("01 Planos y Especificaciones", root)
    procore.send("DELETE", f"/rest/v1.0/folders/{victim['id']}")
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "awaiting_confirmation"
    run = run_row(app, db, refresh)
    assert run.deleted == 0 and any(victim["name"] in path for path in run.preview)
    assert any(path.startswith(f"Procore/{victim['name']}") for path in cbox_tree(app, db, procore_folder(
        app, db, integration_id), "Procore"))
    from portal import alerts
    from portal.models import Alert, SyncRun
    with app.app_context(), app.test_request_context(headers={"Accept-Language": "es"}):
        # The admins hear of it (an alert, mailed like the others), with the number waiting and where to answer.
        [alert] = db.session.scalars(db.select(Alert).where(Alert.kind == "deletion_awaiting")).all()
        assert alert.link == f"/integrations/{integration_id}" and alert.params["items"] == len(run.preview) > 2
        assert alerts.label(alert.kind) == "Una eliminación grande espera la confirmación de un administrador"
        assert alerts.detail(alert) == (f"{len(run.preview)} elementos se eliminarían de cBox; no se elimina nada "
                                        "hasta que un administrador lo confirme en la página de la integración.")
    with app.app_context():
        row = db.session.get(SyncRun, refresh)
        row.status, row.confirmed_deletes = "queued", True
        db.session.commit()
    assert run_job(app, refresh) == "done"
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == procore.tree(root["id"], "Procore")


@pytest.mark.keeps_sandbox
def test_same_run_twice_at_once_makes_one_copy(app, db, procore_sandbox, world):
    """RELIABILITY 12: two executions of one job; one claims it, the other does nothing."""
    root = Procore(procore_sandbox, world).root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_job(app, run_id))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["done", "not_claimed"]
    tree = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert tree == Procore(procore_sandbox, world).tree(root["id"], "Procore")
