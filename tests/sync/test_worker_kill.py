"""RELIABILITY 10, 11: a real `python worker.py` SIGKILLed mid-import; the sweeper re-enqueues the run,
a new worker finishes it: the tree equals Procore's, no duplicate row, no partial file at a final path."""
from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import func, select

from portal.cbox.blobstore import get_blob_store
from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.test_import_documents import procore_folder, start
from tests.workers import _kill, _wait, _worker  # noqa: F401 - test_scale_out imports them from here

pytestmark = pytest.mark.slow  # real worker processes: seconds per test


def _run(app, db, run_id):
    from portal.models import SyncRun

    with app.app_context():
        run = db.session.get(SyncRun, run_id)
        return run.status, run.files_done


def test_sigkill_mid_import_then_resume(app, db, procore_sandbox, tmp_path):
    from portal.models import CboxFile, CboxFileVersion
    from portal.sync.jobs import enqueue, sweep

    world = make_world(app, db, procore_sandbox)
    tree = procore_sandbox.generate(world.project_id, files=24, total_mb=24, folders=3, seed=7)
    integration_id, run_id = start(app, db, world, folders=[tree["folder_id"]])
    # Two requests per file at 400 ms each: the run needs several seconds, the kill lands mid-run.
    procore_sandbox.control({"latency_ms": 400})
    with app.app_context():
        from portal.models import SyncRun
        enqueue(db.session.get(SyncRun, run_id))
    first = _worker(app, tmp_path, "first")
    try:
        _wait(lambda: _run(app, db, run_id)[1] >= 2, 60, "the first files")
    finally:
        _kill(first)
    assert _run(app, db, run_id)[0] == "running"
    procore_sandbox.control({"latency_ms": 0})
    second = _worker(app, tmp_path, "second")  # starts up (~2 s) while the heartbeat goes stale
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(app.config, "SYNC_STALE_AFTER", 0.5)
            time.sleep(0.7)  # the last heartbeat is at most the kill's moment
            with app.app_context():
                assert sweep() == [run_id]
        _wait(lambda: _run(app, db, run_id)[0] == "done", 60, "the resumed run")
    finally:
        _kill(second)
    procore = Procore(procore_sandbox, world)
    name = procore.folder(tree["folder_id"])["name"]
    got = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert got == {"Procore": "<folder>", **procore.tree(tree["folder_id"], f"Procore/{name}")}
    with app.app_context():
        files = db.session.scalar(select(func.count()).select_from(CboxFile))
        versions = db.session.scalar(select(func.count()).select_from(CboxFileVersion))
    assert files == versions == tree["files"]
    with app.app_context():
        blob_store = get_blob_store()
        for sha256 in blob_store.iter_blobs(older_than=-60):
            digest = hashlib.sha256()  # every stored blob is complete: its name is its content's sha256
            with blob_store.open(sha256) as stream:
                while chunk := stream.read(1024 * 1024):
                    digest.update(chunk)
            assert digest.hexdigest() == sha256
