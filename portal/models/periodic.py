"""When each periodic job (portal/periodic.py) last ran, for support (issue 15).

Kept in the database, not in Redis: Redis is not our system of record (RELIABILITY, "Facts"), and the
moment support most needs to see when a job last ran is after Redis was flushed or restarted, which
would have erased a Redis key with the schedule. One row per job, written when a run starts and when
it ends (the shortest interval is a minute: two small writes a minute). The *next* run is read from
Redis, where RQ's scheduler keeps it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime


class PeriodicJobRun(db.Model):
    __tablename__ = "periodic_jobs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)  # portal/periodic.py PERIODIC names
    runs: Mapped[int] = mapped_column(Integer, default=0)  # executions recorded since the row was created
    last_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # its slot
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_result: Mapped[int | None] = mapped_column(Integer, nullable=True)  # what the job counted (see PERIODIC)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)  # None when the last run succeeded
    last_worker: Mapped[str | None] = mapped_column(String(120), nullable=True)
