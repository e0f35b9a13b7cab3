"""The periodic schedule without workers (portal/periodic.py, issue 15; RELIABILITY 10, 12, 13).

One slot job per period whoever arms it; a slot runs its body once; a late slot with a later one armed
is skipped; a failing body is recorded and the schedule stays armed; the fault rule support sees.
The real-worker behaviour (several workers, a dead one, a flushed or restarted Redis) is in test_workers.py.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry

from portal import periodic


@pytest.fixture
def registry(app):
    return ScheduledJobRegistry(queue=Queue("default", connection=app.extensions["redis"]))


def _slots(registry, name=None):
    ids = registry.get_job_ids()
    return sorted(job_id for job_id in ids if name is None or job_id.startswith(f"periodic_{name}_"))


def _row(app, db, name):
    from portal.models import PeriodicJobRun

    with app.app_context():
        row = db.session.get(PeriodicJobRun, name)
        if row is not None:
            db.session.expunge(row)
        return row


def test_slots_are_aligned_on_the_epoch():
    """RELIABILITY 12 for the schedule: every process computes the same next slot, whenever it starts."""
    assert periodic.next_due(60, 120.0) == 180
    assert periodic.next_due(60, 179.9) == 180
    assert periodic.next_due(1800, 1_000_000) == 1_000_800


def test_every_periodic_job_is_declared_once_with_interval_queue_and_timeout(app):
    """Issue 15: one list; names are unique and usable in RQ job ids (no underscore: it separates the due)."""
    names = [job.name for job in periodic.PERIODIC]
    assert len(names) == len(set(names))
    assert {"webhooks-sweep", "webhooks-health", "sync-sweep"} <= set(names)
    for job in periodic.PERIODIC:
        assert "_" not in job.name and job.setting in app.config and job.queue in app.config["RQ_QUEUES"]
        assert job.timeout > 0


def test_arming_again_and_again_gives_one_job_per_periodic_job(app, registry):
    """RELIABILITY 12 for the schedule: arming from N processes (here N calls, and one that lost the
    `periodic:armed` record, so RQ's unique scheduling is what refuses the duplicate) gives one slot each."""
    with app.app_context():
        first = periodic.arm_all()
        periodic.arm_all()
        app.extensions["redis"].delete(periodic.ARMED_KEY)
        again = periodic.arm_all()
    assert first == again
    assert len(_slots(registry)) == len([job for job in periodic.PERIODIC if job.every(app.config)])
    for name, due in first.items():
        if due is not None:
            assert _slots(registry, name) == [f"periodic_{name}_{due}"]


def test_a_job_turned_off_is_not_armed_and_its_slot_does_nothing(app, db, registry, monkeypatch):
    """Issue 15: an interval of 0 turns a periodic job off; a slot armed before does nothing and arms nothing."""
    monkeypatch.setitem(app.config, "WEBHOOK_CHECK_EVERY", 0)
    with app.app_context():
        assert periodic.arm_all()["webhooks-health"] is None
        assert periodic.run("webhooks-health", 1800) == "off"
    assert _slots(registry, "webhooks-health") == []
    assert _row(app, db, "webhooks-health") is None


def test_only_one_slot_waits_while_the_scheduler_is_away(app, registry, monkeypatch):
    """RELIABILITY 13: a due slot nobody moved to the queue (the scheduler's worker died) is not joined by
    one more slot per interval of housekeeping; after LOST_AFTER intervals another is armed beside it."""
    monkeypatch.setitem(app.config, "WEBHOOK_SWEEP_EVERY", 10)
    now = time.time()
    with app.app_context():
        job = periodic.BY_NAME["webhooks-sweep"]
        due = periodic.arm(job, now)
        assert periodic.arm(job, now + 5 * 10) == due  # overdue but still waiting: nothing new
        assert _slots(registry, "webhooks-sweep") == [f"periodic_webhooks-sweep_{due}"]
        later = periodic.arm(job, due + (periodic.LOST_AFTER + 1) * 10)
    assert later > due and len(_slots(registry, "webhooks-sweep")) == 2


def test_a_slot_runs_once_records_its_run_and_arms_the_next(app, db, registry):
    """RELIABILITY 12: the same slot delivered twice (RQ is at-least-once) runs its body once."""
    with app.app_context():
        due = periodic.arm(periodic.BY_NAME["webhooks-sweep"])
        registry.remove(f"periodic_webhooks-sweep_{due}", delete_job=True)  # as if RQ had moved it to the queue
        assert periodic.run("webhooks-sweep", due) == "webhooks-sweep: 0"
        assert periodic.run("webhooks-sweep", due) == "slot already run"
    row = _row(app, db, "webhooks-sweep")
    assert row.runs == 1 and row.last_result == 0 and row.last_error is None
    assert row.last_due_at == datetime.fromtimestamp(due, timezone.utc)
    assert row.last_finished_at is not None
    assert _slots(registry, "webhooks-sweep") == [f"periodic_webhooks-sweep_{due}"]  # re-armed (same slot: not due yet)


def test_a_slot_late_by_more_than_its_interval_is_skipped_when_a_later_one_is_armed(app, db, registry):
    """After an outage the backlog of due slots runs the work once: the stale slots are skipped."""
    every = app.config["WEBHOOK_SWEEP_EVERY"]
    with app.app_context():
        armed = periodic.arm(periodic.BY_NAME["webhooks-sweep"])
        assert periodic.run("webhooks-sweep", armed - 5 * every) == "skipped (late)"
    assert _row(app, db, "webhooks-sweep") is None
    assert _slots(registry, "webhooks-sweep") == [f"periodic_webhooks-sweep_{armed}"]


def test_a_failing_job_is_recorded_and_stays_scheduled(app, db, registry, monkeypatch):
    """RELIABILITY 16-like: the error is visible (periodic_jobs.last_error, RQ's failed registry) and the
    next slot was armed before the work started."""
    def broken():
        raise RuntimeError("database on fire")

    monkeypatch.setattr("portal.webhooks.jobs.sweep", broken)
    with app.app_context():
        due = periodic.next_due(app.config["WEBHOOK_SWEEP_EVERY"]) - app.config["WEBHOOK_SWEEP_EVERY"]
        with pytest.raises(RuntimeError):
            periodic.run("webhooks-sweep", due)
    row = _row(app, db, "webhooks-sweep")
    assert row.runs == 1 and row.last_error == "RuntimeError: database on fire"
    assert len(_slots(registry, "webhooks-sweep")) == 1


def test_the_chains_of_before_issue_15_are_dropped(app, registry):
    """RELIABILITY 12: the old fixed-id chain left in Redis by an older worker does not run beside the slots."""
    queue = Queue("default", connection=app.extensions["redis"])
    queue.enqueue_in(timedelta(minutes=30), "portal.webhooks.jobs.sweep", job_id="webhooks-periodic")
    with app.app_context():
        periodic.arm_all()
    assert "webhooks-periodic" not in registry.get_job_ids()
    assert not app.extensions["redis"].exists("rq:job:webhooks-periodic")


def test_status_shows_last_and_next_run_and_the_fault_rule(app, db, monkeypatch):
    """Support's view: a job that has not run for twice its interval is a fault; one that never ran is a
    fault only when nothing is armed for it; a job turned off never is."""
    from portal.models import PeriodicJobRun

    monkeypatch.setitem(app.config, "WEBHOOK_CHECK_EVERY", 0)
    now = datetime.now(timezone.utc)
    every = app.config["WEBHOOK_SWEEP_EVERY"]
    with app.app_context():
        db.session.add(PeriodicJobRun(name="webhooks-sweep", runs=3, last_started_at=now - timedelta(seconds=3 * every),
                                      last_finished_at=now - timedelta(seconds=3 * every - 1), last_result=2))
        db.session.add(PeriodicJobRun(name="sync-sweep", runs=1, last_started_at=now - timedelta(seconds=every // 2),
                                      last_finished_at=now - timedelta(seconds=every // 2 - 1), last_result=0))
        db.session.commit()
        rows = {row.job.name: row for row in periodic.status(now)}
        assert rows["webhooks-sweep"].fault and rows["webhooks-sweep"].last_result == 2
        assert not rows["sync-sweep"].fault
        assert rows["webhooks-health"].off and not rows["webhooks-health"].fault
        assert rows["sync-sweep"].next_at is None  # nothing armed in this test
        periodic.arm_all()
        rows = {row.job.name: row for row in periodic.status(now)}
        assert rows["sync-sweep"].next_at == datetime.fromtimestamp(periodic.next_due(every), timezone.utc)
        db.session.query(PeriodicJobRun).delete()
        db.session.commit()
        assert not {row.job.name: row for row in periodic.status(now)}["sync-sweep"].fault  # never ran, armed
        app.extensions["redis"].flushdb()
        assert {row.job.name: row for row in periodic.status(now)}["sync-sweep"].fault  # never ran, nothing armed


def test_flask_webhooks_schedule_arms_and_says_the_workers_schedule(app, registry):
    """RELIABILITY 10: `flask webhooks schedule` still arms (idempotently) and says the workers schedule now."""
    result = app.test_cli_runner().invoke(args=["webhooks", "schedule"])
    assert result.exit_code == 0, result.output
    assert "The workers schedule the periodic jobs themselves" in result.output
    assert "webhooks-sweep\t" in result.output and "webhooks-health\t" in result.output
    assert _slots(registry, "webhooks-sweep")
