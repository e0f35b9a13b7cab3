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
from tests.sync.test_import_documents import _upload, new_run, procore_folder, run_job, run_row, start


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
    walked = procore_sandbox.stats()["endpoints"].get("/rest/v1.0/folders/<int:folder_id>", 0)
    assert walked <= 2, "an event reads its item (and ancestors), never the whole selection"
    assert len(runs) == 1 and run_row(app, db, runs[0]).kind == "event"
    assert tree(app, db, integration_id) == expected(procore, folder)

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


def test_documents_events_with_the_whole_project_selected_keep_and_update_the_copy(app, db, procore_sandbox,
                                                                                    world):
    """R4, R7: with Procore's root folder selected (the whole project), an event on a file whose folders
    the integration already has places it below the root, as the listing does. It was read as outside the
    selection (the known chain stops below the root, whose id was never compared) and left cBox."""
    procore = Procore(procore_sandbox, world)
    root = procore.root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "done"
    before = versions(app, db)
    folder = next(f for f in procore.folder(root["id"])["folders"] if procore.folder(f["id"])["files"])
    target = procore.folder(folder["id"])["files"][0]
    version = procore.send("POST", "/rest/v1.0/file_versions", file_id=target["id"],
                           file_version={"upload_uuid": _upload(procore_sandbox, world, b"nueva version")})
    runs = deliver(app, db, event(world, "Project Files", target["id"]),
                   event(world, "Project File Versions", version["id"], "create"))
    assert run_row(app, db, runs[0]).deleted == 0 and versions(app, db) == before + 1
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == procore.tree(root["id"], "Procore")


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
    moved_in = procore.send("POST", "/rest/v1.0/folders", folder={"name": "Traslado", "parent_id": outside["id"]})
    procore.send("POST", "/rest/v1.0/files", file={"name": "dentro.txt", "parent_id": moved_in["id"],
                                                    "upload_uuid": _upload(procore_sandbox, world, b"dentro")})
    procore.send("PATCH", f"/rest/v1.0/folders/{moved_in['id']}", folder={"parent_id": folder["id"]})
    deliver(app, db, event(world, "Project Folders", moved_in["id"]))
    assert tree(app, db, integration_id) == expected(procore, folder), "the moved-in folder brings its contents"
    assert any(path.endswith("Traslado/dentro.txt") for path in tree(app, db, integration_id))


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


# -- Photos and Drawings ------------------------------------------------------------------------

def _png(seed: int) -> bytes:
    from sandbox.photos.media import make_png

    return make_png(8, 6, lambda x, y: ((x * 31 + seed) % 256, (y * 17 + seed) % 256, seed % 256))


def test_photos_events_create_move_album_deleted_and_recovered(app, db, procore_sandbox):
    """R4 for Photos: a new photo (events out of order and twice) arrives once; moved to a synced album it
    moves, to an unsynced one it leaves (R19); an album deleted in Procore takes its photos out, and a
    photo recovered from the bin (back in Unclassified) returns only once Unclassified is synced (R20)."""
    from portal.models import Integration
    from tests.sync.media import album_images, albums, links_by_kind, photo_tree, start_tool

    world = make_world(app, db, procore_sandbox, hook=False)
    procore = Procore(procore_sandbox, world)
    by_name = albums(procore)
    avance, seguridad, fachada, unclassified = (by_name[name]["id"] for name in (
        "Avance de obra", "Seguridad", "Fachada norte", "Unclassified"))
    integration_id, run_id = start_tool(app, db, world, world.photos_id, {"albums": [avance, seguridad]})
    assert run_job(app, run_id) == "done"
    synced = [avance, seguridad]

    image = procore.send("POST", "/rest/v1.0/images", upload_uuid=_upload(procore_sandbox, world, _png(1)),
                         image_name="nueva.png", image={"image_category_id": avance})
    runs = deliver(app, db, *[event(world, "Images", image["id"], kind) for kind in ("update", "create", "create")])
    assert len(runs) == 1 and run_row(app, db, runs[0]).imported == 1
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == photo_tree(procore, synced)

    before = links_by_kind(app, db, integration_id)[("file", image["id"])].cbox_file_id
    procore.send("PATCH", f"/rest/v1.0/images/{image['id']}", image={"image_category_id": seguridad})
    deliver(app, db, event(world, "Images", image["id"]))
    assert links_by_kind(app, db, integration_id)[("file", image["id"])].cbox_file_id == before, "moved, same file"
    leaving = album_images(procore, avance)[0]
    procore.send("PATCH", f"/rest/v1.0/images/{leaving['id']}", image={"image_category_id": fachada})
    deliver(app, db, event(world, "Images", leaving["id"]))
    assert ("file", leaving["id"]) not in links_by_kind(app, db, integration_id), "R19: not synced there: gone"
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == photo_tree(procore, synced)

    trashed = album_images(procore, seguridad)
    procore.send("DELETE", f"/rest/v1.0/image_categories/{seguridad}")
    deliver(app, db, event(world, "Image Categories", seguridad, "delete"))  # one event for the whole album
    assert not any(("file", photo["id"]) in links_by_kind(app, db, integration_id) for photo in trashed)
    synced = [avance]
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == photo_tree(procore, synced)

    recovered = trashed[0]
    procore.send("POST", f"/rest/v1.0/images/{recovered['id']}/retrieve")  # back to Unclassified: its album is gone
    deliver(app, db, event(world, "Images", recovered["id"]))
    assert ("file", recovered["id"]) not in links_by_kind(app, db, integration_id), "Unclassified is not synced"
    with app.app_context():  # the admin adds Unclassified to the integration
        integration = db.session.get(Integration, integration_id)
        integration.selections = {"albums": [avance, unclassified]}
        db.session.commit()
    deliver(app, db, event(world, "Images", recovered["id"]))  # a later event (or the replay of this one)
    assert ("file", recovered["id"]) in links_by_kind(app, db, integration_id), "R20: Unclassified synced: back"
    refresh = new_run(app, db, integration_id)  # the rest of Unclassified comes with the extended import
    assert run_job(app, refresh) == "done"
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == photo_tree(procore, [avance, unclassified])


