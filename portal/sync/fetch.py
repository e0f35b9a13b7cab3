"""Downloads with bounded parallelism (a small thread pool) for one sync run.

Each thread has its own app context and its own Procore client for the run's account: the
client's pacing and token refresh are shared through Redis, so N threads stay under the same
rate limit as one (portal/procore/pacing.py). A thread only streams bytes into the blob store
(temp file + rename, never a partial file at a final path); the run's thread records rows, so
the database has one writer per run.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from flask import Flask

from portal.cbox.blobstore import get_blob_store, is_disk_full
from portal.procore import (ProcoreAuthError, ProcoreDownloadExpired, ProcoreError, ProcoreNotFound,
                            ProcorePermissionError, ProcoreSizeMismatch)
from portal.sync.mapper import RemoteItem
from portal.sync.reasons import Reason, procore_error

EXPIRED_PAUSE, EXPIRED_PAUSE_CAP = 0.5, 30.0  # seconds between re-reads of a link that keeps expiring


@dataclass(frozen=True)
class Target:
    """What a thread needs to re-fetch an item (never an ORM row across threads)."""

    procore_company_id: int
    procore_project_id: int
    selections: dict
    # Folders the integration already has, {procore id: (parent id or None under the root, name)}:
    # an event run places an item under them without reading each one from Procore again.
    known: dict = field(default_factory=dict)
    # Procore folders/albums never imported: the project's CalidadCloud, which exports write (R24, R26).
    exclude: frozenset = frozenset()


@dataclass(frozen=True)
class Fetched:
    item: RemoteItem
    sha256: str | None = None
    size: int = 0
    reason: Reason | None = None  # why it failed (None: the content is stored)
    auth_lost: bool = False  # 401 after a refresh: stop the run, items wait as pending (R34)

    @property
    def error(self) -> str | None:
        return self.reason.english() if self.reason else None


class Fetcher:
    """Downloads in `workers` threads; each finished file is made durable (fsync, rename, fsync of the
    directory) by a small pool of its own, so a download thread goes straight on to the next file
    instead of waiting for the disk: at most `workers` requests in flight, as before, but the network
    never idles behind an fsync (a fifth of a download thread's time in the import profile)."""

    def __init__(self, app: Flask, account_id: int, target: Target, mapper, workers: int = 4,
                 committers: int | None = None):
        self.app, self.account_id, self.target, self.mapper = app, account_id, target, mapper
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync-fetch")
        self.commits = ThreadPoolExecutor(max_workers=committers or max(2, workers // 2),
                                          thread_name_prefix="sync-commit")
        self.pending: list[Future] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.commits.shutdown(wait=True)  # a download handed over is committed or aborted, never left half

    def submit(self, item: RemoteItem) -> None:
        """Queue a download; its future resolves to a Fetched once the content is durable (or failed)."""
        outcome: Future = Future()
        self.pending.append(outcome)
        self.pool.submit(self._run, item, outcome)

    def done(self) -> list[Fetched]:
        """Downloads finished so far (they leave `pending`)."""
        # One pass: a future finishing between two passes would be in neither list, its file never
        # recorded while the run still ended "done" (seen in the bench with 8 threads).
        ready, pending = [], []
        for future in self.pending:
            (ready if future.done() else pending).append(future)
        self.pending = pending
        return [f.result() for f in ready]

    def wait_any(self, timeout: float) -> None:
        """Block until a download finishes or `timeout` passes (the caller keeps its heartbeat)."""
        if self.pending:
            wait(self.pending, timeout=timeout, return_when=FIRST_COMPLETED)

    def _client(self):
        if not hasattr(self.local, "client"):
            from portal.connections.credentials import DbCredential, client_for
            self.local.client = client_for(DbCredential(self.account_id))
        return self.local.client

    def _run(self, item: RemoteItem, outcome: Future) -> None:
        try:
            with self.app.app_context():
                result = self._fetch(item)
            if isinstance(result, Fetched):
                outcome.set_result(result)
            else:
                self.commits.submit(self._commit, *result, outcome)
        except BaseException as error:  # noqa: BLE001 - one item's failure never stops the others
            self._unexpected(item, error, "download", outcome)

    def _commit(self, item: RemoteItem, writer, outcome: Future) -> None:
        try:
            sha256, size = writer.commit()  # fsync, rename into place; aborts (removes the temp) on error
        except OSError as error:
            outcome.set_result(Fetched(item, reason=_reason(error)))
        except BaseException as error:  # noqa: BLE001 - the run must hear of every file
            writer.abort()
            self._unexpected(item, error, "storing", outcome)
        else:
            outcome.set_result(Fetched(item, sha256=sha256, size=size))

    def _unexpected(self, item: RemoteItem, error: BaseException, doing: str, outcome: Future) -> None:
        """A bug or an unforeseen failure: logged with its traceback, the item fails, the run goes on."""
        self.app.logger.exception("%s of Procore %s %s failed", doing, item.kind, item.id)
        outcome.set_result(Fetched(item, reason=Reason("unexpected", {"detail": type(error).__name__})))

    def _fetch(self, item: RemoteItem):
        """Download into a blob writer: (item, writer) to commit, or a Fetched that failed.

        An expired storage link is fetched again from Procore as often as needed until the item's
        deadline (SYNC_ITEM_DEADLINE), with a growing pause between tries: a slow Procore whose links
        expire before they are used still ends with the file. A 404 or a size that differs from the
        listing is re-read once (the file moved or got a new version meanwhile).
        """
        deadline = time.monotonic() + self.app.config["SYNC_ITEM_DEADLINE"]
        expiries, reread = 0, False
        while True:
            if not item.download_url:
                return Fetched(item, reason=Reason("no_download"))
            outcome = self._download(item)
            if not isinstance(outcome, BaseException):
                return outcome
            if isinstance(outcome, ProcoreDownloadExpired):
                expiries += 1
                pause = min(EXPIRED_PAUSE_CAP, EXPIRED_PAUSE * 2 ** (expiries - 1)) if expiries > 1 else 0.0
                if time.monotonic() + pause > deadline:
                    return Fetched(item, reason=Reason("link_expired"))
                time.sleep(pause)
            elif reread:
                return Fetched(item, reason=_reason(outcome))
            else:
                reread = True
            fresh = self.mapper.refetch(self._client(), self.target, item)
            if fresh is None:
                return Fetched(item, reason=Reason("gone"))  # re-fetch found nothing
            item = fresh

    def _download(self, item: RemoteItem):
        """(item, writer) once the bytes are in the writer; a Fetched for a final failure; the error
        itself when re-reading the file from Procore may help (expired link, 404, size differs)."""
        writer = get_blob_store().open_writer()
        try:
            self._client().download(item.download_url, writer, expected_size=item.size,
                                    company_id=self.target.procore_company_id, checksum=False)  # the writer hashes
        except (ProcoreDownloadExpired, ProcoreNotFound, ProcoreSizeMismatch) as error:
            writer.abort()
            return error
        except ProcoreAuthError as error:
            writer.abort()
            return Fetched(item, reason=_reason(error), auth_lost=error.needs_reauth)
        except (ProcoreError, OSError) as error:
            writer.abort()
            return Fetched(item, reason=_reason(error))
        except BaseException:
            writer.abort()
            raise
        return item, writer


def _reason(error: BaseException) -> Reason:
    """Why the item failed, as a reason code (the page says it in the user's language)."""
    if isinstance(error, ProcoreNotFound):
        return Reason("gone")
    if isinstance(error, ProcoreSizeMismatch):
        return Reason("size_mismatch", {"detail": error.message})
    if isinstance(error, ProcorePermissionError):
        return Reason("forbidden")
    if isinstance(error, ProcoreAuthError):
        return Reason("auth_lost")
    if isinstance(error, OSError):
        if is_disk_full(error):
            return Reason("store_full")
        return Reason("store_error", {"detail": str(error.strerror or error)})
    return procore_error(error)
