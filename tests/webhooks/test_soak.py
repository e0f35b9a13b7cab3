"""RELIABILITY 14 (issue 15), the short soak: `bench/soak.py` with a few hundred deliveries of real sandbox
changes (shuffled, 30% duplicated, some late), three real workers SIGKILLed at random and restarted, the sandbox
answering 5% of calls 5xx and 429 past its window. It must exit 0: every accepted event terminal, cBox equal to
Procore by sha256, no duplicate, no partial file, nothing lost. On the database and Redis of the session
(DATABASE_URL / REDIS_URL: the soak works in a schema of its own in that PostgreSQL database and drops it),
else on a SQLite file and an embedded Redis of its own."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
LAST_LINE = re.compile(r"^accepted=(\d+) terminal=(\d+) mismatches=(\d+) duplicates=(\d+)$")


def test_short_soak_loses_nothing(app):  # app: the session's database is migrated and its queues emptied
    command = [sys.executable, "bench/soak.py", "--events", "200", "--minutes", "2", "--kill-every", "5",
               "--quiet-timeout", "150"]
    if os.environ.get("DATABASE_URL", "").startswith(("postgresql://", "postgres://")):
        command += ["--database-url", os.environ["DATABASE_URL"]]
    if os.environ.get("REDIS_URL"):
        command += ["--redis-url", os.environ["REDIS_URL"]]
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=290)
    output = done.stdout + done.stderr
    print(done.stdout[-2500:])  # the figures, shown with -s or -rA
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    match = LAST_LINE.match(lines[-1]) if lines else None
    assert done.returncode == 0 and match, output[-6000:]
    accepted, terminal, mismatches, duplicates = map(int, match.groups())
    assert accepted >= 100 and terminal == accepted, lines[-1]
    assert (mismatches, duplicates) == (0, 0), lines[-1]
    figures = dict(pair.split("=") for pair in lines[-2].split())
    assert figures["lost"] == figures["partial"] == figures["unexpected"] == "0", lines[-2]
    assert int(figures["procore_files"]) == int(figures["cbox_files"]) > 0, lines[-2]
    assert re.search(r"; [1-9]\d* workers killed", done.stdout), "no worker was killed:\n" + done.stdout[-3000:]
