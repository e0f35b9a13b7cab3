"""The webhook receiver (SPEC D3, R12; RELIABILITY 1-5, 7, 23)."""
from __future__ import annotations

import json
import threading

import requests
from sqlalchemy import select

from portal.models import EventStatus, WebhookEvent
from tests.webhooks.conftest import jobs_for, v2_event, v4_event


def rows(app, db):
    with app.app_context():
        found = db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)).all()
        for row in found:
            db.session.expunge(row)
        return found


def test_no_or_wrong_secret_is_401_and_stores_nothing(app, db, hook, deliver):
    """RELIABILITY 1."""
    assert deliver(v2_event()).status_code == 401
    assert deliver(v2_event(), auth="Bearer not-the-secret").status_code == 401
    assert deliver(v2_event(), auth="Bearer " + hook["secret"][:-1]).status_code == 401
    assert rows(app, db) == []


def test_valid_event_is_stored_and_one_job_enqueued(app, db, hook, deliver):
    response = deliver(v2_event(), auth=hook["auth"])
    assert response.status_code == 202
    [row] = rows(app, db)
    assert row.status == EventStatus.RECEIVED and row.event_key == "01HZX0000000000000000000A1"
    assert row.company_id == hook["company_id"] and row.procore_project_id == hook["project"]
    assert row.resource_name == "Project Files" and row.event_type == "create" and row.resource_id == 5_000_123_456
    [job] = jobs_for(app, row.id)
    assert job.args == (row.id,)  # ids only: never a token or the payload (RELIABILITY 15)
    assert hook["secret"] not in json.dumps(row.raw_body)


def test_duplicates_are_acknowledged_and_dropped(app, db, hook, deliver):
    """RELIABILITY 2 (sequential part); D3: a replay changes nothing."""
    answers = [deliver(v2_event(), auth=hook["auth"]).status_code for _ in range(5)]
    assert answers[0] == 202 and answers[1:] == [200] * 4
    [row] = rows(app, db)
    assert len(jobs_for(app, row.id)) == 1


