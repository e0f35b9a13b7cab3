"""An RQ worker with the portal application loaded: `python worker.py [queue ...]`.

The app is created once in the parent; every job runs inside its application context.
RQ forks a work horse per job, so the SQLAlchemy connection pool inherited from the parent
is disposed in the child (without closing the parent's sockets) before a job touches it.

Every worker runs RQ's scheduler (`with_scheduler=True`: RQ's lock lets one of them move due jobs
to the queues) and keeps the periodic jobs of portal/periodic.py armed: at start, then from its
housekeeping at least every PERIODIC_ARM_EVERY seconds while idle (issue 15). When RQ's loop ends
because Redis went away mid-job, a new worker starts once Redis answers again.
"""
from __future__ import annotations

import importlib
import os
import signal
import sys
import time

import redis
from rq import Queue, Worker

from portal import redis_conn
from portal.extensions import db
from portal.startup import start_app


class PortalWorker(Worker):
    """RQ's worker whose housekeeping also re-arms the periodic jobs.

    RQ runs its maintenance (registry cleaning, restarting a scheduler that died, taking over the
    scheduler lock a dead worker left) every `maintenance_interval` seconds, checked when a blocking
    dequeue returns: both are capped at PERIODIC_ARM_EVERY, so an idle worker re-arms a schedule that
    a Redis flush or restart erased within about that time. A Redis error during housekeeping is
    logged; the worker keeps running and tries again.
    """

    def __init__(self, *args, arm_every: int = 60, **kwargs):
        self.arm_every = max(1, int(arm_every))  # before Worker.__init__: it reads dequeue_timeout
        self.stop_asked = False  # SIGTERM/SIGINT: main() must not start a new worker after this one
        super().__init__(*args, maintenance_interval=self.arm_every, **kwargs)

    def request_stop(self, signum, frame):
        # RQ's warm shutdown: idle, it raises StopRequested at once; busy, it stops after the job.
        self.stop_asked = True
        super().request_stop(signum, frame)

    @property
    def dequeue_timeout(self) -> int:
        return max(1, min(self.worker_ttl - 15, self.arm_every))

    def run_maintenance_tasks(self):
        from portal import periodic

        try:
            super().run_maintenance_tasks()
        except redis.exceptions.RedisError:
            self.log.warning("Worker %s: housekeeping could not reach Redis; trying again later", self.name,
                             exc_info=True)
        periodic.arm_all_safely()

    def check_for_suspension(self, burst: bool):
        try:
            super().check_for_suspension(burst)
        except redis.exceptions.ConnectionError:
            # RQ would quit on it; the dequeue that follows waits for Redis with backoff instead.
            self.log.warning("Worker %s: Redis unreachable while checking for suspension", self.name)


# What the jobs import when they run (RQ imports the job function; they import more inside). Imported once
# here: RQ forks a work horse per job, and each horse would import them again, and without a bytecode cache
# (PYTHONDONTWRITEBYTECODE) compile them again, about a tenth of a second of every sync run (issue 13).
PRELOAD = ("portal.sync.jobs", "portal.sync.engine", "portal.sync.export_run", "portal.sync.batches",
           "portal.sync.documents", "portal.sync.photos", "portal.sync.drawings", "portal.sync.events",
           "portal.webhooks.jobs", "portal.periodic", "portal.alerts")


def preload() -> None:
    for module in PRELOAD:
        importlib.import_module(module)


def main(argv: list[str]) -> None:
    app = start_app()
    preload()
    with app.app_context():
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        connection = redis_conn.connection(app)
        names = argv or app.config["RQ_QUEUES"]
        pause = 1.0
        while True:
            _housekeeping_at_start(app)
            queues = [Queue(name, connection=connection) for name in names]
            worker = PortalWorker(queues, connection=connection, default_result_ttl=app.config["RQ_RESULT_TTL"],
                                  arm_every=app.config["PERIODIC_ARM_EVERY"])
            app.logger.info("Worker %s listening on %s", worker.name, ", ".join(names))
            began = time.monotonic()
            try:
                worker.work(with_scheduler=True)
            except redis.exceptions.RedisError:
                app.logger.warning("Worker %s stopped on a Redis error", worker.name, exc_info=True)
            if worker.stop_asked:  # SIGTERM / SIGINT: RQ's warm shutdown is done
                return
            # RQ quits its loop when Redis goes away while a job runs (it cannot record the job). A
            # supervisor would start the worker again; so do we, once the job's work horse has ended and
            # Redis answers, and the new worker re-arms the periodic jobs at start (issue 15).
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, signal.SIG_DFL)
            _wait_for_horse(worker)
            pause = 1.0 if time.monotonic() - began > 60 else min(pause * 2, 60.0)
            time.sleep(pause)
            _wait_for_redis(app, connection)
            app.logger.warning("Worker %s ended unexpectedly; starting a new worker", worker.name)


def _wait_for_horse(worker) -> None:
    """The forked work horse of the job the worker was monitoring may still run it: let it finish."""
    pid = worker.horse_pid
    if pid:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # already reaped


def _wait_for_redis(app, connection) -> None:
    wait = 1.0
    while True:
        try:
            connection.ping()
            return
        except redis.exceptions.RedisError as error:
            app.logger.warning("Redis does not answer (%s); trying again in %.0f s", error, wait)
            time.sleep(wait)
            wait = min(wait * 2, 30.0)


def _housekeeping_at_start(app) -> None:
    """Re-enqueue sync runs a crashed predecessor left behind, and arm the periodic jobs.

    Arming is idempotent (one RQ job per slot, portal/periodic.py): N workers starting together arm
    each job once."""
    from portal import periodic
    from portal.sync import jobs as sync_jobs

    try:
        sync_jobs.sweep()
    except Exception:  # noqa: BLE001 - the worker must start even so; the periodic sweep retries
        app.logger.exception("could not sweep the sync runs at start")
    periodic.arm_all_safely()


if __name__ == "__main__":
    main(sys.argv[1:])
