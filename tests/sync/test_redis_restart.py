"""RELIABILITY 13: Redis (a real redis-server) is killed in the middle of an import and started again
empty; the run still ends "done" with cBox equal to Procore, through the worker's own recovery or the
periodic sync sweep re-enqueuing it. Nothing stays "running"."""
from __future__ import annotations

import time

import pytest
from redis import Redis
from rq import Queue

from tests.conftest import RedisServer
from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.test_import_documents import procore_folder, start
from tests.workers import _stop, _wait, _worker

pytestmark = pytest.mark.slow  # real workers and Redis restarts: seconds per test


def _run(app, db, run_id):
    from portal.models import SyncRun

    with app.app_context():
        run = db.session.get(SyncRun, run_id)
        return run.status, run.files_done, run.error


@pytest.mark.keeps_sandbox
def test_redis_restarted_mid_import_the_run_still_ends_done(app, db, procore_sandbox, tmp_path):
    from portal.sync.jobs import JOB_TIMEOUT, run_sync

    world = make_world(app, db, procore_sandbox)
    root = Procore(procore_sandbox, world).root()
    integration_id, run_id = start(app, db, world, folders=[root["id"]])
    server = RedisServer(tmp_path).start()
    # 300 ms per request, one download thread: the run takes several seconds and Redis dies in the middle.
    procore_sandbox.control({"latency_ms": 300})
    settings = {"REDIS_URL": server.url, "SYNC_SWEEP_EVERY": 2, "SYNC_STALE_AFTER": 5, "PERIODIC_ARM_EVERY": 1,
                "SYNC_DOWNLOAD_THREADS": 1, "WEBHOOK_SWEEP_EVERY": 0, "ALERT_MAIL_EVERY": 0}
    Queue("default", connection=Redis.from_url(server.url)).enqueue(run_sync, run_id, job_timeout=JOB_TIMEOUT)
    worker = _worker(app, tmp_path, "redis-restart", **settings)
    log = tmp_path / "redis-restart.log"
    try:
        _wait(lambda: _run(app, db, run_id)[1] >= 2, 90, "the first files")
        server.kill()  # Redis gone mid-run: pacing, the queue and the scheduler lose their server
        time.sleep(2)
        server.start()  # back, empty: the job, the schedule and every budget are gone
        procore_sandbox.control({"latency_ms": 0})
        _wait(lambda: _run(app, db, run_id)[0] not in ("queued", "running", "stopping"), 120, "the run's end")
    except AssertionError as error:
        raise AssertionError(f"{error}; run {_run(app, db, run_id)}\n{log.read_text(errors='replace')[-4000:]}") \
            from None
    finally:
        _stop(worker, timeout=20)  # SIGTERM; it SIGKILLs the worker and its horse itself after 20 s
        server.kill()
    status, _files, error = _run(app, db, run_id)
    assert status == "done", error
    procore = Procore(procore_sandbox, world)
    assert cbox_tree(app, db, procore_folder(app, db, integration_id)) == procore.tree(root["id"], "Procore")
