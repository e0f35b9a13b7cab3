"""The sandbox with storage processes (``--storage-processes``, sandbox/core/shared.py, issue 13): /_storage/ is
served by processes of their own on a second port, as Procore's storage is another host. Every test of
test_sandbox_storage.py runs again against it (downloads, uploads, injected storage faults, latency,
expiry); the tests below check what the processes share: one config, counters summed, one rate-limit budget."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from sandbox.testing import SandboxServer
from tests.sandbox.test_sandbox_storage import *  # noqa: F403 - the same tests, against storage processes
from tests.sandbox.test_sandbox_storage import _a_file


@pytest.fixture(scope="module")
def sandbox_server():
    server = SandboxServer(config={"seed_on_empty": True}, storage_processes=2, startup_timeout=120)
    server.start()
    yield server
    server.cleanup()


def _downloads(admin, world, count: int) -> tuple[list[str], int]:
    f = _a_file(admin, world.alamos)
    locations = []
    for _ in range(count):
        r = admin.get(f["file_versions"][0]["url"], company=False)
        assert r.status_code == 302
        locations.append(r.headers["Location"])
    return locations, f["size"]


def test_bytes_come_from_the_storage_port_and_counters_sum_across_processes(sb, admin, world):
    locations, size = _downloads(admin, world, 12)
    storage = urlsplit(locations[0])
    assert storage.port != sb.port and storage.path.startswith("/_storage/blobs/")
    sb._post("/_sandbox/stats/reset")
    for location in locations:  # a connection each: the storage processes share them out
        assert len(requests.get(location, headers={"Connection": "close"}).content) == size
    stats = sb.stats()  # the reset's answer (counted after it) + 12 downloads
    assert stats["storage_downloads"] == 12 and stats["bytes_served"] == 12 * size
    assert stats["status_codes"] == {"200": 13} and stats["requests_total"] == 13
    admin.get(f"/rest/v1.0/folders?project_id={world.alamos}")
    stats = sb.stats()  # the main process's own counters add to the storage processes'
    assert stats["requests_total"] == 15 and stats["api_requests"] == 1 and stats["status_codes"] == {"200": 15}
    sb._post("/_sandbox/stats/reset")
    stats = sb.stats()
    assert stats["storage_downloads"] == 0 and stats["bytes_served"] == 0 and stats["status_codes"] == {
        "200": 1} and stats["requests_total"] == 1  # the reset's own answer is counted after it


def test_a_storage_process_serves_storage_only(sb, admin, world):
    locations, _size = _downloads(admin, world, 1)
    storage = "{0.scheme}://{0.netloc}".format(urlsplit(locations[0]))
    for path in ("/rest/v1.0/me", "/_sandbox/stats", "/oauth/token", "/ui/"):
        r = requests.get(storage + path, headers={"Authorization": f"Bearer {admin.token}"})
        assert r.status_code == 404 and "NoSuchKey" in r.text, path


def test_one_rate_limit_budget_and_storage_outside_it(sb, admin, world):
    sb.control({"rate_limit_spike": 4})
    f = _a_file(admin, world.alamos)  # 1 of 4
    answers = [admin.get(f["file_versions"][0]["url"], company=False) for _ in range(4)]
    assert [r.status_code for r in answers] == [302, 302, 302, 429]
    assert answers[-1].headers["X-Rate-Limit-Remaining"] == "0" and "Retry-After" in answers[-1].headers
    for r in answers[:3]:  # signed storage URLs are not Procore API calls: no budget spent, none needed
        assert requests.get(r.headers["Location"]).status_code == 200
    assert admin.get(f"/rest/v1.0/folders?project_id={world.alamos}").status_code == 429
    assert sb.stats()["rate_limited_429"] == 2


def test_config_clock_and_reset_reach_every_storage_process(sb, admin, api_for, world):
    locations, _size = _downloads(admin, world, 1)
    sb.advance_clock(301)
    for _ in range(6):  # whichever process answers, the URL has expired
        r = requests.get(locations[0], headers={"Connection": "close"})
        assert r.status_code == 403 and "Request has expired" in r.text
    sb.reset()  # the startup config again (clock offset 0) everywhere; new data, so a new token
    locations, _size = _downloads(api_for("admin@constructora.test"), world, 1)
    sb.control({"latency_ms": 300})
    r = requests.get(locations[0])
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.3
    sb.control({"latency_ms": 0})
    assert requests.get(locations[0]).elapsed.total_seconds() < 0.3
    assert sb.control({})["storage_base_url"] == "{0.scheme}://{0.netloc}".format(urlsplit(locations[0]))


@pytest.mark.parametrize("argv, env", [(["--threads", "0"], {}), ([], {"SANDBOX_THREADS": "muchos"})])
def test_a_bad_thread_count_is_refused_with_a_message(argv, env):
    """--threads / SANDBOX_THREADS (the waitress pool of each sandbox process): a clear error, exit 2,
    before anything starts."""
    import os
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "sandbox", "--port", "0", *argv], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "argument --threads: must be a whole number of at least 1" in done.stderr
