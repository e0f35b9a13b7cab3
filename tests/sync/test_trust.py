"""Nothing lost, nothing shown wrong (issue 10; SPEC R7, R13, R33, R34; RELIABILITY 16, 21).

Against the sandbox, through the real job function: a refresh deletes only on proof; a lowered
permission or a private folder keeps the copies as "pending" with the reason; another account that
can see everything takes over; the mass-deletion confirmation offers delete, keep and cancel, and a
later run supersedes it; an expired link is fetched again until the item is done; the folder page
shows each item's recorded state; events during a run queue one follow-up.
"""
from __future__ import annotations

import re
import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from tests.conftest import csrf_token
from tests.sync.helpers import ADMIN, Procore, cbox_tree, counts, make_world, second_account
from tests.sync.test_import_documents import new_run, procore_folder, run_job, run_row, start

PRIVATE = "06 Confidencial"  # the sandbox's private folder: Documents Admins only


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox)


def _grant(sb, world, level, login=ADMIN, tool="documents"):
    sb._post("/_sandbox/permissions", {"login": login, "company_id": world.procore_company_id,
                                       "project_id": world.project_id, "tool": tool, "level": level})


def _link_rows(app, db, integration_id):
    from portal.models import SyncItem

    with app.app_context():
        return {(row.procore_kind, row.procore_id): (row.status, row.reason_code, row.reason_args, row.cbox_file_id
                                                     or row.cbox_folder_id)
                for row in db.session.scalars(select(SyncItem).where(SyncItem.integration_id == integration_id))}


def _imported(app, db, sb, world):
    """The whole Documents root imported (the private folder included: the account is Admin)."""
    procore = Procore(sb, world)
    root = procore.root()
    assert any(f["name"] == PRIVATE for f in root["folders"])
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "done"
    return procore, root, integration_id


# -- §1 deletions only on proof ------------------------------------------------------------------

@pytest.mark.keeps_sandbox  # the permission is given back
def test_lowered_permission_deletes_nothing_and_says_why(app, db, procore_sandbox, world):
    """The importing account drops from Admin to Standard on Documents; the private folder answers 404 to
    it. The refresh deletes nothing: those items read "pending" naming the account (R34)."""
    procore, root, integration_id = _imported(app, db, procore_sandbox, world)
    before_tree, before_counts = cbox_tree(app, db, procore_folder(app, db, integration_id)), counts(app, db)
    private = procore.child(PRIVATE, root)
    _grant(procore_sandbox, world, "Standard")
    try:
        refresh = new_run(app, db, integration_id)
        assert run_job(app, refresh) == "done"
        run = run_row(app, db, refresh)
        assert run.deleted == 0
        assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == before_tree
        assert counts(app, db) == before_counts
        rows = _link_rows(app, db, integration_id)
        assert rows[("folder", private["id"])][:3] == ("pending", "cannot_see", {"login": ADMIN})
        pending = [key for key, row in rows.items() if row[0] == "pending"]
        assert len(pending) == 6, "the private folder, its subfolder and its four files"
        assert all(rows[key][1] == "cannot_see" for key in pending)
    finally:
        _grant(procore_sandbox, world, "Admin")
    again = new_run(app, db, integration_id)  # the permission is back: everything synced again, nothing copied
    assert run_job(app, again) == "done"
    assert {row[0] for row in _link_rows(app, db, integration_id).values()} == {"synced"}
    assert run_row(app, db, again).imported == 0


@pytest.mark.keeps_sandbox  # the permission is given back
def test_another_admin_account_lists_when_the_first_lost_admin(app, db, procore_sandbox, world):
    """R33, R34: a second account that completed an integration on the project and is still Documents
    Admin (its manifest read in the run) lists instead: nothing pending, nothing deleted."""
    procore, root, integration_id = _imported(app, db, procore_sandbox, world)
    before = cbox_tree(app, db, procore_folder(app, db, integration_id))
    second_account(app, db, procore_sandbox, world)  # sinadmin@: Documents Admin
    _grant(procore_sandbox, world, "Standard")
    try:
        refresh = new_run(app, db, integration_id)
        assert run_job(app, refresh) == "done"
        assert {row[0] for row in _link_rows(app, db, integration_id).values()} == {"synced"}
        assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == before
        by_user = procore_sandbox.stats()["requests_by_user"]
        assert by_user.get("sinadmin@constructora.test", 0) > 0
    finally:
        _grant(procore_sandbox, world, "Admin")


