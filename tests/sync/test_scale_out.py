"""Scale-out (issue 13, ARCHITECTURE "scale-out"): one run's downloads shared by several workers.

Beyond what the run's own download threads take, files go out in batches (portal/sync/batches.py):
each batch is claimed once, a REAL second `python worker.py` takes some, a killed taker's batch is
taken back; whoever downloads, the cBox tree equals Procore's by sha256 and nothing is duplicated.
"""
from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import func, select

from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.test_import_documents import procore_folder, run_job, start
from tests.sync.test_worker_kill import _kill, _wait, _worker

pytestmark = pytest.mark.slow  # real worker processes: seconds per test


@pytest.fixture
def small_batches(app, monkeypatch):
    """Two threads, two files ahead of them, batches of three: a small tree goes mostly in batches."""
    from portal.sync import batches

    monkeypatch.setattr(batches, "MAX_IN_FLIGHT", 2)
    monkeypatch.setitem(app.config, "SYNC_DOWNLOAD_THREADS", 2)
    monkeypatch.setitem(app.config, "SYNC_BATCH_FILES", 3)


def _same_as_procore(app, db, procore_sandbox, world, tree, integration_id):
    from portal.models import CboxFile, CboxFileVersion

    procore = Procore(procore_sandbox, world)
    name = procore.folder(tree["folder_id"])["name"]
    got = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert got == {"Procore": "<folder>", **procore.tree(tree["folder_id"], f"Procore/{name}")}
    with app.app_context():
        files = db.session.scalar(select(func.count()).select_from(CboxFile))
        versions = db.session.scalar(select(func.count()).select_from(CboxFileVersion))
    assert files == versions == tree["files"]  # no duplicate, whoever downloaded


def _batches_left(app, db) -> int:
    from portal.models import SyncBatch

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SyncBatch))


def _batch_jobs_queued(app) -> list[str]:
    """fetch_batch jobs still in the queue, and hashes of queued batch jobs left behind in Redis (a job a
    worker ran keeps its hash for RQ's result TTL, as any job does)."""
    from portal.sync.jobs import queue

    with app.app_context():
        jobs = queue()
        stray = [key.decode() for key in jobs.connection.scan_iter(match="rq:job:sync-batch-*")
                 if jobs.connection.hget(key, "status") in (None, b"queued")]
        return [job for job in jobs.job_ids if job.startswith("sync-batch-")] + stray


def test_a_batch_is_claimed_once(app, db, procore_sandbox):
    """Eight takers race for one queued batch: exactly one gets it."""
    from portal.models import SyncBatch
    from portal.sync import batches
    from tests.sync.test_import_documents import new_run

    world = make_world(app, db, procore_sandbox)
    tree = procore_sandbox.generate(world.project_id, files=2, total_mb=1, folders=1, seed=3)
    integration_id, _ = start(app, db, world, folders=[tree["folder_id"]])
    run_id = new_run(app, db, integration_id)
    with app.app_context():
        row = SyncBatch(run_id=run_id, status="queued", account_id=world.account_id, items=[])
        db.session.add(row)
        db.session.commit()
        batch_id = row.id
    wins, barrier = [], threading.Barrier(8)

    def take(n):
        with app.app_context():
            barrier.wait()
            if batches.claim(batch_id, f"taker-{n}"):
                wins.append(n)

    threads = [threading.Thread(target=take, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    with app.app_context():
        assert db.session.get(SyncBatch, batch_id).claimed_by == f"taker-{wins[0]}"
        assert batches.claim(batch_id, "late") is False


def test_one_worker_downloads_its_own_batches(app, db, procore_sandbox, small_batches, caplog):
    """Nobody else takes them: the run's worker claims its batches as its threads free up."""
    world = make_world(app, db, procore_sandbox)
    tree = procore_sandbox.generate(world.project_id, files=14, total_mb=2, folders=2, seed=5)
    integration_id, run_id = start(app, db, world, folders=[tree["folder_id"]])
    with caplog.at_level(logging.INFO, logger="portal"):
        assert run_job(app, run_id) == "done"
    assert "download batches, 0 taken by other workers" in caplog.text
    _same_as_procore(app, db, procore_sandbox, world, tree, integration_id)
    assert _batches_left(app, db) == 0  # the rows live only as long as their run
    # Each batch it claimed had its job withdrawn: none is left for a worker to fork a horse for, after the run.
    assert _batch_jobs_queued(app) == []


def _run_in_thread(app, run_id, outcome):
    outcome["status"] = run_job(app, run_id)


def test_a_second_worker_takes_batches(app, db, procore_sandbox, small_batches, tmp_path, caplog):
    """A real `python worker.py` takes batches while this process runs the run; the tree is whole."""
    world = make_world(app, db, procore_sandbox)
    tree = procore_sandbox.generate(world.project_id, files=24, total_mb=4, folders=2, seed=9)
    integration_id, run_id = start(app, db, world, folders=[tree["folder_id"]])
    procore_sandbox.control({"latency_ms": 150})  # downloads take long enough for the other worker to help
    other = _worker(app, tmp_path, "other")
    try:
        time.sleep(2)  # the worker starts listening
        outcome: dict = {}
        with caplog.at_level(logging.INFO, logger="portal"):
            runner = threading.Thread(target=_run_in_thread, args=(app, run_id, outcome))
            runner.start()
            runner.join(timeout=120)
        assert outcome.get("status") == "done"
    finally:
        _kill(other)
        procore_sandbox.control({"latency_ms": 0})
    line = next(line for line in caplog.text.splitlines() if "download batches" in line)
    taken_elsewhere = int(line.split("download batches, ")[1].split(" taken")[0])
    assert taken_elsewhere >= 1, line
    _same_as_procore(app, db, procore_sandbox, world, tree, integration_id)
    assert _batch_jobs_queued(app) == []  # batches taken as a taker's next one, or by the run's worker, left no job


def test_a_killed_takers_batch_is_taken_back(app, db, procore_sandbox, small_batches, tmp_path, caplog,
                                             monkeypatch):
    """The other worker is SIGKILLed while it holds a batch: its claim goes stale, the run's worker
    downloads that batch itself, and the run ends done with every file once."""
    from portal.models import SyncBatch
    from portal.sync.batches import worker_name

    monkeypatch.setitem(app.config, "SYNC_BATCH_STALE", 2)
    world = make_world(app, db, procore_sandbox)
    tree = procore_sandbox.generate(world.project_id, files=24, total_mb=4, folders=2, seed=11)
    integration_id, run_id = start(app, db, world, folders=[tree["folder_id"]])
    procore_sandbox.control({"latency_ms": 400})
    other = _worker(app, tmp_path, "doomed")
    outcome: dict = {}
    try:
        time.sleep(2)
        with caplog.at_level(logging.INFO, logger="portal"):
            runner = threading.Thread(target=_run_in_thread, args=(app, run_id, outcome))
            runner.start()

            def held_elsewhere():
                with app.app_context():
                    return db.session.scalar(select(func.count()).select_from(SyncBatch).where(
                        SyncBatch.status == "claimed", SyncBatch.claimed_by != worker_name()))
            _wait(held_elsewhere, 60, "the other worker to take a batch")
        _kill(other)
        procore_sandbox.control({"latency_ms": 0})
        with caplog.at_level(logging.INFO, logger="portal"):
            runner.join(timeout=120)
        assert outcome.get("status") == "done"
    finally:
        if other.poll() is None:
            _kill(other)
        procore_sandbox.control({"latency_ms": 0})
    assert "went stale; downloading it here" in caplog.text
    _same_as_procore(app, db, procore_sandbox, world, tree, integration_id)
