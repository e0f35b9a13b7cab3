"""Process-wide sandbox state: config, engine, counters and the rate limiter.

``state()`` returns the ``SandboxState`` of the current Flask app.
Counters and rate-limit windows live in memory (reset on restart and by
``POST /_sandbox/reset``); everything else is in SQLite. With storage processes
(``--storage-processes``) the config and the storage processes' counters are shared through
``sandbox.core.shared``; change the config only through ``SandboxState.update_config``.
"""
from __future__ import annotations

import math
import threading
from collections import defaultdict

from flask import current_app


PER_KEY = ("requests_by_token", "requests_by_user", "status_codes", "endpoints", "endpoint_methods")


class Stats:
    COUNTERS = ("requests_total", "api_requests", "oauth_requests", "storage_downloads",
                "bytes_served", "bytes_uploaded", "rate_limited_429", "injected_5xx",
                "injected_503", "injected_storage_5xx", "unauthorized_401", "tokens_issued", "tokens_refreshed",
                "tokens_revoked")

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._zero()

    def _zero(self):
        self.counters = {k: 0 for k in self.COUNTERS}
        self.requests_by_token: dict[str, int] = defaultdict(int)
        self.requests_by_user: dict[str, int] = defaultdict(int)
        self.status_codes: dict[str, int] = defaultdict(int)
        self.endpoints: dict[str, int] = defaultdict(int)
        self.endpoint_methods: dict[str, int] = defaultdict(int)  # "POST /rest/v1.0/files"

    def take(self) -> list[tuple[str, str, int]]:
        """What was counted since the last take as (group, key, n) rows ("counters" for the flat ones), and
        start again from zero: what a storage process adds to the shared store after each request."""
        with self._lock:
            rows = [("counters", k, v) for k, v in self.counters.items() if v]
            for name in PER_KEY:
                rows += [(name, k, v) for k, v in getattr(self, name).items() if v]
            self._zero()
        return rows

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


class CombinedStats(Stats):
    """The main process's counters (in memory) plus what its storage processes added to the shared store."""

    def __init__(self, shared):
        self.shared = shared
        super().__init__()

    def reset(self):
        super().reset()
        self.shared.reset_stats()

    def snapshot(self) -> dict:
        snap = super().snapshot()
        for group, key, n in self.shared.stats_rows():
            table = snap if group == "counters" else snap[group]
            table[key] = table.get(key, 0) + n
        return snap


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
        self.role = "main"  # "storage": one of the storage processes (sandbox/core/shared.py)
        self.shared = None  # a shared.SharedStore when there are storage processes
        self._config_lock = threading.Lock()
        self._config_version = None
        self._flush_lock = threading.Lock()

    def attach_shared(self, shared, role: str) -> None:
        """Share the config and counters with the other processes: the main process publishes its config,
        a storage process adopts it."""
        self.shared, self.role = shared, role
        if role == "main":
            shared.init(self.config)
            self.stats = CombinedStats(shared)
            self._config_version = shared.config_version()
        else:
            self._adopt(*shared.load_config())

    def _adopt(self, version: int, config: dict) -> None:
        self.config, self._config_version = config, version  # a new dict: readers never see it half-updated

    def refresh_config(self) -> None:
        """Shared mode, at the start of each request: reload the config when another process changed it."""
        if self.shared is not None and self.shared.config_version() != self._config_version:
            self._adopt(*self.shared.load_config())

    def update_config(self, mutate):
        """Change the config with ``mutate(config)`` for every process of the sandbox; returns its result."""
        if self.shared is None:
            with self._config_lock:
                return mutate(self.config)
        version, config, result = self.shared.update_config(mutate)
        self._adopt(version, config)
        return result

    def flush_stats(self) -> None:
        """A storage process, before a response leaves: add what the request counted to the shared store."""
        if self.role == "storage":
            with self._flush_lock:
                self.shared.add_stats(self.stats.take())


def state() -> SandboxState:
    return current_app.extensions["sandbox"]


def cfg(key: str):
    return current_app.extensions["sandbox"].config[key]
