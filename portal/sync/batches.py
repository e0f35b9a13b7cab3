"""One run's downloads shared with other workers (issue 13, scale-out; ARCHITECTURE "scale-out").

The run's worker lists Procore and records rows (engine.py); downloading is what takes the time,
so that is what other workers share. `SharedFetcher` is the engine's fetcher:

* A file goes straight to this worker's own download threads while they have room, exactly as
  with one worker: one worker alone pays nothing for being able to share.
* Beyond that, files are grouped (SYNC_BATCH_FILES) into a `SyncBatch` row, committed, then
  enqueued as `fetch_batch(batch_id)`. Any worker may take it, this one too once its threads have
  room: a conditional UPDATE (queued -> claimed) hands each batch to exactly one taker.
* A taker streams the files into the shared blob store (content-addressed: a file downloaded
  twice is stored once), refreshes its claim's heartbeat every few seconds, and writes one result
  per file into the row. The run's worker reads the results and records the files as its own
  downloads: the run stays the only writer of its links and cBox rows.
* A claim whose heartbeat is older than SYNC_BATCH_STALE (a killed worker) is taken back by the
  run's worker and downloaded again; the late writer's results are ignored (its UPDATE names its
  own claim).

Rows live only while their run does; the signed download links they hold expire within minutes.
No transaction stays open while files download: every write here commits at once.
"""
from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timedelta

from flask import Flask, current_app
from redis.exceptions import RedisError
from rq.job import Job
from sqlalchemy import delete, exists, select, update

from portal.extensions import db
from portal.models import Integration, SyncBatch, SyncRun
from portal.models.integrations import WORKING_RUN_STATUSES, BatchStatus
from portal.models.tenancy import utcnow
from portal.sync.fetch import Fetched, Fetcher, Target
from portal.sync.mapper import RemoteItem, mapper_for
from portal.sync.reasons import Reason

MAX_IN_FLIGHT = 20  # files handed to this worker's threads (16 by default) ahead of them: bounds memory and link age
MAX_WAITING_BATCHES = 2  # batches nobody has taken yet: the listing waits beyond that (links expire)
POLL_EVERY = 0.05  # seconds between reads of the batches other workers hold (a result waits that long at most)
HEARTBEAT_EVERY = 2.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# -- items and results as JSON (a batch row crosses machines) -------------------------------------

def item_to_json(item: RemoteItem) -> dict:
    return {"kind": item.kind, "id": item.id, "parent_id": item.parent_id, "name": item.name,
            "version_id": item.version_id, "size": item.size,
            "updated_at": item.updated_at.isoformat() if item.updated_at else None,
            "download_url": item.download_url, "presence": item.presence}


def item_from_json(data: dict) -> RemoteItem:
    updated = data.get("updated_at")
    return RemoteItem(data["kind"], data["id"], data.get("parent_id"), data.get("name", ""),
                      version_id=data.get("version_id"), size=data.get("size"),
                      updated_at=datetime.fromisoformat(updated) if updated else None,
                      download_url=data.get("download_url"), presence=data.get("presence", "live"))


def fetched_to_json(fetched: Fetched) -> dict:
    reason = {"code": fetched.reason.code, "args": fetched.reason.args} if fetched.reason else None
    return {"item": item_to_json(fetched.item), "sha256": fetched.sha256, "size": fetched.size,
            "reason": reason, "auth_lost": fetched.auth_lost}


def fetched_from_json(data: dict) -> Fetched:
    reason = data.get("reason")
    return Fetched(item_from_json(data["item"]), sha256=data.get("sha256"), size=data.get("size") or 0,
                   reason=Reason(reason["code"], reason.get("args") or {}) if reason else None,
                   auth_lost=bool(data.get("auth_lost")))


# -- claims ---------------------------------------------------------------------------------------

def claim(batch_id: int, worker: str, stale_before: datetime | None = None, holder: str | None = None) -> bool:
    """Take a batch: a queued one, or (with `stale_before` and `holder`) one whose claim by `holder`
    went stale. True for exactly one caller. Commits."""
    now = utcnow()
    condition = [SyncBatch.id == batch_id]
    if stale_before is None:
        condition.append(SyncBatch.status == BatchStatus.QUEUED)
    else:
        condition += [SyncBatch.status == BatchStatus.CLAIMED, SyncBatch.claimed_by == holder,
                      SyncBatch.heartbeat_at < stale_before]
    taken = db.session.execute(update(SyncBatch).where(*condition).values(
        status=BatchStatus.CLAIMED, claimed_by=worker, heartbeat_at=now)).rowcount == 1
    db.session.commit()
    if taken and stale_before is None:
        withdraw_job(batch_id)
    return taken


