"""The cBox trash and the sync (issue 14; SPEC R7, R25): a copy an import made that the user moves to the
trash counts as removed in cBox (a refresh makes it again, as after a deletion), and restored before that
refresh it is found back by its link (no duplicate); an exported item moved to the trash leaves Procore,
and restored it goes out again. Real engine, real sandbox."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token
from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.test_export import cbox, export, procore_tree
from tests.sync.test_import_documents import new_run, procore_folder, run_job, run_row, start


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox, hook=False)


def _trash_entry(app, db):
    from portal.models import CboxTrashEntry

    with app.app_context():
        return db.session.scalar(select(CboxTrashEntry.id).order_by(CboxTrashEntry.id.desc()))


def _queued_run(app, db):
    from portal.models import SyncRun

    with app.app_context():
        return db.session.scalar(select(SyncRun.id).where(SyncRun.status == "queued").order_by(SyncRun.id.desc()))


def test_an_imported_copy_in_the_trash_is_made_again_or_found_back(app, db, procore_sandbox, world, signed_in):
    from portal.models import CboxFile, SyncItem

    procore = Procore(procore_sandbox, world)
    root = procore.root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "done"
    expected = procore.tree(root["id"], "Procore")
    with app.app_context():
        link = db.session.scalars(select(SyncItem).where(SyncItem.integration_id == integration_id,
                                                         SyncItem.procore_kind == "file")).first()
        procore_id, first_copy = link.procore_id, link.cbox_file_id
        files = db.session.scalar(select(func.count()).select_from(CboxFile))

    # Restored before any refresh: the link finds the same row back, nothing is copied twice.
    assert signed_in.post(f"/cbox/files/{first_copy}/delete",
                          data={"csrf_token": csrf_token(signed_in)}).status_code == 302
    assert signed_in.post(f"/cbox/trash/{_trash_entry(app, db)}/restore",
                          data={"csrf_token": csrf_token(signed_in)}).status_code == 302
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done" and run_row(app, db, refresh).imported == 0
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == expected

    # Left in the trash: the refresh makes the copy again (as after a deletion) and the trash keeps its own.
    signed_in.post(f"/cbox/files/{first_copy}/delete", data={"csrf_token": csrf_token(signed_in)})
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done" and run_row(app, db, refresh).imported == 1
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == expected
    with app.app_context():
        again = db.session.scalar(select(SyncItem.cbox_file_id).where(SyncItem.procore_id == procore_id))
        assert again not in (None, first_copy)
        assert db.session.scalar(select(func.count()).select_from(CboxFile)) == files + 1  # one is in the trash


def test_an_exported_file_in_the_trash_leaves_procore_and_goes_back_when_restored(app, db, procore_sandbox, world,
                                                                                   signed_in):
    ids = cbox(app, db, world, {"Obra/a.txt": b"uno", "Obra/b.txt": b"dos"})
    _integration_id, run_id = export(app, db, world, folder_ids=[ids["Obra"]])
    assert run_job(app, run_id) == "done"
    procore = Procore(procore_sandbox, world)
    assert set(procore_tree(procore)) == {"Obra", "Obra/a.txt", "Obra/b.txt"}

    signed_in.post(f"/cbox/files/{ids['Obra/a.txt']}/delete", data={"csrf_token": csrf_token(signed_in)})
    assert run_job(app, _queued_run(app, db)) == "done"
    assert set(procore_tree(procore)) == {"Obra", "Obra/b.txt"}

    signed_in.post(f"/cbox/trash/{_trash_entry(app, db)}/restore", data={"csrf_token": csrf_token(signed_in)})
    assert run_job(app, _queued_run(app, db)) == "done"
    assert set(procore_tree(procore)) == {"Obra", "Obra/a.txt", "Obra/b.txt"}
