"""RQ jobs for webhooks: process one inbox row, sweep stale rows, the periodic check.

Jobs receive ids only (never a token or a payload). A worker claims a row with a
conditional UPDATE, so a duplicate job (the sweeper, a replay) does nothing
(RELIABILITY 10, 12). A failing apply retries on RETRY_SCHEDULE, then ends `failed`
with its error visible (RELIABILITY 16).

The inbox sweep (`sweep`) and the hook health checks run as periodic jobs declared in
portal/periodic.py, scheduled by RQ's scheduler (issue 15).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, or_, select, update

from portal.extensions import db
from portal.models import EventStatus, WebhookEvent
from portal.webhooks import inbox
from portal.webhooks.states import WORKER_STOPPED

log = logging.getLogger(__name__)
RETRY_SCHEDULE = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
# WEBHOOK_STALE_AFTER (120 s): received but no worker picked it up (lost enqueue);
# WEBHOOK_STUCK_AFTER (300 s): claimed but never finished (worker killed); longer than the job's own
# timeout (WEBHOOK_JOB_TIMEOUT, 120 s), so a claim that old has no job still running it.


def _now() -> datetime:
    return datetime.now(timezone.utc)


def claim(event_id: int) -> bool:
    result = db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id, WebhookEvent.status.in_(EventStatus.RUNNABLE))
        .values(status=EventStatus.PROCESSING, attempts=WebhookEvent.attempts + 1, claimed_at=_now()))
    db.session.commit()
    return result.rowcount == 1


def process_event(event_id: int) -> str:
    """Hand one stored event to the sync engine (portal/sync/events.py: apply_event)."""
    from portal.sync.events import apply_event

    if not claim(event_id):
        return "already claimed"
    row = db.session.get(WebhookEvent, event_id)
    try:
        outcome = apply_event(row)
    except Exception as error:  # noqa: BLE001 - recorded on the row, retried on a schedule
        db.session.rollback()
        log.exception("webhook event %s failed", event_id)
        return _failed(db.session.get(WebhookEvent, event_id), error)
    row.status, row.outcome, row.error = EventStatus.DONE, str(outcome)[:60], None
    row.processed_at, row.next_attempt_at = _now(), None
    db.session.commit()
    return row.outcome


def _failed(row: WebhookEvent, error: Exception) -> str:
    row.error = f"{type(error).__name__}: {error}"[:2000]
    row.processed_at = _now()
    if row.attempts >= MAX_ATTEMPTS:
        row.status, row.next_attempt_at = EventStatus.FAILED, None
        db.session.commit()
        return "failed"
    delay = RETRY_SCHEDULE[row.attempts - 1]
    row.status, row.next_attempt_at = EventStatus.RETRYING, _now() + delay
    db.session.commit()
    try:
        inbox.enqueue_retry(row.id, delay)
    except Exception:  # noqa: BLE001 - the sweeper re-enqueues due retries
        log.warning("could not schedule retry of webhook event %s", row.id, exc_info=True)
    return "retrying"


def sweep() -> int:
    """Re-enqueue rows committed but never processed, due retries, and stuck claims."""
    now = _now()
    stale_after = timedelta(seconds=current_app.config["WEBHOOK_STALE_AFTER"])
    stuck_after = timedelta(seconds=current_app.config["WEBHOOK_STUCK_AFTER"])
    db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.status == EventStatus.PROCESSING, WebhookEvent.claimed_at < now - stuck_after)
        .values(status=EventStatus.RETRYING, next_attempt_at=now, error=WORKER_STOPPED))
    db.session.commit()
    ids = db.session.scalars(select(WebhookEvent.id).where(or_(
        and_(WebhookEvent.status == EventStatus.RECEIVED, WebhookEvent.received_at < now - stale_after),
        and_(WebhookEvent.status == EventStatus.RETRYING,
             WebhookEvent.next_attempt_at < now - stale_after)))).all()
    for event_id in ids:
        inbox.enqueue(event_id)
    return len(ids)


def replay(event: WebhookEvent) -> None:
    """Support's "re-run processing": back to received, then enqueue. The caller commits first."""
    event.status, event.error, event.outcome, event.next_attempt_at = EventStatus.RECEIVED, None, None, None
