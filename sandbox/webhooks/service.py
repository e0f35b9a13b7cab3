"""Webhooks service layer: hook and trigger CRUD, validation, JSON shapes.

Used by the REST views (sandbox/webhooks/routes.py) and by anything else that manages hooks
(the sandbox UI, seeders).  Functions take ``(session, scope, actor, ...)``; ``actor``
is ``sandbox.core.api.Actor`` (application_id None = a human in Procore's web UI).
Validation errors raise ``ApiError`` with Rails-style ``{"errors": {field: [...]}}``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select, update

from ..core import clock
from ..core.api import Actor, ApiError
from ..core.state import cfg
from .dispatcher import mark_last_attempt_failed
from .models import (EVENT_TYPES, WebhookHook, WebhookJob, WebhookTrigger,
                              allowed_events, normalize_api_version)

NAMESPACE_RE = re.compile(r"^[a-z0-9-]+$")
MAX_BULK_TRIGGERS = 500


@dataclass(frozen=True)
class Scope:
    """company_id is always set; project_id set for a project scope."""
    company_id: int
    project_id: int | None = None

    @property
    def kind(self) -> str:
        return "project" if self.project_id is not None else "company"

    def owns(self, hook: WebhookHook) -> bool:
        # Stricter reading: a hook is only reachable through its own scope (a company
        # scope does not reach the project hooks of its projects), so a trigger always
        # shares its hook's scope.
        if self.project_id is not None:
            return hook.project_id == self.project_id
        return hook.project_id is None and hook.company_id == self.company_id


def _invalid(field: str, msg: str, status: int = 422):
    raise ApiError(status, f"{field} {msg}", body={"errors": {field: [msg]}})


def mask_secret(value: str | None) -> str | None:
    """Only the last 5 characters stay visible ("************abcde")."""
    if value is None:
        return None
    if len(value) <= 5:
        return "*" * len(value)
    return "*" * (len(value) - 5) + value[-5:]


# --- JSON ------------------------------------------------------------------------

def hook_json(h: WebhookHook) -> dict:
    return {"id": h.id, "api_version": h.api_version, "namespace": h.namespace,
            "destination_url": h.destination_url,
            "destination_headers": ({"Authorization": mask_secret(h.authorization)}
                                    if h.authorization is not None else {}),
            "owned_by_company_id": h.company_id if h.project_id is None else None,
            "owned_by_project_id": h.project_id,
            "owned_by_user_id": h.owned_by_user_id}


def trigger_json(t: WebhookTrigger) -> dict:
    return {"id": t.id, "webhook_hook_id": t.hook_id, "resource_name": t.resource_name,
            "resource_id": None, "event_type": t.event_type, "company_id": t.company_id,
            "project_id": t.project_id, "user_id": t.user_id}


# --- validation --------------------------------------------------------------------

def parse_api_version(value, field: str = "api_version", required: bool = True, default=None) -> str:
    if value in (None, ""):
        if required:
            raise ApiError(400, f"param is missing or the value is empty: {field}")
        return default
    v = normalize_api_version(value)
    if v is None:
        _invalid(field, "is not supported (use v2.0, v3.0 or v4.0)")
    return v


def _validate_namespace(ns) -> str:
    if not isinstance(ns, str) or not ns:
        _invalid("namespace", "can't be blank")
    if len(ns) > 255 or not NAMESPACE_RE.match(ns):
        _invalid("namespace", "is invalid (only lowercase a-z, 0-9 and '-')")
    return ns


def _validate_url(url) -> str:
    if not isinstance(url, str) or not url.strip():
        _invalid("destination_url", "can't be blank")
    url = url.strip()
    parts = urlsplit(url)
    allowed = ("https", "http") if cfg("webhook_allow_http") else ("https",)
    if parts.scheme not in allowed or not parts.hostname or len(url) > 2000:
        _invalid("destination_url", "is not a valid URL" if parts.scheme in ("http", "https")
                 and parts.hostname else f"must be an absolute {' or '.join(allowed)} URL")
    return url


def _validate_headers(headers) -> str | None:
    """destination_headers: only ``Authorization`` (stricter reading: Procore documents
    no other header; anything else is rejected)."""
    if headers is None:
        return None
    if not isinstance(headers, dict):
        _invalid("destination_headers", "must be an object")
    extra = [k for k in headers if k != "Authorization"]
    if extra:
        _invalid("destination_headers", f"only Authorization is supported (got {', '.join(map(str, extra))})")
    value = headers.get("Authorization")
    if value is None:
        return None
    if not isinstance(value, str) or any(c in value for c in "\r\n"):
        _invalid("destination_headers", "Authorization must be a single-line string")
    return value


def _check_namespace_free(s, scope: Scope, namespace: str, exclude_id: int | None = None):
    # Open question 6: stricter reading, one hook per namespace per scope.
    stmt = select(WebhookHook).where(WebhookHook.namespace == namespace)
    for h in s.scalars(stmt):
        if h.id != exclude_id and scope.owns(h):
            _invalid("namespace", "has already been taken in this scope")


def check_can_modify(hook: WebhookHook, actor: Actor):
    """Namespaces isolate one integration's hook/trigger CRUD from the others.  Stricter
    reading: an OAuth application cannot change a hook created by ANOTHER application
    (hooks created in the UI, application None, can be changed by anyone allowed)."""
    if actor.application_id is not None and hook.application_id not in (None, actor.application_id):
        raise ApiError(403, f"This webhook (namespace {hook.namespace!r}) is managed by another application")


# --- hooks -------------------------------------------------------------------------

def find_hook(s, scope: Scope, hook_id: int) -> WebhookHook:
    h = s.get(WebhookHook, hook_id)
    if h is None or not scope.owns(h):
        raise ApiError(404, "Webhooks Hook not found")
    return h


def list_hooks(s, scope: Scope, namespace: str | None = None, api_version: str | None = None) -> list:
    stmt = select(WebhookHook).where(WebhookHook.company_id == scope.company_id)
    stmt = stmt.where(WebhookHook.project_id == scope.project_id if scope.project_id is not None
                      else WebhookHook.project_id.is_(None))
    if namespace is not None:
        stmt = stmt.where(WebhookHook.namespace == namespace)
    if api_version is not None:
        stmt = stmt.where(WebhookHook.api_version == api_version)
    return list(s.scalars(stmt.order_by(WebhookHook.id)))


def create_hook(s, scope: Scope, actor: Actor, data: dict) -> WebhookHook:
    if not isinstance(data, dict):
        raise ApiError(400, "param is missing or the value is empty: hook")
    namespace = _validate_namespace(data.get("namespace"))
    api_version = parse_api_version(data.get("api_version"), required=False, default="v2.0")
    url = _validate_url(data.get("destination_url"))
    auth = _validate_headers(data.get("destination_headers"))
    _check_namespace_free(s, scope, namespace)
    now = clock.now()
    h = WebhookHook(company_id=scope.company_id, project_id=scope.project_id, namespace=namespace,
                    api_version=api_version, destination_url=url, authorization=auth,
                    owned_by_user_id=actor.user_id, application_id=actor.application_id,
                    created_at=now, updated_at=now)
    s.add(h)
    s.flush()
    return h


def update_hook(s, hook: WebhookHook, scope: Scope, actor: Actor, data: dict) -> WebhookHook:
    """PATCH: only the given keys change.  A new api_version does NOT migrate the
    triggers: they keep theirs and stop matching (Procore: "nothing is delivered")."""
    if not isinstance(data, dict):
        raise ApiError(400, "param is missing or the value is empty: hook")
    check_can_modify(hook, actor)
    if "namespace" in data:
        ns = _validate_namespace(data["namespace"])
        if ns != hook.namespace:
            _check_namespace_free(s, scope, ns, exclude_id=hook.id)
        hook.namespace = ns
    if "api_version" in data:
        hook.api_version = parse_api_version(data["api_version"])
    if "destination_url" in data:
        hook.destination_url = _validate_url(data["destination_url"])
    if "destination_headers" in data:
        # Stored as sent, so echoing the masked value back stores the mask (and
        # deliveries carry it): clients must send the real secret or omit the key.
        hook.authorization = _validate_headers(data["destination_headers"])
    hook.updated_at = clock.now()
    return hook


def delete_hook(s, hook: WebhookHook, actor: Actor) -> None:
    """Deletes the hook and its triggers; its queued deliveries are cancelled."""
    check_can_modify(hook, actor)
    now = clock.now()
    job_ids = list(s.scalars(select(WebhookJob.id).where(WebhookJob.hook_id == hook.id,
                                                         WebhookJob.status == "queued")))
    if job_ids:
        s.execute(update(WebhookJob).where(WebhookJob.id.in_(job_ids))
                  .values(status="cancelled", done_at=now))
        mark_last_attempt_failed(s, job_ids)
    for t in s.scalars(select(WebhookTrigger).where(WebhookTrigger.hook_id == hook.id)):
        s.delete(t)
    s.delete(hook)


# --- triggers ----------------------------------------------------------------------

def list_triggers(s, hook: WebhookHook) -> list:
    return list(s.scalars(select(WebhookTrigger).where(WebhookTrigger.hook_id == hook.id)
                          .order_by(WebhookTrigger.id)))


def _trigger_errors(hook, scope: Scope, item, api_version: str, existing: set) -> tuple[str, str, dict | None]:
    """(resource_name, event_type, errors or None)."""
    if not isinstance(item, dict):
        return "", "", {"base": ["trigger must be an object"]}
    name, ev = item.get("resource_name"), item.get("event_type")
    errors: dict = {}
    if not isinstance(name, str) or not name:
        errors["resource_name"] = ["can't be blank"]
    if not isinstance(ev, str) or not ev:
        errors["event_type"] = ["can't be blank"]
    if errors:
        return str(name or ""), str(ev or ""), errors
    # event_type: docs use lowercase, the OAS enum shows uppercase: accept both,
    # store and return lowercase.  resource_name must match exactly (case-sensitive).
    ev = ev.lower()
    allowed = allowed_events(scope.kind, cfg("webhook_unconfirmed_resources"))
    if ev not in EVENT_TYPES:
        errors["event_type"] = ["is not included in the list (create, update, delete)"]
    elif name not in allowed:
        errors["resource_name"] = [f"is not a subscribable resource for this {scope.kind}"]
    elif ev not in allowed[name]:
        errors["event_type"] = [f"{ev} cannot be subscribed for {name}"]
    elif (name, ev, api_version) in existing:
        errors["base"] = ["Trigger has already been taken"]
    return name, ev, errors or None


def _existing_keys(s, hook) -> set:
    return {(t.resource_name, t.event_type, t.api_version) for t in list_triggers(s, hook)}


def _new_trigger(hook, scope: Scope, actor: Actor, name, ev, api_version) -> WebhookTrigger:
    return WebhookTrigger(hook_id=hook.id, resource_name=name, event_type=ev, api_version=api_version,
                          company_id=scope.company_id if scope.project_id is None else None,
                          project_id=scope.project_id, user_id=actor.user_id, created_at=clock.now())


def create_trigger(s, hook: WebhookHook, scope: Scope, actor: Actor, api_version: str, item) -> WebhookTrigger:
    """A trigger whose api_version differs from its hook's is accepted but never fires
    (fact sheet: "must share the same scope and api_version, otherwise nothing is delivered")."""
    check_can_modify(hook, actor)
    name, ev, errors = _trigger_errors(hook, scope, item, api_version, _existing_keys(s, hook))
    if errors:
        field = next(iter(errors))
        raise ApiError(422, f"{field} {errors[field][0]}", body={"errors": errors})
    t = _new_trigger(hook, scope, actor, name, ev, api_version)
    s.add(t)
    s.flush()
    return t


def _check_bulk_size(items):
    if not isinstance(items, list) or not items:
        raise ApiError(400, "param is missing or the value is empty: triggers")
    if len(items) > MAX_BULK_TRIGGERS:
        raise ApiError(413, f"Too many triggers: {len(items)} (max {MAX_BULK_TRIGGERS})")


def bulk_create_triggers(s, hook, scope: Scope, actor: Actor, api_version: str, items) -> dict:
    check_can_modify(hook, actor)
    _check_bulk_size(items)
    existing = _existing_keys(s, hook)
    success, failed = [], []
    for item in items:
        name, ev, errors = _trigger_errors(hook, scope, item, api_version, existing)
        if errors:
            failed.append({"resource_name": name, "event_type": ev, "errors": errors})
            continue
        t = _new_trigger(hook, scope, actor, name, ev, api_version)
        s.add(t)
        existing.add((name, ev, api_version))
        success.append(t)
    s.flush()
    return {"success": [trigger_json(t) for t in success], "failed": failed}


def delete_trigger(s, hook, actor: Actor, trigger_id: int) -> None:
    check_can_modify(hook, actor)
    t = s.get(WebhookTrigger, trigger_id)
    if t is None or t.hook_id != hook.id:
        raise ApiError(404, "Webhooks Trigger not found")
    s.delete(t)


def bulk_delete_triggers(s, hook, actor: Actor, api_version: str, items) -> dict:
    """Items are ``{resource_name, event_type}`` (or ``{id}``); unknown ones go to failed[]."""
    check_can_modify(hook, actor)
    _check_bulk_size(items)
    triggers = list_triggers(s, hook)
    success, failed = [], []
    for item in items:
        match = None
        if isinstance(item, dict):
            if item.get("id") is not None:
                match = next((t for t in triggers if str(t.id) == str(item["id"])), None)
            else:
                ev = str(item.get("event_type") or "").lower()
                match = next((t for t in triggers if t.resource_name == item.get("resource_name")
                              and t.event_type == ev and t.api_version == api_version), None)
        if match is None:
            failed.append({**(item if isinstance(item, dict) else {"item": item}),
                           "errors": {"base": ["Trigger not found"]}})
            continue
        triggers.remove(match)
        success.append(trigger_json(match))
        s.delete(match)
    return {"success": success, "failed": failed}
