"""Process-wide sandbox state: config, engine, counters and the rate limiter.

``state()`` returns the ``SandboxState`` of the current Flask app.
Counters and rate-limit windows live in memory (reset on restart and by
``POST /_sandbox/reset``); everything else is in SQLite.
"""
from __future__ import annotations

import math
import threading
from collections import defaultdict

from flask import current_app


class Stats:
    COUNTERS = ("requests_total", "api_requests", "oauth_requests", "storage_downloads",
                "bytes_served", "bytes_uploaded", "rate_limited_429", "injected_5xx",
                "injected_503", "injected_storage_5xx", "unauthorized_401", "tokens_issued", "tokens_refreshed",
                "tokens_revoked")

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "_lock", threading.Lock()):
            self.counters = {k: 0 for k in self.COUNTERS}
            self.requests_by_token: dict[str, int] = defaultdict(int)
            self.requests_by_user: dict[str, int] = defaultdict(int)
            self.status_codes: dict[str, int] = defaultdict(int)
            self.endpoints: dict[str, int] = defaultdict(int)
            self.endpoint_methods: dict[str, int] = defaultdict(int)  # "POST /rest/v1.0/files"

    def incr(self, name: str, n: int = 1):
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + n

    def api_request(self, token_label: str | None, user_login: str | None, endpoint: str,
                    method: str | None = None):
        with self._lock:
            self.counters["api_requests"] += 1
            if token_label:
                self.requests_by_token[token_label] += 1
            if user_login:
                self.requests_by_user[user_login] += 1
            self.endpoints[endpoint] += 1
            if method:
                self.endpoint_methods[f"{method} {endpoint}"] += 1

    def status(self, code: int):
        with self._lock:
            self.counters["requests_total"] += 1
            self.status_codes[str(code)] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {**self.counters,
                    "requests_by_token": dict(self.requests_by_token),
                    "requests_by_user": dict(self.requests_by_user),
                    "status_codes": dict(self.status_codes),
                    "endpoints": dict(self.endpoints),
                    "endpoint_methods": dict(self.endpoint_methods)}


class RateLimiter:
    """Two fixed windows per key (hourly + spike), like Procore's rate limiting page."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows: dict[str, dict[str, list]] = {}

    def reset(self):
        with self._lock:
            self._windows.clear()

    def hit(self, key: str, now: float, cfg: dict) -> dict:
        """Count one request. Returns {allowed, limit, remaining, reset, retry_after}."""
        specs = [("spike", cfg["rate_limit_spike"], cfg["rate_limit_spike_window"]),
                 ("hourly", cfg["rate_limit_hourly"], cfg["rate_limit_hourly_window"])]
        specs = [s for s in specs if s[1] and s[1] > 0]
        if not specs:
            return {"allowed": True, "limit": None}
        with self._lock:
            wins = self._windows.setdefault(key, {})
            for name, _limit, length in specs:
                w = wins.get(name)
                if w is None or now >= w[0] + length:
                    wins[name] = [now, 0]
            exhausted = [(name, limit, length) for name, limit, length in specs
                         if wins[name][1] >= limit]
            if exhausted:
                name, limit, length = max(exhausted, key=lambda s: wins[s[0]][0] + s[2])
                reset = wins[name][0] + length
                return {"allowed": False, "limit": limit, "remaining": 0,
                        "reset": int(math.ceil(reset)),
                        "retry_after": max(1, int(math.ceil(reset - now)))}
            for name, _l, _len in specs:
                wins[name][1] += 1
            # Report the window closest to exhaustion (smallest remaining fraction).
            name, limit, length = min(specs, key=lambda s: (limit_left(wins, s) / s[1]))
            return {"allowed": True, "limit": limit, "remaining": limit - wins[name][1],
                    "reset": int(math.ceil(wins[name][0] + length))}


def limit_left(wins, spec):
    return spec[1] - wins[spec[0]][1]


class SandboxState:
    def __init__(self, config: dict, engine, blob_dir: str):
        self.config = config
        self.initial_config = dict(config)
        self.engine = engine
        self.blob_dir = blob_dir
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.secret: bytes = b""
        self.lock = threading.RLock()  # guards reset/generate


def state() -> SandboxState:
    return current_app.extensions["sandbox"]


def cfg(key: str):
    return current_app.extensions["sandbox"].config[key]
