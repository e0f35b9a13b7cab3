"""Database-backed credentials for the Procore client, and choosing one for a project.

Each read and write uses its own short session and commits at once: the refresh token
is single-use, so a new pair must be durable before it is used (RELIABILITY 19), whatever
the caller's own transaction does later.

A write (a refreshed pair, a needs-re-authorization mark) never queues behind another
transaction for long: its lock waits are cut to ``WRITE_LOCK_TIMEOUT`` (SQLite's busy timeout,
PostgreSQL's ``lock_timeout``), and a failed attempt is retried with backoff for at most
``WRITE_RETRY_FOR`` seconds. The caller may be the very request or job whose own open transaction
holds the lock (portal/db_boundary.py is there so that it never does), and waiting on it would
only end in "database is locked". After that ``save`` raises ``CredentialStoreError``: the
token manager keeps the new pair in memory and saves it again on a later call. Failures are
logged by type only: a database error may quote the statement's parameters (the ciphertext).
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Callable, Iterator

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, object_session

from portal import db_boundary, redis_conn
from portal.connections import crypto
from portal.extensions import db
from portal.models import AccountStatus, Alert, ProcoreAccount, ProjectCredential
from portal.procore import CredentialStoreError, ProcoreAuthError, ProcoreClient, TokenPair

log = logging.getLogger(__name__)
WRITE_LOCK_TIMEOUT = 0.5  # s: the longest one attempt waits on another transaction's lock
WRITE_RETRY_FOR = 3.0  # s: attempts stop after this; the token manager tries again later


class NoValidCredentials(RuntimeError):
    """No connected account can act on this Procore project (SPEC R34); items wait as pending."""

    def __init__(self, message=None):
        super().__init__(message or _l("No valid Procore credentials for this project: the accounts that completed "
                                       "an integration there were disconnected or need to sign in again."))


def store_pair(account: ProcoreAccount, pair: TokenPair) -> None:
    account.access_token_enc = crypto.encrypt(pair.access_token)
    account.refresh_token_enc = crypto.encrypt(pair.refresh_token)
    account.expires_at = pair.expires_at
    account.token_created_at = pair.created_at


def load_pair(account: ProcoreAccount) -> TokenPair:
    if account.access_token_enc is None or account.status != AccountStatus.VALID:
        raise ProcoreAuthError("the Procore account needs a new login", needs_reauth=True)
    return TokenPair(access_token=crypto.decrypt(account.access_token_enc),
                     refresh_token=crypto.decrypt(account.refresh_token_enc),
                     expires_at=account.expires_at, created_at=account.token_created_at)


class DbCredential:
    """The client's Credential protocol on top of a `procore_accounts` row."""

    def __init__(self, account_id: int):
        self.account_id = account_id
        self.account_key = f"account:{account_id}"

    def __repr__(self) -> str:
        return f"DbCredential(account_id={self.account_id})"

    def _session(self) -> Session:
        return Session(db.engine, expire_on_commit=False)

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
        """A session of its own whose lock waits last at most ``WRITE_LOCK_TIMEOUT``."""
        millis = max(1, int(WRITE_LOCK_TIMEOUT * 1000))
        with db.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # the busy timeout belongs to the pooled connection: set it back afterwards
                previous = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
                conn.exec_driver_sql(f"PRAGMA busy_timeout = {millis}")
                conn.commit()
            try:
                with Session(bind=conn, expire_on_commit=False) as session:
                    if not sqlite:
                        session.execute(text(f"SET LOCAL lock_timeout = '{millis}ms'"))
                    yield session
            finally:
                if sqlite:
                    try:
                        conn.rollback()
                        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(previous)}")
                        conn.commit()
                    except DBAPIError:
                        conn.invalidate()  # never hand a short timeout back to the pool

    def _write(self, what: str, change: Callable[[ProcoreAccount], bool]) -> None:
        """Apply `change` to the account row and commit, retrying for ``WRITE_RETRY_FOR`` s.

        `change` returns False when there is nothing to write. Raises CredentialStoreError."""
        deadline, delay, attempt = time.monotonic() + WRITE_RETRY_FOR, 0.05, 0
        while True:
            attempt += 1
            try:
                with self._write_session() as session:
                    account = session.get(ProcoreAccount, self.account_id, with_for_update=True)
                    if account is not None and change(account):
                        session.commit()
                return
            except DBAPIError as error:
                failure = f"{type(error).__name__} ({type(error.orig).__name__})"
                if time.monotonic() + delay > deadline:
                    log.error("could not %s for %r after %d attempts: %s", what, self, attempt, failure)
                    raise CredentialStoreError(f"could not {what}: {failure}") from None
                log.warning("could not %s for %r (attempt %d: %s); retrying", what, self, attempt, failure)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def load(self) -> TokenPair:
        with self._session() as session:
            account = session.get(ProcoreAccount, self.account_id)
            if account is None:
                raise ProcoreAuthError("the Procore account was removed", needs_reauth=True)
            return load_pair(account)

    def save(self, pair: TokenPair) -> None:
        def change(account: ProcoreAccount) -> bool:
            if account.status == AccountStatus.REVOKED:
                return False  # disconnected meanwhile: its tokens stay erased (RELIABILITY 21)
            store_pair(account, pair)
            return True

        self._write("store the refreshed Procore token pair", change)

    def mark_needs_reauth(self, reason: str) -> None:
        def change(account: ProcoreAccount) -> bool:
            if account.status != AccountStatus.VALID:
                return False
            account.status = AccountStatus.NEEDS_REAUTH
            account.last_error = reason[:500]
            account.last_error_at = datetime.now(timezone.utc)
            # The admins hear of it with the same commit (issue 14); this write has a session of its own.
            object_session(account).add(Alert(company_id=account.company_id, kind="auth_lost",
                                              subject=account.procore_login, link="/connections",
                                              params={"login": account.procore_login}))
            return True

        try:
            self._write("mark the Procore account as needing a new login", change)
        except CredentialStoreError:
            pass  # logged; the next call meets the same refusal and marks it again


