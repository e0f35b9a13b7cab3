"""An RQ worker with the portal application loaded: `python worker.py [queue ...]`.

The app is created once in the parent; every job runs inside its application context.
RQ forks a work horse per job, so the SQLAlchemy connection pool inherited from the parent
is disposed in the child (without closing the parent's sockets) before a job touches it.
"""
from __future__ import annotations

import os
import sys

from rq import Queue, Worker

from portal import create_app
from portal.extensions import db


def main(argv: list[str]) -> None:
    app = create_app()
    with app.app_context():
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        connection = app.extensions["redis"]
        names = argv or app.config["RQ_QUEUES"]
        queues = [Queue(name, connection=connection) for name in names]
        _schedule_housekeeping(app)
        worker = Worker(queues, connection=connection, default_result_ttl=app.config["RQ_RESULT_TTL"])
        app.logger.info("Worker %s listening on %s", worker.name, ", ".join(names))
        worker.work(with_scheduler=True)


def _schedule_housekeeping(app) -> None:
    """Arm the periodic jobs at start: webhook sweep + health checks, and the sync sweeper.

    Both use fixed job ids or a Redis key, so N workers starting together arm them once; a
    worker restarted after a crash also re-enqueues work its predecessor left behind.
    """
    from portal.sync import jobs as sync_jobs
    from portal.webhooks import jobs as webhook_jobs

    try:
        webhook_jobs.schedule_periodic()
        sync_jobs.sweep()
        sync_jobs.ensure_sweeper()
    except Exception:  # noqa: BLE001 - the worker must start even if housekeeping cannot be armed
        app.logger.exception("could not schedule the periodic jobs; `flask webhooks schedule` can")


if __name__ == "__main__":
    main(sys.argv[1:])
