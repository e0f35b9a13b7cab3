"""The S3-compatible blob store (STORAGE_URL=s3://bucket/prefix; issue 13 "scale-out").

Same protocol as FileSystemBlobStore (portal/cbox/blobstore.py), so the cBox store, the sync
engine and the exports do not know which one they use. Several machines (web servers, workers)
share one bucket: content-addressed keys make every writer agree on where content goes.

Keys, under the optional prefix:
  <prefix>/blobs/ab/cd/<sha256>   final objects: complete content whose sha256 is the name
  <prefix>/tmp/upload-<time>-<uuid>  a writer's multipart upload (or its completed temp object)

A writer streams into a multipart upload under a temp key, hashing as it goes, and holds at most
one part (PART_SIZE) in memory. commit() completes the upload and copies the temp object server
side to its final key (CopyObject up to 5 GB, multipart UploadPartCopy beyond), then deletes the
temp. Content smaller than one part is sent with a single PutObject at commit (atomic: an object
is there whole or not at all). A crash therefore leaves at most a temp object or an unfinished
multipart upload, never a partial object at a final key; `remove_stale_temps` sweeps both.

Identical content is stored once: when the final key exists the temp is only deleted. A final
object about to be reused is "touched" (copied onto itself with new metadata) when it was last
written more than TOUCH_AFTER seconds ago: the orphan sweep (blobs._orphan_files) judges by
LastModified, as it judges the filesystem store by mtime, so content a writer is about to
reference again gets the sweep's full grace period.

Thread-safe: one botocore client (clients are thread-safe, boto3 resources are not) shared by
every thread, re-made in a forked child (RQ's work horse) so no connection crosses a fork.
Errors: a missing key raises FileNotFoundError; any other S3 or connection failure raises
BlobStoreError (an OSError whose message names the operation, the key and S3's answer), so
callers treat it as they treat a failing disk.
"""
from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import re
import threading
import time
import uuid
from datetime import datetime, timezone
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from config import parse_storage_url

log = logging.getLogger(__name__)

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
PART_SIZE = 8 * 1024 * 1024  # the most a writer holds in memory; S3 wants >= 5 MiB for every part but the last
MIN_PART_SIZE = 5 * 1024 * 1024
COPY_OBJECT_LIMIT = 5 * 1024 ** 3  # CopyObject's ceiling; larger objects are copied part by part
COPY_PART_SIZE = 512 * 1024 * 1024  # parts of such a copy (10,000 parts at most: 5 TB)
TOUCH_AFTER = 60.0  # seconds; see the module docstring
STALE_TEMP_SECONDS = 24 * 3600
READ_BUFFER = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


class BlobStoreError(OSError):
    """The object store failed (refused, unreachable, misconfigured): the message says which call."""