def client_for(credential) -> ProcoreClient:
    """A Procore client configured from the app, for one credential (one per thread)."""
    config = current_app.config
    return ProcoreClient(
        config["PROCORE_API_URL"], config["PROCORE_LOGIN_URL"],
        config["PROCORE_CLIENT_ID"], config["PROCORE_CLIENT_SECRET"], credential,
        redis=redis_conn.connection(),
        allow_private_redirects=config["PORTAL_ENV"] != "production",
        timeout=(5, 60),
        requests_per_second=config["PROCORE_REQUESTS_PER_SECOND"],  # an operator's ceiling; None: off
        burst=config["PROCORE_BURST"],
        # A web request (a page someone waits for) may use the share of Procore's window that background
        # work leaves (portal/procore/pacing.py): an import never starves the pages.
        interactive=has_request_context(), reserve_share=config["PROCORE_RESERVE_SHARE"],
        # A pair read at most 2 s ago instead of a DB read + decryption per request; a 401 or a
        # near expiry still re-reads the stored pair under the refresh lock (RELIABILITY 19).
        token_cache_seconds=config["PROCORE_TOKEN_CACHE_SECONDS"],
        # Every attempt first ends this thread's database transaction (no lock held while Procore answers).
        before_call=db_boundary.before_network_call,
    )


def client_for_account(account: ProcoreAccount) -> ProcoreClient:
    return client_for(DbCredential(account.id))


def record_integration(account: ProcoreAccount, procore_project_id: int) -> ProjectCredential:
    """Remember that `account` completed an integration on the project (SPEC R33). Flushes."""
    existing = db.session.scalar(select(ProjectCredential).where(
        ProjectCredential.account_id == account.id, ProjectCredential.procore_project_id == procore_project_id))
    if existing is not None:
        return existing
    row = ProjectCredential(company_id=account.company_id, account_id=account.id,
                            procore_project_id=procore_project_id)
    db.session.add(row)
    db.session.flush()
    return row


def project_accounts(company_id: int, procore_project_id: int,
                     preferred_account_id: int | None = None) -> list[ProcoreAccount]:
    """Every account background work may use on a project, in the order to try them (SPEC R33, R34).

    The preferred (original) account first, then every other account that completed an
    integration on the project, oldest first; only accounts whose tokens are valid.
    """
    rows = db.session.execute(
        select(ProcoreAccount, ProjectCredential.completed_at)
        .join(ProjectCredential, ProjectCredential.account_id == ProcoreAccount.id)
        .where(ProjectCredential.company_id == company_id,
               ProjectCredential.procore_project_id == procore_project_id)
        .order_by(ProjectCredential.completed_at, ProcoreAccount.id)).all()
    candidates = [account for account, _completed in rows]
    if preferred_account_id is not None:
        preferred = db.session.get(ProcoreAccount, preferred_account_id)
        if preferred is not None and preferred.company_id == company_id:
            candidates = [preferred] + [a for a in candidates if a.id != preferred.id]
    return [account for account in candidates if account.is_valid]


def account_for_project(company_id: int, procore_project_id: int,
                        preferred_account_id: int | None = None) -> ProcoreAccount:
    """The first account of `project_accounts`; NoValidCredentials when there is none."""
    accounts = project_accounts(company_id, procore_project_id, preferred_account_id)
    if not accounts:
        raise NoValidCredentials()
    return accounts[0]
