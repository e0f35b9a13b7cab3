"""Live sync from webhook events, per tool (issue 11; SPEC R4, R15, R19, R22; RELIABILITY 7, 8).

Each event goes to the integrations of its tool only, as an event run that re-reads the named resource
and applies that one item with the import's own code: no listing of the whole selection. Events arrive
out of order and twice: re-reading makes them idempotent. Driven through the webhook worker's entry
point (`apply_event`) and the real job function, against the sandbox.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.test_import_documents import _upload, procore_folder, run_job, run_row, start


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox)


def event(world, resource: str, resource_id: int, event_type: str = "update") -> dict:
    return {"company_id": world.company_id, "procore_project_id": world.project_id, "resource_name": resource,
            "resource_id": resource_id, "event_type": event_type}


def deliver(app, db, *events) -> list[int]:
    """The webhook worker's part: each event to apply_event; then run every queued run to its end."""
    from portal.models import SyncRun
    from portal.sync.events import apply_event

    with app.app_context():
        outcomes = [apply_event(e) for e in events]
        queued = db.session.scalars(select(SyncRun.id).where(SyncRun.status == "queued").order_by(SyncRun.id)).all()
    assert set(outcomes) <= {"sync_queued", "no_integration"}, outcomes
    for run_id in queued:
        assert run_job(app, run_id) == "done", run_row(app, db, run_id).error
    return list(queued)


def imported(app, db, sb, world, name: str):
    procore = Procore(sb, world)
    folder = procore.child(name, procore.root())
    integration_id, run_id = start(app, db, world, folders=[folder["id"]])
    assert run_job(app, run_id) == "done"
    return procore, folder, integration_id


def tree(app, db, integration_id):
    return cbox_tree(app, db, procore_folder(app, db, integration_id), "Procore")


def expected(procore, folder):
    return {"Procore": "<folder>", **procore.tree(folder["id"], f"Procore/{folder['name']}")}


def versions(app, db) -> int:
    from portal.models import CboxFileVersion

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CboxFileVersion))


def test_documents_events_apply_one_item_each(app, db, procore_sandbox, world):
    """R4: a file created, a new version, a rename, a move inside the selection and a delete in Procore
    each reach cBox by one event run, each reading only what its event names (no folder walk)."""
    procore, folder, integration_id = imported(app, db, procore_sandbox, world, "02 Contratos")
    procore_sandbox._post("/_sandbox/stats/reset")
    created = procore.send("POST", "/rest/v1.0/files", file={"name": "nuevo.txt", "parent_id": folder["id"],
                                                              "upload_uuid": _upload(procore_sandbox, world, b"uno")})
    runs = deliver(app, db, event(world, "Project Files", created["id"], "create"))
    assert len(runs) == 1 and run_row(app, db, runs[0]).kind == "event"
    assert tree(app, db, integration_id) == expected(procore, folder)
    walked = procore_sandbox.stats()["endpoints"].get("/rest/v1.0/folders/<int:folder_id>", 0)
    assert walked <= 2, "an event reads its item (and ancestors), never the whole selection"

    version = procore.send("POST", "/rest/v1.0/file_versions", file_id=created["id"],
                           file_version={"upload_uuid": _upload(procore_sandbox, world, b"dos")})
    deliver(app, db, event(world, "Project File Versions", version["id"], "create"))  # names the version
    assert tree(app, db, integration_id) == expected(procore, folder)
    sub = next(f for f in procore.folder(folder["id"])["folders"])
    procore.send("PATCH", f"/rest/v1.0/files/{created['id']}", file={"name": "renombrado.txt", "parent_id": sub["id"]})
    deliver(app, db, event(world, "Project Files", created["id"]))
    assert tree(app, db, integration_id) == expected(procore, folder)

    victim = procore.folder(folder["id"])["files"][0]
    procore.send("DELETE", f"/rest/v1.0/files/{victim['id']}")
    deliver(app, db, event(world, "Project Files", victim["id"], "delete"))
    assert tree(app, db, integration_id) == expected(procore, folder)


def test_documents_out_of_order_and_duplicated_events_write_once(app, db, procore_sandbox, world):
    """RELIABILITY 8: `update` before `create` for the same file, each twice → the latest state, one row."""
    procore, folder, integration_id = imported(app, db, procore_sandbox, world, "02 Contratos")
    created = procore.send("POST", "/rest/v1.0/files", file={"name": "orden.txt", "parent_id": folder["id"],
                                                              "upload_uuid": _upload(procore_sandbox, world, b"v1")})
    procore.send("POST", "/rest/v1.0/file_versions", file_id=created["id"],
                 file_version={"upload_uuid": _upload(procore_sandbox, world, b"v2 final")})
    before = versions(app, db)
    runs = deliver(app, db, *[event(world, "Project Files", created["id"], kind)
                              for kind in ("update", "update", "create", "create")])
    assert len(runs) == 1, "the four deliveries joined one queued run"
    assert tree(app, db, integration_id) == expected(procore, folder)
    assert versions(app, db) == before + 1, "written once, at its latest content"
    again = deliver(app, db, event(world, "Project Files", created["id"], "create"))  # a late replay
    assert run_row(app, db, again[0]).imported == run_row(app, db, again[0]).updated == 0
    assert versions(app, db) == before + 1


def test_documents_moved_out_of_the_selection_leaves_and_back_in_returns(app, db, procore_sandbox, world):
    """R22: a file moved to a folder that is not synced leaves cBox (read by an Admin: proof); moved back,
    it returns. A folder moved in from outside brings its contents."""
    procore, folder, integration_id = imported(app, db, procore_sandbox, world, "02 Contratos")
    outside = procore.child("04 Informes Técnicos", procore.root())
    moving = procore.folder(folder["id"])["files"][0]
    procore.send("PATCH", f"/rest/v1.0/files/{moving['id']}", file={"parent_id": outside["id"]})
    deliver(app, db, event(world, "Project Files", moving["id"]))
    assert tree(app, db, integration_id) == expected(procore, folder)
    assert not any(moving["name"] in path for path in tree(app, db, integration_id))
    procore.send("PATCH", f"/rest/v1.0/files/{moving['id']}", file={"parent_id": folder["id"]})
    deliver(app, db, event(world, "Project Files", moving["id"]))
    assert tree(app, db, integration_id) == expected(procore, folder)
    sub = procore.folder(outside["id"])["folders"][0] if procore.folder(outside["id"])["folders"] else None
    if sub is not None:
        procore.send("PATCH", f"/rest/v1.0/folders/{sub['id']}", folder={"parent_id": folder["id"]})
        deliver(app, db, event(world, "Project Folders", sub["id"]))
        assert tree(app, db, integration_id) == expected(procore, folder), "the moved-in folder's contents too"


def test_events_reach_only_their_tool_and_project(app, db, procore_sandbox, world):
    """R4 routing: an Images event never starts a Documents run; another project's event neither."""
    from portal.models import SyncRun
    from portal.sync.events import apply_event

    procore, folder, integration_id = imported(app, db, procore_sandbox, world, "02 Contratos")
    with app.app_context():
        assert apply_event(event(world, "Images", 1)) == "no_integration"
        assert apply_event(event(world, "Drawing Revisions", 1)) == "no_integration"
        assert apply_event({**event(world, "Project Files", 1), "procore_project_id": 1}) == "no_integration"
        assert db.session.scalar(select(func.count()).select_from(SyncRun).where(SyncRun.status == "queued")) == 0
