"""Refresh margin scaled to the token's lifetime, and a refreshed pair whose save failed (issue 10;
RELIABILITY 19: single-use refresh tokens, each used once)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import pytest
import responses

from portal.procore import CredentialStoreError, InMemoryCredential, TokenPair
from portal.procore import tokens as token_module
from portal.procore.tokens import TokenManager

from .conftest import API, LOGIN, make_pair

TOKEN = f"{LOGIN}/oauth/token"
ME = f"{API}/rest/v1.0/me"


def refreshed(clock, n: int, expires_in: int = 10) -> dict:
    return {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}", "token_type": "bearer",
            "expires_in": expires_in, "created_at": int(clock.time())}


def sent_refresh_tokens(rsps) -> list[str]:
    return [parse_qs(c.request.body)["refresh_token"][0] for c in rsps.calls if c.request.url == TOKEN]


@pytest.mark.parametrize(("lifetime", "margin"), [(10, 1.0), (300, 30.0), (600, 60.0), (5400, 60.0)])
def test_margin_is_the_smaller_of_60_s_and_a_tenth_of_the_lifetime(clock, lifetime, margin):
    manager = TokenManager(InMemoryCredential("acct-m", None), oauth=None, clock=clock.time)
    assert manager.margin_for(make_pair(clock.time(), expires_in=lifetime)) == margin


def test_margin_falls_back_to_60_s_when_the_lifetime_is_unknown(clock):
    manager = TokenManager(InMemoryCredential("acct-u", None), oauth=None, clock=clock.time)
    at = datetime.fromtimestamp(clock.time(), tz=timezone.utc)
    assert manager.margin_for(TokenPair("a", "r", at + timedelta(seconds=10), None)) == 60.0
    assert manager.margin_for(TokenPair("a", "r", at, at + timedelta(seconds=5))) == 60.0  # expires before created


def test_a_procore_clock_ahead_of_ours_does_not_shorten_the_lifetime():
    """created_at in our future (Procore's clock ahead, or the sandbox's time travel) is taken as now."""
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    pair = TokenPair.from_api({"access_token": "a", "refresh_token": "r", "expires_in": 10,
                               "created_at": int(now.timestamp()) + 30}, now=now)
    assert pair.created_at == now and (pair.expires_at - pair.created_at).total_seconds() == 10


def test_ten_second_tokens_are_refreshed_in_their_last_second_not_before_every_call(make_client, rsps, clock):
    cred = InMemoryCredential("acct-10s", make_pair(clock.time(), expires_in=10))
    pc = make_client(credential=cred)
    rsps.post(TOKEN, json=refreshed(clock, 2))
    rsps.get(ME, json={"id": 1})
    for _ in range(3):  # at 0, 3 and 6 s: more than a second left
        pc.me()
        clock.sleep(3)
    assert sent_refresh_tokens(rsps) == []
    clock.sleep(0.5)  # 9.5 s: within the last tenth
    pc.me()
    assert sent_refresh_tokens(rsps) == ["refresh-1"]
    pc.me()
    assert rsps.calls[-1].request.headers["Authorization"] == "Bearer access-2"
    assert len(sent_refresh_tokens(rsps)) == 1
    assert [p.access_token for p in cred.saved] == ["access-2"]


class FlakyCredential(InMemoryCredential):
    """Its store is "locked" while `broken`: save raises, as DbCredential.save does after its retries."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.broken, self.attempts = True, 0

    def save(self, pair):
        self.attempts += 1
        if self.broken:
            raise CredentialStoreError("could not store the refreshed Procore token pair: OperationalError")
        super().save(pair)


@pytest.fixture
def flaky(clock):
    cred = FlakyCredential("acct-flaky", make_pair(clock.time() - 6000))  # a 90-minute token, expired
    yield cred
    token_module._drop_unsaved(cred.account_key)


def test_a_pair_whose_save_failed_is_used_kept_and_stored_later(make_client, rsps, clock, flaky, caplog):
    rsps.post(TOKEN, json=refreshed(clock, 2, expires_in=5400))
    rsps.get(ME, json={"id": 1})
    pc = make_client(credential=flaky)
    with caplog.at_level(logging.INFO):
        assert pc.me().id == 1
        assert rsps.calls[-1].request.headers["Authorization"] == "Bearer access-2"
        assert flaky.load().access_token == "access-1"  # not stored yet
        # Another client of the same account in this process (another download thread): the new pair,
        # not the stored one whose refresh token Procore has consumed.
        assert make_client(credential=flaky).me().id == 1
        assert rsps.calls[-1].request.headers["Authorization"] == "Bearer access-2"
        attempts = flaky.attempts
        pc.me()  # the next attempt is not due yet
        assert flaky.attempts == attempts
        flaky.broken = False
        clock.sleep(2)
        pc.me()
    assert flaky.load().access_token == "access-2" and flaky.attempts == attempts + 1
    assert token_module._unsaved_entry(flaky.account_key) is None
    assert sent_refresh_tokens(rsps) == ["refresh-1"]  # each refresh token used once
    assert flaky.needs_reauth_reason is None
    assert "could not be stored" in caplog.text and "CredentialStoreError" in caplog.text
    for secret in ("access-2", "refresh-2", "access-1", "refresh-1"):
        assert secret not in caplog.text


def test_a_refresh_while_the_pair_is_unsaved_spends_the_new_refresh_token(make_client, rsps, clock, flaky):
    """The stored refresh token is consumed: a refresh after a failed save must send the one kept in memory."""
    rsps.post(TOKEN, json=refreshed(clock, 2, expires_in=5400))
    rsps.post(TOKEN, json=refreshed(clock, 3, expires_in=5400))
    rsps.get(ME, status=401, match=[responses.matchers.header_matcher({"Authorization": "Bearer access-2"})])
    rsps.get(ME, json={"id": 1}, match=[responses.matchers.header_matcher({"Authorization": "Bearer access-3"})])
    pc = make_client(credential=flaky)
    assert pc.me().id == 1  # refresh-1 -> access-2 (not stored), refused -> refresh-2 -> access-3 (not stored)
    assert sent_refresh_tokens(rsps) == ["refresh-1", "refresh-2"]
    assert flaky.load().access_token == "access-1" and flaky.needs_reauth_reason is None
    flaky.broken = False
    clock.sleep(2)
    assert pc.me().id == 1
    assert flaky.load().access_token == "access-3" and flaky.load().refresh_token == "refresh-3"
    assert sent_refresh_tokens(rsps) == ["refresh-1", "refresh-2"]
