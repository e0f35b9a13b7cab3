"""Every periodic job, in one list, run by RQ's own scheduler (issue 15; RELIABILITY 10, 13).

PERIODIC names each job once: its name, its interval (a setting in config.py, seconds, 0 = off), its
queue, its timeout and its body (a function that returns what it counted). Nothing else schedules
periodic work.

How one schedule comes out of any number of workers:

- Time is cut into slots aligned on the epoch: the next slot of a job due every E seconds is
  ``(now // E + 1) * E``. Every process computes the same slot, whatever its start time.
- A slot is one RQ job with the deterministic id ``periodic_<name>_<due>``, scheduled with RQ 2.12's
  ``Queue.schedule_job(job, when, unique=True)`` (a Lua script saves the job and adds it to the
  ScheduledJobRegistry only if no job hash with that id exists). Two workers arming the same slot give
  one job; the second gets DuplicateJobError and does nothing. Workers run with ``with_scheduler=True``:
  RQ's scheduler lock lets one of them move due jobs to the queue.
- Each slot is its own job hash, so RQ setting a finished run's result expiry (RQ_RESULT_TTL) on that
  hash never touches the next run. The old chains re-enqueued themselves under one fixed id and the
  next run was lost whenever it was due later than the result TTL (the finding of
  tests/periodic/test_workers.py).
- A run first takes its slot (``SET NX periodic:slot:<name>:<due>``): RQ is at-least-once, and a slot
  delivered twice runs once. It then arms the next slot (before its work: a run killed midway leaves
  the schedule armed), records its start in the database, does its work and records the end.
- A slot more than one interval late while a later slot of the same job is already armed is skipped
  (it still arms the next): after an outage (a dead scheduler, every worker busy) the backlog of due
  slots runs once, not once per missed slot.
- At most one slot of a job waits at a time: arming while a slot is still scheduled or queued does
  nothing (unless it has waited LOST_AFTER intervals: then it is taken for lost).
- Re-arming: ``arm_all()`` at worker start-up and from every worker's housekeeping at least every
  PERIODIC_ARM_EVERY seconds (worker.py), so the schedule comes back after a Redis flush or restart
  (which erase every scheduled job) or after a job whose next slot could not be armed. It is idempotent:
  an armed slot is never armed twice.

When each job last ran is stored in the database (portal/models/periodic.py says why); its next slot
is read from Redis (``periodic:armed`` names the latest armed slot; RQ's job hash says if it still
exists). ``status()`` gives both to the support page, with the fault rule: a job that has not run for
twice its interval is a fault.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import import_string

from portal import redis_conn
from portal.extensions import db

log = logging.getLogger(__name__)

ARMED_KEY = "periodic:armed"          # hash: job name -> due (epoch seconds) of its latest armed slot
SLOT_KEY = "periodic:slot:{name}:{due}"  # taken by the one run of a slot
JOB_ID = "periodic_{name}_{due}"  # RQ ids allow letters, digits, _ and -; names use no _
FAILURE_TTL = 24 * 3600               # a failed slot stays in RQ's failed registry a day (not RQ's year)
LOST_AFTER = 10                       # intervals an armed slot may wait before another is armed beside it
LEGACY_JOB_IDS = ("webhooks-periodic", "webhooks-sweep")  # the self re-enqueuing chains before issue 15


@dataclass(frozen=True)
class Periodic:
    name: str      # stable: in job ids, Redis keys and the periodic_jobs rows
    setting: str   # config key of the interval in seconds; 0 turns the job off
    func: str      # dotted path of the body: no arguments, returns a count (shown to support)
    label: object  # what support reads (lazy: translated when shown)
    queue: str = "default"
    timeout: int = 600  # RQ's job timeout, seconds

    def every(self, config=None) -> int:
        return max(0, int((config if config is not None else current_app.config).get(self.setting) or 0))


PERIODIC: tuple[Periodic, ...] = (
    # Events committed but never enqueued (Redis slow or down at delivery), due retries, stuck claims.
    Periodic("webhooks-sweep", "WEBHOOK_SWEEP_EVERY", "portal.webhooks.jobs.sweep",
             _l("Webhook inbox sweep"), timeout=600),
    # Every linked company's hook health (SPEC R8).
    Periodic("webhooks-health", "WEBHOOK_CHECK_EVERY", "portal.webhooks.companies.check_all_companies",
             _l("Webhook health checks"), timeout=1800),
    # Sync runs committed but never enqueued, or whose worker died (RELIABILITY 10, 11).
    Periodic("sync-sweep", "SYNC_SWEEP_EVERY", "portal.sync.jobs.sweep",
             _l("Sync run sweep"), timeout=600),
    # A full refresh of every active integration (RELIABILITY 9, SPEC R4, R7): it only queues the runs.
    Periodic("sync-reconcile", "SYNC_RECONCILE_EVERY", "portal.sync.reconcile.reconcile_all",
             _l("Integration reconciliation"), timeout=1800),
    # Alert mails to company admins: immediate ones, and the daily digest once its hour has come (issue 14).
    Periodic("alerts-mail", "ALERT_MAIL_EVERY", "portal.alerts.send_due", _l("Alert mails"), timeout=600),
    # cBox items deleted more than CBOX_TRASH_DAYS ago leave the trash for good (issue 14).
    Periodic("cbox-trash", "CBOX_TRASH_PURGE_EVERY", "portal.cbox.trash.purge_expired",
             _l("cBox trash clean-up"), timeout=1800),
)
BY_NAME = {job.name: job for job in PERIODIC}


def _redis():
    return redis_conn.connection()


def next_due(every: int, now: float | None = None) -> int:
    """The first slot strictly after `now` (epoch seconds), aligned on the epoch."""
    now = time.time() if now is None else now
    return (int(now) // every + 1) * every


def arm(job: Periodic, now: float | None = None) -> int | None:
    """Schedule the job's next slot unless one already waits; return the waiting slot's due (None: off).

    At most one slot of a job waits at a time: while the scheduler is away (its worker died and RQ's
    lock has not expired yet) the workers' housekeeping does not pile up one slot per interval. A slot
    waiting for more than LOST_AFTER intervals is taken for lost and another is armed (a late slot
    with a later one armed is then skipped by run())."""
    every = job.every()
    if not every:
        return None
    now = time.time() if now is None else now
    waiting = _waiting_slot(job, every, now)
    if waiting is not None:
        return waiting
    due = next_due(every, now)
    queue = Queue(job.queue, connection=_redis())
    rq_job = queue.create_job("portal.periodic.run", args=(job.name, due), job_id=JOB_ID.format(name=job.name, due=due),
                              timeout=job.timeout, failure_ttl=FAILURE_TTL, description=f"periodic {job.name}",
                              status=JobStatus.SCHEDULED)
    try:
        queue.schedule_job(rq_job, datetime.fromtimestamp(due, timezone.utc), unique=True)
    except DuplicateJobError:
        pass  # another worker (or the run before) armed this slot already
    if int(_redis().hget(ARMED_KEY, job.name) or 0) < due:  # only forward (a lagging clock elsewhere)
        _redis().hset(ARMED_KEY, job.name, due)
    return due


def _waiting_slot(job: Periodic, every: int, now: float) -> int | None:
    """The due of the job's armed slot if its RQ job still waits (scheduled in the registry, or queued)."""
    redis = _redis()
    armed = int(redis.hget(ARMED_KEY, job.name) or 0)
    if not armed or now - armed > LOST_AFTER * every:
        return None
    job_id = JOB_ID.format(name=job.name, due=armed)
    state = redis.hget(Job.key_for(job_id), "status")
    state = state.decode() if isinstance(state, bytes) else state
    if state == JobStatus.QUEUED.value:
        return armed
    if state == JobStatus.SCHEDULED.value and redis.zscore(ScheduledJobRegistry(job.queue, connection=redis).key,
                                                           job_id) is not None:
        return armed
    return None