def test_an_admin_listing_still_deletes_what_procore_deleted(app, db, procore_sandbox, world):
    """Absent from a complete listing by an account whose manifest shows Admin: proof. Absent while the
    account is only Standard: no proof, the copy stays pending; once Admin again, it goes (R7, R13)."""
    procore, root, integration_id = _imported(app, db, procore_sandbox, world)
    folder = procore.child("02 Contratos", root)
    victim = procore.folder(folder["id"])["files"][0]
    procore.send("DELETE", f"/rest/v1.0/files/{victim['id']}")
    _grant(procore_sandbox, world, "Standard")
    try:
        refresh = new_run(app, db, integration_id)
        assert run_job(app, refresh) == "done"
        assert run_row(app, db, refresh).deleted == 0
        assert _link_rows(app, db, integration_id)[("file", victim["id"])][:2] == ("pending", "cannot_see")
    finally:
        _grant(procore_sandbox, world, "Admin")
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done"
    assert run_row(app, db, refresh).deleted == 1
    assert ("file", victim["id"]) not in _link_rows(app, db, integration_id)
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == procore.tree(root["id"], "Procore")


def test_proof_sorting_needs_the_bin_or_an_admin_listing(app):
    """Unit: recycle-bin sightings prove; an Admin's absence proves outside unreadable subtrees; the rest is
    read one by one and kept unless Procore shows it in the bin."""
    from portal.sync import removal

    def link(kind, pid, parent=None):
        return SimpleNamespace(procore_kind=kind, procore_id=pid, procore_parent_id=parent, id=pid)

    links = {(row.procore_kind, row.procore_id): row for row in (
        link("folder", 1), link("file", 2, 1), link("folder", 3), link("file", 4, 3), link("file", 5), link("file", 6))}
    seen = removal.Sightings(deleted={("folder", 1)}, hidden={("folder", 3)})
    gone = removal.unseen(links, seen)
    read = []

    def verify(kind, pid):
        read.append(pid)
        return "deleted" if pid == 6 else "absent"

    proven, kept = removal.sort_proof(links, seen, gone, admin=False, verify=verify)
    assert {r.procore_id for r in proven} == {1, 2, 6} and {r.procore_id for r in kept} == {3, 4, 5}
    assert sorted(read) == [3, 4, 5, 6]
    proven, kept = removal.sort_proof(links, seen, gone, admin=True, verify=lambda kind, pid: "absent")
    assert {r.procore_id for r in proven} == {1, 2, 5, 6} and {r.procore_id for r in kept} == {3, 4}


# -- §1 the mass-deletion confirmation ----------------------------------------------------------------

def _awaiting(app, db, sb, world, monkeypatch):
    procore, root, integration_id = _imported(app, db, sb, world)
    monkeypatch.setitem(app.config, "SYNC_DELETE_CONFIRM_ITEMS", 2)
    victim = procore.child("01 Planos y Especificaciones", root)
    procore.send("DELETE", f"/rest/v1.0/folders/{victim['id']}")
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "awaiting_confirmation"
    return procore, root, integration_id, refresh, victim


def test_confirmation_keep_them_leaves_copies_unlinked(app, db, procore_sandbox, world, monkeypatch, signed_in):
    procore, root, integration_id, refresh, victim = _awaiting(app, db, procore_sandbox, world, monkeypatch)
    rows = _link_rows(app, db, integration_id)
    waiting = {key for key, row in rows.items() if row[0] == "pending_deletion"}
    assert waiting and all(rows[key][1] == "await_confirm" for key in waiting)
    page = signed_in.get(f"/integrations/{integration_id}").get_data(as_text=True)
    assert all(f'value="{decision}"' in page for decision in ("delete", "keep", "cancel"))
    tree = cbox_tree(app, db, procore_folder(app, db, integration_id))
    response = signed_in.post(f"/integrations/{integration_id}/confirm",
                              data={"decision": "keep", "csrf_token": csrf_token(signed_in)})
    assert response.status_code == 302
    assert run_row(app, db, refresh).status == "done"
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == tree, "nothing deleted"
    assert not waiting & set(_link_rows(app, db, integration_id)), "the kept copies are no longer linked"
    later = new_run(app, db, integration_id)
    assert run_job(app, later) == "done" and run_row(app, db, later).deleted == 0
    folder_page = signed_in.get(f"/cbox/folders/{procore_folder(app, db, integration_id)}").get_data(as_text=True)
    assert re.search(r'cbox-status-local"[^>]*title="Solo en cBox', folder_page)