def _error(error: Exception, action: str, key: str) -> OSError:
    """A botocore exception as the OSError callers understand."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = error.response.get("Error", {}).get("Message") or code
        if code in _MISSING:
            return FileNotFoundError(errno.ENOENT, f"S3 {action}: no object {key!r}")
        if code == "XMinioStorageFull":  # MinIO's full disks: reported to users as a full store
            return BlobStoreError(errno.ENOSPC, f"S3 {action} of {key!r}: the object store is full ({code})")
        if code == "NoSuchBucket":
            return BlobStoreError(errno.EIO, f"S3 {action} of {key!r}: the bucket does not exist (STORAGE_URL)")
        if code in {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "403"}:
            return BlobStoreError(errno.EACCES, f"S3 {action} of {key!r} refused: {code} "
                                                f"(check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
        return BlobStoreError(errno.EIO, f"S3 {action} of {key!r} failed: {code} {message}".rstrip())
    return BlobStoreError(errno.EIO, f"S3 {action} of {key!r} failed: {error}")


def _started(key: str) -> float:
    """When the writer of a temp key started (0 when the name does not say)."""
    match = re.search(r"/upload-(\d+)-[0-9a-f]+$", key)
    return float(match.group(1)) if match else 0.0


class S3Writer:
    """One streamed write: a multipart upload under a temp key + a running sha256."""

    def __init__(self, store: S3BlobStore):
        self._store = store
        # Its start time in the name: the sweep does not rely on the server's "Initiated" (some
        # S3-compatible servers report a fixed one).
        self.key = f"{store.tmp_prefix}upload-{int(time.time())}-{uuid.uuid4().hex}"
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict] = []
        self._size = 0
        self._temp_object = False  # the multipart upload was completed: a temp object exists
        self._done = False

    @property
    def buffered(self) -> int:
        """Bytes held in memory now (never more than one part)."""
        return len(self._buffer)

    def write(self, data) -> int:
        if self._done:
            raise ValueError("write to a blob writer that was committed or aborted")
        view = memoryview(data).cast("B")
        written = len(view)
        self._hash.update(view)
        self._size += written
        part_size = self._store.part_size
        while len(view):
            room = part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) >= part_size:
                self._send_part()
        return written

    def _send_part(self) -> None:
        store = self._store
        if self._upload_id is None:
            self._upload_id = store._call("create_multipart_upload", self.key, Bucket=store.bucket,
                                          Key=self.key)["UploadId"]
        body, self._buffer = self._buffer, bytearray()  # handed over, not copied
        number = len(self._parts) + 1
        answer = store._call("upload_part", self.key, Bucket=store.bucket, Key=self.key,
                             UploadId=self._upload_id, PartNumber=number, Body=body)
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def commit(self) -> tuple[str, int]:
        if self._done:
            raise ValueError("commit of a blob writer that was committed or aborted")
        store = self._store
        try:
            sha256 = self._hash.hexdigest()
            final = store.key(sha256)
            if self._upload_id is None:  # smaller than one part: one PutObject, atomic
                if not store._reuse(final):
                    store._call("put_object", final, Bucket=store.bucket, Key=final, Body=self._buffer)
            else:
                if self._buffer:
                    self._send_part()  # the last part may be smaller than MIN_PART_SIZE
                store._call("complete_multipart_upload", self.key, Bucket=store.bucket, Key=self.key,
                            UploadId=self._upload_id, MultipartUpload={"Parts": self._parts})
                self._upload_id, self._temp_object = None, True
                if not store._reuse(final):
                    store._copy(self.key, final, self._size)
                self._delete_temp()
            self._done = True
            self._buffer = bytearray()
            return sha256, self._size
        except BaseException:
            self.abort()
            raise

    def _delete_temp(self) -> None:
        """The content is at its final key: a temp that cannot be deleted now is swept later."""
        try:
            self._store._call("delete_object", self.key, Bucket=self._store.bucket, Key=self.key)
            self._temp_object = False
        except OSError as error:
            log.warning("could not delete temp object %s (remove_stale_temps will): %s", self.key, error)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        store = self._store
        try:
            if self._upload_id is not None:
                store._call("abort_multipart_upload", self.key, Bucket=store.bucket, Key=self.key,
                            UploadId=self._upload_id)
                self._upload_id = None
            if self._temp_object:
                store._call("delete_object", self.key, Bucket=store.bucket, Key=self.key)
                self._temp_object = False
        except OSError as error:  # abort runs while another error propagates: never hide that one
            log.warning("could not clean up temp upload %s (remove_stale_temps will): %s", self.key, error)


class S3Reader(io.RawIOBase):
    """A stored object as a seekable read-only stream: a ranged GET from the current position,
    streamed; seek() only moves the position (the next read starts a new GET there)."""

    def __init__(self, store: S3BlobStore, key: str):
        super().__init__()
        self._store, self._key = store, key
        self._body = None
        self._pos = 0
        answer = store._call("get_object", key, Bucket=store.bucket, Key=key)  # FileNotFoundError if missing
        self.size = int(answer["ContentLength"])
        self._body = answer["Body"]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError("negative seek position")
        if position != self._pos:
            self._drop_body()
            self._pos = position
        return position

    def readinto(self, buffer) -> int:
        if self._pos >= self.size:
            return 0
        if self._body is None:
            answer = self._store._call("get_object", self._key, Bucket=self._store.bucket, Key=self._key,
                                       Range=f"bytes={self._pos}-")
            self._body = answer["Body"]
        try:
            data = self._body.read(len(buffer))
        except (BotoCoreError, ClientError) as error:
            raise _error(error, "read", self._key) from error
        if not data and self._pos < self.size:
            raise BlobStoreError(errno.EIO, f"S3 read of {self._key!r} ended early at byte {self._pos}")
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        if not self.closed:
            self._drop_body()
        super().close()


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str = "us-east-1", access_key: str | None = None, secret_key: str | None = None,
                 part_size: int = PART_SIZE):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        base = f"{self.prefix}/" if self.prefix else ""
        self.blob_prefix, self.tmp_prefix = f"{base}blobs/", f"{base}tmp/"
        self.part_size = part_size
        self._client_args = {"endpoint_url": endpoint_url, "region_name": region,
                             "aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
        self._client = None
        self._client_pid = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config) -> S3BlobStore:
        bucket, prefix = parse_storage_url(config.get("STORAGE_URL") or "")
        return cls(bucket, prefix, endpoint_url=config.get("S3_ENDPOINT_URL"),
                   region=config.get("S3_REGION") or "us-east-1",
                   access_key=config.get("AWS_ACCESS_KEY_ID"), secret_key=config.get("AWS_SECRET_ACCESS_KEY"))

    def __repr__(self) -> str:
        return f"S3BlobStore(s3://{self.bucket}/{self.prefix})"

    @property
    def client(self):
        """The shared botocore client; a new one after a fork (sockets are not shared across processes)."""
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                session = boto3.session.Session()  # the default session is not thread-safe: a private one
                self._client = session.client(
                    "s3", **self._client_args,
                    config=Config(max_pool_connections=32, retries={"max_attempts": 5, "mode": "standard"},
                                  connect_timeout=10, read_timeout=120))
                self._client_pid = os.getpid()
            return self._client

    def _call(self, operation: str, key: str, **params):
        try:
            return getattr(self.client, operation)(**params)
        except (BotoCoreError, ClientError) as error:
            raise _error(error, operation, key) from error

    def key(self, sha256: str) -> str:
        # Keys derive from the digest alone; anything else could reach other objects of the bucket.
        if not isinstance(sha256, str) or not SHA256_RE.match(sha256):
            raise ValueError("not a sha256 hex digest")
        return f"{self.blob_prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def location(self, sha256: str) -> str:
        """Where the content is, for people and logs."""
        return f"s3://{self.bucket}/{self.key(sha256)}"

    def _head(self, key: str) -> dict | None:
        try:
            return self._call("head_object", key, Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            return None

    def _reuse(self, final: str) -> bool:
        """Whether `final` already holds the content (then touched if it was written a while ago)."""
        head = self._head(final)
        if head is None:
            return False
        age = (datetime.now(timezone.utc) - head["LastModified"]).total_seconds()
        if age > TOUCH_AFTER:
            self._copy(final, final, int(head["ContentLength"]), touch=True)
        return True

    def _copy(self, source: str, target: str, size: int, *, touch: bool = False) -> None:
        """Server-side copy: CopyObject up to 5 GB, UploadPartCopy (boto3's managed copy) beyond.
        `touch` copies an object onto itself (new metadata) to renew its LastModified."""
        extra = {"MetadataDirective": "REPLACE", "Metadata": {"touched": str(int(time.time()))}} if touch else {}
        copy_source = {"Bucket": self.bucket, "Key": source}
        if size <= COPY_OBJECT_LIMIT:
            self._call("copy_object", target, Bucket=self.bucket, Key=target, CopySource=copy_source, **extra)
            return
        config = TransferConfig(multipart_threshold=COPY_OBJECT_LIMIT, multipart_chunksize=COPY_PART_SIZE,
                                max_concurrency=4, use_threads=True)
        try:
            self.client.copy(copy_source, self.bucket, target, ExtraArgs=extra or None, Config=config)
        except (BotoCoreError, ClientError) as error:
            raise _error(error, "copy", target) from error

    # -- the BlobStore protocol ------------------------------------------------

    def open_writer(self) -> S3Writer:
        return S3Writer(self)

    def open(self, sha256: str):
        """A buffered, seekable stream of the content (FileNotFoundError when it is not stored)."""
        return io.BufferedReader(S3Reader(self, self.key(sha256)), buffer_size=READ_BUFFER)

    def exists(self, sha256: str) -> bool:
        return self._head(self.key(sha256)) is not None

    def size(self, sha256: str) -> int:
        key = self.key(sha256)
        return int(self._call("head_object", key, Bucket=self.bucket, Key=key)["ContentLength"])

    def delete(self, sha256: str) -> None:
        key = self.key(sha256)
        self._call("delete_object", key, Bucket=self.bucket, Key=key)  # a missing key is no error in S3

    def _objects(self, prefix: str):
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                yield from page.get("Contents", [])
        except (BotoCoreError, ClientError) as error:
            raise _error(error, "list_objects_v2", prefix) from error

    def _uploads(self):
        try:
            for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket,
                                                                                    Prefix=self.tmp_prefix):
                for upload in page.get("Uploads", []):
                    if upload["Key"].startswith(self.tmp_prefix):
                        yield upload
        except (BotoCoreError, ClientError) as error:
            raise _error(error, "list_multipart_uploads", self.tmp_prefix) from error

    def iter_blobs(self, older_than: float):
        """sha256 of stored objects not written for `older_than` seconds (for the orphan sweep)."""
        cutoff = time.time() - older_than
        for obj in self._objects(self.blob_prefix):
            name = obj["Key"].rsplit("/", 1)[-1]
            if SHA256_RE.match(name) and obj["Key"] == self.key(name) and obj["LastModified"].timestamp() < cutoff:
                yield name

    def list_temps(self) -> list[str]:
        """Temp objects and unfinished multipart uploads (a writer at work, or one a crash left)."""
        return sorted({obj["Key"] for obj in self._objects(self.tmp_prefix)} | {u["Key"] for u in self._uploads()})

    def remove_stale_temps(self, older_than: float = STALE_TEMP_SECONDS) -> int:
        """Delete temp objects and abort multipart uploads older than `older_than` seconds; they are
        never read. Returns how many were removed."""
        cutoff, removed = time.time() - older_than, set()
        for obj in list(self._objects(self.tmp_prefix)):
            if obj["LastModified"].timestamp() < cutoff:
                self._call("delete_object", obj["Key"], Bucket=self.bucket, Key=obj["Key"])
                removed.add(obj["Key"])
        for upload in list(self._uploads()):
            if max(upload["Initiated"].timestamp(), _started(upload["Key"])) < cutoff:
                try:
                    self._call("abort_multipart_upload", upload["Key"], Bucket=self.bucket, Key=upload["Key"],
                               UploadId=upload["UploadId"])
                except FileNotFoundError:
                    continue  # its writer finished or aborted meanwhile
                removed.add(upload["Key"])
        return len(removed)
