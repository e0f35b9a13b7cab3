"""The embedded Redis (REDIS_URL unset) stops with the process that started it, clients or not."""
from __future__ import annotations

import time

import psutil

from portal import redis_conn


def test_stop_embedded_stops_a_server_that_still_has_clients(tmp_path):
    instance = str(tmp_path / "instance")
    url = redis_conn.start_embedded(instance)
    assert redis_conn.start_embedded(instance) == url  # reused, not a second server
    pid = redis_conn._embedded[str((tmp_path / "instance").resolve())].pid
    other = redis_conn.connect(url)
    assert other.ping()  # a second client, as the app's pools are at the end of a test session
    redis_conn.stop_embedded(instance)  # this one only: the session's app keeps its own
    deadline = time.time() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE and time.time() < deadline:
        time.sleep(0.05)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert str((tmp_path / "instance").resolve()) not in redis_conn._embedded