def arm_all(now: float | None = None) -> dict[str, int | None]:
    """Arm every periodic job's next slot (idempotent). Returns {name: due or None when off}."""
    _drop_legacy_chains()
    return {job.name: arm(job, now) for job in PERIODIC}


def arm_all_safely() -> None:
    """arm_all() for the worker's housekeeping: a Redis or database hiccup is logged, never fatal."""
    try:
        arm_all()
    except Exception:  # noqa: BLE001 - the next housekeeping round tries again
        log.warning("could not arm the periodic jobs", exc_info=True)


def _drop_legacy_chains() -> None:
    """The chains of before issue 15 re-enqueued themselves under fixed ids; drop them once."""
    redis = _redis()
    for job_id in LEGACY_JOB_IDS:
        if redis.exists(Job.key_for(job_id)):
            for job in PERIODIC:
                redis.zrem(ScheduledJobRegistry(job.queue, connection=redis).key, job_id)
            redis.delete(Job.key_for(job_id))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run(name: str, due: int) -> str:
    """The RQ job of one slot: take the slot, arm the next, do the work, record it."""
    job = BY_NAME.get(name)
    if job is None or not job.every():
        return "off"
    every, redis = job.every(), _redis()
    if not redis.set(SLOT_KEY.format(name=name, due=due), "1", nx=True, ex=max(2 * every, 3600)):
        return "slot already run"
    armed = int(redis.hget(ARMED_KEY, name) or 0)
    late = time.time() - due > every and armed > due
    try:
        arm(job)
    except RedisError:
        log.warning("periodic %s: could not arm the next slot; the workers' housekeeping will", name, exc_info=True)
    if late:
        log.info("periodic %s: slot %s is more than one interval late and a later one is armed: skipped", name, due)
        return "skipped (late)"
    _record_start(name, due)
    try:
        result = import_string(job.func)()
    except Exception as error:
        db.session.rollback()
        _record_end(name, None, f"{type(error).__name__}: {error}"[:2000])
        raise
    count = result if isinstance(result, int) else len(result) if result is not None else None
    _record_end(name, count, None)
    return f"{name}: {count}"