def test_confirmation_cancel_then_a_later_run_supersedes(app, db, procore_sandbox, world, monkeypatch, signed_in):
    procore, root, integration_id, refresh, victim = _awaiting(app, db, procore_sandbox, world, monkeypatch)
    signed_in.post(f"/integrations/{integration_id}/confirm",
                   data={"decision": "cancel", "csrf_token": csrf_token(signed_in)})
    assert run_row(app, db, refresh).status == "cancelled"
    rows = _link_rows(app, db, integration_id)
    assert {row[1] for row in rows.values() if row[0] == "pending_deletion"} == {"delete_cancelled"}
    second = new_run(app, db, integration_id)
    assert run_job(app, second) == "awaiting_confirmation"  # asks again
    third = new_run(app, db, integration_id)
    monkeypatch.setitem(app.config, "SYNC_DELETE_CONFIRM_ITEMS", 1000)
    assert run_job(app, third) == "done"
    assert run_row(app, db, second).status == "superseded", "a later run listed Procore again and decided"
    assert run_row(app, db, refresh).status == "cancelled"
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == procore.tree(root["id"], "Procore")


def test_confirmation_delete_them(app, db, procore_sandbox, world, monkeypatch, signed_in):
    procore, root, integration_id, refresh, victim = _awaiting(app, db, procore_sandbox, world, monkeypatch)
    signed_in.post(f"/integrations/{integration_id}/confirm",
                   data={"decision": "delete", "csrf_token": csrf_token(signed_in)})
    assert run_row(app, db, refresh).status == "queued"
    assert run_job(app, refresh) == "done"
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == procore.tree(root["id"], "Procore")


# -- §3 an expired link is fetched again until the item is done -----------------------------------

@pytest.mark.keeps_sandbox
def test_links_expiring_on_a_slow_procore_end_with_nothing_failed(app, db, procore_sandbox, world):
    """Signed storage links live about 1 s; every request takes 0.6 s: most links expire between the 302
    and the storage GET. Each file is fetched again until it arrives: a one-off import, 0 failed."""
    procore = Procore(procore_sandbox, world)
    folder = procore.child("02 Contratos", procore.root())
    procore_sandbox.control({"storage_url_ttl": 1, "latency_ms": 600})
    integration_id, run_id = start(app, db, world, folders=[folder["id"]])
    assert run_job(app, run_id) == "done"
    run = run_row(app, db, run_id)
    assert run.failed == 0 and run.imported == run.files_total > 0
    procore_sandbox.control({"latency_ms": 0})
    expected = {"Procore": "<folder>", **procore.tree(folder["id"], f"Procore/{folder['name']}")}
    assert cbox_tree(app, db, procore_folder(app, db, integration_id), "Procore") == expected
    assert {row[0] for row in _link_rows(app, db, integration_id).values()} == {"synced"}


# -- §4 the folder page shows recorded states ----------------------------------------------------

