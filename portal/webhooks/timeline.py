"""Support's view of one project: our receiver log merged with Procore's delivery log.

Procore's deliveries are read live with a company credential (support has no Procore
login, SPEC "Who uses it"); our rows come from the inbox. Neither side shows a secret:
Procore masks the Authorization header and we never store it on an event.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from portal.extensions import db
from portal.models import EventStatus, WebhookEvent
from portal.procore import PaginationIncomplete, ProcoreError

MAX_ROWS = 60


@dataclass
class Entry:
    at: datetime | None
    source: str  # "procore" (a delivery attempt) or "portal" (a row in our inbox)
    what: str    # resource · event type
    status: str
    detail: str
    event_key: str | None = None
    event_id: int | None = None


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def our_events(company_id: int, project_id: int, limit: int = MAX_ROWS) -> list[WebhookEvent]:
    return db.session.scalars(select(WebhookEvent).where(
        WebhookEvent.company_id == company_id, WebhookEvent.procore_project_id == project_id)
        .order_by(WebhookEvent.id.desc()).limit(limit)).all()


def quarantined(company_id: int | None = None, limit: int = 20) -> list[WebhookEvent]:
    query = select(WebhookEvent).where(WebhookEvent.status == EventStatus.QUARANTINED)
    if company_id is not None:
        query = query.where(WebhookEvent.company_id == company_id)
    return db.session.scalars(query.order_by(WebhookEvent.id.desc()).limit(limit)).all()


def procore_deliveries(client, pcid: int, project_id: int, hook_id: int | None) -> tuple[list, str | None]:
    """(deliveries, problem). Cursor listing is oldest first: we read up to 5 pages."""
    if hook_id is None:
        return [], None
    seen: list = []
    try:
        for delivery in client.deliveries(pcid, project_id, hook_id, page_size=100, max_pages=5):
            seen.append(delivery)
    except PaginationIncomplete:
        return seen[-MAX_ROWS:], "truncated"
    except ProcoreError as error:
        return seen, str(error)[:300]
    return seen[-MAX_ROWS:], None


def merge(events: list[WebhookEvent], deliveries: list) -> list[Entry]:
    entries = [Entry(_aware(e.received_at), "portal", f"{e.resource_name or '?'} · {e.event_type or '?'}",
                     e.status, " ".join(filter(None, [e.outcome, e.reason, e.error]))[:400], e.event_key, e.id)
               for e in events]
    for d in deliveries:
        event = d.event or {}
        what = f"{event.get('resource_name') or event.get('resource_type') or '?'} · " \
               f"{event.get('event_type') or event.get('reason') or '?'}"
        detail = f"HTTP {d.response_status or '—'} {d.response_error or ''}".strip()
        entries.append(Entry(_aware(d.started_at), "procore", what, d.outcome or "?", detail,
                             str(event.get("ulid") or event.get("id") or "")))
    return sorted(entries, key=lambda e: e.at or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
