"""The credential protocol the client uses to read and persist tokens.

The portal implements it on top of its encrypted token rows; this package
never touches the database. ``InMemoryCredential`` is for tests and the CLI.
"""
from __future__ import annotations

import threading
from typing import Protocol, runtime_checkable

from .errors import ProcoreAuthError
from .models import TokenPair


class CredentialStoreError(RuntimeError):
    """A new token pair could not be stored (the database is locked or down); worth retrying."""


@runtime_checkable
class Credential(Protocol):
    """One Procore login (a user's OAuth grant, or a DMSA service account).

    * ``account_key``: stable, non-secret identifier (e.g. our account row id).
      Hashed to build Redis keys for pacing and the refresh lock; never a token.
    * ``load()``: the CURRENT stored pair, read fresh each call (another worker
      may have refreshed it). Raise ``ProcoreAuthError(needs_reauth=True)`` if
      the account has no usable tokens (disconnected).
    * ``save(pair)``: persist durably (commit) before returning, without
      waiting long on other transactions' locks. Raise ``CredentialStoreError``
      when it cannot: Procore has already consumed the old refresh token, so the
      token manager then keeps the new pair in memory, uses it, and calls
      ``save`` again later (tokens.py).
    * ``mark_needs_reauth(reason)``: record that the user must log in again;
      the sync then stops using this account (SPEC R34 picks another).
    """

    account_key: str

    def load(self) -> TokenPair: ...

    def save(self, pair: TokenPair) -> None: ...

    def mark_needs_reauth(self, reason: str) -> None: ...


class InMemoryCredential:
    """Thread-safe in-memory credential (tests, CLI, one-off scripts)."""

    def __init__(self, account_key: str, pair: TokenPair | None) -> None:
        self.account_key = account_key
        self._pair = pair
        self._lock = threading.Lock()
        self.saved: list[TokenPair] = []
        self.needs_reauth_reason: str | None = None

    def __repr__(self) -> str:
        return f"InMemoryCredential(account_key={self.account_key!r})"

    def load(self) -> TokenPair:
        with self._lock:
            if self._pair is None or self.needs_reauth_reason is not None:
                raise ProcoreAuthError("account needs a new Procore login", needs_reauth=True)
            return self._pair

    def save(self, pair: TokenPair) -> None:
        with self._lock:
            self._pair = pair
            self.saved.append(pair)

    def mark_needs_reauth(self, reason: str) -> None:
        with self._lock:
            self.needs_reauth_reason = reason
