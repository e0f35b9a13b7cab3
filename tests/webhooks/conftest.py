"""Fixtures for webhook tests: a linked company with a hook secret, and a JSON poster."""
from __future__ import annotations

import json

import pytest
from rq import Queue

PROCORE_COMPANY = 5_000_000_001
PROJECT = 5_000_000_100


@pytest.fixture
def hook(app, db, make_company):
    """A company linked to a Procore company, with our secret on one project. Returns a dict."""
    from portal.models import Company
    from portal.webhooks import secrets

    company = make_company("Empresa Webhooks")
    with app.app_context():
        row = db.session.get(Company, company.id)
        row.procore_company_id = PROCORE_COMPANY
        secret_row, plain = secrets.create(company.id, PROJECT)
        secret_row.procore_hook_id = 77
        db.session.commit()
        secret_id = secret_row.id
    return {"company_id": company.id, "secret": plain, "secret_id": secret_id,
            "auth": f"Bearer {plain}", "project": PROJECT, "procore_company": PROCORE_COMPANY}


def v2_event(ulid="01HZX0000000000000000000A1", resource="Project Files", event_type="create",
             company=PROCORE_COMPANY, project=PROJECT, app_id="someone-else", **extra) -> dict:
    body = {"id": 5_000_900_001, "ulid": ulid, "timestamp": "2026-11-28T08:00:00.123456Z",
            "metadata": {"source_user_id": 1, "source_project_id": project, "source_operation_id": None,
                         "source_company_id": company, "source_application_id": app_id},
            "user_id": 5_000_000_500, "company_id": company, "project_id": project, "api_version": "v2.0",
            "event_type": event_type, "resource_name": resource, "resource_id": 5_000_123_456}
    body.update(extra)
    return body


def v4_event(event_id="01HZX4000000000000000000B2", resource="Images", reason="update",
             company=PROCORE_COMPANY, project=PROJECT) -> dict:
    return {"id": event_id, "timestamp": "2026-11-28T08:00:00.123456Z", "reason": reason,
            "company_id": str(company), "project_id": str(project), "user_id": "5000000500",
            "resource_type": resource, "resource_id": "5000123457"}


@pytest.fixture
def deliver(client, app):
    path = app.config["WEBHOOK_PATH"]

    def post(body, auth=None, content_type="application/json", raw: bytes | None = None):
        data = raw if raw is not None else json.dumps(body).encode()
        headers = {"Authorization": auth} if auth else {}
        return client.post(path, data=data, headers=headers, content_type=content_type)

    return post


def jobs_for(app, event_id: int) -> list:
    """RQ jobs (queued or scheduled) that process the inbox row `event_id`."""
    queue = Queue("default", connection=app.extensions["redis"])
    ids = list(queue.job_ids) + list(queue.scheduled_job_registry.get_job_ids())
    found = []
    for job in queue.job_class.fetch_many(ids, connection=queue.connection):
        if job is not None and job.func_name == "portal.webhooks.jobs.process_event" and job.args == (event_id,):
            found.append(job)
    return found


@pytest.fixture(autouse=True)
def _empty_queue(app):
    queue = Queue("default", connection=app.extensions["redis"])
    queue.empty()
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)
    yield
