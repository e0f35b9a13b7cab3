"""The inbox worker: claim once, hand to apply_event, retry on a schedule, sweep (RELIABILITY 10, 12, 16)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from rq import Queue, SimpleWorker

from portal.models import EventStatus, WebhookEvent
from portal.webhooks import jobs
from tests.webhooks.conftest import jobs_for, v2_event


@pytest.fixture
def stored(app, db, hook, deliver):
    assert deliver(v2_event(), auth=hook["auth"]).status_code == 202
    with app.app_context():
        return db.session.scalar(db.select(WebhookEvent.id))


def load(app, db, event_id):
    with app.app_context():
        row = db.session.get(WebhookEvent, event_id)
        db.session.expunge(row)
        return row


def test_worker_processes_the_event_with_no_integration_visible(app, db, stored):
    """Real RQ burst worker; no integration covers the project: outcome says so, not faked."""
    with app.app_context():
        SimpleWorker([Queue("default", connection=app.extensions["redis"])],
                     connection=app.extensions["redis"]).work(burst=True)
    row = load(app, db, stored)
    assert row.status == EventStatus.DONE and row.outcome == "no_integration"
    assert row.attempts == 1 and row.processed_at is not None and row.error is None


def test_a_duplicate_job_does_nothing(app, db, stored):
    """RELIABILITY 12: the second execution sees the row claimed and stops."""
    with app.app_context():
        assert jobs.process_event(stored) == "no_integration"
        assert jobs.process_event(stored) == "already claimed"
    assert load(app, db, stored).attempts == 1


def test_failing_apply_retries_on_a_schedule_then_fails_visibly(app, db, stored, monkeypatch):
    """RELIABILITY 16."""
    import portal.sync.events as events

    def boom(event):
        raise RuntimeError("cBox store unavailable")

    monkeypatch.setattr(events, "apply_event", boom)
    with app.app_context():
        assert jobs.process_event(stored) == "retrying"
    row = load(app, db, stored)
    assert row.status == EventStatus.RETRYING and "cBox store unavailable" in row.error
    assert len(jobs_for(app, stored)) == 2  # the original queued job and the scheduled retry
    # both stopped by RQ after WEBHOOK_JOB_TIMEOUT: the sweep's take-back of old claims relies on it
    assert {job.timeout for job in jobs_for(app, stored)} == {app.config["WEBHOOK_JOB_TIMEOUT"]}
    for _ in range(jobs.MAX_ATTEMPTS - 1):
        with app.app_context():
            result = jobs.process_event(stored)
    assert result == "failed"
    row = load(app, db, stored)
    assert row.status == EventStatus.FAILED and row.attempts == jobs.MAX_ATTEMPTS and row.next_attempt_at is None


def test_sweeper_recovers_lost_enqueues_and_stuck_claims(app, db, stored):
    """RELIABILITY 10: a crash between commit and enqueue, or a worker killed mid-job."""
    Queue("default", connection=app.extensions["redis"]).empty()
    with app.app_context():
        assert jobs.sweep() == 0  # fresh rows are left to their own job
        row = db.session.get(WebhookEvent, stored)
        row.received_at = datetime.now(timezone.utc) - timedelta(minutes=5)
        db.session.commit()
        assert jobs.sweep() == 1
        assert jobs.claim(stored)
        row = db.session.get(WebhookEvent, stored)
        row.claimed_at = datetime.now(timezone.utc) - timedelta(hours=1)
        db.session.commit()
        jobs.sweep()
        assert db.session.get(WebhookEvent, stored).status == EventStatus.RETRYING
        row = db.session.get(WebhookEvent, stored)
        row.next_attempt_at = datetime.now(timezone.utc) - timedelta(minutes=5)
        db.session.commit()
        assert jobs.sweep() == 1
        assert jobs.process_event(stored) == "no_integration"


def test_a_killed_workers_claim_is_taken_back_after_minutes_not_half_an_hour(app, db, stored):
    """The event's job is enqueued with WEBHOOK_JOB_TIMEOUT (RQ stops it then); a claim older than
    WEBHOOK_STUCK_AFTER (5 min, longer than that timeout) belongs to no running job and is taken back,
    a younger one is left to its job."""
    assert jobs_for(app, stored)[0].timeout == app.config["WEBHOOK_JOB_TIMEOUT"] == 120
    with app.app_context():
        assert jobs.claim(stored)
        for minutes, status in ((4, EventStatus.PROCESSING), (6, EventStatus.RETRYING)):
            row = db.session.get(WebhookEvent, stored)
            row.claimed_at = datetime.now(timezone.utc) - timedelta(minutes=minutes)
            db.session.commit()
            jobs.sweep()
            db.session.expire_all()
            assert db.session.get(WebhookEvent, stored).status == status, minutes


def test_flask_webhooks_sweep_cli(app, stored):
    result = app.test_cli_runner().invoke(args=["webhooks", "sweep"])
    assert result.exit_code == 0 and "re-enqueued 0 event(s)" in result.output


def test_periodic_jobs_are_armed_once_and_the_sweep_rearms_itself(app, db, stored):
    """The sweeper runs as its own one-minute periodic job (a lost enqueue waits minutes, not the
    30-minute health-check period); arming twice schedules each periodic job once, and a sweep slot
    arms the next one (issue 15: one slot job per period, portal/periodic.py; RELIABILITY 10)."""
    from rq.registry import ScheduledJobRegistry

    from portal import periodic

    queue = Queue("default", connection=app.extensions["redis"])
    queue.empty()
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    with app.app_context():
        periodic.arm_all()
        periodic.arm_all()
        names = sorted(job_id.split("_")[1] for job_id in registry.get_job_ids())
        assert names == sorted(job.name for job in periodic.PERIODIC if job.every())  # one slot each
        assert "webhooks-sweep" in names and "webhooks-health" in names
        row = db.session.get(WebhookEvent, stored)
        row.received_at = datetime.now(timezone.utc) - timedelta(minutes=5)
        db.session.commit()
        sweep_id = next(job_id for job_id in registry.get_job_ids() if job_id.startswith("periodic_webhooks-sweep_"))
        registry.remove(sweep_id, delete_job=True)
        periodic.run("webhooks-sweep", int(sweep_id.rsplit("_", 1)[1]))
        assert any(job_id.startswith("periodic_webhooks-sweep_") for job_id in registry.get_job_ids())  # re-armed
        assert len(queue) == 1  # the lost event went back on the queue
