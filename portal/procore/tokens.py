"""Access-token lifecycle: proactive refresh and refresh after a 401,
serialised per account.

Procore refresh tokens are single-use and rotate. Two workers refreshing with
the same refresh token would leave one of them holding a dead grant, so:
take a per-account lock (Redis when available, else a process-local lock),
RE-READ the stored pair (another worker may have refreshed while we waited),
refresh only if the stored token is still the one that failed or is about to
expire, and ``credential.save()`` the new pair BEFORE anyone uses it.

"About to expire" is within the refresh margin: the smaller of ``margin``
(60 s) and a tenth of the token's lifetime (``expires_at - created_at``), so a
10-second token is refreshed in its last second, not before every call.

If the save fails (``credential.save`` raises, e.g. the database stays locked),
the new pair is NOT dropped: Procore has already consumed the old refresh
token. It is kept in memory for every client of this process using the same
account, used for requests and for the next refresh, and saved again on later
calls (backing off up to ``UNSAVED_RETRY_MAX`` s) until it is stored. Only the
type of the failure is logged, never a token.
"""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from redis.exceptions import LockError

from .auth import ProcoreOAuth
from .credentials import Credential
from .errors import ProcoreAuthError, ProcoreRateLimited, ProcoreUnavailable
from .models import TokenPair
from .pacing import account_hash

log = logging.getLogger(__name__)

_local_locks: dict[str, threading.Lock] = {}
_local_locks_guard = threading.Lock()
UNSAVED_RETRY_MAX = 60.0  # s: the longest pause between two attempts to store a pair kept in memory


def _local_lock(name: str) -> threading.Lock:
    with _local_locks_guard:
        return _local_locks.setdefault(name, threading.Lock())


@dataclass
class _Unsaved:
    pair: TokenPair
    failures: int
    next_try: float  # the manager's clock


# account_key -> a refreshed pair not stored yet, shared by every client of the process.
_unsaved: dict[str, _Unsaved] = {}


def _unsaved_entry(account_key: str) -> _Unsaved | None:
    with _local_locks_guard:
        return _unsaved.get(account_key)


def _keep_unsaved(account_key: str, pair: TokenPair, now: float) -> _Unsaved:
    with _local_locks_guard:
        previous = _unsaved.get(account_key)
        failures = previous.failures + 1 if previous is not None and previous.pair == pair else 1
        entry = _Unsaved(pair, failures, now + min(UNSAVED_RETRY_MAX, 2.0 ** (failures - 1)))
        _unsaved[account_key] = entry
        return entry


def _drop_unsaved(account_key: str) -> None:
    with _local_locks_guard:
        _unsaved.pop(account_key, None)