def test_five_concurrent_deliveries_make_one_row_and_one_job(app, db, hook, live_server):
    """RELIABILITY 2: the same event five times at once, over real HTTP with threads."""
    url = live_server.url + app.config["WEBHOOK_PATH"]
    body = json.dumps(v2_event(ulid="01HZXCONCURRENT00000000000")).encode()
    barrier, statuses = threading.Barrier(5), []

    def send():
        barrier.wait()
        statuses.append(requests.post(url, data=body, timeout=10, headers={
            "Authorization": hook["auth"], "Content-Type": "application/json"}).status_code)

    threads = [threading.Thread(target=send) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 5 and all(200 <= s < 300 for s in statuses), statuses
    [row] = rows(app, db)
    assert len(jobs_for(app, row.id)) == 1


def test_v4_payload_with_string_ids_is_accepted(app, db, hook, deliver):
    """RELIABILITY 3."""
    assert deliver(v4_event(), auth=hook["auth"]).status_code == 202
    [row] = rows(app, db)
    assert row.payload_version == "v4.0" and row.event_type == "update" and row.resource_name == "Images"
    assert row.resource_id == 5000123457 and row.procore_project_id == hook["project"]


def test_unknown_kind_is_ignored_with_2xx(app, db, hook, deliver):
    """RELIABILITY 3: authenticated but not a resource we sync."""
    assert deliver(v2_event(resource="Submittals"), auth=hook["auth"]).status_code == 200
    [row] = rows(app, db)
    assert row.status == EventStatus.IGNORED and jobs_for(app, row.id) == []


def test_malformed_json_is_quarantined_with_its_body(app, db, hook, deliver):
    """RELIABILITY 4: 2xx, a quarantined row support can read, no job."""
    response = deliver(None, auth=hook["auth"], raw=b'{"id": 12, "ulid": ')
    assert response.status_code == 200
    [row] = rows(app, db)
    assert row.status == EventStatus.QUARANTINED and row.raw_body == '{"id": 12, "ulid": '
    assert row.reason.startswith("malformed") and jobs_for(app, row.id) == []
    # The same broken body again is a duplicate, not a second row.
    assert deliver(None, auth=hook["auth"], raw=b'{"id": 12, "ulid": ').status_code == 200
    assert len(rows(app, db)) == 1


def test_raw_body_kept_for_support_is_capped(app, db, hook, deliver):
    body = v2_event(resource="Submittals", padding="x" * 100_000)
    assert deliver(body, auth=hook["auth"]).status_code == 200
    [row] = rows(app, db)
    assert len(row.raw_body) == 16 * 1024


def test_another_tenants_secret_is_quarantined_without_a_job(app, db, hook, deliver):
    """RELIABILITY 1: a valid secret, but the event is of another company or project."""
    assert deliver(v2_event(ulid="01HZXOTHERCOMPANY000000000", company=9_000_000_001),
                   auth=hook["auth"]).status_code == 200
    assert deliver(v2_event(ulid="01HZXOTHERPROJECT000000000", project=9_000_000_002),
                   auth=hook["auth"]).status_code == 200
    found = rows(app, db)
    assert [r.status for r in found] == [EventStatus.QUARANTINED] * 2
    assert all(jobs_for(app, r.id) == [] for r in found)


def test_too_large_and_wrong_content_type(app, db, hook, deliver):
    """RELIABILITY 5."""
    assert deliver(None, auth=hook["auth"], raw=b"{" + b" " * (256 * 1024) + b"}").status_code == 413
    assert deliver(v2_event(), auth=hook["auth"], content_type="text/plain").status_code == 415
    assert deliver(v2_event(), auth=hook["auth"], content_type="application/x-www-form-urlencoded").status_code == 415
    assert rows(app, db) == []


def test_our_own_writes_start_no_import(app, db, hook, deliver):
    """RELIABILITY 7: metadata.source_application_id = our client id."""
    body = v2_event(app_id=app.config["PROCORE_CLIENT_ID"])
    assert deliver(body, auth=hook["auth"]).status_code == 200
    [row] = rows(app, db)
    assert row.status == EventStatus.SELF_ORIGINATED and jobs_for(app, row.id) == []


def test_503_only_when_the_database_is_down(app, db, hook, deliver, monkeypatch):
    """RELIABILITY 4: the only non-2xx for an authenticated caller, so Procore retries."""
    from sqlalchemy.exc import OperationalError

    from portal.webhooks import inbox

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    monkeypatch.setattr(inbox, "store", down)
    response = deliver(v2_event(), auth=hook["auth"])
    assert response.status_code == 503


def test_receiver_is_2xx_even_when_redis_is_down(app, db, hook, deliver, monkeypatch):
    """RELIABILITY 6/10: the row is committed; the sweeper enqueues it later."""
    import redis

    monkeypatch.setitem(app.extensions, "webhook_redis", redis.Redis(host="127.0.0.1", port=9,
                                                                     socket_connect_timeout=0.2))
    assert deliver(v2_event(), auth=hook["auth"]).status_code == 202
    [row] = rows(app, db)
    assert jobs_for(app, row.id) == []
    with app.app_context():
        from portal.webhooks import jobs
        from portal.models.webhooks import WebhookEvent as Event

        stale = db.session.get(Event, row.id)
        stale.received_at = stale.received_at.replace(year=2020)
        db.session.commit()
        assert jobs.sweep() == 1
    assert len(jobs_for(app, row.id)) == 1


def test_receiver_route_is_the_only_csrf_exempt_one(app):
    """RELIABILITY 23 (tests/portal/test_access.py walks every other POST without a token)."""
    from portal.extensions import csrf

    assert set(csrf._exempt_views) == {"portal.webhooks.receiver.receive"}
