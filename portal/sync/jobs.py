"""Sync runs as background work (D2; RELIABILITY 10-12).

A run is first a row, committed, then enqueued with its id only. The worker claims it with a
conditional UPDATE (queued -> running), so a duplicate delivery of the same job does nothing.
The sweeper re-enqueues runs that were committed but never enqueued (a crash in between) and
runs whose heartbeat went stale (a killed worker): RQ is at-least-once at best. It runs every
SYNC_SWEEP_EVERY seconds as the periodic job "sync-sweep" (portal/periodic.py).
"""
from __future__ import annotations

import os
import socket
from datetime import timedelta

from flask import current_app
from rq import Queue
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import aliased

from portal import alerts, redis_conn
from portal.extensions import db
from portal.models import Integration, SyncRun
from portal.models.integrations import ACTIVE_RUN_STATUSES, EVENT, RECONCILE, REFRESH, WORKING_RUN_STATUSES, RunStatus
from portal.models.tenancy import utcnow
from portal.sync import removal
from portal.sync.reasons import run_error

JOB_TIMEOUT = 6 * 3600  # a large import takes minutes to hours; the heartbeat, not RQ, detects death
MAX_EVENT_REFS = 500  # resources one event run gathers; more at once are a whole refresh


def queue() -> Queue:
    return Queue("default", connection=redis_conn.connection())


def create_run(integration: Integration, kind: str) -> SyncRun:
    """The row only (flushes); the caller commits, then calls enqueue(run)."""
    run = SyncRun(integration_id=integration.id, kind=kind, status=RunStatus.QUEUED)
    db.session.add(run)
    db.session.flush()
    return run


def enqueue(run: SyncRun) -> None:
    queue().enqueue(run_sync, run.id, job_timeout=JOB_TIMEOUT, description=f"sync run {run.id}")


def lock_integration(integration_id: int) -> None:
    """Serialise the writers of an integration's queued runs until the next commit: a row lock on
    PostgreSQL, the write lock on SQLite (a plain SELECT takes neither)."""
    db.session.execute(update(Integration).where(Integration.id == integration_id)
                       .values(status=Integration.status))


def _queued(integration_id: int) -> SyncRun | None:
    return db.session.scalar(select(SyncRun).where(SyncRun.integration_id == integration_id,
                                                   SyncRun.status == RunStatus.QUEUED).order_by(SyncRun.id).limit(1))


def start_run(integration: Integration, kind: str) -> SyncRun:
    """Debounced: an integration has at most one queued run; a queued one is returned as is (a queued
    event run asked for a whole refresh becomes one)."""
    lock_integration(integration.id)
    queued = _queued(integration.id)
    if queued is not None:
        if queued.kind == EVENT and kind != EVENT:
            queued.kind, queued.scope = kind, None
        db.session.commit()
        return queued
    run = create_run(integration, kind)
    db.session.commit()  # the row before the job (RELIABILITY 10)
    enqueue(run)
    return run


def start_reconcile(integration_id: int) -> SyncRun | None:
    """The periodic reconciliation's full refresh of one integration (origin RECONCILE), made by the
    same code as "Actualizar" (create_run + enqueue), or None when it is not the reconciliation's to start:
    a run is already queued, running or stopping (it will settle the integration), one awaits an admin's
    answer to a large deletion (the admin decides first), or the last run was stopped by a person."""
    lock_integration(integration_id)  # against a person pressing "Actualizar" at the same moment
    busy = db.session.scalar(select(SyncRun.id).where(SyncRun.integration_id == integration_id,
                                                      SyncRun.status.in_((*ACTIVE_RUN_STATUSES, RunStatus.AWAITING)))
                             .limit(1))
    last = db.session.scalar(select(SyncRun.status).where(SyncRun.integration_id == integration_id)
                             .order_by(SyncRun.id.desc()).limit(1))
    if busy is not None or last == RunStatus.STOPPED:
        db.session.commit()
        return None
    run = create_run(db.session.get(Integration, integration_id), REFRESH)
    run.origin = RECONCILE
    db.session.commit()  # the row before the job (RELIABILITY 10)
    enqueue(run)
    return run


def queue_event(integration: Integration, resource_name: str, resource_id: int | None) -> SyncRun:
    """A webhook event for this integration (R4): the queued event run gathers every resource named
    while it waits (coalesced, each once); a queued full run already covers it. An event without a
    resource id, or too many at once, asks for a whole refresh instead."""
    if resource_id is None:
        return start_run(integration, REFRESH)
    return queue_refs(integration, [[resource_name, int(resource_id)]])


def queue_refs(integration: Integration, refs: list[list], origin: str | None = None) -> SyncRun:
    """Queue the resources `refs` ([name, id] each) in one event run, in one transaction: a worker can
    never take the run between two of them (which would split them over several runs). `origin` (RETRY)
    names who asked, also on a queued run the refs join."""
    lock_integration(integration.id)
    queued = _queued(integration.id)
    if queued is None:
        wanted = list(dict.fromkeys(tuple(ref) for ref in refs))
        run = SyncRun(integration_id=integration.id, kind=EVENT if len(wanted) <= MAX_EVENT_REFS else REFRESH,
                      scope=[list(ref) for ref in wanted] if len(wanted) <= MAX_EVENT_REFS else None,
                      status=RunStatus.QUEUED, origin=origin)
        db.session.add(run)
        db.session.commit()
        enqueue(run)
        return run
    queued.origin = queued.origin or origin
    if queued.kind == EVENT:
        scope = list(queued.scope or [])
        scope += [list(ref) for ref in refs if list(ref) not in scope]
        if len(scope) > MAX_EVENT_REFS:
            queued.kind, queued.scope = REFRESH, None
        else:
            queued.scope = scope  # a new list: the JSON column sees the change
    db.session.commit()
    return queued


