"""Who did what (issue 14): `record()` adds an entry to the current transaction, so it commits or
rolls back with the action it describes; `entries()` reads them for the audit page and the CLI.

Admins see their company's entries, support staff and superadmins every company's (access.py's
company scope). Actions are stable codes; the pages name them through ACTIONS, in the user's language.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import AuditEntry

ACTIONS = {
    "procore.connected": _l("Connected a Procore account"),
    "procore.disconnected": _l("Disconnected a Procore account"),
    "hook.repaired": _l("Repaired a Procore webhook"),
    "integration.started": _l("Started an integration"),
    "export.started": _l("Started an export"),
    "integration.synced": _l("Asked for a sync"),
    "integration.stopped": _l("Stopped a run"),
    "integration.paused": _l("Paused an integration"),
    "integration.resumed": _l("Resumed an integration"),
    "integration.retried": _l("Retried failed items"),
    "integration.removed": _l("Removed an integration"),
    "deletion.confirmed": _l("Confirmed a mass deletion"),
    "deletion.kept": _l("Kept items instead of deleting them"),
    "deletion.cancelled": _l("Cancelled a mass deletion"),
    "permission.changed": _l("Changed edit permissions"),
    "cbox.trashed": _l("Moved a cBox item to the trash"),
    "cbox.restored": _l("Restored a cBox item from the trash"),
    "cbox.purged": _l("Deleted a cBox item for good"),
    "user.created": _l("Created a user"),
    "user.changed": _l("Changed a user"),
    "user.activated": _l("Activated a user"),
    "user.deactivated": _l("Deactivated a user"),
}
PER_PAGE = 50


def record(action: str, *, target: str = "", target_id: int | None = None, company_id: int | None = None,
           detail: dict | None = None, actor: str | None = None) -> AuditEntry:
    """Add an entry for `action` (a key of ACTIONS) to the session; the caller's commit keeps it. The
    actor is the signed-in user in a request, else `actor` ("cli" by default)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    user = current_user if has_request_context() and current_user.is_authenticated else None
    if company_id is None and user is not None:
        company_id = user.company_id
    entry = AuditEntry(action=action, target=(target or "")[:500], target_id=target_id, company_id=company_id,
                       user_id=user.id if user is not None else None, detail=detail,
                       actor=user.email if user is not None else (actor or "cli"))
    db.session.add(entry)
    return entry


@dataclass
class Filters:
    company_id: int | None = None  # None: every company (support) — the caller applies the user's scope
    action: str | None = None
    actor: str | None = None  # part of the e-mail
    days: int | None = None  # only the last N days


def query(filters: Filters):
    stmt = select(AuditEntry)
    if filters.company_id is not None:
        stmt = stmt.where(AuditEntry.company_id == filters.company_id)
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.actor:
        stmt = stmt.where(func.lower(AuditEntry.actor).contains(filters.actor.lower()))
    if filters.days:
        stmt = stmt.where(AuditEntry.created_at >= datetime.now(timezone.utc) - timedelta(days=filters.days))
    return stmt


def entries(filters: Filters, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[AuditEntry], int]:
    """The page's entries, newest first, and how many match."""
    stmt = query(filters)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.scalars(stmt.order_by(AuditEntry.id.desc()).offset((max(page, 1) - 1) * per_page)
                              .limit(per_page)).all()
    return list(rows), total


def label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def record_integration(action: str, integration, **detail) -> AuditEntry:
    """An entry about an integration: its Procore project by name, its tool and direction in the detail."""
    return record(action, target=integration.procore_project_name or str(integration.procore_project_id),
                  target_id=integration.id, company_id=integration.company_id,
                  detail={"tool": integration.tool, "direction": integration.direction, **detail})
