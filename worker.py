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
        worker = Worker(queues, connection=connection)
        app.logger.info("Worker %s listening on %s", worker.name, ", ".join(names))
        worker.work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