def _record_start(name: str, due: int) -> None:
    from portal.models import PeriodicJobRun

    values = {"last_due_at": datetime.fromtimestamp(due, timezone.utc), "last_started_at": _now(),
              "last_worker": worker_name()}
    row = db.session.get(PeriodicJobRun, name)
    if row is None:
        db.session.add(PeriodicJobRun(name=name, runs=1, **values))
        try:
            db.session.commit()
            return
        except IntegrityError:  # another process inserted it first
            db.session.rollback()
            row = db.session.get(PeriodicJobRun, name)
    row.runs = (row.runs or 0) + 1
    for key, value in values.items():
        setattr(row, key, value)
    db.session.commit()


def _record_end(name: str, count: int | None, error: str | None) -> None:
    from portal.models import PeriodicJobRun

    row = db.session.get(PeriodicJobRun, name)
    if row is None:
        return
    row.last_finished_at, row.last_result, row.last_error = _now(), count, error
    db.session.commit()


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class JobStatusRow:
    """One line of the support page's table."""

    job: Periodic
    every: int
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_result: int | None
    last_error: str | None
    running: bool
    next_at: datetime | None  # the armed slot, if its job still exists in Redis
    fault: bool

    @property
    def off(self) -> bool:
        return not self.every

    @property
    def every_text(self) -> str:
        """The interval as people write it: 60 s -> "1 min", 1800 -> "30 min", 21600 -> "6 h"."""
        if self.every and self.every % 3600 == 0:
            return f"{self.every // 3600} h"
        if self.every and self.every % 60 == 0:
            return f"{self.every // 60} min"
        return f"{self.every} s"


def status(now: datetime | None = None) -> list[JobStatusRow]:
    """Every periodic job: last run (database), next run (Redis), and whether it is a fault.

    A fault: the job has not started for more than twice its interval; one that never ran is a
    fault when no slot is armed, or when its armed slot is more than an interval overdue. A Redis
    that cannot be read shows no next run (and the last runs still come from the database)."""
    from portal.models import PeriodicJobRun

    now = now or _now()
    rows = {row.name: row for row in db.session.query(PeriodicJobRun).all()}
    armed = _armed()
    out = []
    for job in PERIODIC:
        every, row = job.every(), rows.get(job.name)
        started = row.last_started_at if row else None
        finished = row.last_finished_at if row else None
        next_at = armed.get(job.name)
        if not every:
            fault = False
        elif started is not None:
            fault = (now - started).total_seconds() > 2 * every
        else:
            fault = next_at is None or (now - next_at).total_seconds() > every
        out.append(JobStatusRow(job, every, started, finished, row.last_result if row else None,
                                row.last_error if row else None,
                                bool(started and (finished is None or finished < started)), next_at, fault))
    return out


WAITING = {JobStatus.SCHEDULED.value, JobStatus.QUEUED.value}


def _armed() -> dict[str, datetime]:
    """{name: due} of the armed slots whose RQ job still waits to run (a flushed Redis has none)."""
    try:
        redis = _redis()
        found = {}
        for name, due in (redis.hgetall(ARMED_KEY) or {}).items():
            name, due = name.decode() if isinstance(name, bytes) else name, int(due)
            state = redis.hget(Job.key_for(JOB_ID.format(name=name, due=due)), "status")
            if state is not None and (state.decode() if isinstance(state, bytes) else state) in WAITING:
                found[name] = datetime.fromtimestamp(due, timezone.utc)
        return found
    except RedisError:
        log.warning("cannot read the periodic schedule from Redis", exc_info=True)
        return {}
