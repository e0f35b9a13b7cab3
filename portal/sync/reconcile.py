"""Periodic reconciliation (issue 15; RELIABILITY 9; SPEC R4, R7).

Procore recommends it: webhook deliveries get lost (a paused endpoint drops its queue after 12 h, an
event may never be sent), so webhooks alone cannot keep cBox equal to Procore. Every
SYNC_RECONCILE_EVERY seconds (default 6 h, 0 = off) the periodic job "sync-reconcile"
(portal/periodic.py) asks for a full refresh of every active integration, imports and exports alike,
with the code "Procore › Actualizar" uses (portal/sync/jobs.py: start_reconcile, create_run, enqueue).
It skips an integration that already has a run queued, running or stopping, one waiting for an admin's
answer to a large deletion, and one a person stopped. The run is marked origin = "reconcile"; what it
created, updated and removed (SyncRun.repaired) is the drift it repaired, shown on the integration's
page and to support.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Integration, SyncRun
from portal.models.integrations import RECONCILE, IntegrationStatus, RunStatus
from portal.sync.jobs import start_reconcile


def reconcile_all() -> int:
    """Queue a reconciling refresh of every active integration that is free; return how many."""
    ids = db.session.scalars(select(Integration.id).where(Integration.status == IntegrationStatus.ACTIVE)
                             .order_by(Integration.id)).all()
    db.session.commit()
    return sum(1 for integration_id in ids if start_reconcile(integration_id) is not None)


def repairs_since(since: datetime | None) -> tuple[int, int, int]:
    """(reconciling runs started since `since`, how many of them are done, items they repaired)."""
    if since is None:
        return 0, 0, 0
    repaired = SyncRun.imported + SyncRun.updated + SyncRun.deleted
    started, done, items = db.session.execute(
        select(func.count(SyncRun.id), func.count(SyncRun.id).filter(SyncRun.status == RunStatus.DONE),
               func.coalesce(func.sum(repaired).filter(SyncRun.status == RunStatus.DONE), 0))
        .where(SyncRun.origin == RECONCILE, SyncRun.created_at >= since)).one()
    return started, done, int(items)