def job_id(batch_id: int) -> str:
    return f"sync-batch-{batch_id}"


# The job of a batch taken without it: out of the queue and gone, in one step, unless a worker popped it
# already (that one runs, finds the batch claimed and returns "not_claimed").
_WITHDRAW_LUA = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) > 0 then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


def withdraw_job(batch_id: int) -> bool:
    """Remove the queued fetch_batch job of a batch that was just claimed without it (by the run's own
    worker, or by a taker as its next batch). Without this every such job still cost a worker a forked
    work horse after the run, to find its batch taken: about twenty per 400 files, holding up the jobs
    queued behind them. Best effort: a Redis error leaves the job to run and find nothing."""
    from portal.sync.jobs import queue

    jobs = queue()
    try:
        return bool(jobs.connection.eval(_WITHDRAW_LUA, 2, jobs.key, Job.key_for(job_id(batch_id)),
                                         job_id(batch_id)))
    except RedisError:
        return False


class SharedFetcher:
    """The engine's fetcher: this worker's download threads first, batches for other workers beyond."""

    def __init__(self, app: Flask, run_id: int, account_id: int, target: Target, mapper, workers: int):
        self.app, self.run_id, self.account_id = app, run_id, account_id
        self.local = Fetcher(app, account_id, target, mapper, workers)
        self.threads = workers
        self.batch_files = max(1, int(app.config["SYNC_BATCH_FILES"]))
        self.stale_after = float(app.config["SYNC_BATCH_STALE"])
        self.me = worker_name()
        self.buffer: list[RemoteItem] = []  # not handed to anyone yet
        self.waiting: dict[int, list[RemoteItem]] = {}  # batch id -> items: enqueued, taken by nobody we know
        self.elsewhere: dict[int, list[RemoteItem]] = {}  # taken by another worker
        self.ready: list[Fetched] = []
        self.last_poll = 0.0
        self.batches_written = self.batches_elsewhere = self.batches_taken_back = 0
        db.session.execute(delete(SyncBatch).where(SyncBatch.run_id == run_id))  # an earlier attempt's
        db.session.commit()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.local.__exit__(*exc)
        try:
            if exc[0] is not None:
                db.session.rollback()  # the run fails; what it recorded so far is what it committed
            db.session.execute(delete(SyncBatch).where(SyncBatch.run_id == self.run_id))
            db.session.commit()
        except Exception:  # noqa: BLE001 - leftovers are deleted by the next attempt or with the run
            db.session.rollback()
            self.app.logger.exception("sync run %s: could not delete its download batches", self.run_id)
        if self.batches_written:
            self.app.logger.info("sync run %s: %d download batches, %d taken by other workers, %d taken back",
                                 self.run_id, self.batches_written, self.batches_elsewhere, self.batches_taken_back)

    # -- what the engine calls --------------------------------------------------------------------
    def submit(self, item: RemoteItem) -> None:
        if not self.buffer and not self.waiting and len(self.local.pending) < MAX_IN_FLIGHT:
            self.local.submit(item)
            return
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_files:
            self._write_batch()

    def full(self) -> bool:
        """Whether the listing should wait: this worker's threads are busy and batches already wait."""
        return len(self.local.pending) >= MAX_IN_FLIGHT and len(self.waiting) >= MAX_WAITING_BATCHES

    def flush(self) -> None:
        """The listing is over: what is still buffered becomes a batch (or goes to our threads)."""
        self._refill()
        if self.buffer:
            self._write_batch()

    @property
    def pending(self) -> int:
        """Files not downloaded (or not yet reported) anywhere."""
        return (len(self.local.pending) + len(self.buffer) + len(self.ready)
                + sum(map(len, self.waiting.values())) + sum(map(len, self.elsewhere.values())))

    def done(self) -> list[Fetched]:
        finished = self.local.done()  # first: the threads these freed are refilled below, not at the next call
        self._poll()
        self._refill()
        ready, self.ready = self.ready, []
        return ready + finished

    def wait_any(self, timeout: float) -> None:
        if self.elsewhere or self.waiting:
            timeout = min(timeout, POLL_EVERY)
        if self.local.pending:
            self.local.wait_any(timeout)
        elif timeout > 0 and (self.elsewhere or self.waiting):
            time.sleep(timeout)

    # -- batches -------------------------------------------------------------------------------------
    def _write_batch(self) -> None:
        from portal.sync.jobs import JOB_TIMEOUT, queue

        items, self.buffer = self.buffer, []
        row = SyncBatch(run_id=self.run_id, status=BatchStatus.QUEUED, items=[item_to_json(item) for item in items],
                        account_id=self.account_id)
        db.session.add(row)
        db.session.commit()  # the row first, then the job (a job names a committed row)
        self.waiting[row.id] = items
        self.batches_written += 1
        queue().enqueue(fetch_batch, row.id, job_timeout=JOB_TIMEOUT, job_id=job_id(row.id),
                        description=f"downloads of sync run {self.run_id} (batch {row.id})")

    def _refill(self) -> None:
        """Give this worker's idle threads work: the oldest waiting batch (if nobody took it), else
        buffered files."""
        while len(self.local.pending) < self.threads and (self.waiting or self.buffer):
            if self.waiting:
                batch_id = min(self.waiting)
                items = self.waiting.pop(batch_id)
                if claim(batch_id, self.me):
                    for item in items:
                        self.local.submit(item)
                else:
                    self.elsewhere[batch_id] = items
                    self.batches_elsewhere += 1
            else:
                self.local.submit(self.buffer.pop(0))

    def _poll(self) -> None:
        """Collect the results of batches other workers finished; take back stale claims; notice the
        waiting batches another worker took (the listing, held back while two batches wait, goes on:
        without this it went on only as this worker's own threads freed up, which starved the others)."""
        if not (self.elsewhere or self.waiting) or time.monotonic() - self.last_poll < POLL_EVERY:
            return
        self.last_poll = time.monotonic()
        stale_before = utcnow() - timedelta(seconds=self.stale_after)
        rows = db.session.execute(select(SyncBatch.id, SyncBatch.status, SyncBatch.results, SyncBatch.claimed_by,
                                         SyncBatch.heartbeat_at < stale_before)
                                  .where(SyncBatch.id.in_([*self.elsewhere, *self.waiting])))
        for batch_id, status, results, holder, stale in rows.all():
            if batch_id in self.waiting:
                if status != BatchStatus.QUEUED:  # taken by another worker since it was written
                    self.elsewhere[batch_id] = self.waiting.pop(batch_id)
                    self.batches_elsewhere += 1
                else:
                    continue
            if status == BatchStatus.DONE:
                items = self.elsewhere.pop(batch_id)
                got = [fetched_from_json(result) for result in results or []]
                if len(got) != len(items):  # never lose a file: what is missing is downloaded here
                    seen = {(fetched.item.kind, fetched.item.id) for fetched in got}
                    for item in items:
                        if (item.kind, item.id) not in seen:
                            self.local.submit(item)
                self.ready.extend(got)
                db.session.execute(delete(SyncBatch).where(SyncBatch.id == batch_id))
            elif status == BatchStatus.CLAIMED and stale:
                if claim(batch_id, self.me, stale_before=stale_before, holder=holder):
                    self.app.logger.warning("sync run %s: batch %s of %s went stale; downloading it here",
                                            self.run_id, batch_id, holder)
                    self.batches_taken_back += 1
                    for item in self.elsewhere.pop(batch_id):
                        self.local.submit(item)
        db.session.commit()


