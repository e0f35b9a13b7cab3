"""Control API for webhooks under /_sandbox/webhooks/ (JSON; not part of Procore).

    GET  /_sandbox/webhooks/hooks         every hook with its triggers, Authorization unmasked
    GET  /_sandbox/webhooks/deliveries    every attempt: ?hook_id&project_id&event_id&filters[status]
                                          &outcome&after_id&limit (oldest first)
    GET  /_sandbox/webhooks/queue         jobs (?status=queued|delivered|discarded|dropped|cancelled),
                                          endpoint retry state and a dispatcher snapshot
    POST /_sandbox/webhooks/flush         {timeout?: 10, mode?: "empty"|"due"} wait until idle
    POST /_sandbox/webhooks/redeliver     {delivery_id} queue that delivery's payload again
"""
from __future__ import annotations

import json

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from ..core import clock
from ..core.api import ApiError
from ..core.control import guard, json_body
from ..core.db import current_session
from .routes import delivery_json, status_filter
from .dispatcher import get_dispatcher
from .models import WebhookDelivery, WebhookEndpoint, WebhookHook, WebhookJob, WebhookTrigger, iso_micro

bp = Blueprint("webhooks_control", __name__, url_prefix="/_sandbox/webhooks")


bp.before_request(guard)  # the same X-Sandbox-Token rule as the rest of /_sandbox/


def _int(name, default=None):
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None


@bp.get("/hooks")
def hooks():
    s = current_session()
    trig: dict = {}
    for t in s.scalars(select(WebhookTrigger).order_by(WebhookTrigger.id)):
        trig.setdefault(t.hook_id, []).append({"id": t.id, "resource_name": t.resource_name,
                                               "event_type": t.event_type, "api_version": t.api_version})
    out = [{"id": h.id, "company_id": h.company_id, "project_id": h.project_id, "namespace": h.namespace,
            "api_version": h.api_version, "destination_url": h.destination_url, "authorization": h.authorization,
            "application_id": h.application_id, "owned_by_user_id": h.owned_by_user_id,
            "triggers": trig.get(h.id, [])}
           for h in s.scalars(select(WebhookHook).order_by(WebhookHook.id))]
    return jsonify(out)


@bp.get("/deliveries")
def deliveries():
    s = current_session()
    stmt = select(WebhookDelivery, WebhookHook.project_id).outerjoin(
        WebhookHook, WebhookHook.id == WebhookDelivery.hook_id)
    if _int("hook_id") is not None:
        stmt = stmt.where(WebhookDelivery.hook_id == _int("hook_id"))
    if _int("project_id") is not None:
        stmt = stmt.where(WebhookHook.project_id == _int("project_id"))
    if _int("event_id") is not None:
        stmt = stmt.where(WebhookDelivery.event_id == _int("event_id"))
    outcomes = status_filter()
    if request.args.get("outcome"):
        outcomes = tuple(request.args["outcome"].split(","))
    if outcomes:
        stmt = stmt.where(WebhookDelivery.outcome.in_(outcomes))
    stmt = stmt.where(WebhookDelivery.id > _int("after_id", 0))
    rows = s.execute(stmt.order_by(WebhookDelivery.id).limit(_int("limit", 1000)))
    return jsonify([{**delivery_json(d), "hook_id": d.hook_id, "job_id": d.job_id, "project_id": pid,
                     "destination_url": d.destination_url} for d, pid in rows])


@bp.get("/queue")
def queue():
    s = current_session()
    stmt = select(WebhookJob)
    if request.args.get("status"):
        stmt = stmt.where(WebhookJob.status == request.args["status"])
    jobs = [{"id": j.id, "hook_id": j.hook_id, "event_id": j.event_id, "status": j.status,
             "attempts": j.attempts, "duplicate": j.duplicate, "redelivery_of": j.redelivery_of,
             "created_at": iso_micro(j.created_at), "done_at": iso_micro(j.done_at),
             "event": json.loads(j.payload)}
            for j in s.scalars(stmt.order_by(WebhookJob.id).limit(_int("limit", 1000)))]
    endpoints = [{"url": e.url, "failures": e.failures, "failing_since": iso_micro(e.failing_since),
                  "next_attempt_at": iso_micro(e.next_attempt_at), "last_error": e.last_error}
                 for e in s.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.url))]
    d = get_dispatcher()
    return jsonify({"jobs": jobs, "endpoints": endpoints, "dispatcher": d.snapshot() if d else None,
                    "now": iso_micro(clock.now())})


@bp.post("/flush")
def flush():
    """Wait until the dispatcher is idle (every event ingested, nothing in flight and no
    queued job; with mode "due", jobs waiting for a backoff retry are ignored).  Returns
    the snapshot with ``idle`` false on timeout or while ``webhooks_enabled`` is false."""
    body = json_body()
    mode = body.get("mode", "empty")
    if mode not in ("empty", "due"):
        raise ApiError(400, "mode must be empty or due")
    timeout = min(max(float(body.get("timeout", 10)), 0.0), 300.0)
    d = get_dispatcher()
    if d is None:
        raise ApiError(409, "webhook dispatcher not running")
    return jsonify(d.wait_idle(timeout, mode))


@bp.post("/redeliver")
def redeliver():
    """Queue the payload of ``delivery_id`` again (same id/ulid), behind the hook's queue."""
    body = json_body()
    s = current_session()
    d = s.get(WebhookDelivery, int(body.get("delivery_id") or 0))
    if d is None:
        raise ApiError(404, "delivery not found")
    if s.get(WebhookHook, d.hook_id) is None:
        raise ApiError(409, "the hook of this delivery was deleted")
    now = clock.now()
    job = WebhookJob(hook_id=d.hook_id, event_id=d.event_id, payload=d.payload, status="queued", attempts=0,
                     not_before=now, created_at=now, redelivery_of=d.id)
    s.add(job)
    s.commit()  # commit now so the dispatcher (woken below) sees the job
    disp = get_dispatcher()
    if disp is not None:
        disp.wake.set()
    return jsonify({"job_id": job.id, "hook_id": job.hook_id, "event_id": job.event_id, "status": job.status})
