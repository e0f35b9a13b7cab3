"""The cBox store API (portal/cbox/store.py): trees, names, versions, blobs (SPEC D1, R7, R10, R21)."""
from __future__ import annotations

import errno
import hashlib
import io
from datetime import timedelta

import pytest

from portal.cbox import store
from portal.cbox.blobstore import FileSystemBlobStore, FileSystemWriter, get_blob_store
from portal.cbox.errors import BlobSizeMismatch, CboxError, InvalidMove, ProtectedItem, StorageFull
from portal.models import CboxBlob, CboxFile, CboxFolder


@pytest.fixture
def ctx(app, db, make_company):
    company = make_company("Constructora Sur")
    with app.app_context():
        # The blob store is shared by the session: start without temps (a worker killed by
        # another test may have left one, as a real crash would).
        get_blob_store().remove_stale_temps(older_than=-60)
        project = store.create_project(company.id, "Obra 1")
        db.session.commit()
        yield project
        db.session.rollback()


def _blob(data: bytes, **kw) -> CboxBlob:
    return store.write_blob(io.BytesIO(data), **kw)


def _temps() -> list[str]:
    return get_blob_store().list_temps()


def _on_filesystem() -> bool:
    return isinstance(get_blob_store(), FileSystemBlobStore)


def _writer_class():
    if _on_filesystem():
        return FileSystemWriter
    from portal.cbox.s3store import S3Writer

    return S3Writer


def _final_paths_intact() -> bool:
    """Every stored blob holds exactly the content its name (the sha256) promises (read streaming)."""
    blob_store = get_blob_store()
    for sha256 in blob_store.iter_blobs(older_than=-60):  # a cutoff in the future: every blob
        digest = hashlib.sha256()
        with blob_store.open(sha256) as stream:
            while chunk := stream.read(1024 * 1024):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            return False
    return True


def test_project_has_three_categorized_folders(ctx):
    names = {kind: store.categorized_folder(ctx, kind).name for kind in ("documents", "photos", "drawings")}
    assert names == {"documents": "Documentos", "photos": "Imágenes", "drawings": "Planos"}
    with pytest.raises(CboxError):
        store.categorized_folder(ctx, "videos")


def test_duplicate_project_name_is_refused(ctx):
    with pytest.raises(CboxError, match="already exists"):
        store.create_project(ctx.company_id, "Obra 1")


def test_ensure_folder_is_idempotent_and_create_folder_suffixes(ctx):
    docs = store.categorized_folder(ctx, "documents")
    procore = store.ensure_folder(docs, "Procore", origin="procore")
    assert store.ensure_folder(docs, "procore") is procore  # case-insensitive (R10: one Procore folder)
    second = store.create_folder(docs, "Procore")
    assert second.name == "Procore (2)" and second.original_name == "Procore"
    assert store.path_of(store.ensure_folder(procore, "Specs")) == ["Documentos", "Procore", "Specs"]


def test_ensure_folder_beside_a_file_of_that_name_stays_idempotent(ctx):
    docs = store.categorized_folder(ctx, "documents")
    store.add_file(docs, "Plans", _blob(b"x"))
    first = store.ensure_folder(docs, "Plans")
    assert first.name == "Plans (2)"
    assert store.ensure_folder(docs, "Plans") is first


def test_blob_dedup_and_atomic_path(ctx):
    data = b"hello cbox" * 1000
    first, second = _blob(data), _blob(data)
    assert first is second and first.sha256 == hashlib.sha256(data).hexdigest() and first.size == len(data)
    with get_blob_store().open(first.sha256) as stream:
        assert stream.read() == data
    assert get_blob_store().location(first.sha256).endswith("/" + first.sha256)  # never a name from the user
    assert _temps() == []


def test_size_mismatch_stores_nothing(ctx):
    with pytest.raises(BlobSizeMismatch, match="Expected 5 bytes but received 3"):
        _blob(b"abc", expected_size=5)
    assert not get_blob_store().exists(hashlib.sha256(b"abc").hexdigest())
    assert _temps() == []


