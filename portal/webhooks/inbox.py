"""Store received events durably, then enqueue their processing (SPEC D3; RELIABILITY 1-4, 7, 10).

`store()` decides the row's status from what we know before any Procore call:
quarantined (unreadable, or another tenant's event), self-originated, ignored (a kind we
do not handle), or received (a job will process it). It commits; a duplicate event key is
answered as a duplicate and changes nothing.
"""
from __future__ import annotations

import hashlib
import logging

from flask import current_app
from rq import Queue
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Company, EventStatus, WebhookEvent, WebhookSecret
from portal.webhooks.payload import ParsedEvent, PayloadError, parse_event

log = logging.getLogger(__name__)
RAW_BODY_CAP = 16 * 1024  # what support sees of a quarantined body


def _raw_text(raw: bytes) -> str:
    return raw[:RAW_BODY_CAP].decode("utf-8", errors="replace")


def _classify(event: ParsedEvent, secret: WebhookSecret, company: Company) -> tuple[str, str | None]:
    if event.company_id != company.procore_company_id or event.project_id != secret.procore_project_id:
        # RELIABILITY 1: a valid secret, but the event belongs to another company/project.
        return EventStatus.QUARANTINED, "the event's company or project does not match the hook's secret"
    if event.source_application_id and event.source_application_id == current_app.config["PROCORE_CLIENT_ID"]:
        return EventStatus.SELF_ORIGINATED, "caused by this portal's own write"
    if not event.handled:
        return EventStatus.IGNORED, f"resource {event.resource_name!r} is not synchronised"
    return EventStatus.RECEIVED, None


def build_row(raw: bytes, secret: WebhookSecret) -> WebhookEvent:
    company = db.session.get(Company, secret.company_id)
    base = {"company_id": secret.company_id, "secret_id": secret.id, "attempts": 0}
    try:
        event = parse_event(raw)
    except PayloadError as error:
        return WebhookEvent(event_key="raw:" + hashlib.sha256(raw).hexdigest(), status=EventStatus.QUARANTINED,
                            reason=f"malformed: {error}"[:300], raw_body=_raw_text(raw),
                            procore_project_id=secret.procore_project_id, **base)
    status, reason = _classify(event, secret, company)
    return WebhookEvent(
        event_key=event.key, status=status, reason=reason, procore_company_id=event.company_id,
        procore_project_id=event.project_id, payload_version=event.payload_version,
        event_type=event.event_type, resource_name=event.resource_name, resource_id=event.resource_id,
        event_timestamp=event.timestamp, raw_body=_raw_text(raw), **base)


def store(raw: bytes, secret: WebhookSecret) -> tuple[WebhookEvent | None, bool]:
    """Commit the event; return (row, is_new). A duplicate key returns (None, False)."""
    row = build_row(raw, secret)
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # the unique event_key: a duplicate or concurrent delivery
        db.session.rollback()
        return None, False
    return row, True


def queue() -> Queue:
    return Queue("default", connection=current_app.extensions["redis"])


def enqueue(event_id: int, fast: bool = False) -> bool:
    """Enqueue processing with the row id only. False if Redis failed (the sweeper retries)."""
    connection = current_app.extensions.get("webhook_redis") if fast else None
    try:
        Queue("default", connection=connection or current_app.extensions["redis"]).enqueue(
            "portal.webhooks.jobs.process_event", event_id, job_timeout=600,
            description=f"webhook event {event_id}")
    except Exception:  # noqa: BLE001 - Redis down or slow: the row is committed, the sweeper recovers it
        log.warning("could not enqueue webhook event %s; the sweeper will", event_id, exc_info=True)
        return False
    return True
