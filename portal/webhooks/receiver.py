"""The webhook receiver: POST {WEBHOOK_PATH} (SPEC D3, R12; RELIABILITY 1-7).

Ordered checks, each with its own answer: 413 body over 256 KiB, 415 not JSON, 401 no or
unknown secret (nothing stored), then the event is stored and committed and 2xx comes
back at once; a worker does the rest. Authenticated events are always acknowledged
(Procore pauses every later delivery after one failure), except with 503 when our
database is down, the only case where we want Procore to retry. No Procore call here.
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from config import WEBHOOK_PATH
from portal.access import public
from portal.extensions import csrf, db, limiter
from portal.models import EventStatus
from portal.webhooks import inbox, secrets

log = logging.getLogger(__name__)
bp = Blueprint("webhook_receiver", __name__)
MAX_BODY = 256 * 1024


@limiter.request_filter  # registered once, at import: Flask-Limiter then skips its per-request lookup
def _is_receiver() -> bool:
    return request.endpoint == "webhook_receiver.receive"


def _answer(status: int, result: str, event_id: int | None = None):
    return jsonify({"result": result, "event_id": event_id}), status


@bp.route(WEBHOOK_PATH, methods=["POST"])
@csrf.exempt  # machine caller, authenticated by its per-hook secret (RELIABILITY 23)
@limiter.exempt  # never a 429: one failed delivery pauses every later one at Procore
@public
def receive():
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _answer(413, "too_large")
    if request.mimetype != "application/json":
        return _answer(415, "unsupported_media_type")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:  # chunked bodies have no Content-Length
        return _answer(413, "too_large")
    try:
        caller = secrets.authenticate(request.headers.get("Authorization"))
        if caller is None:
            return _answer(401, "unauthorized")
        row, is_new = inbox.store(raw, caller)
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("webhook receiver: database unavailable")
        return _answer(503, "database_unavailable")
    if not is_new:
        return _answer(200, "duplicate")
    if row.status == EventStatus.RECEIVED:
        inbox.enqueue(row.id, fast=True)
    return _answer(202 if row.status == EventStatus.RECEIVED else 200, row.status, row.id)
