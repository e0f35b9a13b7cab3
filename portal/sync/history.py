"""What an admin sees and does about an integration over time (issue 14; SPEC D1, R7, R34).

Run history (every run with its start, duration and counts, and the items each run left failed,
pending or skipped with the reason), the item states as CSV, "retry failed items", and pause,
resume and remove. Everything shown is read from recorded rows (runs and links), never assumed.

Retrying failed items queues a run scoped to them, the way a webhook event does (jobs.queue_event):
only those items are read from Procore again. A failed folder, more failures than one event run
gathers, or an export (whose runs compare the whole cBox tree anyway) queue a whole refresh.

Pausing stops the integration's automatic work: webhook events no longer reach it (events.py
routes to active integrations only), exports of cBox changes stop, and a queued or running run is
stopped as "Stop" does. Resuming queues a refresh, because events that came while it was paused
were not kept for it. Removing one deletes its runs and links and nothing else: the copies stay
in cBox (or in Procore's CalidadCloud, for an export), no longer linked.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update

from portal.extensions import db
from portal.models import CboxFile, CboxFolder, Integration, SyncItem, SyncRun
from portal.models.integrations import EXPORT, PROBLEM_ITEM_STATUSES, REFRESH, RETRY, WORKING_RUN_STATUSES, \
    IntegrationStatus, ItemStatus, RunStatus, SyncBatch
from portal.procore.resources import RESOURCES
from portal.sync import jobs, states
from portal.sync.reasons import describe

RUNS_PER_PAGE = 20
# The resource a failed file is read again as (the name its webhook events carry, procore/resources.py).
FILE_RESOURCE = {"documents": "Project Files", "photos": "Images", "drawings": "Drawings"}
assert all(RESOURCES[name][0] == tool for tool, name in FILE_RESOURCE.items())


@dataclass
class RunRow:
    """One line of the run history."""

    run: SyncRun

    @property
    def started(self) -> datetime:
        return self.run.started_at or self.run.created_at

    @property
    def seconds(self) -> float | None:
        """How long it ran; None while it has not started or not ended."""
        if self.run.started_at is None or self.run.finished_at is None:
            return None
        return max((self.run.finished_at - self.run.started_at).total_seconds(), 0.0)


@dataclass
class ItemRow:
    """An item a run left in a state other than synced, with the reason in the user's language."""

    kind: str
    name: str
    status: str
    reason: str | None

    @property
    def label(self) -> str:
        return states.label(self.status) if self.status != ItemStatus.SKIPPED else states.label(states.LOCAL)


def runs(integration: Integration, page: int = 1, per_page: int = RUNS_PER_PAGE) -> tuple[list[RunRow], int]:
    """The page's runs, newest first, and how many runs there are."""
    total = db.session.scalar(select(func.count()).select_from(SyncRun)
                              .where(SyncRun.integration_id == integration.id)) or 0
    rows = db.session.scalars(select(SyncRun).where(SyncRun.integration_id == integration.id)
                              .order_by(SyncRun.id.desc()).offset((max(page, 1) - 1) * per_page)
                              .limit(per_page)).all()
    return [RunRow(run) for run in rows], total


def run_items(run: SyncRun, limit: int = 500) -> list[ItemRow]:
    """The items this run was the last to touch and left failed, pending or skipped (export)."""
    links = db.session.scalars(select(SyncItem).where(
        SyncItem.integration_id == run.integration_id, SyncItem.last_run_id == run.id,
        SyncItem.status.in_((*PROBLEM_ITEM_STATUSES, ItemStatus.SKIPPED)))
        .order_by(SyncItem.status, SyncItem.name).limit(limit)).all()
    return [ItemRow(link.procore_kind, link.name, link.status,
                    describe(link.reason_code, link.reason_args, link.error)) for link in links]


def last_success(integration: Integration) -> datetime | None:
    """When the last run that ended "done" finished (None: never)."""
    return db.session.scalar(select(func.max(SyncRun.finished_at)).where(
        SyncRun.integration_id == integration.id, SyncRun.status == RunStatus.DONE))


def item_counts(integration_ids: list[int]) -> dict[int, dict[str, int]]:
    """{integration id: {item status: count}} in one query."""
    counts: dict[int, dict[str, int]] = {integration_id: {} for integration_id in integration_ids}
    if integration_ids:
        for integration_id, status, count in db.session.execute(
                select(SyncItem.integration_id, SyncItem.status, func.count()).where(
                    SyncItem.integration_id.in_(integration_ids)).group_by(SyncItem.integration_id, SyncItem.status)):
            counts[integration_id][status] = count
    return counts


def failed_links(integration: Integration) -> list[SyncItem]:
    return db.session.scalars(select(SyncItem).where(SyncItem.integration_id == integration.id,
                                                     SyncItem.status == ItemStatus.ERROR)).all()


def retry_failed(integration: Integration) -> SyncRun | None:
    """Queue a run for the items in error (None: there are none). Commits."""
    failed = failed_links(integration)
    if not failed:
        return None
    scoped = (integration.direction != EXPORT and len(failed) <= jobs.MAX_EVENT_REFS
              and all(link.procore_kind == states.FILE and link.procore_id is not None for link in failed))
    if not scoped:
        return jobs.start_run(integration, REFRESH)
    resource = FILE_RESOURCE[integration.tool]
    return jobs.queue_refs(integration, [[resource, link.procore_id] for link in failed], origin=RETRY)


