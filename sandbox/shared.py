"""What the sandbox's processes share when storage runs in processes of its own (``--storage-processes N``).

Procore serves file bytes from another host (a signed storage URL, reached through the download's 302).
With ``--storage-processes N`` the sandbox does the same: the main process serves everything as in the
default mode (REST, OAuth, the rate limiter, webhooks, the control API, the UI) and N storage processes
serve ``/_storage/...`` on a second port; the signed URLs point there (``storage_base_url``). So the
file bytes no longer share one interpreter lock with the API.

A small SQLite file beside the sandbox DB (``<db>_shared.sqlite3``, no fsync: nothing in it needs to
outlive the processes) holds what would otherwise live in one process's memory:

* the config (one JSON row and its version): every process reads the version at the start of each
  request and reloads the JSON when it moved; every change (``POST /_sandbox/config``, the clock, a
  reset, the ``upload_storage_5xx_next`` countdown) is a read-modify-write in one write transaction;
* the storage processes' counters: each adds what a request counted before the response leaves
  (so ``/_sandbox/stats`` right after a download already shows it); the main process keeps its own in
  memory, as in the default mode, and ``/_sandbox/stats`` sums both; a stats reset clears both.

The rate limiter needs nothing shared: only the main process serves rate-limited requests (a storage
process answers 404 to anything but ``/_storage/``), so each token keeps one budget.
"""
from __future__ import annotations

import json
import os
import queue
import sqlite3
from collections.abc import Callable
from contextlib import contextmanager

_SCHEMA = """
CREATE TABLE IF NOT EXISTS config (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL,
                                   body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stats (grp TEXT NOT NULL, key TEXT NOT NULL, value INTEGER NOT NULL,
                                  PRIMARY KEY (grp, key));
"""


def shared_path(db_path: str) -> str:
    root, _ext = os.path.splitext(os.path.abspath(db_path))
    return root + "_shared.sqlite3"


class SharedStore:
    def __init__(self, path: str):
        self.path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()  # werkzeug: a thread per connection

    @contextmanager
    def _conn(self):
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
        try:
            yield conn
        finally:
            self._idle.put(conn)

    def _read(self, sql: str):
        with self._conn() as conn:
            return conn.execute(sql).fetchall()

    def _write(self, work: Callable[[sqlite3.Connection], object]):
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

    # --- lifecycle -------------------------------------------------------------------
    def init(self, config: dict) -> None:
        """The main process, before it starts the storage processes: a fresh store holding ``config``."""
        with self._conn() as conn:
            conn.executescript(_SCHEMA)

        def work(conn):
            conn.execute("DELETE FROM stats")
            conn.execute("INSERT OR REPLACE INTO config (id, version, body) VALUES (1, "
                         "COALESCE((SELECT version FROM config WHERE id = 1), 0) + 1, ?)", (json.dumps(config),))
        self._write(work)

    # --- config ----------------------------------------------------------------------
    def config_version(self) -> int:
        return self._read("SELECT version FROM config WHERE id = 1")[0][0]

    def load_config(self) -> tuple[int, dict]:
        version, body = self._read("SELECT version, body FROM config WHERE id = 1")[0]
        return version, json.loads(body)

    def update_config(self, mutate: Callable[[dict], object]) -> tuple[int, dict, object]:
        """Apply ``mutate`` to the current shared config in one write transaction: (version, config, result)."""
        def work(conn):
            version, body = conn.execute("SELECT version, body FROM config WHERE id = 1").fetchone()
            config = json.loads(body)
            result = mutate(config)
            conn.execute("UPDATE config SET version = ?, body = ? WHERE id = 1", (version + 1, json.dumps(config)))
            return version + 1, config, result
        return self._write(work)

    # --- counters --------------------------------------------------------------------
    def add_stats(self, rows: list[tuple[str, str, int]]) -> None:
        """Add (group, key, n) rows: group "counters" for the flat counters, else a per-key table's name."""
        if rows:
            self._write(lambda conn: conn.executemany(
                "INSERT INTO stats (grp, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (grp, key) DO UPDATE SET value = value + excluded.value", rows))

    def stats_rows(self) -> list[tuple[str, str, int]]:
        return self._read("SELECT grp, key, value FROM stats")

    def reset_stats(self) -> None:
        self._write(lambda conn: conn.execute("DELETE FROM stats"))
