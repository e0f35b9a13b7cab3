"""Sandbox handling for the sync tests: re-seed only when a test may have changed Procore's data.

A full sandbox reset (drop, re-create, re-seed every tool) costs ~1.7 s, and most sync tests
only read the demo tree, or undo what they change (a permission, a revoked token of their own).
Those are marked `keeps_sandbox`: after one of them PASSES, the next test gets the same data with
the knobs, clock, rate limits and counters restored (a few ms). To keep the mark honest, a marked
test during which Procore recorded any change event fails. An unmarked test, or a failed one, may
have changed data: the next test starts from a fresh seed.

Pacing: these tests exercise the engine, not the rate limiter (tests/procore covers it), so the
sandbox's spike window and the portal's pacing are raised; each test still goes through the
same pacing code.
"""
from __future__ import annotations

import pytest

FAST_LIMITS = {"rate_limit_spike": 5000}
FAST_PACING = {"PROCORE_REQUESTS_PER_SECOND": 500.0, "PROCORE_BURST": 500}
_state = {"dirty": True, "config": None}


def pytest_configure(config):
    config.addinivalue_line("markers", "keeps_sandbox: the test leaves the sandbox's data as it found it "
                                       "(tests/sync/conftest.py skips the re-seed after it)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.when == "call":
        item.sync_call_passed = report.passed


def _last_event_id(sb, after: int = 0) -> int:
    while True:
        events = sb.events(after_id=after)
        if not events:
            return after
        after = events[-1]["id"]


def _restore_knobs(sb) -> None:
    """Startup knobs back (clock offset, latency, URL lifetime…), limiter and counters zeroed."""
    if _state["config"] is None:
        return
    sb.control({**_state["config"], **FAST_LIMITS})  # a rate_limit_* key also resets the limiter
    sb._post("/_sandbox/stats/reset")


@pytest.fixture
def procore_sandbox(request, app, sandbox_process):
    """tests/conftest.py's fixture, re-seeding lazily (see the module docstring).

    Its own MonkeyPatch, not the test's: a test that calls ``monkeypatch.undo()`` to lift its faults
    must still talk to the sandbox, at the fast test pacing, afterwards."""
    sb = sandbox_process
    if _state["dirty"]:
        sb.reset()
        startup = sb._post("/_sandbox/config", {})
        _state["config"] = {key: value for key, value in startup.items() if key not in ("db_path", "blob_dir")}
    _restore_knobs(sb)
    keeps = request.node.get_closest_marker("keeps_sandbox") is not None
    _state["dirty"] = True  # until the marked test has passed
    before = _last_event_id(sb) if keeps else None
    with pytest.MonkeyPatch.context() as patch:
        for key, value in {"PROCORE_API_URL": sb.url, "PROCORE_LOGIN_URL": sb.url, **FAST_PACING}.items():
            patch.setitem(app.config, key, value)
        yield sb
    if keeps:
        changed = bool(sb.events(after_id=before))
        _state["dirty"] = changed or not getattr(request.node, "sync_call_passed", False)
        assert not changed, "a test marked keeps_sandbox changed Procore data: drop the mark"


@pytest.fixture
def signed_in(client, login_as, world):
    """The test client signed in as the world's portal admin (tests/sync/helpers.make_world)."""
    from types import SimpleNamespace

    login_as(SimpleNamespace(email="admin@demo.test"))
    return client
