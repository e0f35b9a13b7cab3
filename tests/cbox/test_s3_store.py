"""The S3 blob store (portal/cbox/s3store.py, issue 13) against a real S3 API server (moto_server on
loopback, started by the session's s3_server fixture): streaming multipart writes, dedupe, atomicity,
errors, listing and sweeping. Each test has its own prefix in one bucket."""
from __future__ import annotations

import hashlib
import io
import threading
import uuid

import pytest

from portal.cbox import s3store
from portal.cbox.s3store import PART_SIZE, BlobStoreError, S3BlobStore

MiB = 1024 * 1024
BUCKET = "cbox-unit"


@pytest.fixture
def s3(s3_server):
    s3_server.create_bucket(BUCKET)
    settings = s3_server.settings()
    return S3BlobStore(BUCKET, f"unit-{uuid.uuid4().hex[:12]}", endpoint_url=settings["S3_ENDPOINT_URL"],
                       region=settings["S3_REGION"], access_key=settings["AWS_ACCESS_KEY_ID"],
                       secret_key=settings["AWS_SECRET_ACCESS_KEY"])


def _keys(store: S3BlobStore, prefix: str = "") -> list[str]:
    """Every object under the store's prefix (what a person would see in the bucket)."""
    pages = store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket,
                                                                   Prefix=f"{store.prefix}/{prefix}")
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def _pattern(size: int) -> bytes:
    """Content that differs from part to part (a part shifted by one would change the digest)."""
    return b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(size // 32 + 1))[:size]


def _read_all(store: S3BlobStore, sha256: str) -> bytes:
    with store.open(sha256) as stream:
        chunks = []
        while chunk := stream.read(MiB):
            chunks.append(chunk)
        return b"".join(chunks)


def test_streaming_multipart_write_is_exact_and_holds_one_part_at_most(s3, monkeypatch):
    sent = []
    original = S3BlobStore._call

    def spy(self, operation, key, **params):
        if "Body" in params:
            sent.append(len(params["Body"]))
        return original(self, operation, key, **params)

    monkeypatch.setattr(S3BlobStore, "_call", spy)
    data = _pattern(20 * MiB + 123)
    writer = s3.open_writer()
    most = 0
    for offset in range(0, len(data), MiB):
        writer.write(data[offset:offset + MiB])
        most = max(most, writer.buffered)
        assert writer.buffered < PART_SIZE  # never the whole file in memory: less than a part between writes
    assert most == PART_SIZE - MiB  # 7 MiB gathered, the 8th sends the part
    assert sent == [PART_SIZE, PART_SIZE]  # two parts sent while writing, each exactly one part
    assert s3.list_temps() == [writer.key]  # the multipart upload under a temp key, nothing final yet
    assert _keys(s3, "blobs/") == []
    sha256, size = writer.commit()
    assert sent == [PART_SIZE, PART_SIZE, len(data) - 2 * PART_SIZE]  # the last, smaller part at commit
    assert sha256 == hashlib.sha256(data).hexdigest() and size == len(data)
    assert s3.exists(sha256) and s3.size(sha256) == len(data)
    assert _keys(s3) == [s3.key(sha256)] and s3.key(sha256).endswith(f"/blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}")
    assert s3.list_temps() == []
    assert _read_all(s3, sha256) == data


def test_one_large_write_is_split_into_parts_without_growing_the_buffer(s3):
    data = _pattern(2 * PART_SIZE + 5)
    writer = s3.open_writer()
    writer.write(data)  # one call bigger than two parts
    assert writer.buffered == 5
    assert writer.commit() == (hashlib.sha256(data).hexdigest(), len(data))


def test_small_content_is_one_put_and_identical_content_is_stored_once(s3):
    for data in (b"tiny", _pattern(9 * MiB)):  # one PutObject; a multipart upload + copy
        first, second = s3.open_writer(), s3.open_writer()
        first.write(data)
        second.write(data)
        assert first.commit() == second.commit() == (hashlib.sha256(data).hexdigest(), len(data))
    assert len(_keys(s3, "blobs/")) == 2 and _keys(s3, "tmp/") == [] and s3.list_temps() == []


def test_reused_content_is_touched_for_the_orphan_sweep(s3, monkeypatch):
    """Content written again after a while gets a fresh LastModified: the orphan sweep's grace starts over
    (as the filesystem store's utime does)."""
    writer = s3.open_writer()
    writer.write(b"again and again")
    sha256, _ = writer.commit()
    before = s3.client.head_object(Bucket=s3.bucket, Key=s3.key(sha256))["LastModified"]
    monkeypatch.setattr(s3store, "TOUCH_AFTER", -1.0)
    import time
    time.sleep(1.1)  # S3 times have whole seconds
    again = s3.open_writer()
    again.write(b"again and again")
    assert again.commit()[0] == sha256
    assert s3.client.head_object(Bucket=s3.bucket, Key=s3.key(sha256))["LastModified"] > before
    assert _read_all(s3, sha256) == b"again and again"


def test_abort_leaves_nothing(s3):
    writer = s3.open_writer()
    writer.write(_pattern(10 * MiB))  # one part sent
    assert s3.list_temps() == [writer.key]
    writer.abort()
    writer.abort()  # idempotent
    assert s3.list_temps() == [] and _keys(s3) == []
    with pytest.raises(ValueError):
        writer.write(b"more")


def test_a_failure_between_writes_leaves_no_final_object(s3):
    """The reader dies after two parts: the caller aborts (write_blob does), nothing is final, no temp."""
    data = _pattern(20 * MiB)

    def copy_then_die(writer):
        for offset in range(0, len(data), MiB):
            if offset >= 17 * MiB:
                raise ConnectionError("peer went away")
            writer.write(data[offset:offset + MiB])

    writer = s3.open_writer()
    with pytest.raises(ConnectionError):
        try:
            copy_then_die(writer)
        except BaseException:
            writer.abort()
            raise
    assert not s3.exists(hashlib.sha256(data).hexdigest())
    assert _keys(s3) == [] and s3.list_temps() == []


def test_a_failing_commit_aborts_and_reports_an_oserror(s3, monkeypatch):
    """The server-side copy fails: commit raises an OSError naming the call, and leaves no temp object."""
    def refuse(self, source, target, size, touch=False):
        raise BlobStoreError(5, f"S3 copy_object of {target!r} failed: InternalError")

    monkeypatch.setattr(S3BlobStore, "_copy", refuse)
    writer = s3.open_writer()
    writer.write(_pattern(9 * MiB))
    with pytest.raises(OSError, match="copy_object"):
        writer.commit()
    assert _keys(s3) == [] and s3.list_temps() == []


def test_a_hard_crash_leaves_only_temps_that_are_swept(s3):
    """A killed process cannot abort: its multipart upload (and a completed temp object) stay under tmp/,
    are never read, and remove_stale_temps removes both once they are old enough."""
    crashed = s3.open_writer()
    crashed.write(_pattern(PART_SIZE + 1))  # a part is in S3, then the process "dies"
    leftover = f"{s3.tmp_prefix}upload-completed-but-not-copied"
    s3.client.put_object(Bucket=s3.bucket, Key=leftover, Body=b"half")
    assert s3.list_temps() == sorted([crashed.key, leftover])
    assert list(s3.iter_blobs(older_than=-60)) == []
    assert s3.remove_stale_temps() == 0  # a day by default: a writer at work is left alone
    assert s3.remove_stale_temps(older_than=-60) == 2
    assert s3.list_temps() == [] and _keys(s3) == []


def test_exists_size_delete_iter_blobs_and_missing_keys(s3):
    shas = []
    for data in (b"one", b"two", _pattern(6 * MiB)):
        writer = s3.open_writer()
        writer.write(data)
        shas.append(writer.commit()[0])
    assert sorted(s3.iter_blobs(older_than=-60)) == sorted(shas)  # cutoff in the future: all of them
    assert list(s3.iter_blobs(older_than=3600)) == []  # none is an hour old
    assert s3.size(shas[2]) == 6 * MiB
    s3.delete(shas[0])
    s3.delete(shas[0])  # deleting what is gone is no error, as on the filesystem (missing_ok)
    missing = hashlib.sha256(b"never stored").hexdigest()
    assert not s3.exists(shas[0]) and not s3.exists(missing)
    with pytest.raises(FileNotFoundError):
        s3.open(missing)
    with pytest.raises(FileNotFoundError):
        s3.size(missing)
    with pytest.raises(ValueError):
        s3.exists("../../etc/passwd")
    assert s3.location(shas[1]) == f"s3://{BUCKET}/{s3.key(shas[1])}"


def test_open_is_a_seekable_stream(s3):
    """The exports upload from it: tell(), a first pass for checksums, seek() back, read again."""
    data = _pattern(3 * MiB)
    writer = s3.open_writer()
    writer.write(data)
    sha256, _ = writer.commit()
    with s3.open(sha256) as stream:
        assert stream.tell() == 0 and stream.seekable()
        assert stream.read(10) == data[:10]
        stream.seek(2 * MiB)
        assert stream.read(5) == data[2 * MiB:2 * MiB + 5] and stream.tell() == 2 * MiB + 5
        stream.seek(0)
        assert hashlib.sha256(stream.read()).hexdigest() == sha256
        stream.seek(-3, io.SEEK_END)
        assert stream.read() == data[-3:] and stream.read(1) == b""


def test_large_copies_go_part_by_part(s3, monkeypatch):
    """Beyond CopyObject's 5 GB the temp is copied with UploadPartCopy (boto3's managed copy): the same
    code path with the limit lowered to a few MiB."""
    monkeypatch.setattr(s3store, "COPY_OBJECT_LIMIT", 6 * MiB)
    monkeypatch.setattr(s3store, "COPY_PART_SIZE", 5 * MiB)
    calls = []
    original = S3BlobStore._call

    def spy(self, operation, key, **params):
        calls.append(operation)
        return original(self, operation, key, **params)

    monkeypatch.setattr(S3BlobStore, "_call", spy)
    data = _pattern(17 * MiB)
    writer = s3.open_writer()
    writer.write(data)
    sha256, size = writer.commit()
    assert "copy_object" not in calls and size == len(data)
    assert _read_all(s3, sha256) == data and s3.list_temps() == []


def test_writers_in_threads_share_one_store(s3):
    """Download threads share the store (one botocore client): concurrent writers each get their content."""
    results, errors = {}, []

    def write(index):
        try:
            data = _pattern(PART_SIZE + index * 1000)
            writer = s3.open_writer()
            for offset in range(0, len(data), MiB):
                writer.write(data[offset:offset + MiB])
            results[index] = (writer.commit(), hashlib.sha256(data).hexdigest())
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == [] and len(results) == 4
    assert all(sha == expected for (sha, _), expected in results.values())
    assert s3.list_temps() == []


def test_errors_name_the_call_and_the_setting(s3_server):
    wrong_bucket = S3BlobStore("no-such-bucket-here", "x", **{
        "endpoint_url": s3_server.url, "access_key": "testing", "secret_key": "testing"})
    writer = wrong_bucket.open_writer()
    writer.write(b"content")
    with pytest.raises(OSError, match="bucket does not exist.*STORAGE_URL"):
        writer.commit()
    unreachable = S3BlobStore(BUCKET, "x", endpoint_url="http://127.0.0.1:9", access_key="a", secret_key="b")
    with pytest.raises(OSError, match="head_object"):
        unreachable.exists("0" * 64)


def test_storage_url_is_validated(monkeypatch):
    from config import ConfigError, load_config

    monkeypatch.setenv("STORAGE_URL", "s3://cbox-test/ci/blobs")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    config = load_config("testing")
    assert (config["STORAGE_BACKEND"], config["S3_REGION"]) == ("s3", "us-east-1")
    store = S3BlobStore.from_config(config)
    assert (store.bucket, store.blob_prefix, store.tmp_prefix) == ("cbox-test", "ci/blobs/blobs/", "ci/blobs/tmp/")
    for bad in ("/srv/cbox", "s3://", "s3://Not_A_Bucket/x", "s3://ok-bucket/a/../b"):
        monkeypatch.setenv("STORAGE_URL", bad)
        with pytest.raises(ConfigError, match="STORAGE_URL"):
            load_config("testing")
    monkeypatch.setenv("STORAGE_URL", "s3://cbox-test")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "only-the-id")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(ConfigError, match="AWS_SECRET_ACCESS_KEY"):
        load_config("testing")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.setenv("S3_ENDPOINT_URL", "127.0.0.1:9000")
    with pytest.raises(ConfigError, match="S3_ENDPOINT_URL"):
        load_config("testing")


