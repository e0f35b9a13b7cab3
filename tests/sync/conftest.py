"""Sandbox handling for the sync tests: re-seed only when a test may have changed Procore's data.

A full sandbox reset (drop, re-create, re-seed every tool) costs ~1.7 s, and most sync tests
only READ the demo tree. Those are marked `sandbox_readonly`: after one of them the next test
gets the same data with the knobs, clock, rate limits and counters restored (a few ms). To keep
the mark honest, a readonly test that records any Procore change event fails. Every unmarked
test is assumed to change data, so the next test starts from a fresh seed.

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
    config.addinivalue_line("markers", "sandbox_readonly: the test does not change the sandbox's data "
                                       "(tests/sync/conftest.py skips the re-seed after it)")


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
    """tests/conftest.py's fixture, re-seeding lazily (see the module docstring)."""
    sb = sandbox_process
    if _state["dirty"]:
        sb.reset()
        startup = sb._post("/_sandbox/config", {})
        _state["config"] = {key: value for key, value in startup.items() if key not in ("db_path", "blob_dir")}
    _restore_knobs(sb)
    readonly = request.node.get_closest_marker("sandbox_readonly") is not None
    _state["dirty"] = True  # until the test ends cleanly as a readonly one
    before = _last_event_id(sb) if readonly else None
    saved = {key: app.config[key] for key in ("PROCORE_API_URL", "PROCORE_LOGIN_URL", *FAST_PACING)}
    app.config.update(PROCORE_API_URL=sb.url, PROCORE_LOGIN_URL=sb.url, **FAST_PACING)
    yield sb
    app.config.update(saved)
    if readonly:
        changed = bool(sb.events(after_id=before))
        _state["dirty"] = changed
        assert not changed, "a test marked sandbox_readonly changed Procore data: drop the mark"
