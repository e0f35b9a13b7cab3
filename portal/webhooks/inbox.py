"""Store received events durably, then enqueue their processing (SPEC D3; RELIABILITY 1-4, 7, 10).

`store()` decides the row's status from what we know before any Procore call:
quarantined (unreadable, or another tenant's event), self-originated, ignored (a kind we
do not handle), or received (a job will process it). It commits; a duplicate event key is
answered as a duplicate and changes nothing.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from flask import current_app
from rq import Queue
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from portal import redis_conn
from portal.extensions import db
from portal.models import EventStatus, WebhookEvent
from portal.webhooks.payload import ParsedEvent, PayloadError, parse_event
from portal.webhooks.secrets import Caller
from portal.webhooks.states import FOREIGN, MALFORMED, SELF_CAUSED, UNHANDLED

log = logging.getLogger(__name__)
RAW_BODY_CAP = 16 * 1024  # what support sees of a quarantined body
# A Core INSERT built once (columns come from each call's parameters; the compiled form is
# cached per set of columns): no ORM flush, no statement rebuilt per delivery (RELIABILITY 6).
_INSERT = insert(WebhookEvent.__table__).returning(WebhookEvent.__table__.c.id)


@dataclass(frozen=True)
class Stored:
    """The committed inbox row, as far as the receiver needs it."""

    id: int
    status: str


def _raw_text(raw: bytes) -> str:
    return raw[:RAW_BODY_CAP].decode("utf-8", errors="replace")


def _classify(event: ParsedEvent, caller: Caller) -> tuple[str, str | None]:
    if event.company_id != caller.procore_company_id or event.project_id != caller.procore_project_id:
        # RELIABILITY 1: a valid secret, but the event belongs to another company/project.
        return EventStatus.QUARANTINED, FOREIGN
    if event.source_application_id and event.source_application_id == current_app.config["PROCORE_CLIENT_ID"]:
        return EventStatus.SELF_ORIGINATED, SELF_CAUSED
    if not event.handled:
        return EventStatus.IGNORED, UNHANDLED.format(detail=event.resource_name)
    return EventStatus.RECEIVED, None


def row_values(raw: bytes, caller: Caller) -> dict:
    """The inbox row's columns for this body (no I/O)."""
    base = {"company_id": caller.company_id, "secret_id": caller.secret_id, "attempts": 0,
            "raw_body": _raw_text(raw)}
    try:
        event = parse_event(raw)
    except PayloadError as error:
        return {"event_key": "raw:" + hashlib.sha256(raw).hexdigest(), "status": EventStatus.QUARANTINED,
                "reason": MALFORMED.format(detail=error)[:300], "procore_project_id": caller.procore_project_id, **base}
    status, reason = _classify(event, caller)
    return {"event_key": event.key, "status": status, "reason": reason, "procore_company_id": event.company_id,
            "procore_project_id": event.project_id, "payload_version": event.payload_version,
            "event_type": event.event_type, "resource_name": event.resource_name,
            "resource_id": event.resource_id, "event_timestamp": event.timestamp, **base}


def store(raw: bytes, caller: Caller) -> tuple[Stored | None, bool]:
    """Commit the event; return (row, is_new). A duplicate key returns (None, False).

    One INSERT ... RETURNING id and a commit: no unit-of-work flush and no reload of the
    expired row after the commit, because this runs on every delivery (RELIABILITY 6).
    """
    values = row_values(raw, caller)
    try:
        event_id = db.session.execute(_INSERT, values).scalar_one()
        db.session.commit()
    except IntegrityError:  # the unique event_key: a duplicate or concurrent delivery
        db.session.rollback()
        return None, False
    return Stored(event_id, values["status"]), True


def queue() -> Queue:
    return Queue("default", connection=redis_conn.connection())


def _receiver_queue() -> Queue:
    """One Queue per process on the receiver's short-timeout connection, kept because a new
    Queue asks Redis for its version (INFO) before its first enqueue: a round trip per delivery."""
    connection = redis_conn.receiver_connection()
    cached = current_app.extensions.get("webhook_queue")
    if cached is None or cached.connection is not connection:
        cached = current_app.extensions["webhook_queue"] = Queue("default", connection=connection)
    return cached


PROCESS = "portal.webhooks.jobs.process_event"


def _job(event_id: int) -> dict:
    """The options of every job that processes an event (first try, retry): RQ stops it after
    WEBHOOK_JOB_TIMEOUT, which is what lets the inbox sweep take back older claims (config.py)."""
    return {"job_timeout": current_app.config["WEBHOOK_JOB_TIMEOUT"], "description": f"webhook event {event_id}"}


def enqueue_retry(event_id: int, delay) -> None:
    """The event's next try after `delay` (RQ's scheduler); raises if Redis fails (the sweeper retries)."""
    queue().enqueue_in(delay, PROCESS, event_id, **_job(event_id))


def enqueue(event_id: int, fast: bool = False) -> bool:
    """Enqueue processing with the row id only. False if Redis failed (the sweeper retries).

    `fast` (the receiver): the cached queue on the short-timeout connection, and RQ's
    writes sent as one pipeline, so one Redis round trip per delivery.
    """
    try:
        if fast:
            target = _receiver_queue()
            with target.connection.pipeline() as pipe:
                target.enqueue(PROCESS, event_id, pipeline=pipe, **_job(event_id))
                pipe.execute()
        else:
            queue().enqueue(PROCESS, event_id, **_job(event_id))
    except Exception:  # noqa: BLE001 - Redis down or slow: the row is committed, the sweeper recovers it
        log.warning("could not enqueue webhook event %s; the sweeper will", event_id, exc_info=True)
        return False
    return True
