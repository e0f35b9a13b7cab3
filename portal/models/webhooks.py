"""Webhook secrets, the inbox of received events, and hook diagnoses (SPEC R8, D3).

Only a SHA-256 of each hook secret is used for lookup; the secret itself is kept
Fernet-encrypted because a health check compares its last five characters with the
masked value Procore shows (procore-api.md §6). Every Procore id is a BigInteger.
"""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.tenancy import utcnow
from portal.models.types import ID, StrEnumType, UTCDateTime


class WebhookSecret(db.Model):
    """The Authorization secret of one of our hooks on one Procore project."""

    __tablename__ = "webhook_secrets"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    procore_project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    procore_hook_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    secret_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    # Set when a newer secret replaced this one; still accepted for a short grace period
    # because Procore may be retrying deliveries queued before the rotation.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:  # never the secret
        return f"<WebhookSecret {self.id} project={self.procore_project_id}>"


class EventStatus(enum.StrEnum):
    """Inbox row states. Terminal: done, failed, quarantined, ignored, self_originated."""

    RECEIVED = "received"
    PROCESSING = "processing"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    IGNORED = "ignored"
    SELF_ORIGINATED = "self_originated"
    RUNNABLE = enum.nonmember((RECEIVED, RETRYING))
    ALL = enum.nonmember((RECEIVED, PROCESSING, RETRYING, DONE, FAILED, QUARANTINED, IGNORED, SELF_ORIGINATED))


class WebhookEvent(db.Model):
    """One event received from Procore: a durable inbox row (RELIABILITY 1-4, 7, 10)."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    # Procore's ulid (v2) or id (v4); "raw:<sha256>" for bodies we could not parse.
    event_key: Mapped[str] = mapped_column(String(100), unique=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True, nullable=True)
    secret_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_secrets.id"), nullable=True)
    procore_company_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    procore_project_id: Mapped[int | None] = mapped_column(BigInteger, index=True, nullable=True)
    payload_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    event_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    resource_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resource_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    event_timestamp: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[EventStatus] = mapped_column(StrEnumType(EventStatus, 20), index=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(60), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw_body: Mapped[str | None] = mapped_column(Text, nullable=True)  # size-capped, for support
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The sync run processing queued or joined for it (issue 14): support sees whether that run failed.
    # No foreign key: removing an integration deletes its runs, and the event's history stays.
    sync_run_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    # What apply_event's callers read (portal/sync/events.py contract).
    @property
    def project_id(self) -> int | None:
        return self.procore_project_id


class HookCheck(db.Model):
    """One diagnosis of one project's webhook (SPEC R8); the newest per project is current."""

    __tablename__ = "webhook_hook_checks"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    procore_project_id: Mapped[int] = mapped_column(BigInteger, index=True)
    procore_project_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    state: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    procore_hook_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    checked_by: Mapped[str] = mapped_column(String(254))
