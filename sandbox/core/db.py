"""Database plumbing: engine, declarative Base, 64-bit id allocation, sessions.

* All sandbox tables live on ``Base.metadata``; a module that defines models just
  subclasses ``Base`` (and usually ``IdMixin``) and is imported by the app factory
  before ``create_all``.
* Ids: every ``IdMixin`` row gets an id from ONE global sequence starting at
  5_000_000_001 (> 2**32, so clients that store ids in 32-bit ints break, as they
  would in newer Procore regions).  Ids are unique across resource types, which
  makes "passed a file id to /folders/{id}" a 404 instead of silently working.
* Sessions: inside a Flask request the app opens one session per request
  (``current_session()``); it is committed after the view if the response status is
  < 400 and rolled back otherwise.  Outside requests use ``session_scope()``.
* SQLite concurrency: WAL mode; sessions of write requests start with
  ``BEGIN IMMEDIATE`` (the documented SQLAlchemy recipe) so concurrent writers queue
  on busy_timeout instead of failing with "database is locked".
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import BigInteger, String, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ID_START = 5_000_000_001

_session_cv: ContextVar[Session | None] = ContextVar("sandbox_session", default=None)
_write_cv: ContextVar[bool] = ContextVar("sandbox_write_intent", default=False)


class Base(DeclarativeBase):
    pass


class IdMixin:
    """64-bit primary key filled from the global sequence at flush time."""
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class IdSequence(Base):
    __tablename__ = "id_sequence"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class Meta(Base):
    """Key/value store for sandbox internals (e.g. the storage signing secret)."""
    __tablename__ = "sandbox_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(4000))


def make_engine(db_path: str) -> Engine:
    if db_path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(db_path)), exist_ok=True)
    engine = create_engine(
        f"sqlite:///{db_path}",
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=20, max_overflow=40,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _rec):
        dbapi_conn.isolation_level = None  # let SQLAlchemy's begin event emit BEGIN
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # On the DBAPI connection: the same statement without SQLAlchemy's execution machinery (every request
        # begins a transaction; exec_driver_sql cost about 0.1 ms of CPU each).
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if _write_cv.get() else "BEGIN")

    return engine


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT OR IGNORE INTO id_sequence (name, value) VALUES ('global', :v)"), {"v": ID_START - 1})


def drop_schema(engine: Engine) -> None:
    Base.metadata.drop_all(engine)


def next_ids(session: Session, n: int = 1) -> list[int]:
    """Reserve ``n`` consecutive ids from the global sequence."""
    last = session.execute(
        text("UPDATE id_sequence SET value = value + :n WHERE name = 'global' RETURNING value"),
        {"n": n}).scalar_one()
    return list(range(last - n + 1, last + 1))


def next_id(session: Session) -> int:
    return next_ids(session, 1)[0]


@event.listens_for(Session, "before_flush")
def _assign_ids(session, _ctx, _instances):
    pending = [o for o in session.new if isinstance(o, IdMixin) and o.id is None]
    if pending:
        for obj, new_id in zip(pending, next_ids(session, len(pending)), strict=True):
            obj.id = new_id


# --- sessions -----------------------------------------------------------------

def current_session() -> Session:
    s = _session_cv.get()
    if s is None:
        raise RuntimeError("no sandbox DB session active: use sandbox.core.db.session_scope()")
    return s


def has_session() -> bool:
    return _session_cv.get() is not None


def open_session(engine: Engine, write: bool):
    """Open a session and make it current. Returns a token for ``close_session``."""
    s = Session(engine, expire_on_commit=False)
    return s, (_session_cv.set(s), _write_cv.set(write))


def close_session(s: Session, tokens) -> None:
    try:
        s.close()
    finally:
        _session_cv.reset(tokens[0])
        _write_cv.reset(tokens[1])


@contextmanager
def session_scope(engine: Engine | None = None, write: bool = True):
    """Transaction outside of a request (seeding, CLI, background threads).

    Needs an app context unless ``engine`` is given.
    """
    if engine is None:
        from flask import current_app
        engine = current_app.extensions["sandbox"].engine
    s, tokens = open_session(engine, write)
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
    finally:
        close_session(s, tokens)


def get_meta(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(Meta, key)
    return row.value if row else default


def set_meta(session: Session, key: str, value: str) -> None:
    row = session.get(Meta, key)
    if row:
        row.value = value
    else:
        session.add(Meta(key=key, value=value))