class TokenManager:
    def __init__(self, credential: Credential, oauth: ProcoreOAuth, redis: Any = None, *,
                 clock: Callable[[], float], margin: float = 60.0,
                 lock_timeout: float = 120.0, wait_timeout: float = 90.0,
                 prefix: str = "procore", cache_seconds: float = 0.0) -> None:
        self.credential = credential
        # Reuse the last loaded pair for this long (0 = read the credential on every request).
        # Loading means a database read and a decryption per request in the portal; a pair
        # some seconds old is as good, because a 401 or an expiry within ``margin`` goes
        # through ``refresh()``, which always re-reads the stored pair under the lock.
        # Monotonic time, not ``clock``: tests freeze ``clock``.
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, TokenPair] | None = None
        self.oauth = oauth
        self.redis = redis
        self.clock = clock
        self.margin = margin
        # The lock must outlive one refresh HTTP call (connect + read timeout),
        # otherwise a slow refresh could overlap a second one.
        self.lock_timeout = lock_timeout
        self.wait_timeout = wait_timeout
        self.lock_name = f"{prefix}:refresh:{account_hash(credential.account_key)}"

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def margin_for(self, pair: TokenPair) -> float:
        """Seconds before expiry to refresh: min(margin, a tenth of the lifetime); margin if unknown."""
        if pair.created_at is None or pair.expires_at is None:
            return self.margin
        lifetime = (pair.expires_at - pair.created_at).total_seconds()
        return min(self.margin, lifetime / 10) if lifetime > 0 else self.margin

    def _usable(self, pair: TokenPair) -> bool:
        return not pair.expires_within(self.margin_for(pair), self._now())

    def _load(self, fresh: bool) -> TokenPair:
        unsaved = _unsaved_entry(self.credential.account_key)
        if unsaved is not None:
            return unsaved.pair  # newer than the stored pair, whose refresh token Procore consumed
        cached = self._cached
        if not fresh and cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1]
        self._cached = None
        pair = self.credential.load()
        if self.cache_seconds > 0:
            self._cached = (time.monotonic(), pair)
        return pair

    def forget(self) -> None:
        """Drop the cached pair (the account was marked as needing a new login)."""
        self._cached = None
        _drop_unsaved(self.credential.account_key)

    def current(self) -> TokenPair:
        """The stored pair, refreshed first if it expires within the refresh margin."""
        self._retry_unsaved()
        pair = self._load(fresh=False)
        if self._usable(pair):
            return pair
        try:
            return self.refresh(failed_access_token=pair.access_token)
        except (ProcoreUnavailable, ProcoreRateLimited):
            # Login host down or lock busy: a token that has not actually
            # expired yet is still good for this request.
            if not pair.expires_within(0, self._now()):
                log.warning("procore proactive refresh failed; using the current token")
                return pair
            raise

    def refresh(self, failed_access_token: str) -> TokenPair:
        """Return a usable pair that differs from ``failed_access_token``."""
        self._cached = None
        with self._locked():
            stored = self._load(fresh=True)  # never the cache: another worker may have refreshed
            if stored.access_token != failed_access_token and self._usable(stored):
                log.info("procore token already refreshed by another worker")
                return stored
            new = self._call_refresh(stored)
            # Persist before first use (single-use rotation); if that fails, keep it in memory.
            if self._store(new) and self.cache_seconds > 0:
                self._cached = (time.monotonic(), new)
            log.info("procore token refreshed; expires %s", new.expires_at.isoformat())
            return new

    def _store(self, pair: TokenPair) -> bool:
        """Save the pair; on failure keep it in memory (process-wide) to use and save later."""
        key = self.credential.account_key
        try:
            self.credential.save(pair)
        except Exception as error:  # noqa: BLE001 - the old refresh token is spent: never drop the new pair
            entry = _keep_unsaved(key, pair, self.clock())
            log.error("procore token pair of %r could not be stored (%s, failure %d); kept in memory, "
                      "stored again on a later call", self.credential, type(error).__name__, entry.failures)
            return False
        _drop_unsaved(key)
        return True

    def _retry_unsaved(self) -> None:
        """Store a pair kept in memory after a failed save, when its next attempt is due."""
        entry = _unsaved_entry(self.credential.account_key)
        if entry is None or self.clock() < entry.next_try:
            return
        try:
            with self._locked():  # never overwrite a newer pair saved by a refresh meanwhile
                entry = _unsaved_entry(self.credential.account_key)
                if entry is not None and self._store(entry.pair):
                    log.info("procore token pair kept in memory is now stored")
        except ProcoreUnavailable:
            return  # the refresh lock is busy: try on a later call

    def _call_refresh(self, stored: TokenPair) -> TokenPair:
        try:
            if stored.refresh_token is None:
                # Client-credentials (DMSA) grants have no refresh token.
                return self.oauth.client_credentials()
            return self.oauth.refresh(stored.refresh_token)
        except ProcoreAuthError as exc:
            if exc.needs_reauth:
                self.forget()
                self.credential.mark_needs_reauth(exc.message)
            raise

    @contextmanager
    def _locked(self) -> Iterator[None]:
        if self.redis is None:
            lock = _local_lock(self.lock_name)
            if not lock.acquire(timeout=self.wait_timeout):
                raise ProcoreUnavailable("token refresh lock busy; retry later")
            try:
                yield
            finally:
                lock.release()
            return
        lock = self.redis.lock(self.lock_name, timeout=self.lock_timeout,
                               blocking=True, blocking_timeout=self.wait_timeout)
        if not lock.acquire():
            raise ProcoreUnavailable("token refresh lock busy; retry later")
        try:
            yield
        finally:
            try:
                lock.release()
            except LockError:
                # Expired while we held it; the new pair is already saved.
                log.warning("procore refresh lock expired before release")
