"""Sandbox clock: wall clock plus the ``clock_offset`` knob (time travel for tests).

Use ``clock.now()`` everywhere instead of ``time.time()`` so that
``POST /_sandbox/clock {"advance": 3600}`` expires tokens, codes, URLs and uploads.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import current_app


def offset() -> float:
    try:
        return float(current_app.extensions["sandbox"].config.get("clock_offset") or 0.0)
    except (RuntimeError, KeyError):
        return 0.0


def now() -> float:
    return time.time() + offset()


def iso(ts: float | None) -> str | None:
    """Unix seconds -> Procore style ISO-8601 UTC string ("2024-05-01T12:00:00Z")."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    """Parse an ISO-8601 date or datetime (naive = UTC) into unix seconds. Raises ValueError."""
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
