"""The first file is listed sooner (issue 13): the listing does not wait for reads it does not need.

Against the sandbox, through the real job function. Before these changes a run made three reads in a
row before its first download: the permission manifest (R33, R34), the selected folder, then that
folder's parent (to learn that it is Procore's root). Now the first account's listing starts while its
manifest is read, and the root's id is read beside the selected folder. What the run copies, and which
account lists, stay the same: the other sync tests (test_trust.py for the account choice) show that.
"""
from __future__ import annotations

import threading
import time

import pytest

from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.test_import_documents import procore_folder, run_job, start

FOLDER_READ = "/rest/v1.0/folders/<int:folder_id>"
ROOT_READ = "/rest/v1.0/folders"


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox)


def _subtree_folders(procore: Procore, folder_id: int) -> int:
    folder = procore.folder(folder_id)
    return 1 + sum(_subtree_folders(procore, sub["id"]) for sub in folder["folders"]
                   if not sub.get("is_recycle_bin") and not sub.get("is_deleted"))


def _no_listing_thread_left(seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(thread.name.startswith("sync-list") for thread in threading.enumerate()):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.keeps_sandbox
def test_the_listing_starts_while_the_manifest_is_read(app, db, procore_sandbox, world, monkeypatch):
    """The manifest read is held until the listing has made its first Procore read. Had the listing waited
    for the manifest (as before), the hold would time out and the test would fail."""
    from portal.procore.api_documents import DocumentsAPI
    from portal.sync import engine

    listed, seen = threading.Event(), []
    folder_read, standing = DocumentsAPI.folder, engine.account_standing

    def reading_folder(self, *args, **kwargs):
        listed.set()
        return folder_read(self, *args, **kwargs)

    def held_standing(*args, **kwargs):
        seen.append(listed.wait(timeout=10))
        return standing(*args, **kwargs)

    monkeypatch.setattr(DocumentsAPI, "folder", reading_folder)
    monkeypatch.setattr(engine, "account_standing", held_standing)
    procore = Procore(procore_sandbox, world)
    contracts = procore.child("02 Contratos")
    integration_id, run_id = start(app, db, world, folders=[contracts["id"]])
    assert run_job(app, run_id) == "done"
    assert seen == [True], "the listing read Procore before the manifest was answered"
    expected = procore.tree(contracts["id"], "Procore/02 Contratos")
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == {"Procore": "<folder>", **expected}
    assert _no_listing_thread_left(), "the run's listing threads end with it"


@pytest.mark.keeps_sandbox
def test_the_root_is_read_beside_the_selected_folder_and_only_once(app, db, procore_sandbox, world, monkeypatch):
    """A folder below the root: its read is held until the root's id is being read. The run reads the root
    once (without its children) and every folder of the selection once: no more requests than before,
    when the root was read by id after the selected folder."""
    from portal.procore.api_documents import DocumentsAPI

    procore = Procore(procore_sandbox, world)
    contracts = procore.child("02 Contratos")
    rooted, seen = threading.Event(), []
    folder_read, root_read = DocumentsAPI.folder, DocumentsAPI.root_folder_id

    def reading_root(self, *args, **kwargs):
        rooted.set()
        return root_read(self, *args, **kwargs)

    def reading_folder(self, company_id, project_id, folder_id):
        if folder_id == contracts["id"] and not seen:
            seen.append(rooted.wait(timeout=10))
        return folder_read(self, company_id, project_id, folder_id)

    monkeypatch.setattr(DocumentsAPI, "folder", reading_folder)
    monkeypatch.setattr(DocumentsAPI, "root_folder_id", reading_root)
    integration_id, run_id = start(app, db, world, folders=[contracts["id"]])
    folders = _subtree_folders(procore, contracts["id"])
    procore_sandbox._post("/_sandbox/stats/reset")
    assert run_job(app, run_id) == "done"
    assert seen == [True], "the root was read while the selected folder was"
    endpoints = procore_sandbox.stats()["endpoints"]
    assert endpoints.get(ROOT_READ) == 1
    assert endpoints.get(FOLDER_READ) == folders, "no folder read twice, the root not read by id"
    expected = procore.tree(contracts["id"], "Procore/02 Contratos")
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == {"Procore": "<folder>", **expected}


@pytest.mark.keeps_sandbox
def test_a_selected_file_below_a_folder_keeps_its_place(app, db, procore_sandbox, world):
    """A file selected on its own: its folder chain up to the root (known from the root read) is created
    above it, as before."""
    procore = Procore(procore_sandbox, world)
    contracts = procore.child("02 Contratos")
    file = procore.folder(contracts["id"])["files"][0]
    integration_id, run_id = start(app, db, world, files=[file["id"]])
    procore_sandbox._post("/_sandbox/stats/reset")
    assert run_job(app, run_id) == "done"
    got = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert set(got) == {"Procore", "Procore/02 Contratos", f"Procore/02 Contratos/{file['name']}"}
    endpoints = procore_sandbox.stats()["endpoints"]
    assert endpoints.get(ROOT_READ) == 1 and endpoints.get(FOLDER_READ) == 1  # its folder; the root by id never
