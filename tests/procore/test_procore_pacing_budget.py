"""Spending the budget Procore grants (issue 13; SPEC D2; procore-api.md §7), against a real Redis and the
in-process fallback: no pacing while the window has room, what is left spread to the Reset once it runs
low, a share kept for web requests, the fixed rate only as an operator's ceiling, one round trip each."""
from __future__ import annotations

import time

import pytest

from portal.procore.pacing import Pacer

from .conftest import FakeClock


@pytest.fixture(params=["redis", "local"])
def backend(request):
    return request.getfixturevalue("redis_db") if request.param == "redis" else None


def window(clock, remaining: int, limit: int = 100, seconds: int = 10) -> dict:
    return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(clock.time()) + seconds)}


def pacer(backend, clock, key, **kw) -> Pacer:
    return Pacer(key, backend, clock=clock.time, sleep=clock.sleep, **kw)


def test_a_roomy_window_is_not_paced(backend):
    clock, key = FakeClock(), f"acct-room-{time.time()}"
    worker = pacer(backend, clock, key)
    worker.observe(window(clock, 90))
    for _ in range(30):
        worker.before_request()
    assert clock.sleeps == [], "no fixed rate by default: requests go as fast as they are sent"


def test_a_low_window_is_spread_until_its_reset_and_never_spent_past_the_reserve(backend):
    """40 of 100 left, 10 s to Reset: background work leaves 10 (the reserve) and spreads the other 30 over
    the 10 s; the next request after them waits for the Reset."""
    clock, key = FakeClock(), f"acct-low-{time.time()}"
    worker = pacer(backend, clock, key)
    worker.observe(window(clock, 40))
    reset = int(clock.time()) + 10
    sends = []
    for _ in range(30):
        worker.before_request()
        sends.append(clock.time())
    assert sends[-1] <= reset, "what is left goes before the Reset"
    assert sends[-1] - sends[0] >= 5, "spread out, not at once"
    gaps = [b - a for a, b in zip(sends, sends[1:], strict=False)]
    assert all(gap >= 0 for gap in gaps)
    worker.before_request()  # the reserve is reached: wait for the Reset
    assert clock.time() >= reset


def test_no_spread_slot_lies_beyond_the_reset(backend):
    """Sixteen threads ask at once with 24 of 100 left: the spacing grows as the window empties, but no
    request is told to wait past the Reset (when the window has room again). Before the cap the slots
    added up to 10 s x (1/14 + 1/13 + ... + 1) and the last ones slept ~20 s past a Reset 10 s away
    (seen in bench/import_documents.py as idle seconds after each window reopened)."""
    clock, key = FakeClock(), f"acct-cap-{time.time()}"
    delays: list[float] = []
    first = Pacer(key, backend, clock=clock.time, sleep=delays.append)
    first.observe(window(clock, 24, seconds=10))
    reset_in = int(clock.time()) + 10 - clock.time()
    for caller in [first] + [Pacer(key, backend, clock=clock.time, sleep=delays.append) for _ in range(15)]:
        caller.before_request()  # no time passes: all of them in flight together
    assert delays, "what is left is spread"
    assert max(delays) <= reset_in + 1.0, delays  # the Reset, plus at most the 1 s jitter of those who wait for it


def test_web_requests_keep_the_reserve(backend):
    """Background work stops at 10% of the window; a page view may still go (down to the low water)."""
    clock, key = FakeClock(), f"acct-reserve-{time.time()}"
    job = pacer(backend, clock, key)
    page = pacer(backend, clock, key, interactive=True)
    job.observe(window(clock, 8))
    before = clock.time()
    page.before_request()
    assert clock.time() - before < 10, "a page view does not wait for the Reset"
    job.before_request()
    assert clock.time() - before >= 9, "background work waits: the reserve is the pages'"


def test_requests_in_flight_count_before_procore_answers(backend):
    """Eight workers reserve at once on a window with 10 of 40 left (4 kept for pages): the stored Remaining
    falls with each reservation, so after six the last ones wait for the Reset rather than overrun."""
    clock, key = FakeClock(), f"acct-inflight-{time.time()}"
    workers = [pacer(backend, clock, key) for _ in range(8)]
    workers[0].observe(window(clock, 10, limit=40))
    start = clock.time()
    for worker in workers:
        worker.before_request()
    assert clock.time() - start >= 10, "past the reserve (4): the rest wait for the Reset"


def test_the_fixed_rate_is_an_operators_ceiling(backend):
    clock, key = FakeClock(), f"acct-ceiling-{time.time()}"
    worker = pacer(backend, clock, key, rate=2.0, burst=1)
    worker.observe(window(clock, 90))
    for _ in range(3):
        worker.before_request()
    assert clock.sleeps == pytest.approx([0.5, 0.5])


def test_one_redis_round_trip_per_request_with_the_headers_riding_along(redis_db):
    clock, key = FakeClock(), f"acct-trips-{time.time()}"
    worker = pacer(redis_db, clock, key)
    calls, original = [], redis_db.execute_command

    def counting(*args, **kw):
        calls.append(args[0])
        return original(*args, **kw)

    redis_db.execute_command = counting
    try:
        for remaining in (90, 89, 88, 87):
            worker.observe(window(clock, remaining))
            worker.before_request()
    finally:
        redis_db.execute_command = original
    assert calls == ["EVALSHA"] * 4


def test_redis_gone_paces_in_process_instead_of_failing_the_request(redis_db):
    """RELIABILITY 13: a Redis restart must not fail Procore calls; while it is unreachable the pacer decides
    in-process (the headers it saw are kept for that), and uses Redis again once it answers."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    clock, key = FakeClock(), f"acct-gone-{time.time()}"
    worker = pacer(redis_db, clock, key)
    shared = worker._before
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 3:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1. Connection refused.")
        return shared(*args, **kwargs)

    worker._before = flaky
    worker.observe(window(clock, 5))  # nearly spent: the in-process decision must still respect it
    for _ in range(3):
        worker.before_request()  # no exception
    assert clock.sleeps, "the in-process fallback still paces a nearly spent window"
    worker.before_request()  # Redis back
    assert calls["n"] == 4
