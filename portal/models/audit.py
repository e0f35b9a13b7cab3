"""The audit log: who did what to a company's Procore connections, webhooks, integrations and
permissions (issue 14). One row per action, written in the same transaction as the action itself,
so an action that rolls back leaves no entry and a committed one always has its entry."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.tenancy import utcnow
from portal.models.types import ID, UTCDateTime


class AuditEntry(db.Model):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now(),
                                                 index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"), nullable=True,
                                                   index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    actor: Mapped[str] = mapped_column(String(255))  # the user's e-mail then, or "system" / "cli"
    action: Mapped[str] = mapped_column(String(40), index=True)  # portal/audit.py ACTIONS
    target: Mapped[str] = mapped_column(String(500), default="")  # what it concerned, as people name it
    target_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)
