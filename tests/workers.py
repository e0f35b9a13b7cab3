"""Real `python worker.py` processes for tests: start one on the test's database, Redis and store,
SIGKILL it with its work horse, wait for a condition."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.conftest import ROOT
from tests.conftest import wait_for as _wait  # noqa: F401 - the name the worker tests import


def _worker(app, tmp_path, name, **extra_env):
    """A real `python worker.py` on the test's database, Redis and store; `extra_env` adds settings."""
    from portal import redis_conn

    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": redis_conn.resolve_url(app.config), "INSTANCE_DIR": app.config["INSTANCE_DIR"],
           "STORAGE_DIR": app.config["STORAGE_DIR"], "PROCORE_API_URL": app.config["PROCORE_API_URL"],
           "PROCORE_LOGIN_URL": app.config["PROCORE_LOGIN_URL"], "PROCORE_REQUESTS_PER_SECOND": "50",
           "PROCORE_BURST": "50", "PORTAL_ENV": "testing"}
    for setting in ("STORAGE_URL", "S3_ENDPOINT_URL", "S3_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        if app.config.get(setting):  # the S3 store pass: the worker writes to the same bucket
            env[setting] = app.config[setting]
    # The slow periodic jobs stay off unless a test asks for them: their epoch-aligned slots (health checks
    # every 30 min, reconciliation every 6 h) must not start hook checks or refreshes in an unrelated test.
    env.update({"WEBHOOK_CHECK_EVERY": "0", "SYNC_RECONCILE_EVERY": "0"})
    env.update({key: str(value) for key, value in extra_env.items()})
    log = open(tmp_path / f"{name}.log", "wb")
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its own group: the kill reaches the forked work horse too


def _kill(process) -> None:
    """SIGKILL the worker and its work horse (RQ moves the horse to its own session, so a group kill
    would miss it)."""
    import psutil

    try:
        victims = [process.pid] + [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:  # it exited on its own meanwhile (a warm stop that ended late)
        victims = []
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # gone between the listing and the kill
            pass
    process.wait()


def _stop(process, timeout: float = 30) -> bool:
    """SIGTERM: RQ's warm shutdown lets the job in hand finish, then the worker exits (True); SIGKILL if it
    won't (False)."""
    if process.poll() is not None:
        return False
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        _kill(process)
        return False
