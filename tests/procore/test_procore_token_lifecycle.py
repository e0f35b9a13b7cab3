"""The refresh margin scales with the token's lifetime: short tokens are not refreshed before every
call (issue 10; RELIABILITY 19)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs

import pytest

from portal.procore import InMemoryCredential, TokenPair
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
