"""Change events: the single hook every mutation calls.

``record_change(...)`` writes one row to the ``events`` table inside the CURRENT
transaction (so a rolled-back request leaves no event).  The outbound webhook
dispatcher reads that table (rows in id order; ids come from the global 64-bit
sequence and grow monotonically) and may also register a listener with
``add_listener(fn)``; listeners are called with a list of event dicts AFTER the
transaction commits (from the committing thread; keep them fast, e.g. set a
threading.Event).

Resource names (fact sheet section 6, third-party list): "Project Folders",
"Project Files", "Project File Versions", "Images", "Image Categories",
"Drawings", "Drawing Sets", "Drawing Uploads", "Drawing Areas", "Drawing Revisions"
(the last one is NOT confirmed by Procore).  event_type: create | update | delete.
"""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import BigInteger, Float, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import clock
from .db import Base, IdMixin, current_session

EVENT_TYPES = ("create", "update", "delete")

_suppressed: ContextVar[bool] = ContextVar("sandbox_events_suppressed", default=False)
_listeners: list = []
_listeners_lock = threading.Lock()


class Event(IdMixin, Base):
    __tablename__ = "events"
    ulid: Mapped[str] = mapped_column(String(26), unique=True)
    project_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    company_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    resource_name: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    application_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)

    def to_dict(self) -> dict:
        return {"id": self.id, "ulid": self.ulid, "project_id": self.project_id,
                "company_id": self.company_id, "resource_name": self.resource_name,
                "event_type": self.event_type, "resource_id": self.resource_id,
                "user_id": self.user_id, "application_id": self.application_id,
                "timestamp": clock.iso(self.created_at), "created_at": self.created_at}


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(ts: float | None = None) -> str:
    ms = int((ts if ts is not None else time.time()) * 1000)
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def record_change(project_id, company_id, resource_name, event_type, resource_id,
                  user_id, application_id, *, session: Session | None = None):
    """Record one change. Call it from service-layer functions, never from views only.

    ``application_id`` is the OAuth client_id of the token that made the change
    (None for changes made in the sandbox UI, like a human in Procore's web app).
    Returns the Event row (or None while events are suppressed, e.g. during seeding).
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"bad event_type {event_type!r}")
    if _suppressed.get():
        return None
    s = session or current_session()
    ts = clock.now()
    ev = Event(ulid=new_ulid(ts), project_id=project_id, company_id=company_id,
               resource_name=resource_name, event_type=event_type, resource_id=int(resource_id),
               user_id=user_id, application_id=application_id, created_at=ts)
    s.add(ev)
    s.info.setdefault("sandbox_pending_events", []).append(ev)
    return ev


@contextmanager
def suppressed():
    """Do not record events inside this block (used by seeding / bulk generation)."""
    tok = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(tok)


def add_listener(fn) -> None:
    with _listeners_lock:
        if fn not in _listeners:
            _listeners.append(fn)


def remove_listener(fn) -> None:
    with _listeners_lock:
        if fn in _listeners:
            _listeners.remove(fn)


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    pending = session.info.pop("sandbox_pending_events", None)
    if not pending:
        return
    payload = [e.to_dict() for e in pending]
    with _listeners_lock:
        fns = list(_listeners)
    for fn in fns:
        try:
            fn(payload)
        except Exception:  # a broken listener must not break the API
            pass


@event.listens_for(Session, "after_rollback")
def _after_rollback(session):
    session.info.pop("sandbox_pending_events", None)


def events_after(session: Session, after_id: int = 0, limit: int = 500,
                 project_id: int | None = None) -> list[Event]:
    stmt = select(Event).where(Event.id > after_id)
    if project_id is not None:
        stmt = stmt.where(Event.project_id == project_id)
    return list(session.scalars(stmt.order_by(Event.id).limit(limit)))
