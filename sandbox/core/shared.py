"""What the sandbox's processes share when storage runs in processes of its own (``--storage-processes N``).

Procore serves file bytes from another host (a signed storage URL, reached through the download's 302).
With ``--storage-processes N`` the sandbox does the same: the main process serves everything as in the
default mode (REST, OAuth, the rate limiter, webhooks, the control API, the UI) and N storage processes
serve ``/_storage/...`` on a second port; the signed URLs point there (``storage_base_url``). So the
file bytes no longer share one interpreter lock with the API.

Small SQLite files beside the sandbox DB (no fsync: nothing in them needs to outlive the processes) hold
what would otherwise live in one process's memory:

* the config (``<db>_shared.sqlite3``: one JSON row and its version): every process reads the version at
  the start of each request and reloads the JSON when it moved; every change (``POST /_sandbox/config``,
  the clock, a reset, the ``upload_storage_5xx_next`` countdown) is a read-modify-write in one write
  transaction;
* the storage processes' counters, one file each (``<db>_shared_stats<i>.sqlite3``, so that they never
  wait on each other's write lock: SQLite's busy handler sleeps milliseconds): each process adds what a
  request counted before the response leaves (so ``/_sandbox/stats`` right after a download already shows
  it); the main process keeps its own in memory, as in the default mode, and ``/_sandbox/stats`` sums them
  all; a stats reset clears them all.

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


def _root(db_path: str) -> str:
    return os.path.splitext(os.path.abspath(db_path))[0]


class _Db:
    """One small SQLite file: a pool of connections (waitress serves requests on a pool of threads)."""

    def __init__(self, path: str):
        self.path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()

    @contextmanager
    def conn(self):
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

    def read(self, sql: str) -> list:
        with self.conn() as conn:
            return conn.execute(sql).fetchall()

    def write(self, work: Callable[[sqlite3.Connection], object]):
        with self.conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result


class SharedStore:
    """The shared config and counters of a main process and its ``processes`` storage processes; ``index``:
    which storage process this is (None in the main process)."""

    def __init__(self, db_path: str, processes: int, index: int | None = None):
        self.index = index
        self._config = _Db(_root(db_path) + "_shared.sqlite3")
        self._stats = [_Db(f"{_root(db_path)}_shared_stats{i}.sqlite3") for i in range(processes)]

    # --- lifecycle -------------------------------------------------------------------
    def init(self, config: dict) -> None:
        """The main process, before it starts the storage processes: fresh files, the config ``config``."""
        for db in [self._config, *self._stats]:
            with db.conn() as conn:
                conn.executescript(_SCHEMA)
        self.reset_stats()
        self._config.write(lambda conn: conn.execute(
            "INSERT OR REPLACE INTO config (id, version, body) VALUES (1, "
            "COALESCE((SELECT version FROM config WHERE id = 1), 0) + 1, ?)", (json.dumps(config),)))

    # --- config ----------------------------------------------------------------------
    def config_version(self) -> int:
        return self._config.read("SELECT version FROM config WHERE id = 1")[0][0]

    def load_config(self) -> tuple[int, dict]:
        version, body = self._config.read("SELECT version, body FROM config WHERE id = 1")[0]
        return version, json.loads(body)

    def update_config(self, mutate: Callable[[dict], object]) -> tuple[int, dict, object]:
        """Apply ``mutate`` to the current shared config in one write transaction: (version, config, result)."""
        def work(conn):
            version, body = conn.execute("SELECT version, body FROM config WHERE id = 1").fetchone()
            config = json.loads(body)
            result = mutate(config)
            conn.execute("UPDATE config SET version = ?, body = ? WHERE id = 1", (version + 1, json.dumps(config)))
            return version + 1, config, result
        return self._config.write(work)

    # --- counters --------------------------------------------------------------------
    def add_stats(self, rows: list[tuple[str, str, int]]) -> None:
        """A storage process adds (group, key, n) rows: group "counters" for the flat counters, else the name
        of a per-key table."""
        if rows:
            self._stats[self.index].write(lambda conn: conn.executemany(
                "INSERT INTO stats (grp, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (grp, key) DO UPDATE SET value = value + excluded.value", rows))

    def stats_rows(self) -> list[tuple[str, str, int]]:
        return [row for db in self._stats for row in db.read("SELECT grp, key, value FROM stats")]

    def reset_stats(self) -> None:
        for db in self._stats:
            db.write(lambda conn: conn.execute("DELETE FROM stats"))
