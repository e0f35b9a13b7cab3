"""Webhooks API v1.0 (hooks, triggers, resources, deliveries) and the dispatcher start-up.

Routes (all need Bearer + Procore-Company-Id, and exactly one of project_id / company_id
in the query or the JSON body; the docs say "use one or the other per request"):

    GET|POST          /rest/v1.0/webhooks/hooks
    GET|PATCH|DELETE  /rest/v1.0/webhooks/hooks/{id}
    GET|POST          /rest/v1.0/webhooks/hooks/{hook_id}/triggers
    DELETE            /rest/v1.0/webhooks/hooks/{hook_id}/triggers/{id}
    POST|DELETE       /rest/v1.0/webhooks/hooks/{hook_id}/triggers/bulk     (max 500; 200/207/413)
    GET               /rest/v1.0/webhooks/hooks/{hook_id}/deliveries        (cursor paging)
    GET               /rest/v1.0/webhooks/resources
    GET               /rest/v1.0/webhooks/resources/api_versions

Permission (Procore's exact rule is not documented; stricter reading): user tokens need
Admin on the project's ``admin`` tool (project scope) or on the company ``admin`` tool
(company scope), for reads too; a Developer Managed Service Account (client_credentials)
is allowed wherever it is installed (its "Webhooks API" permission is not modelled).
The delivery machinery lives in sandbox/webhooks/dispatcher.py.
"""
from __future__ import annotations

import json

from flask import Blueprint, g, request
from sqlalchemy import select

from ..core import clock
from . import service as svc
from ..core.api import (ADMIN, ApiError, actor, current_company, int_arg, is_company_admin, json_response,
                  project_for, request_data, require_auth, tool_level)
from ..core.db import current_session
from ..core.state import cfg
from .dispatcher import Dispatcher
from .models import (API_VERSIONS, HISTORY_DAYS, STATUS_FILTERS, WebhookDelivery, iso_micro,
                              resources_for)

bp = Blueprint("webhooks", __name__)
V = "/rest/v1.0/webhooks"


def init_app(app) -> None:
    if app.extensions["sandbox"].role != "main":
        return  # a storage process (sandbox/core/shared.py) sends no webhooks
    d = Dispatcher(app)
    app.extensions["sandbox_webhooks"] = d
    d.start()


# --- helpers ----------------------------------------------------------------------

def _scope(body: dict | None = None) -> svc.Scope:
    src = {}
    for key in ("project_id", "company_id"):
        q, b = request.args.get(key), (body or {}).get(key)
        if q not in (None, "") and b not in (None, "") and str(q) != str(b):
            raise ApiError(400, f"{key} differs between the query string and the body")
        v = b if b not in (None, "") else q
        if v not in (None, ""):
            src[key] = v
    pid = int_arg("project_id", required=False, source=src)
    cid = int_arg("company_id", required=False, source=src)
    if pid is not None and cid is not None:
        raise ApiError(400, "Provide either company_id or project_id, not both")
    if pid is None and cid is None:
        raise ApiError(400, "company_id or project_id is required")
    user = g.user
    service_account = user.service_client_id is not None
    if pid is not None:
        project = project_for(pid)
        if not service_account and tool_level(user.id, project, "admin") < ADMIN:
            raise ApiError(403, "Managing project webhooks requires Admin permission on the project's Admin tool")
        return svc.Scope(project.company_id, project.id)
    comp = current_company()
    if cid != comp.id:
        raise ApiError(400, "company_id does not match the Procore-Company-Id header")
    if not service_account and not is_company_admin(user.id, comp.id):
        raise ApiError(403, "Managing company webhooks requires Admin permission on the company's Admin tool")
    return svc.Scope(comp.id, None)


def _body() -> dict:
    return request_data() if (request.content_length or request.is_json or request.form) else {}


def _sub(data: dict, key: str) -> dict:
    obj = data.get(key)
    if not isinstance(obj, dict):
        raise ApiError(400, f"param is missing or the value is empty: {key}")
    return obj


# --- hooks ----------------------------------------------------------------------------

@bp.get(f"{V}/hooks")
@require_auth()
def list_hooks():
    scope = _scope()
    ns = request.args.get("namespace") or None
    av = svc.parse_api_version(request.args.get("api_version"), required=False)
    return json_response([svc.hook_json(h) for h in svc.list_hooks(current_session(), scope, ns, av)])


@bp.post(f"{V}/hooks")
@require_auth()
def create_hook():
    data = _body()
    scope = _scope(data)
    h = svc.create_hook(current_session(), scope, actor(), _sub(data, "hook"))
    return json_response(svc.hook_json(h), 201)


@bp.get(f"{V}/hooks/<int:hook_id>")
@require_auth()
def show_hook(hook_id):
    scope = _scope()
    return json_response(svc.hook_json(svc.find_hook(current_session(), scope, hook_id)))


@bp.patch(f"{V}/hooks/<int:hook_id>")
@require_auth()
def update_hook(hook_id):
    data = _body()
    scope = _scope(data)
    s = current_session()
    h = svc.update_hook(s, svc.find_hook(s, scope, hook_id), scope, actor(), _sub(data, "hook"))
    return json_response(svc.hook_json(h))


@bp.delete(f"{V}/hooks/<int:hook_id>")
@require_auth()
def delete_hook(hook_id):
    scope = _scope(_body())
    s = current_session()
    svc.delete_hook(s, svc.find_hook(s, scope, hook_id), actor())
    return "", 204


