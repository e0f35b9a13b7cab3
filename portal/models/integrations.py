"""Integrations (what was imported from which Procore project into which cBox folder), their
runs (background work, RELIABILITY 10-12) and the per-item links Procore id -> cBox item (R7, R21).

cBox ids are plain integer columns, not foreign keys: the sync engine owns the link and the
cBox store may delete its items on its own; a dangling id is detected and repaired by a refresh.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, \
    UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.procore import ProcoreAccount
from portal.models.tenancy import Company, User, utcnow
from portal.models.types import ID, StrEnumType, UTCDateTime


class RunStatus(enum.StrEnum):
    """SyncRun.status. "stopping" is a request the worker honours between items. A run awaiting an
    admin's confirmation of a mass deletion ends "cancelled" (the admin said so) or "superseded"
    (a later run listed Procore again and decided anew)."""

    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    DONE = "done"
    FAILED = "failed"
    AWAITING = "awaiting_confirmation"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.STOPPING)
WORKING_RUN_STATUSES = (RunStatus.RUNNING, RunStatus.STOPPING)  # a worker holds the run


class BatchStatus(enum.StrEnum):
    """SyncBatch.status (portal/sync/batches.py)."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    DONE = "done"


class ItemStatus(enum.StrEnum):
    """SyncItem.status: the cBox status icons (SPEC R7)."""

    SYNCED = "synced"
    SYNCING = "syncing"  # a run is writing the item now
    PENDING = "pending"
    PENDING_DELETION = "pending_deletion"
    ERROR = "error"
    SKIPPED = "skipped"  # an export leaves it in cBox on purpose (not an image for Photos, R29): shown "only in cBox"


PROBLEM_ITEM_STATUSES = (ItemStatus.ERROR, ItemStatus.PENDING, ItemStatus.PENDING_DELETION)  # what pages list


class IntegrationStatus(enum.StrEnum):
    """Integration.status. "paused" gets no webhook events and no automatic exports, but still owns its
    folders and links (a second integration of the same folder is refused as for an active one)."""

    ACTIVE = "active"
    PAUSED = "paused"


KEPT = tuple(IntegrationStatus)

IMPORT, REFRESH, EVENT, EXPORT = "import", "refresh", "event", "export"  # run kinds
RECONCILE = "reconcile"  # SyncRun.origin of the refreshes the periodic reconciliation starts (portal/sync/reconcile.py)
RETRY = "retry"  # SyncRun.origin of the run "retry failed items" queues (portal/sync/history.py)


class Integration(db.Model):
    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    cbox_folder_id: Mapped[int] = mapped_column(ID)  # the categorized folder (Documentos)
    procore_folder_id: Mapped[int | None] = mapped_column(ID, nullable=True)  # its "Procore" subfolder (R10)
    procore_company_id: Mapped[int] = mapped_column(BigInteger)
    procore_project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    procore_project_name: Mapped[str] = mapped_column(String(300), default="")
    tool: Mapped[str] = mapped_column(String(20), default="documents")
    direction: Mapped[str] = mapped_column(String(10), default="import", server_default="import")  # or "export"
    procore_root_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # export: CalidadCloud (R24)
    selections: Mapped[dict] = mapped_column(JSON, default=dict)  # {"folders": [ids], "files": [ids]}
    account_id: Mapped[int | None] = mapped_column(ForeignKey("procore_accounts.id"), nullable=True)  # R33
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    status: Mapped[IntegrationStatus] = mapped_column(StrEnumType(IntegrationStatus, 20),
                                                     default=IntegrationStatus.ACTIVE)

    company: Mapped[Company] = relationship()
    account: Mapped[ProcoreAccount | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class SyncRun(db.Model):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_status_heartbeat", "status", "heartbeat_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # import | refresh | event
    # Who started it: None (a person, an event, a follow-up), RECONCILE (the periodic reconciliation) or
    # RETRY (an admin's "retry failed items").
    origin: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # An "event" run covers only these [resource_name, resource_id] pairs, named by webhook events (R4).
    scope: Mapped[list | None] = mapped_column(JSON, nullable=True)
    status: Mapped[RunStatus] = mapped_column(StrEnumType(RunStatus, 30), default=RunStatus.QUEUED)
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(BigInteger, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    listing_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_deletes: Mapped[bool] = mapped_column(Boolean, default=False)
    preview: Mapped[list | None] = mapped_column(JSON, nullable=True)  # paths a refresh would delete
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)

    integration: Mapped[Integration] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES

    @property
    def repaired(self) -> int:
        """What a refresh changed: items created, updated and removed. For a refresh nobody asked for
        (origin RECONCILE) that is drift the webhook events had not brought."""
        return (self.imported or 0) + (self.updated or 0) + (self.deleted or 0)


class SyncBatch(db.Model):
    """Downloads of one run that another worker may take (issue 13, scale-out; portal/sync/batches.py).

    Files the run's own download threads cannot take at once are written here in groups and
    enqueued; any worker (this one included) claims a group with a conditional UPDATE, so each is
    taken once; a claim whose heartbeat goes stale (a killed worker) is taken again. The rows live
    only while their run does: the run deletes them when it ends.
    """
    __tablename__ = "sync_batches"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True)
    status: Mapped[BatchStatus] = mapped_column(StrEnumType(BatchStatus, 20), default=BatchStatus.QUEUED)
    account_id: Mapped[int] = mapped_column(BigInteger)  # the Procore account the run lists and downloads with
    items: Mapped[list] = mapped_column(JSON)  # the files, as the listing gave them (signed links included)
    results: Mapped[list | None] = mapped_column(JSON, nullable=True)  # one entry per item, same order
    claimed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())


class SyncItem(db.Model):
    __tablename__ = "sync_items"
    __table_args__ = (UniqueConstraint("integration_id", "procore_kind", "procore_id",
                                       name="uq_sync_items_integration_kind_procore"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id"), index=True)
    procore_kind: Mapped[str] = mapped_column(String(10))  # folder | file
    procore_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # export: None until created
    procore_parent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    name: Mapped[str] = mapped_column(String(1000), default="")  # Procore's original name
    procore_version_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    procore_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    procore_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cbox_folder_id: Mapped[int | None] = mapped_column(ID, nullable=True, index=True)
    cbox_file_id: Mapped[int | None] = mapped_column(ID, nullable=True, index=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Export: the path under CalidadCloud (Documents) or the description written (Photos, R30).
    exported_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[ItemStatus] = mapped_column(StrEnumType(ItemStatus, 20), default=ItemStatus.PENDING)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # the reason in English (logs, support)
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)  # portal/sync/reasons.py
    reason_args: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_run_id: Mapped[int | None] = mapped_column(ID, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 server_default=func.now())
