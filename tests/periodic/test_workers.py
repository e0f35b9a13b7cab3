"""Periodic jobs through real `python worker.py` processes (issue 15; RELIABILITY 10, 13).

Step 1 of issue 15: does a periodic chain survive past RQ's result lifetime? The intervals and
RQ's result TTL are shortened through the worker's settings (WEBHOOK_CHECK_EVERY, WEBHOOK_SWEEP_EVERY,
RQ_RESULT_TTL); runs are counted from the worker's own log (RQ logs every job it dequeues, with its id).
"""
from __future__ import annotations

import re
import time

import pytest

from tests.workers import _kill, _worker


def _runs(log_path, job_id: str) -> int:
    """How many times the worker dequeued `job_id` ("Worker …: default: <description> (<job id>)")."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return len(re.findall(rf": default: \S+ \({re.escape(job_id)}\)", text))


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 15 step 1: the self re-enqueuing chain under a fixed job id is lost "
                                       "when its next run is due later than RQ's result TTL")
def test_a_chain_due_after_the_result_ttl_keeps_running(app, tmp_path):
    """RELIABILITY 10: the health-check chain (every 4 s) must keep running although a finished job's
    result lives only 2 s; the inbox sweep (every 1 s, shorter than the TTL) is the control."""
    from portal.webhooks import jobs

    worker = _worker(app, tmp_path, "chain", WEBHOOK_CHECK_EVERY=4, WEBHOOK_SWEEP_EVERY=1, RQ_RESULT_TTL=2)
    log = tmp_path / "chain.log"
    try:
        deadline = time.time() + 30
        while time.time() < deadline and _runs(log, jobs.PERIODIC_JOB_ID) < 3:
            time.sleep(0.5)
        checks, sweeps = _runs(log, jobs.PERIODIC_JOB_ID), _runs(log, jobs.SWEEP_JOB_ID)
        redis = app.extensions["redis"]
        hash_left = redis.exists(f"rq:job:{jobs.PERIODIC_JOB_ID}")
        still_scheduled = redis.zscore("rq:scheduled:default", jobs.PERIODIC_JOB_ID)
    finally:
        _kill(worker)
    print(f"health-check runs: {checks}, sweep runs: {sweeps}; job hash left: {hash_left}, "
          f"scheduled registry score: {still_scheduled}, now: {time.time():.0f}")
    assert sweeps >= 5, log.read_text(errors="replace")[-3000:]  # the control: a chain shorter than the TTL lives
    assert checks >= 3, log.read_text(errors="replace")[-3000:]
