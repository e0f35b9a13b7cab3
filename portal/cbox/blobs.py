"""Blob rows and the blob store together: streaming writes and garbage collection.

Re-exported by portal/cbox/store.py (write_blob, collect_garbage); see its docstring.
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, event, exists, select, text

from portal.cbox.blobstore import get_blob_store, is_disk_full
from portal.cbox.errors import BlobSizeMismatch, CboxError, StorageFull
from portal.extensions import db
from portal.models.cbox import CboxBlob, CboxFileVersion
from portal.models.tenancy import utcnow

CHUNK = 1024 * 1024  # streamed in 1 MiB pieces: a file is never whole in memory


def _copy(stream, writer) -> int:
    total = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return total
        writer.write(chunk)
        total += len(chunk)


def write_blob(stream, *, expected_size: int | None = None) -> CboxBlob:
    """Stream `stream` into the blob store and return its (possibly existing) CboxBlob row."""
    if not hasattr(stream, "read"):
        raise CboxError(_l("A readable stream is required."))
    if expected_size is not None and (not isinstance(expected_size, int) or expected_size < 0):
        raise CboxError(_l("The expected size must be a whole number of bytes."))
    writer = get_blob_store().open_writer()
    try:
        size = _copy(stream, writer)
        if expected_size is not None and size != expected_size:
            raise BlobSizeMismatch(expected_size, size)  # checked before commit: nothing reaches the store
        sha256, size = writer.commit()
    except OSError as error:
        writer.abort()
        if is_disk_full(error):
            raise StorageFull(_l("The document store is full; nothing was stored. Try again later.")) from error
        raise
    except BaseException:
        writer.abort()
        raise
    return _record(sha256, size)


def _stored_whole(store, sha256, size) -> bool:
    """Whether the blob store holds exactly that digest with that size (never a partial file)."""
    return isinstance(sha256, str) and len(sha256) == 64 and store.exists(sha256) and store.size(sha256) == size


def register_blob(sha256: str, size: int) -> CboxBlob:
    """Record content already committed to the blob store by a writer of `get_blob_store()`.

    For callers that stream straight into the store (the sync engine's download threads), so
    the content is not copied a second time. Refused unless a stored file has that digest and
    size: a row never points at missing or partial content.
    """
    if not _stored_whole(get_blob_store(), sha256, size):
        raise CboxError(_l("The stored content is missing or incomplete."))
    return _record(sha256, size)


# One statement, the same on PostgreSQL and SQLite (>= 3.35), as text: SQLAlchemy cannot cache the compiled
# form of a dialect upsert construct, and an ORM bulk UPDATE walks the whole identity map; text is compiled once.
_UPSERT_SQL = ("INSERT INTO cbox_blobs (sha256, size, created_at, last_written_at) VALUES (:sha256, :size, :now, :now) "
               "ON CONFLICT (sha256) DO UPDATE SET last_written_at = excluded.last_written_at")
_UPSERT_TYPES = (bindparam("now", type_=CboxBlob.__table__.c.last_written_at.type),
                 bindparam("size", type_=CboxBlob.__table__.c.size.type))
_UPSERT_MANY = text(_UPSERT_SQL).bindparams(*_UPSERT_TYPES)  # executemany: no RETURNING
_UPSERT = text(_UPSERT_SQL + " RETURNING sha256, size, created_at, last_written_at").bindparams(
    *_UPSERT_TYPES).columns(CboxBlob.sha256, CboxBlob.size, CboxBlob.created_at, CboxBlob.last_written_at)


def register_blobs(digests) -> dict[str, CboxBlob]:
    """register_blob for many (sha256, size) pairs at once: two statements for the lot.

    Returns {sha256: CboxBlob} for the content that is stored whole; a pair whose content is
    missing or incomplete is left out (never recorded), and the caller reports it.
    """
    store = get_blob_store()
    valid = {sha256: size for sha256, size in digests if _stored_whole(store, sha256, size)}
    if not valid:
        return {}
    now = utcnow()
    db.session.execute(_UPSERT_MANY, [{"sha256": sha, "size": size, "now": now} for sha, size in valid.items()])
    rows = db.session.scalars(select(CboxBlob).where(CboxBlob.sha256.in_(list(valid))),
                              execution_options={"populate_existing": True})
    return {blob.sha256: blob for blob in rows}


def _record(sha256: str, size: int) -> CboxBlob:
    """Insert the blob row once, even when two workers store the same content at the same time;
    a second write of the same content refreshes last_written_at (garbage collection's grace)."""
    return db.session.scalars(select(CboxBlob).from_statement(_UPSERT),
                              {"sha256": sha256, "size": size, "now": utcnow()},
                              execution_options={"populate_existing": True}).one()


def collect_garbage(grace: timedelta = timedelta(hours=1)) -> int:
    """Delete blobs no version references; their files go once the caller commits.

    `grace` protects content just written whose version row is not committed yet.
    Returns how many blobs were collected.
    """
    cutoff = utcnow() - grace
    unused = db.session.scalars(select(CboxBlob.sha256).where(
        ~exists().where(CboxFileVersion.blob_sha256 == CboxBlob.sha256),
        CboxBlob.last_written_at <= cutoff)).all()
    orphans = _orphan_files(grace)
    if not unused:
        return orphans
    for sha256 in unused:
        db.session.delete(db.session.get(CboxBlob, sha256))
    db.session.flush()
    store = get_blob_store()

    # Files are removed only after the rows are gone for good: a rollback keeps both.
    @event.listens_for(db.session(), "after_commit", once=True)
    def _remove_files(_session):
        for sha in unused:
            store.delete(sha)

    return len(unused) + orphans


def _orphan_files(grace: timedelta) -> int:
    """Remove stored files without a row: content of uploads whose transaction rolled back."""
    store = get_blob_store()
    removed = 0
    for sha256 in list(store.iter_blobs(older_than=grace.total_seconds())):
        if db.session.get(CboxBlob, sha256) is None:
            store.delete(sha256)
            removed += 1
    return removed