# -- the job another worker runs ------------------------------------------------------------------

def fetch_batch(batch_id: int) -> str:
    """The RQ job: take this batch of a running run and, while the run has batches nobody took, the next
    ones too (one job keeps its threads and Procore clients instead of a fork per batch), downloading
    into the shared blob store and writing each batch's results into its row as it completes.
    "not_claimed" when the batch is gone, taken, or its run is over."""
    me = worker_name()
    live_run = exists().where(SyncRun.id == SyncBatch.run_id, SyncRun.status.in_(WORKING_RUN_STATUSES))
    taken = db.session.execute(update(SyncBatch).where(SyncBatch.id == batch_id, SyncBatch.status == BatchStatus.QUEUED,
                                                       live_run)
                               .values(status=BatchStatus.CLAIMED, claimed_by=me, heartbeat_at=utcnow())).rowcount == 1
    db.session.commit()
    if not taken:
        return "not_claimed"
    return Taker(me, db.session.get(SyncBatch, batch_id)).run()


class Taker:
    """Another worker's side: the batches it holds, their files in one Fetcher, results as they finish."""

    def __init__(self, me: str, first: SyncBatch):
        from portal.sync.engine import export_roots

        self.me, self.run_id, self.account_id = me, first.run_id, first.account_id
        integration = db.session.get(Integration, db.session.get(SyncRun, first.run_id).integration_id)
        self.target = Target(integration.procore_company_id, integration.procore_project_id,
                             dict(integration.selections or {}),
                             exclude=frozenset(export_roots(integration.company_id, integration.procore_project_id)))
        self.mapper, self.app = mapper_for(integration.tool), current_app._get_current_object()
        self.threads = self.app.config["SYNC_DOWNLOAD_THREADS"]
        self.held: dict[int, list[RemoteItem]] = {}  # batch id -> its files
        self.owner: dict[tuple[str, int], int] = {}  # (kind, id) -> batch id
        self.results: dict[int, dict[tuple[str, int], dict]] = {}
        self.first = first
        self.counts = {"batches": 0, "lost": 0}

    def run(self) -> str:
        first, self.first = self.first, None
        items = [item_from_json(data) for data in first.items]
        db.session.commit()  # nothing open while files download
        with Fetcher(self.app, self.account_id, self.target, self.mapper, self.threads) as fetcher:
            self.hold(fetcher, first.id, items)
            last_beat = time.monotonic()
            while self.held:
                fetcher.wait_any(POLL_EVERY)
                for fetched in fetcher.done():
                    self.finished(fetched)
                if len(fetcher.pending) < self.threads:
                    self.take_next(fetcher)
                if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                    last_beat = time.monotonic()
                    self.beat()
        self.app.logger.info("sync run %s: this worker downloaded %d batches (%d taken back from it)",
                             self.run_id, self.counts["batches"], self.counts["lost"])
        return "done"

    def hold(self, fetcher: Fetcher, batch_id: int, items: list[RemoteItem]) -> None:
        self.held[batch_id], self.results[batch_id] = items, {}
        for item in items:
            self.owner[(item.kind, item.id)] = batch_id
            fetcher.submit(item)
        if not items:
            self.complete(batch_id)

    def take_next(self, fetcher: Fetcher) -> None:
        """Claim the run's oldest batch nobody took, if any (the run still running)."""
        live_run = exists().where(SyncRun.id == self.run_id, SyncRun.status.in_(WORKING_RUN_STATUSES))
        batch_id = db.session.scalar(select(SyncBatch.id).where(SyncBatch.run_id == self.run_id,
                                                                SyncBatch.status == BatchStatus.QUEUED, live_run)
                                     .order_by(SyncBatch.id).limit(1))
        db.session.commit()
        if batch_id is None or not claim(batch_id, self.me):
            return
        items = db.session.scalar(select(SyncBatch.items).where(SyncBatch.id == batch_id))
        db.session.commit()
        self.hold(fetcher, batch_id, [item_from_json(data) for data in items or []])

    def finished(self, fetched: Fetched) -> None:
        batch_id = self.owner.pop((fetched.item.kind, fetched.item.id), None)
        if batch_id not in self.held:
            return  # its batch was taken back meanwhile
        self.results[batch_id][(fetched.item.kind, fetched.item.id)] = fetched_to_json(fetched)
        if len(self.results[batch_id]) == len(self.held[batch_id]):
            self.complete(batch_id)

    def complete(self, batch_id: int) -> None:
        items, results = self.held.pop(batch_id), self.results.pop(batch_id)
        ordered = [results[(item.kind, item.id)] for item in items if (item.kind, item.id) in results]
        written = db.session.execute(update(SyncBatch).where(SyncBatch.id == batch_id, SyncBatch.claimed_by == self.me)
                                     .values(status=BatchStatus.DONE, results=ordered, heartbeat_at=utcnow())
                                     ).rowcount == 1
        db.session.commit()
        self.counts["batches" if written else "lost"] += 1

    def beat(self) -> None:
        """Refresh this worker's claims; a batch taken back as stale is dropped (its files finish unused)."""
        mine = set(db.session.scalars(select(SyncBatch.id).where(SyncBatch.id.in_(list(self.held)),
                                                                 SyncBatch.claimed_by == self.me)))
        if mine:
            db.session.execute(update(SyncBatch).where(SyncBatch.id.in_(list(mine)), SyncBatch.claimed_by == self.me)
                               .values(heartbeat_at=utcnow()))
        db.session.commit()
        for batch_id in set(self.held) - mine:
            self.held.pop(batch_id)
            self.results.pop(batch_id, None)
            self.counts["lost"] += 1
