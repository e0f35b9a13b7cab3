"""Periodic jobs through real `python worker.py` processes (issue 15; RELIABILITY 10, 13).

Intervals, RQ's result TTL and the workers' re-arm period are shortened through the workers' settings.
Runs are read from two places: the periodic_jobs row (portal/models/periodic.py: one increment per run
of a job's body) and the workers' own logs (RQ logs the id of every job it dequeues; a periodic slot's
id is `periodic_<name>_<due>`, portal/periodic.py).

Step 1 of issue 15 (the first commit of this file): with the old self re-enqueuing chain under a fixed
job id, the health check every 4 s ran once and never again once RQ's result TTL was 2 s: finishing
set the TTL on the very hash the next run was saved in. `test_a_job_due_after_the_result_ttl_keeps_running`
is that test, now on the slot schedule.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import RedisServer
from tests.workers import _kill, _stop, _wait, _worker

pytestmark = pytest.mark.slow
DEQUEUED = re.compile(r": default: periodic \S+ \((periodic_([a-z-]+)_(\d+))\)")


def _row(app, db, name):
    """(runs, last due as epoch seconds) of one periodic job; (0, 0) before its first run."""
    from portal.models import PeriodicJobRun

    with app.app_context():
        row = db.session.get(PeriodicJobRun, name)
        if row is None:
            return 0, 0
        return row.runs, int(row.last_due_at.timestamp())


def _dequeued(*logs: Path) -> list[tuple[str, str, int]]:
    """Every periodic slot the workers dequeued: (job id, name, due), across all their logs."""
    found = []
    for log in logs:
        text = log.read_text(errors="replace") if log.exists() else ""
        found += [(match[1], match[2], int(match[3])) for match in DEQUEUED.finditer(text)]
    return found


def _tail(*logs: Path) -> str:
    return "\n".join(f"--- {log.name}\n" + log.read_text(errors="replace")[-2500:] for log in logs if log.exists())


def test_a_job_due_after_the_result_ttl_keeps_running(app, db, tmp_path):
    """RELIABILITY 10, issue 15 step 1: the health check every 4 s keeps running although a finished
    job's result (and hash) lives only 2 s. The workers' periodic re-arm is pushed out of the test's
    reach (PERIODIC_ARM_EVERY=600, after the arm at start), so only each run arming the next keeps it."""
    worker = _worker(app, tmp_path, "ttl", WEBHOOK_CHECK_EVERY=4, WEBHOOK_SWEEP_EVERY=1, RQ_RESULT_TTL=2,
                     PERIODIC_ARM_EVERY=600)
    try:
        _wait(lambda: _row(app, db, "webhooks-health")[0] >= 3, 60, "three health-check runs")
    except AssertionError:
        raise AssertionError(_tail(tmp_path / "ttl.log")) from None
    finally:
        _stop(worker)
    slots = sorted(due for _, name, due in _dequeued(tmp_path / "ttl.log") if name == "webhooks-health")
    assert len(slots) == len(set(slots)) >= 3
    assert all(due % 4 == 0 for due in slots)


def test_three_workers_give_one_run_per_slot(app, db, tmp_path):
    """RELIABILITY 12 for the schedule: three real workers, each arming every periodic job at start
    and every second after; every slot is dequeued once across the three, each run of a body is one slot,
    and no job runs more often than once per interval."""
    settings = {"WEBHOOK_SWEEP_EVERY": 2, "SYNC_SWEEP_EVERY": 2, "WEBHOOK_CHECK_EVERY": 3, "PERIODIC_ARM_EVERY": 1}
    workers = [_worker(app, tmp_path, f"w{n}", **settings) for n in range(3)]
    logs = [tmp_path / f"w{n}.log" for n in range(3)]
    started = time.time()
    try:
        _wait(lambda: min(_row(app, db, name)[0] for name in ("webhooks-sweep", "sync-sweep", "webhooks-health"))
              >= 4, 90, "four runs of each periodic job")
    except AssertionError:
        raise AssertionError(_tail(*logs)) from None
    finally:
        stopped = [_stop(worker) for worker in workers]
    ended = time.time()
    assert stopped == [True] * 3 and [worker.returncode for worker in workers] == [0] * 3  # SIGTERM: they end
    dequeued = _dequeued(*logs)
    ids = [job_id for job_id, _, _ in dequeued]
    assert len(ids) == len(set(ids)), "a slot was dequeued twice"
    for name, every in (("webhooks-sweep", 2), ("sync-sweep", 2), ("webhooks-health", 3)):
        slots = sorted(due for _, job, due in dequeued if job == name)
        runs, last_due = _row(app, db, name)
        assert runs == len(slots), (name, runs, slots)  # each dequeued slot ran its body once
        assert all(due % every == 0 for due in slots) and last_due == slots[-1]
        # Not N times: at most one run per slot of the time the workers were up.
        assert len(slots) <= int(ended) // every - int(started) // every + 1, (name, slots)
    used = {log.name for log in logs if DEQUEUED.search(log.read_text(errors="replace"))}
    print(f"slots dequeued by {sorted(used)}")


def test_the_schedule_resumes_when_the_scheduling_worker_dies(app, db, tmp_path):
    """RELIABILITY 11 for the schedule: the worker whose RQ scheduler moves the due slots is SIGKILLed
    (its scheduler process with it). The other worker takes RQ's scheduler lock when it expires and,
    having re-armed all along, the sweep runs again at its next slots."""
    settings = {"WEBHOOK_SWEEP_EVERY": 2, "SYNC_SWEEP_EVERY": 2, "PERIODIC_ARM_EVERY": 1}
    first = _worker(app, tmp_path, "first", **settings)
    second = None
    try:
        _wait(lambda: _row(app, db, "webhooks-sweep")[0] >= 2, 60, "the first worker's sweeps")
        second = _worker(app, tmp_path, "second", **settings)
        _wait(lambda: "listening on" in (tmp_path / "second.log").read_text(errors="replace"), 60,
              "the second worker to listen")
        _kill(first)  # the first to start holds RQ's scheduler lock for the queue
        killed_at = time.time()
        # RQ's scheduler lock outlives its holder by its TTL (RQ's fixed interval + 60 s); the survivor takes
        # it at its next housekeeping after it expires. What this test proves is that takeover and the
        # re-armed schedule, not RQ's timer: what is left of the TTL is cut to 1 s instead of waited out.
        redis = app.extensions["redis"]
        locks = list(redis.scan_iter(match="rq:scheduler-lock:*"))
        assert locks, "the killed worker held no scheduler lock"
        for key in locks:
            assert redis.ttl(key) > 5, "the lock was to outlive its killed holder"
            redis.expire(key, 1)
        _wait(lambda: _row(app, db, "webhooks-sweep")[1] > killed_at + 2, 180, "a sweep slot after the kill")
        resumed_runs = _row(app, db, "webhooks-sweep")[0]
        _wait(lambda: _row(app, db, "webhooks-sweep")[0] >= resumed_runs + 2, 60, "the sweeps after that")
        assert second.poll() is None
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_tail(tmp_path / 'first.log', tmp_path / 'second.log')}") from None
    finally:
        _kill(first) if first.poll() is None else None
        if second is not None:
            _stop(second)
    after_kill = sorted(due for _, name, due in _dequeued(tmp_path / "second.log") if name == "webhooks-sweep")
    assert len(after_kill) == len(set(after_kill))


def test_the_schedule_comes_back_after_redis_is_flushed(app, db, tmp_path):
    """RELIABILITY 13 for the schedule: FLUSHDB erases every scheduled slot, RQ's scheduler lock and the
    schedule's keys while two workers run; their housekeeping re-arms it and the sweeps go on."""
    settings = {"WEBHOOK_SWEEP_EVERY": 2, "SYNC_SWEEP_EVERY": 2, "PERIODIC_ARM_EVERY": 1}
    workers = [_worker(app, tmp_path, f"f{n}", **settings) for n in range(2)]
    try:
        _wait(lambda: _row(app, db, "webhooks-sweep")[0] >= 2, 60, "the sweeps before the flush")
        app.extensions["redis"].flushdb()
        flushed_at = time.time()
        _wait(lambda: _row(app, db, "sync-sweep")[1] > flushed_at + 2 and _row(app, db, "webhooks-sweep")[1]
              > flushed_at + 2, 60, "sweep slots after the flush")
        assert all(worker.poll() is None for worker in workers)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_tail(*(tmp_path / f'f{n}.log' for n in range(2)))}") from None
    finally:
        for worker in workers:
            _stop(worker)