def _icon(page: str, name: str) -> str | None:
    """The data-status of the row that names `name`."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page.replace("\n", " ")):
        if f" {name}</a>" in row or f" {name}</span>" in row:
            found = re.search(r'data-status="([a-z_]+)"', row)
            return found.group(1) if found else None
    return None


def test_page_states_local_upload_failed_import_and_credentials_lost(app, db, procore_sandbox, world, signed_in,
                                                                    monkeypatch):
    """R7, R34: a file uploaded in cBox inside the import reads "only in cBox"; folders of an import that
    failed half-way read "pending", not "synced"; with every account revoked, a delete event marks its
    item "pending deletion" (nothing deleted), and once an account is valid again the refresh deletes it."""
    import io
    from datetime import datetime, timedelta, timezone

    from portal.connections.credentials import store_pair
    from portal.models import AccountStatus, ProcoreAccount
    from portal.procore import TokenPair
    from tests.sync.helpers import after_first_file

    procore = Procore(procore_sandbox, world)
    root = procore.root()
    contratos = procore.child("02 Contratos", root)
    waiting = [f["name"] for f in procore.folder(contratos["id"])["files"]]
    revoke = {"token": world.token, "client_id": "demo-client", "client_secret": "demo-secret"}
    after_first_file(monkeypatch, procore_sandbox, lambda: procore_sandbox._post("/oauth/revoke", revoke))
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    assert run_job(app, run_id) == "failed"
    monkeypatch.undo()
    top = procore_folder(app, db, integration_id)
    page = signed_in.get(f"/cbox/folders/{top}").get_data(as_text=True)
    folder_states = {_icon(page, f["name"]) for f in root["folders"] if f["name"] != "Recycle Bin"} - {None}
    assert folder_states and "synced" not in folder_states, folder_states
    assert "Volver a conectar Procore" in page, "R34: the account needs a new login; the page says what to do"
    cbox_contratos = _link_rows(app, db, integration_id)[("folder", contratos["id"])][3]
    page = signed_in.get(f"/cbox/folders/{cbox_contratos}").get_data(as_text=True)
    assert all(_icon(page, name) == "pending" for name in waiting), "files that never arrived are listed, pending"
    assert page.count("Aún no está en cBox") == len(waiting)

    with app.app_context():  # a new valid token for the same account: reconnected
        account = db.session.get(ProcoreAccount, world.account_id)
        pair = procore_sandbox.token(ADMIN)
        now = datetime.now(timezone.utc)
        store_pair(account, TokenPair(pair["access_token"], pair["refresh_token"], now + timedelta(hours=1), now))
        account.status = AccountStatus.VALID
        db.session.commit()
    world = world.__class__(**{**world.__dict__, "token": pair["access_token"]})
    procore = Procore(procore_sandbox, world)
    assert run_job(app, new_run(app, db, integration_id)) == "done"
    target = procore.folder(contratos["id"])["files"][0]
    signed_in.post(f"/cbox/folders/{cbox_contratos}/files", data={
        "files": [(io.BytesIO(b"local"), "mio.txt")], "csrf_token": csrf_token(signed_in)},
        content_type="multipart/form-data")
    page = signed_in.get(f"/cbox/folders/{cbox_contratos}").get_data(as_text=True)
    assert _icon(page, "mio.txt") == "local" and _icon(page, target["name"]) == "synced"

    with app.app_context():  # every account loses its grant
        db.session.get(ProcoreAccount, world.account_id).status = AccountStatus.NEEDS_REAUTH
        db.session.commit()
    procore.send("DELETE", f"/rest/v1.0/files/{target['id']}")
    from portal.sync.events import apply_event

    with app.app_context():
        outcome = apply_event({"company_id": world.company_id, "procore_project_id": world.project_id,
                               "resource_name": "Project Files", "event_type": "delete",
                               "resource_id": target["id"]})
    assert outcome == "waiting_for_credentials"
    page = signed_in.get(f"/cbox/folders/{cbox_contratos}").get_data(as_text=True)
    assert _icon(page, target["name"]) == "pending_deletion", "deleted in Procore, not yet verified: kept"
    assert "Eliminado en Procore; a la espera de credenciales" in page

    with app.app_context():  # reconnected: R13, the refresh proves it and deletes it for good
        db.session.get(ProcoreAccount, world.account_id).status = AccountStatus.VALID
        db.session.commit()
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done" and run_row(app, db, refresh).deleted == 1
    page = signed_in.get(f"/cbox/folders/{cbox_contratos}").get_data(as_text=True)
    assert _icon(page, target["name"]) is None and _icon(page, "mio.txt") == "local"


def test_folders_read_syncing_while_their_run_writes(app, db, procore_sandbox, world, signed_in, monkeypatch):
    """The "syncing" state is recorded by the running run and ends with it (R7)."""
    from portal.sync.fetch import Fetcher

    release, reached = threading.Event(), threading.Event()
    original = Fetcher._fetch

    def held(self, item):
        reached.set()
        release.wait(30)
        return original(self, item)

    monkeypatch.setattr(Fetcher, "_fetch", held)
    procore = Procore(procore_sandbox, world)
    folder = procore.child("02 Contratos", procore.root())
    integration_id, run_id = start(app, db, world, folders=[folder["id"]])
    result = []
    worker = threading.Thread(target=lambda: result.append(run_job(app, run_id)))
    worker.start()
    try:
        assert reached.wait(30)
        deadline = time.time() + 30
        while time.time() < deadline:
            rows = _link_rows(app, db, integration_id)
            if rows.get(("folder", folder["id"]), ("",))[0] == "syncing":
                break
            time.sleep(0.05)
        page = signed_in.get(f"/cbox/folders/{procore_folder(app, db, integration_id)}").get_data(as_text=True)
        assert _icon(page, folder["name"]) == "syncing"
    finally:
        release.set()
        worker.join(60)
    assert result == ["done"]
    assert _link_rows(app, db, integration_id)[("folder", folder["id"])][0] == "synced"


# -- §5 smaller defects ---------------------------------------------------------------------------

@pytest.mark.keeps_sandbox
def test_project_list_and_import_page_give_one_verdict(app, db, procore_sandbox, world, signed_in):
    """A project whose webhook another application owns is "no" on the chooser too, with the same reason."""
    alamos = procore_sandbox.project_id("Edificio Los Álamos")
    page = signed_in.get(f"/integrations/new?folder_id={world.documents_id}").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", page.replace("\n", " ")) if "Edificio Los Álamos" in r)
    assert "otra-app.example.com" in row and f"project_id={alamos}" not in row
    detail = signed_in.get(f"/integrations/new?folder_id={world.documents_id}&project_id={alamos}")
    assert "otra-app.example.com" in detail.get_data(as_text=True)
    healthy = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", page.replace("\n", " "))
                   if "Hospital Regional Ñuñoa" in r)
    assert f"project_id={world.project_id}" in healthy


def test_one_procore_project_per_cbox_folder_and_reimport_extends(app, db, procore_sandbox, world, signed_in):
    from portal.models import Integration, SyncRun

    procore = Procore(procore_sandbox, world)
    root = procore.root()
    first, second = procore.child("02 Contratos", root), procore.child("04 Informes Técnicos", root)
    data = {"folder_id": world.documents_id, "project_id": world.project_id, "csrf_token": csrf_token(signed_in)}
    signed_in.post("/integrations/", data={**data, "folder_ids": [first["id"]]})
    signed_in.post("/integrations/", data={**data, "folder_ids": [second["id"]]})
    with app.app_context():
        integrations = db.session.scalars(select(Integration)).all()
        assert len(integrations) == 1, "importing again from the same project extends the integration"
        assert integrations[0].selections["folders"] == sorted([first["id"], second["id"]])
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == 1, "one queued import"
    other = procore_sandbox.project_id("Puente Río Claro")
    page = signed_in.get(f"/integrations/new?folder_id={world.documents_id}&project_id={other}").get_data(
        as_text=True)
    assert "ya está vinculada al proyecto de Procore Hospital Regional Ñuñoa" in page
    refused = signed_in.post("/integrations/", data={**data, "project_id": other, "folder_ids": [1]},
                             follow_redirects=True)
    assert "ya está vinculada" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Integration)) == 1


def test_nfc_and_nfd_twins_download_under_their_own_names(app, db, client, login_as, world):
    import io
    import unicodedata

    from portal.cbox import store
    from portal.models import CboxFolder

    nfc, nfd = unicodedata.normalize("NFC", "Acción.txt"), unicodedata.normalize("NFD", "Acción.txt")
    with app.app_context():
        docs = db.session.get(CboxFolder, world.documents_id)
        first = store.add_file(docs, nfc, store.write_blob(io.BytesIO(b"one")))
        second = store.add_file(docs, nfd, store.write_blob(io.BytesIO(b"two")))
        db.session.commit()
        ids, names = (first.id, second.id), (first.name, second.name)
    assert names[0] != names[1]
    login_as(SimpleNamespace(email="admin@demo.test"))
    for file_id, name, body in zip(ids, names, (b"one", b"two"), strict=True):
        response = client.get(f"/cbox/files/{file_id}/download")
        assert response.data == body
        disposition = response.headers["Content-Disposition"]
        from urllib.parse import quote
        assert f"filename*=UTF-8''{quote(name)}" in disposition or f"filename={name}" in disposition


def test_events_during_a_run_queue_one_follow_up(app, db, procore_sandbox, world, signed_in):
    """A run of the integration is running: events queue one follow-up refresh, which a second worker
    does not start beside it (it waits, "deferred"); the running run enqueues it when it ends."""
    from portal.models import SyncRun
    from portal.sync.events import apply_event
    from portal.sync.jobs import claim, run_sync

    root = Procore(procore_sandbox, world).root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    event = {"company_id": world.company_id, "procore_project_id": world.project_id, "resource_name": "Project Files"}
    with app.app_context():
        assert claim(run_id) == "claimed"  # the import is running (on another worker)
        assert apply_event(event) == "sync_queued"
        follow_up = db.session.scalar(select(SyncRun.id).where(SyncRun.status == "queued"))
        assert run_sync(follow_up) == "deferred", "no second writer on the same integration"
        for _ in range(3):
            assert apply_event(event) == "sync_queued"
        statuses = db.session.scalars(select(SyncRun.status).order_by(SyncRun.id)).all()
    assert statuses == ["running", "queued"]