def claim(run_id: int) -> str:
    """queued -> running, atomically (RELIABILITY 12): "claimed", "taken" (another execution has it),
    or "busy" (another run of the same integration is running: this one stays queued, and that run
    enqueues it when it ends, so events during a run queue one follow-up, never a second writer)."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    now = utcnow()
    integration_id = db.session.scalar(select(SyncRun.integration_id).where(SyncRun.id == run_id))
    if integration_id is None:
        return "taken"
    lock_integration(integration_id)  # claims and queued-run writers of one integration take turns
    other = aliased(SyncRun)
    busy = exists().where(other.integration_id == integration_id, other.id != run_id,
                          other.status.in_(WORKING_RUN_STATUSES))
    result = db.session.execute(update(SyncRun).where(SyncRun.id == run_id, SyncRun.status == RunStatus.QUEUED, ~busy)
                                .values(status=RunStatus.RUNNING, claimed_by=worker, heartbeat_at=now, started_at=now))
    if result.rowcount == 1:
        db.session.commit()
        return "claimed"
    queued = db.session.scalar(select(SyncRun.status).where(SyncRun.id == run_id)) == RunStatus.QUEUED
    db.session.commit()
    return "busy" if queued else "taken"


def run_sync(run_id: int) -> str:
    """The RQ job. Returns the run's final status, or "not_claimed"."""
    from portal.sync.engine import Execution
    from portal.sync.export_run import ExportRun

    claimed = claim(run_id)
    if claimed != "claimed":
        return "not_claimed" if claimed == "taken" else "deferred"
    run = db.session.get(SyncRun, run_id)
    current_app.logger.info("sync run %s (%s) of integration %s started", run.id, run.kind, run.integration_id)
    session = db.session()
    # The run commits often (before every wait, see Execution.wait) and is the only writer of its
    # rows: reloading every row after each commit would double the per-file database work.
    session.expire_on_commit = False
    try:
        status = (ExportRun if run.integration.direction == "export" else Execution)(run).execute()
        if run.origin == RECONCILE and run.repaired:
            current_app.logger.info("reconciliation run %s of integration %s repaired %s items (%s created, "
                                    "%s updated, %s removed)", run.id, run.integration_id, run.repaired,
                                    run.imported, run.updated, run.deleted)
        return status
    except Exception as error:  # noqa: BLE001 - the run must end visible, never stuck in "running"
        db.session.rollback()
        current_app.logger.exception("sync run %s failed", run_id)
        message = run_error("unexpected", f"{type(error).__name__}: {error}")[:2000]
        db.session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            status=RunStatus.FAILED, finished_at=utcnow(), error=message))
        removal.settle_abandoned(run.integration_id, message)
        db.session.expire(run)
        alerts.run_ended(run)
        db.session.commit()
        raise
    finally:
        session.expire_on_commit = True
        follow_up(run.integration_id)


def follow_up(integration_id: int) -> None:
    """Enqueue the run that waited (queued) while this one ran, if any."""
    waiting = db.session.scalar(select(SyncRun.id).where(SyncRun.integration_id == integration_id,
                                                         SyncRun.status == RunStatus.QUEUED)
                                .order_by(SyncRun.id).limit(1))
    db.session.commit()
    if waiting is not None:
        queue().enqueue(run_sync, waiting, job_timeout=JOB_TIMEOUT, description=f"sync run {waiting} (follow-up)")


def sweep() -> list[int]:
    """Re-enqueue runs that no worker is working on; return their ids."""
    stale = utcnow() - timedelta(seconds=current_app.config["SYNC_STALE_AFTER"])
    rows = db.session.scalars(select(SyncRun).where(
        or_(SyncRun.status.in_(WORKING_RUN_STATUSES) & (SyncRun.heartbeat_at < stale),
            (SyncRun.status == RunStatus.QUEUED) & (SyncRun.created_at < stale)))).all()
    revived = []
    for run in rows:
        # Conditional again: a worker that comes back to life in between keeps its run.
        back = RunStatus.STOPPED if run.status == RunStatus.STOPPING else RunStatus.QUEUED
        result = db.session.execute(update(SyncRun).where(SyncRun.id == run.id, SyncRun.status == run.status,
                                                          SyncRun.heartbeat_at == run.heartbeat_at)
                                    .values(status=back, claimed_by=None))
        if result.rowcount == 1 and back == RunStatus.QUEUED:
            revived.append(run.id)
        elif result.rowcount == 1:
            removal.settle_abandoned(run.integration_id, run_error("worker_stopped"))
    db.session.commit()
    for run_id in revived:
        queue().enqueue(run_sync, run_id, job_timeout=JOB_TIMEOUT, description=f"sync run {run_id} (swept)")
    return revived


def sweep_job() -> int:
    """Left for sweeper jobs scheduled before issue 15 (they no longer re-arm): the sweep is now the
    periodic job "sync-sweep" (portal/periodic.py)."""
    return len(sweep())