def test_the_schedule_comes_back_after_redis_restarts(app, db, tmp_path):
    """RELIABILITY 13: two workers on their own redis-server; it is killed and started again empty. The
    workers wait for it, RQ's scheduler comes back, the schedule is re-armed and the sweeps go on."""
    server = RedisServer(tmp_path).start()
    settings = {"REDIS_URL": server.url, "WEBHOOK_SWEEP_EVERY": 2, "SYNC_SWEEP_EVERY": 2, "PERIODIC_ARM_EVERY": 1}
    workers = [_worker(app, tmp_path, f"r{n}", **settings) for n in range(2)]
    logs = [tmp_path / f"r{n}.log" for n in range(2)]
    try:
        _wait(lambda: _row(app, db, "webhooks-sweep")[0] >= 2, 60, "the sweeps before the restart")
        server.kill()
        time.sleep(2)  # Redis is gone for a while: the workers meet connection errors
        server.start()
        restarted_at = time.time()
        _wait(lambda: _row(app, db, "webhooks-sweep")[1] > restarted_at + 2, 120, "a sweep slot after the restart")
        assert all(worker.poll() is None for worker in workers)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_tail(*logs)}") from None
    finally:
        for worker in workers:
            _stop(worker)
        server.kill()
    print(f"restarted at {datetime.fromtimestamp(restarted_at, timezone.utc):%H:%M:%S}")
