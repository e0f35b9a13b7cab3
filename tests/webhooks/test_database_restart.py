"""RELIABILITY 4 and 14 (issue 15): the database stops in the middle of webhook ingestion and starts again.

A private PostgreSQL cluster (initdb/pg_ctl on a free port: the shared server is never stopped), the
session's Redis (a second app on another Redis would rebind the rate limiter all apps share), the portal's
receiver served over real HTTP, a real `python worker.py`. Procore keeps delivering from a thread; the
cluster is stopped as in a crash (`pg_ctl -m immediate`). While it is down the receiver answers 503 (the one
answer that makes Procore deliver again) and never 2xx for an event it could not store; the deliveries
refused are delivered again after the restart, as Procore does. Then every event acknowledged ends
terminal, each once. SQLite is not covered: a file database has no server to lose, and making its file
unreadable would test the filesystem, not an outage."""
from __future__ import annotations

import json
import os
import threading

import pytest
from sqlalchemy import select

from tests.conftest import LiveServer, PostgresServer, postgres_binaries, wait_for
from tests.webhooks.conftest import PROCORE_COMPANY, PROJECT, v2_event
from tests.workers import _stop, _worker

pytestmark = pytest.mark.slow


class Procore:
    """Delivers one new event after another; a 503 is kept and delivered again when `redeliver` is called."""

    def __init__(self, url: str, auth: str):
        import requests

        self.url, self.session, self.headers = url, requests.Session(), {"Authorization": auth}
        self.accepted: set[str] = set()
        self.refused: list[dict] = []
        self.answers: dict[int, int] = {}
        self.stop, self.lock, self.count = threading.Event(), threading.Lock(), 0

    def send(self, body: dict) -> int:
        code = self.session.post(self.url, data=json.dumps(body), timeout=30,
                                 headers={**self.headers, "Content-Type": "application/json"}).status_code
        with self.lock:
            self.answers[code] = self.answers.get(code, 0) + 1
            if 200 <= code < 300:
                self.accepted.add(body["ulid"])
            elif code == 503:
                self.refused.append(body)
        return code

    def keep_delivering(self) -> None:
        while not self.stop.is_set():
            self.count += 1
            self.send(v2_event(ulid=f"01HZXDBRESTART{self.count:012d}", resource_id=5_000_300_000 + self.count))

    def redeliver(self) -> None:
        with self.lock:
            again, self.refused = self.refused, []
        for body in again:
            self.send(body)


def _statuses(app) -> dict[str, str]:
    from portal.extensions import db
    from portal.models import WebhookEvent

    with app.app_context():
        try:
            return dict(db.session.execute(select(WebhookEvent.event_key, WebhookEvent.status)).all())
        finally:
            db.session.remove()


@pytest.fixture
def private_postgres():
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        # A PostgreSQL behaviour: it runs in the PostgreSQL pass of .ci/run (its own cluster, whatever the
        # pass's database), which keeps the embedded pass of `make test` short.
        pytest.skip("the database restart test runs when DATABASE_URL is PostgreSQL (the CI's second pass)")
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (apt-get install postgresql): "
                    "no private cluster to stop and start")
    server = PostgresServer(binaries).init()
    try:
        yield server
    finally:
        server.cleanup()


def _portal(server: PostgresServer, redis_url: str, tmp_path):
    """The portal app on the private cluster and Redis, migrated, with a linked company and its hook secret."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from portal.models import Company
    from portal.webhooks import secrets

    app = create_app({"PORTAL_ENV": "testing", "INSTANCE_DIR": str(tmp_path), "STORAGE_DIR": str(tmp_path / "store"),
                      "SQLALCHEMY_DATABASE_URI": server.url, "REDIS_URL": redis_url})
    with app.app_context():
        upgrade(revision="heads")
        company = Company(name="Empresa Reinicio", procore_company_id=PROCORE_COMPANY)
        db.session.add(company)
        db.session.flush()
        row, plain = secrets.create(company.id, PROJECT)
        row.procore_hook_id = 78
        db.session.commit()
        db.session.remove()
    return app, f"Bearer {plain}"


def test_database_restarted_during_ingestion_503_then_every_accepted_event_ends_terminal(app, private_postgres,
                                                                                          tmp_path):
    from portal import redis_conn

    app, auth = _portal(private_postgres, redis_conn.resolve_url(app.config), tmp_path)
    web = LiveServer(app).start()
    worker = _worker(app, tmp_path, "db-restart", WEBHOOK_SWEEP_EVERY=1,
                     PERIODIC_ARM_EVERY=1, WEBHOOK_STALE_AFTER=1, SYNC_SWEEP_EVERY=0, ALERT_MAIL_EVERY=0)
    procore = Procore(web.url + app.config["WEBHOOK_PATH"], auth)
    sender = threading.Thread(target=procore.keep_delivering, daemon=True)
    log = tmp_path / "db-restart.log"
    try:
        sender.start()
        wait_for(lambda: len(procore.accepted) >= 20, 60, "deliveries accepted before the outage")
        private_postgres.stop()  # as in a crash
        wait_for(lambda: procore.answers.get(503, 0) >= 10, 60, "503 answers while the database is down")
        accepted_while_down = set(procore.accepted)
        private_postgres.start()
        wait_for(lambda: len(procore.accepted) >= len(accepted_while_down) + 20, 60, "deliveries accepted again")
        procore.stop.set()
        sender.join(timeout=60)
        procore.redeliver()  # what Procore retries: the refused deliveries come again
        assert not procore.refused, procore.answers
        wait_for(lambda: all(_statuses(app).get(key) == "done" for key in procore.accepted), 120,
                 "every accepted event processed")
    except AssertionError as error:
        raise AssertionError(f"{error}; answers {procore.answers}\n{log.read_text(errors='replace')[-3000:]}") \
            from None
    finally:
        procore.stop.set()
        _stop(worker, timeout=20)
        web.stop()
        with app.app_context():
            from portal.extensions import db

            db.engine.dispose()
    assert set(procore.answers) <= {200, 202, 503}, procore.answers  # nothing else: no 500, no lost 2xx
    statuses = _statuses(app)
    assert set(statuses) == procore.accepted  # one row per event, none stored without an acknowledgement
    assert set(statuses.values()) == {"done"}
