"""Alerts (issue 14): something a company's admins should know, recorded when it happens (in the
transaction that records the fact itself), shown in the portal's header and mailed by the periodic
"alerts-mail" job (portal/alerts.py). Each user's choices live in `users.alert_settings`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.tenancy import utcnow
from portal.models.types import ID, UTCDateTime


class Alert(db.Model):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # portal/alerts.py KINDS
    subject: Mapped[str] = mapped_column(String(300), default="")  # what it concerns: a project, a login
    link: Mapped[str] = mapped_column(String(500), default="")  # where it is fixed (a path in the portal)
    params: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now(),
                                                 index=True)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