def test_the_session_app_uses_the_store_storage_url_names(app):
    """CI's "S3 store" pass really runs the store and sync tests on S3 (and the others on the filesystem)."""
    from portal.cbox.blobstore import FileSystemBlobStore, get_blob_store
    from tests.conftest import s3_storage_url

    with app.app_context():
        blob_store = get_blob_store()
    if s3_storage_url():
        assert isinstance(blob_store, S3BlobStore)
        assert f"s3://{blob_store.bucket}/{blob_store.prefix}" == s3_storage_url().rstrip("/")
    else:
        assert isinstance(blob_store, FileSystemBlobStore)


def test_s3_answers_map_to_the_errors_callers_know():
    from botocore.exceptions import ClientError

    from portal.cbox.blobstore import is_disk_full

    def answer(code):
        return s3store._error(ClientError({"Error": {"Code": code, "Message": "m"}}, "PutObject"), "put_object", "k")

    assert isinstance(answer("NoSuchKey"), FileNotFoundError) and isinstance(answer("404"), FileNotFoundError)
    assert is_disk_full(answer("XMinioStorageFull"))
    assert "AWS_SECRET_ACCESS_KEY" in str(answer("SignatureDoesNotMatch"))
    slow = answer("SlowDown")
    assert isinstance(slow, BlobStoreError) and "put_object" in str(slow) and "SlowDown" in str(slow)