def pause(integration: Integration) -> None:
    """No more automatic work; a queued run stops at once, a running one at its next item. Commits."""
    integration.status = IntegrationStatus.PAUSED
    stop_runs(integration)
    db.session.commit()


def resume(integration: Integration) -> SyncRun:
    """Active again, with a refresh for what changed while paused. Commits."""
    integration.status = IntegrationStatus.ACTIVE
    db.session.commit()
    return jobs.start_run(integration, REFRESH if _ever_done(integration) else integration.direction)


def _ever_done(integration: Integration) -> bool:
    return db.session.scalar(select(SyncRun.id).where(SyncRun.integration_id == integration.id,
                                                      SyncRun.status == RunStatus.DONE).limit(1)) is not None


def stop_runs(integration: Integration) -> None:
    """A queued run stops at once; a running one at the worker's next item (it checks between items).
    Flushes; the caller commits."""
    for before, after in ((RunStatus.QUEUED, RunStatus.STOPPED), (RunStatus.RUNNING, RunStatus.STOPPING)):
        db.session.execute(update(SyncRun).where(SyncRun.integration_id == integration.id,
                                                 SyncRun.status == before).values(status=after))


class StillRunning(Exception):
    """A run of the integration has not ended: it must stop before the integration can go."""


def remove(integration: Integration) -> dict:
    """Delete the integration, its runs, batches and links; the copies stay. Refused (StillRunning)
    while a run is running or stopping. Returns what was removed, for the message. Commits."""
    jobs.lock_integration(integration.id)
    if is_running(integration):
        db.session.rollback()
        raise StillRunning()
    run_ids = select(SyncRun.id).where(SyncRun.integration_id == integration.id).scalar_subquery()
    links = db.session.execute(delete(SyncItem).where(SyncItem.integration_id == integration.id)).rowcount
    db.session.execute(delete(SyncBatch).where(SyncBatch.run_id.in_(run_ids)))
    runs_removed = db.session.execute(delete(SyncRun).where(SyncRun.integration_id == integration.id)).rowcount
    db.session.delete(integration)
    db.session.commit()
    return {"links": links, "runs": runs_removed}


def is_running(integration: Integration) -> bool:
    """A run is running or stopping (a queued one is simply removed with the rest)."""
    return db.session.scalar(select(func.count()).select_from(SyncRun).where(
        SyncRun.integration_id == integration.id, SyncRun.status.in_(WORKING_RUN_STATUSES))) > 0


# -- CSV ---------------------------------------------------------------------------------------------
CSV_HEADER = ("kind", "procore_id", "name", "cbox_path", "status", "reason", "updated_at", "last_run")


def items_csv(integration: Integration) -> str:
    """Every item of the integration with its state and reason (the reason in the user's language;
    the status as its stable code, so a spreadsheet can filter on it)."""
    links = db.session.scalars(select(SyncItem).where(SyncItem.integration_id == integration.id)
                               .order_by(SyncItem.procore_kind.desc(), SyncItem.name)).all()
    paths = _Paths(integration)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for link in links:
        writer.writerow([link.procore_kind, link.procore_id or "", _safe(link.name), _safe(paths.of(link)),
                         link.status, _safe(describe(link.reason_code, link.reason_args, link.error) or ""),
                         link.updated_at.strftime("%Y-%m-%d %H:%M:%S") if link.updated_at else "",
                         link.last_run_id or ""])
    return out.getvalue()


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (CSV injection): names come from Procore users."""
    text = str(value or "")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class _Paths:
    """cBox paths of linked items, from one read of the project's folders."""

    def __init__(self, integration: Integration):
        root = db.session.get(CboxFolder, integration.cbox_folder_id)
        self.folders: dict[int, tuple[int | None, str]] = {}
        if root is not None:
            self.folders = {fid: (parent, name) for fid, parent, name in db.session.execute(
                select(CboxFolder.id, CboxFolder.parent_id, CboxFolder.name).where(
                    CboxFolder.project_id == root.project_id))}
        self.files: dict[int, tuple[int, str]] = {}
        file_ids = db.session.scalars(select(SyncItem.cbox_file_id).where(
            SyncItem.integration_id == integration.id, SyncItem.cbox_file_id.is_not(None))).all()
        for start in range(0, len(file_ids), 500):
            for fid, folder_id, name in db.session.execute(select(CboxFile.id, CboxFile.folder_id, CboxFile.name)
                                                           .where(CboxFile.id.in_(file_ids[start:start + 500]))):
                self.files[fid] = (folder_id, name)

    def folder(self, folder_id: int | None) -> list[str]:
        names: list[str] = []
        while folder_id is not None and folder_id in self.folders and len(names) < 200:
            folder_id, name = self.folders[folder_id]
            names.append(name)
        return names[::-1]

    def of(self, link: SyncItem) -> str:
        if link.cbox_file_id is not None and link.cbox_file_id in self.files:
            folder_id, name = self.files[link.cbox_file_id]
            return "/".join([*self.folder(folder_id), name])
        if link.cbox_folder_id is not None and link.cbox_folder_id in self.folders:
            return "/".join(self.folder(link.cbox_folder_id))
        return ""