def test_disk_full_is_reported_and_temp_removed(ctx, monkeypatch):
    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_writer_class(), "write", full)  # S3 refuses no write so: the mapping is what is tested
    with pytest.raises(StorageFull, match="full"):
        _blob(b"big content")
    assert _temps() == []


def test_crash_mid_write_leaves_no_partial_file_at_final_path(ctx, monkeypatch):
    """A reader that dies half-way: the exception propagates, nothing lands at a final path."""
    data = b"A" * (3 * 1024 * 1024)

    class Dying(io.BytesIO):
        def read(self, n=-1):
            if self.tell() >= 1024 * 1024:
                raise ConnectionError("peer went away")
            return super().read(n)

    with pytest.raises(ConnectionError):
        store.write_blob(Dying(data))
    assert not get_blob_store().exists(hashlib.sha256(data).hexdigest())
    assert _final_paths_intact()
    assert _temps() == []


def test_hard_crash_leaves_only_an_ignored_temp_that_is_swept(ctx):
    """A killed process cannot abort(): its temp (a .part file in tmp/, or an S3 multipart upload under
    tmp/) stays, is never read, and is swept."""
    writer = get_blob_store().open_writer()
    # The process "dies" after this: no commit, no abort. On S3 a whole part has reached the server.
    half = b"half of it" * (1 if _on_filesystem() else (get_blob_store().part_size // 10 + 1))
    writer.write(half)
    if _on_filesystem():
        writer._file.flush()
    assert len(_temps()) == 1 and _final_paths_intact()
    assert not get_blob_store().exists(hashlib.sha256(half).hexdigest())
    assert get_blob_store().remove_stale_temps(older_than=-1) == 1
    assert _temps() == []
    if _on_filesystem():
        writer._file.close()


def test_add_file_unique_names_and_versions(ctx):
    docs = store.categorized_folder(ctx, "documents")
    a = store.add_file(docs, "Plano.pdf", _blob(b"v1"))
    b = store.add_file(docs, "plano.PDF", _blob(b"other"))
    assert (a.name, b.name, b.original_name) == ("Plano.pdf", "plano (2).PDF", "plano.PDF")
    v1 = a.current_version
    assert store.add_version(a, _blob(b"v1")) is v1  # identical content: no new version
    v2 = store.add_version(a, _blob(b"v2"))
    assert (v1.number, v2.number, a.current_version.number, a.size) == (1, 2, 2, 2)
    folders, files = store.children(docs)
    assert folders == [] and [f.name for f in files] == ["plano (2).PDF", "Plano.pdf"]  # by name_key
    assert store.find_child(docs, "PLANO.pdf") is a


def test_rename_move_delete(ctx):
    docs = store.categorized_folder(ctx, "documents")
    one, two = store.create_folder(docs, "One"), store.create_folder(docs, "Two")
    inner = store.create_folder(one, "Inner")
    f = store.add_file(one, "a.txt", _blob(b"a"))
    store.add_file(two, "a.txt", _blob(b"b"))
    store.rename(f, "A.TXT")  # a case change of itself is not a clash
    assert f.name == "A.TXT"
    store.move(f, two)
    assert f.folder is two and f.name == "A (2).TXT"
    with pytest.raises(InvalidMove, match="into itself"):
        store.move(one, inner)
    with pytest.raises(InvalidMove, match="same categorized folder"):
        store.move(two, store.categorized_folder(ctx, "photos"))
    with pytest.raises(ProtectedItem):
        store.rename(docs, "Docs")
    with pytest.raises(ProtectedItem):
        store.delete(docs)
    store.move(inner, two)
    store.delete(two)
    assert store.children(docs)[0] == [one]
    assert inner.id is not None and store.children(one) == ([], [])


def test_delete_keeps_blobs_until_garbage_collection(app, db, ctx):
    docs = store.categorized_folder(ctx, "documents")
    shared, lonely = _blob(b"shared"), _blob(b"lonely")
    store.add_file(docs, "keep.txt", shared)
    gone = store.add_file(docs, "gone.txt", lonely)
    store.add_version(gone, shared)
    db.session.commit()
    store.delete(gone)
    assert get_blob_store().exists(lonely.sha256)
    assert store.collect_garbage() == 0  # within the grace period
    assert store.collect_garbage(grace=timedelta(0)) >= 1  # (+ files other tests left without rows)
    assert get_blob_store().exists(lonely.sha256)  # files go only after commit
    db.session.commit()
    assert not get_blob_store().exists(lonely.sha256) and get_blob_store().exists(shared.sha256)
    assert db.session.get(CboxBlob, shared.sha256) is not None


def test_writing_content_again_renews_its_grace_period(app, db, ctx):
    """The one-statement upsert (blobs._record): a second write of the same content keeps one row with
    its first size and creation time, and moves last_written_at, so garbage collection spares content an
    unfinished transaction is about to reference again."""
    first = _blob(b"written twice, referenced by nobody")
    created = first.created_at
    first.last_written_at = first.last_written_at - timedelta(hours=3)
    db.session.commit()
    assert store.collect_garbage(grace=timedelta(hours=1)) >= 1 and db.session.get(CboxBlob, first.sha256) is None
    db.session.rollback()  # the collection was not committed: the row is back, still 3 hours old
    again = _blob(b"written twice, referenced by nobody")
    assert again is db.session.get(CboxBlob, first.sha256)
    assert (again.size, again.created_at) == (35, created)
    assert again.last_written_at > created
    db.session.commit()
    assert store.collect_garbage(grace=timedelta(hours=1)) == 0
    assert db.session.get(CboxBlob, first.sha256) is not None


def test_validation(ctx):
    docs = store.categorized_folder(ctx, "documents")
    with pytest.raises(CboxError, match="Unknown origin"):
        store.create_folder(docs, "Y", origin="dropbox")
    with pytest.raises(CboxError, match="name is required"):
        store.create_folder(docs, "  ")
    with pytest.raises(CboxError, match="folder is required"):
        store.add_file(None, "a", _blob(b"a"))
    with pytest.raises(CboxError, match="stored blob"):
        store.add_file(docs, "a", b"raw bytes")


def test_hostile_names_stay_inside_the_store(ctx):
    """RELIABILITY 29 through the store: rows hold safe names, originals kept."""
    docs = store.categorized_folder(ctx, "documents")
    folder = store.ensure_folder(docs, "../../etc", origin="procore")
    f = store.add_file(folder, "../../etc/passwd", _blob(b"root"), origin="procore")
    assert (folder.name, f.name, f.original_name) == (".._.._etc", ".._.._etc_passwd", "../../etc/passwd")
    assert all("/" not in part and part not in (".", "..") for part in store.path_of(f))
    assert isinstance(f, CboxFile) and isinstance(folder, CboxFolder)


def test_orphan_files_of_rolled_back_uploads_are_swept(app, db, ctx):
    blob = _blob(b"uploaded, then the request failed")
    sha256 = blob.sha256
    db.session.rollback()  # the row is gone, the file is still on disk
    assert get_blob_store().exists(sha256) and db.session.get(CboxBlob, sha256) is None
    assert store.collect_garbage() == 0  # too recent: maybe an upload still in flight
    assert store.collect_garbage(grace=timedelta(seconds=-1)) >= 1
    assert not get_blob_store().exists(sha256)


def test_gc_command(app, db, ctx):
    lonely = _blob(b"nobody uses me")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["cbox", "gc", "--grace-minutes", "-1"])
    assert result.exit_code == 0 and "blob(s)" in result.output, result.output
    assert not get_blob_store().exists(lonely.sha256)


def test_register_blob_refuses_missing_or_partial_content(app, db):
    """The sync engine registers content its download threads streamed in; never a dangling row."""
    import hashlib
    import io

    import pytest as _pytest

    from portal.cbox import store
    from portal.cbox.blobstore import get_blob_store
    from portal.cbox.errors import CboxError

    data = b"contenido ya escrito por un hilo de descarga"
    with app.app_context():
        writer = get_blob_store().open_writer()
        writer.write(data)
        sha256, size = writer.commit()
        assert sha256 == hashlib.sha256(data).hexdigest()
        blob = store.register_blob(sha256, size)
        assert blob.sha256 == sha256 and blob.size == len(data)
        assert store.write_blob(io.BytesIO(data)).sha256 == sha256  # the same row, stored once
        with _pytest.raises(CboxError):
            store.register_blob(sha256, size + 1)
        with _pytest.raises(CboxError):
            store.register_blob("0" * 64, 1)
        db.session.rollback()


def test_add_files_names_like_add_file_one_by_one(ctx):
    """The import records a batch of new files with add_files: one name query, bulk inserts, and the same
    names (sanitised, suffixed on a clash with a sibling or with an earlier file of the batch)."""
    docs = store.categorized_folder(ctx, "documents")
    names = ["Plano.pdf", "b", "c.txt", "C.TXT", "x/y.pdf", "x_y.pdf", "nuevo.dwg"]
    blobs = [_blob(f"content {i}".encode()) for i in range(len(names))]
    made = []
    for label in ("one by one", "batch"):
        folder = store.create_folder(docs, label)
        store.add_file(folder, "Plano.pdf", _blob(b"already there"))
        store.create_folder(folder, "B")
        if label == "batch":
            files = store.add_files(folder, list(zip(names, blobs, strict=True)), origin="procore")
        else:
            files = [store.add_file(folder, name, blob, origin="procore") for name, blob in zip(names, blobs,
                                                                                              strict=True)]
        made.append([(f.name, f.original_name, f.current_version.blob_sha256, f.origin) for f in files])
        assert all(f.id is not None for f in files)
    assert made[0] == made[1]
    assert [name for name, *_ in made[1]] == ["Plano (2).pdf", "b (2)", "c.txt", "C (2).TXT", "x_y.pdf",
                                              "x_y (2).pdf", "nuevo.dwg"]
    with pytest.raises(CboxError, match="stored blob"):
        store.add_files(docs, [("ok.txt", blobs[0]), ("raw.txt", b"bytes")])
    assert store.add_files(docs, []) == []


def test_register_blobs_leaves_out_missing_or_partial_content(ctx):
    whole = _blob(b"whole content")
    partial, missing = _blob(b"partial content"), "f" * 64
    rows = store.register_blobs([(whole.sha256, whole.size), (partial.sha256, partial.size + 1), (missing, 3),
                                 ("not a digest", 1), (whole.sha256, whole.size)])
    assert list(rows) == [whole.sha256] and rows[whole.sha256] is whole
    assert store.register_blobs([]) == {}


def test_a_large_write_is_written_back_as_it_goes(ctx, monkeypatch):
    """FileSystemWriter hands every 16 MiB to the kernel's writeback (posix_fadvise) and the content
    stays exact; a small file makes no such call."""
    if not _on_filesystem():
        pytest.skip("page-cache writeback is the filesystem writer's; the S3 writer's one-part memory bound "
                    "is tested in tests/cbox/test_s3_store.py")
    import os

    from portal.cbox import blobstore

    calls = []
    monkeypatch.setattr(blobstore, "WRITEBACK_EVERY", 1024)
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, offset, length, advice: calls.append((offset, length)),
                        raising=False)
    data = bytes(range(256)) * 13  # 3,328 bytes

    class Trickle(io.BytesIO):  # a network stream: 300 bytes at a time
        def read(self, size=-1):
            return super().read(300)

    blob = store.write_blob(Trickle(data), expected_size=len(data))
    assert calls == [(0, 1200), (1200, 1200)]  # every >= 1,024 bytes; the last 928 are left to commit's fsync
    with get_blob_store().open(blob.sha256) as stream:
        assert stream.read() == data
    calls.clear()
    store.write_blob(io.BytesIO(b"small"))
    assert calls == []