def test_drawings_events_publish_review_and_obsolete(app, db, procore_sandbox):
    """R4 for Drawings, R15: a revision published after the import arrives as a new version of the same
    file (its events duplicated and out of order); a revision still in review changes nothing; a drawing
    made obsolete leaves cBox; an upload event goes to the drawings it was assigned to; a set event (no item
    to re-read) becomes a whole refresh."""
    from tests.sync.media import areas, drawing_tree, links_by_kind, revision, revisions, start_tool

    world = make_world(app, db, procore_sandbox, project="Puente Río Claro", hook=False)
    procore = Procore(procore_sandbox, world)
    (area,) = areas(procore).values()
    integration_id, run_id = start_tool(app, db, world, world.drawings_id, {"areas": [area["id"]], "disciplines": []},
                                        "Puente Río Claro")
    assert run_job(app, run_id) == "done"
    root = procore_folder(app, db, integration_id)
    rev1, rev2 = revision(procore, "A-101", "1", area["id"]), revision(procore, "A-101", "2", area["id"])
    drawing = rev1["drawing_id"]
    before = links_by_kind(app, db, integration_id)[("file", drawing)]

    deliver(app, db, event(world, "Drawing Revisions", rev2["id"], "create"))  # still unpublished: nothing
    assert links_by_kind(app, db, integration_id)[("file", drawing)].procore_version_id == rev1["id"]
    sets = procore.get(f"/rest/v1.0/projects/{world.project_id}/drawing_sets")
    upload = procore.send("POST", f"/rest/v1.1/projects/{world.project_id}/drawing_uploads", drawing_upload={
        "drawing_area_id": area["id"], "drawing_set_id": sets[0]["id"], "drawing_log_imports": [{
            "upload_uuid": _upload(procore_sandbox, world, b"%PDF-1.4\n% directa\n%%EOF\n"),
            "drawing_date": "2026-12-01", "default_revision": "9", "drawing_id": drawing}]})
    (direct,) = deliver(app, db, event(world, "Drawing Uploads", upload["id"], "create"))
    assert run_row(app, db, direct).kind == "event", "resolved to its drawing, not a whole refresh"
    assert links_by_kind(app, db, integration_id)[("file", drawing)].procore_version_id == rev1["id"], \
        "a direct upload is not published: nothing changes (R15)"

    procore_sandbox._post("/_sandbox/drawings/publish", {"project_id": world.project_id, "revision_id": rev2["id"]})
    runs = deliver(app, db, event(world, "Drawings", drawing), event(world, "Drawing Revisions", rev2["id"]),
                   event(world, "Drawing Revisions", rev2["id"]))
    assert len(runs) == 1
    after = links_by_kind(app, db, integration_id)[("file", drawing)]
    assert (after.cbox_file_id, after.procore_version_id) == (before.cbox_file_id, rev2["id"]), "a new version"
    assert cbox_tree(app, db, root) == drawing_tree(procore, [area["id"]])

    a201 = revision(procore, "A-201", "0", area["id"])
    procore.send("PATCH", f"/rest/v1.1/drawing_areas/{area['id']}/drawings/{a201['drawing_id']}",
                 drawing={"obsolete": True})
    deliver(app, db, event(world, "Drawings", a201["drawing_id"]))
    assert ("file", a201["drawing_id"]) not in links_by_kind(app, db, integration_id), "obsolete: gone"
    assert cbox_tree(app, db, root) == drawing_tree(procore, [area["id"]])

    pending = next(r for r in revisions(procore, drawing_area_id=area["id"]) if r["status"] == "pending review")
    procore_sandbox._post("/_sandbox/drawings/review", {"project_id": world.project_id, "revision_id": pending["id"]})
    procore_sandbox._post("/_sandbox/drawings/publish", {"project_id": world.project_id, "revision_id": pending["id"]})
    (widened,) = deliver(app, db, event(world, "Drawing Sets", 1, "update"))
    assert run_row(app, db, widened).kind == "refresh"
    assert cbox_tree(app, db, root) == drawing_tree(procore, [area["id"]])