# --- triggers ---------------------------------------------------------------------------

@bp.get(f"{V}/hooks/<int:hook_id>/triggers")
@require_auth()
def list_triggers(hook_id):
    scope = _scope()
    s = current_session()
    return json_response([svc.trigger_json(t) for t in svc.list_triggers(s, svc.find_hook(s, scope, hook_id))])


@bp.post(f"{V}/hooks/<int:hook_id>/triggers")
@require_auth()
def create_trigger(hook_id):
    data = _body()
    scope = _scope(data)
    s = current_session()
    hook = svc.find_hook(s, scope, hook_id)
    api_version = svc.parse_api_version(data.get("api_version"))
    t = svc.create_trigger(s, hook, scope, actor(), api_version, _sub(data, "trigger"))
    return json_response(svc.trigger_json(t), 201)


@bp.delete(f"{V}/hooks/<int:hook_id>/triggers/<int:trigger_id>")
@require_auth()
def delete_trigger(hook_id, trigger_id):
    scope = _scope(_body())
    s = current_session()
    svc.delete_trigger(s, svc.find_hook(s, scope, hook_id), actor(), trigger_id)
    return "", 204


def _bulk(op):
    data = _body()
    scope = _scope(data)
    s = current_session()
    hook = svc.find_hook(s, scope, hook_id=request.view_args["hook_id"])
    items = data.get("triggers")
    if isinstance(items, list) and len(items) > svc.MAX_BULK_TRIGGERS:  # before anything else
        raise ApiError(413, f"Too many triggers: {len(items)} (max {svc.MAX_BULK_TRIGGERS})")
    api_version = svc.parse_api_version(data.get("api_version"))
    if op == "create":
        result = svc.bulk_create_triggers(s, hook, scope, actor(), api_version, items)
    else:
        result = svc.bulk_delete_triggers(s, hook, actor(), api_version, items)
    # 200 when every item succeeded, 207 Multi-Status otherwise (also when all failed).
    return json_response(result, 207 if result["failed"] else 200)


@bp.post(f"{V}/hooks/<int:hook_id>/triggers/bulk")
@require_auth()
def bulk_create_triggers(hook_id):
    return _bulk("create")


@bp.delete(f"{V}/hooks/<int:hook_id>/triggers/bulk")
@require_auth()
def bulk_delete_triggers(hook_id):
    return _bulk("delete")


# --- resources ---------------------------------------------------------------------------

@bp.get(f"{V}/resources")
@require_auth()
def list_resources():
    """Without ``api_version`` every (resource, api_version) pair is listed."""
    scope = _scope()
    av = svc.parse_api_version(request.args.get("api_version"), required=False)
    out = []
    for version in ([av] if av else API_VERSIONS):
        for name, category, tool, exc, unconfirmed in resources_for(scope.kind, cfg("webhook_unconfirmed_resources")):
            row = {"resource_name": name, "api_version": version, "product_category": category, "tools": tool,
                   "except": list(exc), "create": "create" not in exc, "update": "update" not in exc,
                   "delete": "delete" not in exc}
            if unconfirmed:
                row["sandbox_unconfirmed"] = True  # not confirmed by any Procore source
            out.append(row)
    return json_response(out)


@bp.get(f"{V}/resources/api_versions")
@require_auth()
def list_api_versions():
    _scope()
    return json_response(list(API_VERSIONS))


# --- deliveries ------------------------------------------------------------------------------

def delivery_json(d: WebhookDelivery) -> dict:
    return {"id": d.id, "event_id": d.event_id, "event": json.loads(d.payload), "outcome": d.outcome,
            "response_status": d.response_status,
            "response_headers": json.loads(d.response_headers) if d.response_headers else {},
            "response_body": d.response_body, "response_error": d.response_error,
            "started_at": iso_micro(d.started_at), "completed_at": iso_micro(d.completed_at)}


def status_filter() -> tuple | None:
    status = request.args.get("filters[status]") or request.args.get("filter[status]") or "any"
    if status not in STATUS_FILTERS:
        raise ApiError(400, "filters[status] must be one of any, successful, failing, discarded")
    return STATUS_FILTERS[status]


@bp.get(f"{V}/hooks/<int:hook_id>/deliveries")
@require_auth()
def list_deliveries(hook_id):
    """Cursor paging, oldest first: ``page_size`` (default 100, max 1000) and
    ``page_start`` = the last id of the previous page.  Attempts older than 28 days
    (sandbox clock) are no longer listed."""
    scope = _scope()
    s = current_session()
    hook = svc.find_hook(s, scope, hook_id)
    size = int_arg("page_size", required=False)
    size = 100 if size is None else size
    if size < 1:
        raise ApiError(400, "page_size must be a positive integer")
    start = int_arg("page_start", required=False)
    stmt = select(WebhookDelivery).where(WebhookDelivery.hook_id == hook.id,
                                         WebhookDelivery.started_at >= clock.now() - HISTORY_DAYS * 86400)
    outcomes = status_filter()
    if outcomes:
        stmt = stmt.where(WebhookDelivery.outcome.in_(outcomes))
    if start is not None:
        stmt = stmt.where(WebhookDelivery.id > start)
    rows = s.scalars(stmt.order_by(WebhookDelivery.id).limit(min(size, 1000)))
    return json_response([delivery_json(d) for d in rows])
