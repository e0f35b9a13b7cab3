"""RELIABILITY 13 for webhooks: deliveries that arrive while Redis (a real redis-server) is down are
acknowledged and kept; once it is back (empty), a real worker's periodic inbox sweep enqueues them and
every one ends processed. Nothing is lost, nothing stays "received"."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import RedisServer
from tests.webhooks.conftest import v2_event
from tests.workers import _stop, _wait, _worker


def _statuses(app, db) -> list[str]:
    from portal.models import WebhookEvent

    with app.app_context():
        db.session.expire_all()
        return [row.status for row in db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]


def test_events_received_while_redis_is_down_are_processed_after_it_restarts(app, db, hook, deliver, tmp_path,
                                                                             monkeypatch):
    from portal.models import WebhookEvent
    from portal import redis_conn

    server = RedisServer(tmp_path).start()
    receiver_redis = redis_conn.connect_receiver(server.url, app.config["WEBHOOK_REDIS_TIMEOUT"])
    monkeypatch.setitem(app.extensions, "webhook_redis", receiver_redis)
    worker = _worker(app, tmp_path, "events", REDIS_URL=server.url, WEBHOOK_SWEEP_EVERY=1, PERIODIC_ARM_EVERY=1,
                     SYNC_SWEEP_EVERY=0, ALERT_MAIL_EVERY=0)
    log = tmp_path / "events.log"
    try:
        server.kill()  # Procore keeps delivering while Redis is down
        answers = [deliver(v2_event(ulid=f"01HZXREDIS0000000000000{n:03d}", resource_id=5_000_200_000 + n),
                           auth=hook["auth"]).status_code for n in range(5)]
        assert answers == [202] * 5  # acknowledged: stored, their jobs not enqueued
        assert _statuses(app, db) == ["received"] * 5
        with app.app_context():  # simulated time: they have waited past the sweep's STALE_AFTER
            for row in db.session.scalars(select(WebhookEvent)):
                row.received_at -= timedelta(minutes=5)
            db.session.commit()
        server.start()  # back, empty: no job knows of these events
        _wait(lambda: _statuses(app, db) == ["done"] * 5, 90, "every event processed")
    except AssertionError as error:
        raise AssertionError(f"{error}; {_statuses(app, db)}\n{log.read_text(errors='replace')[-3000:]}") from None
    finally:
        _stop(worker, timeout=20)  # SIGTERM; it SIGKILLs the worker and its horse itself after 20 s
        server.kill()
