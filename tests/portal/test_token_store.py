"""Storing a refreshed token pair while the database is locked (issue 10; RELIABILITY 17, 19, 21).

Procore consumes the old refresh token the moment it answers, so the new pair must never be lost: the
save waits only briefly on another transaction's lock, retries, and meanwhile the pair is kept in memory,
used, and stored on a later call. Runs on SQLite (the write lock) and PostgreSQL (the row lock)."""
from __future__ import annotations

import json
import logging
import time
from urllib.parse import parse_qs

import pytest
import responses
from sqlalchemy import update

from portal.connections import credentials as credentials_module
from portal.connections.credentials import DbCredential, client_for
from portal.models import AccountStatus, ProcoreAccount
from portal.procore import tokens as token_module
from tests.conftest import UNREACHABLE_PROCORE

ME = f"{UNREACHABLE_PROCORE}/rest/v1.0/me"
TOKEN = f"{UNREACHABLE_PROCORE}/oauth/token"
NEW = {"access_token": "access-2", "refresh_token": "refresh-2", "token_type": "bearer", "expires_in": 5400}


@pytest.fixture
def account(make_company, make_user, make_account):
    company = make_company("Constructora Demo")
    make_user("ana@demo.test", "admin", company)
    account = make_account(company, "ana@demo.test")
    yield account
    drop = getattr(token_module, "_drop_unsaved", None)
    if drop is not None:
        drop(f"account:{account.id}")  # never leak a pair kept in memory into the next test's account


@pytest.fixture
def short_waits(monkeypatch):
    """Give up on a held lock sooner than in production (0.5 s per attempt, 3 s in all)."""
    monkeypatch.setattr(credentials_module, "WRITE_LOCK_TIMEOUT", 0.05, raising=False)
    monkeypatch.setattr(credentials_module, "WRITE_RETRY_FOR", 0.3, raising=False)


@pytest.fixture
def procore():
    """The old access token is refused (401); the refresh answers a new pair, which works."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TOKEN, json=NEW)
        mock.add_callback(responses.GET, ME, callback=lambda request: (
            (200, {}, json.dumps({"id": 1})) if request.headers["Authorization"] == "Bearer access-2"
            else (401, {}, "{}")))
        yield mock


def sent_refresh_tokens(mock) -> list[str]:
    return [parse_qs(c.request.body)["refresh_token"][0] for c in mock.calls if c.request.url == TOKEN]


def stored(app, account_id: int):
    with app.app_context():
        return DbCredential(account_id).load()


def lock_the_account_row(app, db, account_id: int):
    """Another transaction holding the account row: SQLite's write lock, a PostgreSQL row lock."""
    with app.app_context():
        blocker = db.engine.connect()
    blocker.execute(update(ProcoreAccount).where(ProcoreAccount.id == account_id).values(last_error="held"))
    return blocker


@pytest.mark.timeout(120)  # before the fix the save waits on the lock (PostgreSQL: for ever)
def test_a_locked_database_on_save_is_retried_and_the_pair_is_not_lost(app, db, account, short_waits, procore,
                                                                       caplog):
    blocker = lock_the_account_row(app, db, account.id)
    try:
        with app.app_context(), caplog.at_level(logging.INFO):
            credential = DbCredential(account.id)
            client = client_for(credential)
            assert client.me().id == 1  # 401 -> refresh -> save fails -> the pair kept in memory -> used
            assert stored(app, account.id).access_token == "fake-access-token"  # not stored yet
            # Another thread's client of the same account uses the pair kept in memory, refreshes nothing.
            assert client_for(DbCredential(account.id)).me().id == 1
            assert procore.calls[-1].request.headers["Authorization"] == "Bearer access-2"
    finally:
        blocker.rollback()
        blocker.close()
    with app.app_context(), caplog.at_level(logging.INFO):
        deadline = time.monotonic() + 60
        while stored(app, account.id).access_token != "access-2":  # stored on a later call, once due
            assert time.monotonic() < deadline, "the pair kept in memory was never stored"
            client.me()
            time.sleep(0.1)
    pair = stored(app, account.id)
    assert (pair.access_token, pair.refresh_token) == ("access-2", "refresh-2")
    assert token_module._unsaved_entry(credential.account_key) is None
    assert sent_refresh_tokens(procore) == ["fake-refresh-token"]  # each refresh token used once
    with app.app_context():
        assert db.session.get(ProcoreAccount, account.id).status == AccountStatus.VALID
    assert "could not store the refreshed Procore token pair" in caplog.text
    assert "kept in memory" in caplog.text
    for secret in ("access-2", "refresh-2", "fake-access-token", "fake-refresh-token"):
        assert secret not in caplog.text


@pytest.mark.timeout(120)
def test_marking_needs_reauth_does_not_wait_on_a_held_lock(app, db, account, short_waits):
    blocker = lock_the_account_row(app, db, account.id)
    try:
        with app.app_context():
            DbCredential(account.id).mark_needs_reauth("Procore said no")
    finally:
        blocker.rollback()
        blocker.close()
    with app.app_context():
        assert db.session.get(ProcoreAccount, account.id).status == AccountStatus.VALID  # could not, gave up
        DbCredential(account.id).mark_needs_reauth("Procore said no")
    with app.app_context():
        row = db.session.get(ProcoreAccount, account.id)
        assert (row.status, row.last_error) == (AccountStatus.NEEDS_REAUTH, "Procore said no")


def test_a_pair_refreshed_after_a_disconnect_is_not_written_back(app, db, account):
    """RELIABILITY 21: a disconnected account's tokens stay erased, even if a refresh was in flight."""
    from portal.procore import TokenPair

    with app.app_context():
        row = db.session.get(ProcoreAccount, account.id)
        row.status, row.access_token_enc, row.refresh_token_enc = AccountStatus.REVOKED, None, None
        db.session.commit()
        pair = TokenPair.from_api({**NEW, "created_at": int(time.time())})
        DbCredential(account.id).save(pair)
        row = db.session.get(ProcoreAccount, account.id)
        db.session.refresh(row)
        assert (row.status, row.access_token_enc, row.refresh_token_enc) == (AccountStatus.REVOKED, None, None)
