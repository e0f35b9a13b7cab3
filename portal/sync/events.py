"""Entry point for stored Procore webhook events (called by the webhook worker).

An event on a project with integrations queues a (debounced) refresh of those integrations: the
refresh re-lists both sides and converges (R7). When no account can act on the project any more
(R34), a refresh could only fail: the event is recorded on the item it names instead, so the
page says the truth ("deleted in Procore", "changed in Procore", waiting for valid credentials)
and the next refresh with valid credentials settles it (R13: a deletion is confirmed then, on
proof). Nothing is deleted on the event's word alone.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.connections.credentials import project_accounts
from portal.extensions import db
from portal.models import Integration, SyncItem
from portal.models.integrations import ERROR, PENDING, PENDING_DELETION
from portal.sync.apply import set_state
from portal.sync.jobs import start_run
from portal.sync.reasons import Reason

# Resources whose id is the id of an item we link (Documents); others name versions, albums…
LINKED_KINDS = {"Project Files": "file", "Project Folders": "folder"}


def _get(event: Any, *names: str):
    """Events may be ORM rows or dicts; read the first attribute/key present."""
    for name in names:
        if isinstance(event, dict) and name in event:
            return event[name]
        if hasattr(event, name):
            return getattr(event, name)
    return None


def apply_event(event) -> str:
    """Return "no_integration", "refresh_queued" or "waiting_for_credentials". Signature is stable
    (webhook worker contract)."""
    company_id = _get(event, "company_id")
    project_id = _get(event, "procore_project_id", "project_id")
    if company_id is None or project_id is None:
        return "no_integration"
    integrations = db.session.scalars(select(Integration).where(
        Integration.company_id == int(company_id), Integration.procore_project_id == int(project_id),
        Integration.status == "active")).all()
    outcome = "no_integration"
    for integration in integrations:
        if project_accounts(integration.company_id, integration.procore_project_id, integration.account_id):
            start_run(integration, "refresh")
            outcome = "refresh_queued"
        else:
            record_unverified(integration, event)
            outcome = outcome if outcome == "refresh_queued" else "waiting_for_credentials"
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
    if link is None or link.status == ERROR:
        return
    if str(_get(event, "event_type", "reason") or "").lower() == "delete":
        set_state(link, PENDING_DELETION, Reason("deleted_unverified"))
    elif link.status != PENDING_DELETION:
        set_state(link, PENDING, Reason("changed_unverified"))
    db.session.flush()
