"""Call out, then write: no database transaction stays open across a network call.

The rule (ARCHITECTURE.md "Rules the code must make easy"; RELIABILITY 19): before a request to
Procore (API, login host, storage) the current session's transaction is committed or rolled back.
A transaction left open holds locks for as long as Procore takes: on SQLite the write lock of a
flushed row, on PostgreSQL row locks and a snapshot. The new token pair of a refresh is saved in
a session of its own (portal/connections/credentials.py); if it has to wait on our own open
transaction, the save fails after Procore has already consumed the old refresh token, and the
account ends up needing a new login.

The one helper is ``before_network_call(what)``. Every Procore request goes through it without
anyone calling it: ``client_for`` gives each ``ProcoreClient`` it as ``before_call``, which the
client runs before each attempt, before pacing and before a token refresh. Code that calls out
by other means (the OAuth code exchange, the revoke on disconnect) calls it itself.

What it does with the current thread's ``db.session``:

* nothing outside an app context, or when the session has no transaction;
* a read-only transaction is simply ended (a commit that writes nothing);
* pending writes (new, changed or deleted objects, rows flushed or DML executed but not
  committed) are a bug in the caller, who should have committed or rolled back first. With
  ``STRICT_DB_BOUNDARY`` (on in development and testing) it raises
  ``OpenTransactionAcrossNetworkCall`` naming the call; otherwise (production's default) it logs
  an error and commits, so nothing is lost and no lock is held across the call.

Flushed-but-uncommitted writes are tracked with session events: ``after_flush`` and
``do_orm_execute`` (INSERT/UPDATE/DELETE statements) mark the root transaction,
``after_transaction_end`` of the root transaction (commit or rollback) clears the mark.
"""
from __future__ import annotations

import logging

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db

log = logging.getLogger(__name__)
_WROTE = "db_boundary.wrote"  # session.info key: the root transaction that wrote


class OpenTransactionAcrossNetworkCall(RuntimeError):
    """A database write was still uncommitted when a network call started."""


def before_network_call(what: str) -> None:
    """End the current session's transaction before calling out; a pending write is a bug."""
    if not has_app_context():
        return
    registry = db.session.registry
    if not registry.has():
        return
    session = registry()
    if not session.in_transaction():
        return
    pending = pending_writes(session)
    if pending:
        if current_app.config["STRICT_DB_BOUNDARY"]:
            raise OpenTransactionAcrossNetworkCall(
                f"{pending} before the network call {what}: commit (or roll back) before calling out")
        log.error("%s before the network call %s: committing first (STRICT_DB_BOUNDARY is off)", pending, what)
    session.commit()


def pending_writes(session: Session) -> str | None:
    """Why the session's transaction holds uncommitted writes, or None when it holds none."""
    if session.new:
        return f"{len(session.new)} new object(s) not committed"
    if session.deleted:
        return f"{len(session.deleted)} deleted object(s) not committed"
    modified = [obj for obj in session.dirty if session.is_modified(obj)]
    if modified:
        return f"{len(modified)} changed object(s) ({type(modified[0]).__name__}) not committed"
    wrote = session.info.get(_WROTE)
    if wrote is not None and wrote is session.get_transaction():
        return "rows flushed but not committed"
    return None


def _mark(session: Session) -> None:
    session.info[_WROTE] = session.get_transaction()


def _after_flush(session: Session, _flush_context) -> None:
    _mark(session)


def _do_orm_execute(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        if state.session.get_transaction() is None:
            state.session.connection()  # begin now (the statement would), so the mark has its transaction
        _mark(state.session)


def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:  # the root transaction: committed or rolled back
        session.info.pop(_WROTE, None)


_LISTENERS = (("after_flush", _after_flush), ("do_orm_execute", _do_orm_execute),
              ("after_transaction_end", _after_transaction_end))


def init_app(app) -> None:
    """Track writes on the portal's sessions (idempotent: the listeners are per session class)."""
    for name, listener in _LISTENERS:
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
