"""Support's view of one project: our receiver log merged with Procore's delivery log and the
project's sync runs (a failed run shows beside the events before it, issue 14).

Procore's deliveries are read live with a company credential (support has no Procore
login, SPEC "Who uses it"); our rows come from the inbox. Neither side shows a secret:
Procore masks the Authorization header and we never store it on an event.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from portal.extensions import db
from portal.models import EventStatus, Integration, SyncRun, WebhookEvent
from portal.procore import PaginationIncomplete, ProcoreError

MAX_ROWS = 60  # Procore deliveries shown, and runs by default
MAX_EVENTS = 500  # our inbox rows a project's timeline reads at most (after its filters), paged on the page


@dataclass
class Entry:
    """One line of the timeline; the page names every code (portal/webhooks/states.py)."""

    at: datetime | None
    source: str  # "procore" (a delivery attempt), "portal" (a row in our inbox) or "run" (a sync run)
    resource: str | None  # what the event is about: resource name and event type, as Procore says them
    event_type: str | None
    status: str  # an inbox status (portal) or a delivery outcome (procore)
    detail: str = ""  # technical: the HTTP answer Procore got
    event_key: str | None = None
    event_id: int | None = None
    outcome: str | None = None  # portal rows: what processing did, why it was not processed, why it failed
    reason: str | None = None
    error: str | None = None
    run: SyncRun | None = None  # "run" rows: the run, with its integration
    sync_run_id: int | None = None  # "portal" rows: the run the event queued or joined


def our_events(company_id: int, project_id: int, limit: int = MAX_ROWS) -> list[WebhookEvent]:
    return db.session.scalars(select(WebhookEvent).where(
        WebhookEvent.company_id == company_id, WebhookEvent.procore_project_id == project_id)
        .order_by(WebhookEvent.id.desc()).limit(limit)).all()


def our_runs(company_id: int, project_id: int, limit: int = MAX_ROWS, since: datetime | None = None) -> list[SyncRun]:
    """The project's latest sync runs, every integration of the company on it (imports and exports)."""
    query = select(SyncRun).join(Integration, Integration.id == SyncRun.integration_id).where(
        Integration.company_id == company_id, Integration.procore_project_id == project_id)
    if since is not None:
        query = query.where(SyncRun.created_at >= since)
    return db.session.scalars(query.order_by(SyncRun.id.desc()).limit(limit)).all()


def runs_of(events) -> dict[int, SyncRun]:
    """{run id: run} of the sync runs these events queued or joined (one query)."""
    ids = {event.sync_run_id for event in events if event.sync_run_id}
    return {run.id: run for run in db.session.scalars(select(SyncRun).where(SyncRun.id.in_(ids)))} if ids else {}


def quarantined(company_id: int | None = None, project_id: int | None = None, limit: int = 20) -> list[WebhookEvent]:
    query = select(WebhookEvent).where(WebhookEvent.status == EventStatus.QUARANTINED)
    if company_id is not None:
        query = query.where(WebhookEvent.company_id == company_id)
    if project_id is not None:
        query = query.where(WebhookEvent.procore_project_id == project_id)
    return db.session.scalars(query.order_by(WebhookEvent.id.desc()).limit(limit)).all()


def procore_deliveries(client, pcid: int, project_id: int, hook_id: int | None) -> tuple[list, object]:
    """(deliveries, problem): None, "truncated", or the ProcoreError that stopped the reading. Cursor
    listing is oldest first: we read up to 5 pages."""
    if hook_id is None:
        return [], None
    seen: list = []
    try:
        for delivery in client.deliveries(pcid, project_id, hook_id, page_size=100, max_pages=5):
            seen.append(delivery)
    except PaginationIncomplete:
        return seen[-MAX_ROWS:], "truncated"
    except ProcoreError as error:
        return seen, error
    return seen[-MAX_ROWS:], None


def merge(events: list[WebhookEvent], deliveries: list, runs: list[SyncRun] = ()) -> list[Entry]:
    entries = [Entry(run.started_at or run.created_at, "run", None, None, run.status, run=run)
               for run in runs]
    entries += [Entry(e.received_at, "portal", e.resource_name, e.event_type, e.status,
                     event_key=e.event_key, event_id=e.id, outcome=e.outcome, reason=e.reason, error=e.error,
                     sync_run_id=e.sync_run_id)
               for e in events]
    for d in deliveries:
        event = d.event or {}
        detail = f"HTTP {d.response_status or '—'} {d.response_error or ''}".strip()
        entries.append(Entry(d.started_at, "procore", event.get("resource_name") or event.get("resource_type"),
                             event.get("event_type") or event.get("reason"), d.outcome or "", detail,
                             str(event.get("ulid") or event.get("id") or "")))
    return sorted(entries, key=lambda e: e.at or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
