"""Entry point for stored Procore webhook events (called by the webhook worker; SPEC R4).

Each event goes to the integrations of its tool on its project only (Project Files/Folders →
Documents, Images/Image Categories → Photos, Drawings/Revisions/Uploads → Drawings:
portal/procore/resources.py), as an "event run" that re-reads the named resource from Procore
and applies that one item with the import's own plan/apply code (events carry no state and
arrive out of order or twice; re-reading makes them idempotent). Events arriving while a run
waits join it. A full refresh stays the reconciliation (on "Actualizar", periodically).

When no account can act on the project any more (R34), a run could only fail: the event is
recorded on the item it names instead, so the page says the truth ("deleted in Procore",
"changed in Procore", waiting for valid credentials) and the next run with valid credentials
settles it (R13: a deletion is confirmed then, on proof). Nothing is deleted on an event's word.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.connections.credentials import project_accounts
from portal.extensions import db
from portal.models import Integration, SyncItem, WebhookEvent
from portal.models.integrations import IntegrationStatus, ItemStatus
from portal.sync.apply import set_state
from portal.procore.resources import tool_of
from portal.sync.jobs import queue_event
from portal.sync.reasons import Reason

# Resources whose id is the id of an item we link; others name versions, revisions, uploads…
LINKED_KINDS = {"Project Files": "file", "Project Folders": "folder", "Images": "file", "Image Categories": "folder",
                "Drawings": "file"}


def _get(event: Any, *names: str):
    """Events may be ORM rows or dicts; read the first attribute/key present."""
    for name in names:
        if isinstance(event, dict) and name in event:
            return event[name]
        if hasattr(event, name):
            return getattr(event, name)
    return None


def apply_event(event) -> str:
    """Return "no_integration", "sync_queued" or "waiting_for_credentials". Signature is stable
    (webhook worker contract)."""
    company_id = _get(event, "company_id")
    project_id = _get(event, "procore_project_id", "project_id")
    resource_name = _get(event, "resource_name")
    tool = tool_of(resource_name)
    if company_id is None or project_id is None or tool is None:
        return "no_integration"
    integrations = db.session.scalars(select(Integration).where(
        Integration.company_id == int(company_id), Integration.procore_project_id == int(project_id),
        Integration.tool == tool, Integration.direction == "import",  # exports ignore Procore's edits (R26)
        Integration.status == IntegrationStatus.ACTIVE).order_by(Integration.id)).all()
    outcome = "no_integration"
    for integration in integrations:
        if project_accounts(integration.company_id, integration.procore_project_id, integration.account_id):
            run = queue_event(integration, resource_name, _get(event, "resource_id"))
            if isinstance(event, WebhookEvent):  # support reads what became of the run (issue 14)
                event.sync_run_id = run.id
            outcome = "sync_queued"
        else:
            record_unverified(integration, event)
            outcome = outcome if outcome == "sync_queued" else "waiting_for_credentials"
    db.session.commit()
    return outcome


def record_unverified(integration: Integration, event) -> None:
    """Without valid credentials: mark the linked item with what Procore said (flushes)."""
    kind = LINKED_KINDS.get(_get(event, "resource_name") or "")
    resource_id = _get(event, "resource_id")
    if kind is None or resource_id is None:
        return
    link = db.session.scalar(select(SyncItem).where(SyncItem.integration_id == integration.id,
                                                    SyncItem.procore_kind == kind,
                                                    SyncItem.procore_id == int(resource_id)))
    if link is None or link.status == ItemStatus.ERROR:
        return
    if str(_get(event, "event_type", "reason") or "").lower() == "delete":
        set_state(link, ItemStatus.PENDING_DELETION, Reason("deleted_unverified"))
    elif link.status != ItemStatus.PENDING_DELETION:
        set_state(link, ItemStatus.PENDING, Reason("changed_unverified"))
    db.session.flush()
