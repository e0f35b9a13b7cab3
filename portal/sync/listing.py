"""The Procore listing of one run, in its own thread, feeding the run thread through a bounded queue.

Why a thread: the run thread is the database writer of the run. If it listed Procore itself, it
would sit in network calls (rate-limit waits can last a minute) while holding the write lock of
its open transaction, and on SQLite (one writer) a download thread that must save a refreshed
token would time out: a consumed refresh token lost (RELIABILITY 19). Now the run thread only
waits in `items()`, and commits before it does. It also lets listing overlap row writing.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterator

from flask import Flask

from portal.sync.mapper import RemoteItem

AHEAD = 512  # listed items buffered ahead of the run thread: bounds memory on huge trees
_END = object()


class Listing:
    def __init__(self, app: Flask, account_id: int, target, mapper, refs: list | None = None):
        """`refs`: only the resources webhook events named (mapper.list_refs), else everything selected."""
        self.app, self.account_id, self.target, self.mapper, self.refs = app, account_id, target, mapper, refs
        self.queue: queue.Queue = queue.Queue(maxsize=AHEAD)
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._produce, name="sync-list", daemon=True)

    def start(self) -> Listing:
        """Start listing (once); `with` starts it too."""
        if self.thread.ident is None:
            self.thread.start()
        return self

    def __enter__(self) -> Listing:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def cancel(self) -> None:
        """Stop listing without waiting: the producer ends after the request it is in (an unused listing)."""
        self.cancelled.set()
        self._drop_one()

    def close(self) -> None:
        """Stop listing and wait for the producer to end at its next item (a finished or stopped run)."""
        self.cancelled.set()
        while self.thread.is_alive():
            self._drop_one()
            self.thread.join(timeout=0.05)

    def _drop_one(self) -> None:
        try:
            self.queue.get_nowait()
        except queue.Empty:
            pass

    def _put(self, value) -> bool:
        while not self.cancelled.is_set():
            try:
                self.queue.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        with self.app.app_context():
            from portal.connections.credentials import DbCredential, client_for

            try:
                client = client_for(DbCredential(self.account_id))
                items = (self.mapper.list_remote(client, self.target) if self.refs is None
                         else self.mapper.list_refs(client, self.target, self.refs))
                for item in items:
                    if not self._put(item):
                        return
            except BaseException as error:  # noqa: BLE001 - re-raised in the run thread by items()
                self._put(error)
                return
            self._put(_END)

    def items(self, idle: Callable[[], None]) -> Iterator[RemoteItem]:
        """Listed items in order; errors of the listing are raised here, in the run thread.

        `idle` runs whenever the next item is not there yet (commit, record downloads, heartbeat).
        """
        while True:
            try:
                value = self.queue.get_nowait()
            except queue.Empty:
                idle()
                try:
                    value = self.queue.get(timeout=1.0)
                except queue.Empty:
                    continue
            if value is _END:
                return
            if isinstance(value, BaseException):
                raise value
            yield value
