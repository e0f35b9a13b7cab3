"""Webhook hooks, triggers, deliveries and subscribable resources (v1.0 API)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from . import _parse as p


def _unwrap(d: Any, what: str) -> Mapping[str, Any]:
    d = p.as_mapping(d, what)
    # v2.0 endpoints wrap single objects as {"data": {...}}.
    return d["data"] if isinstance(d.get("data"), Mapping) else d


@dataclass(frozen=True)
class Hook:
    id: int
    namespace: str | None
    destination_url: str | None
    authorization_masked: str | None  # never the full secret, even if Procore echoes it
    api_version: str | None
    owned_by_company_id: int | None = None
    owned_by_project_id: int | None = None
    owned_by_user_id: int | None = None
    status: str | None = None          # v2.0 hooks only: active | disabled

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Hook":
        d = _unwrap(d, "hook")
        headers = d.get("destination_headers") if isinstance(
            d.get("destination_headers"), Mapping) else {}
        auth = next((v for k, v in headers.items() if str(k).lower() == "authorization"), None)
        return cls(
            id=p.req_id(d, "id", "hook"), namespace=p.opt_str(d.get("namespace")),
            destination_url=p.opt_str(d.get("destination_url")),
            authorization_masked=p.mask_secret(auth),
            api_version=p.opt_str(d.get("api_version") or d.get("payload_version")),
            owned_by_company_id=p.opt_id(d.get("owned_by_company_id") or d.get("company_id")),
            owned_by_project_id=p.opt_id(d.get("owned_by_project_id") or d.get("project_id")),
            owned_by_user_id=p.opt_id(d.get("owned_by_user_id")),
            status=p.opt_str(d.get("status")))


@dataclass(frozen=True)
class Trigger:
    id: int
    hook_id: int | None
    resource_name: str
    event_type: str  # normalised to lower case (OAS shows CREATE, docs show create)
    resource_id: int | None = None
    company_id: int | None = None
    project_id: int | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Trigger":
        d = _unwrap(d, "trigger")
        return cls(
            id=p.req_id(d, "id", "trigger"),
            hook_id=p.opt_id(d.get("webhook_hook_id") or d.get("hook_id")),
            resource_name=p.req_str(d, "resource_name", "trigger"),
            event_type=p.req_str(d, "event_type", "trigger").lower(),
            resource_id=p.opt_id(d.get("resource_id")), company_id=p.opt_id(d.get("company_id")),
            project_id=p.opt_id(d.get("project_id")))


@dataclass(frozen=True)
class BulkTriggerResult:
    """Outcome of create_triggers_bulk across all chunks (HTTP 200 or 207)."""

    created: tuple[Trigger, ...]
    failed: tuple[tuple[str, str, str], ...]  # (resource_name, event_type, reason)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class Delivery:
    id: int | None  # documented as the cursor for page_start, absent from the OAS schema
    event_id: int | None
    outcome: str | None  # ok | retried | failed | discarded
    response_status: int | None
    response_error: str | None
    started_at: datetime | None
    completed_at: datetime | None
    event: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Delivery":
        d = p.as_mapping(d, "delivery")
        event = d.get("event") if isinstance(d.get("event"), Mapping) else {}
        return cls(
            id=p.opt_id(d.get("id"), "delivery.id"),
            event_id=p.opt_id(d.get("event_id"), "delivery.event_id"),
            outcome=p.opt_str(d.get("outcome")),
            response_status=p.opt_int(d.get("response_status"), "delivery.response_status"),
            response_error=p.opt_str(d.get("response_error")),
            started_at=p.opt_dt(d.get("started_at"), "delivery.started_at"),
            completed_at=p.opt_dt(d.get("completed_at"), "delivery.completed_at"),
            event=dict(event))


@dataclass(frozen=True)
class WebhookResource:
    """One subscribable resource from GET /rest/v1.0/webhooks/resources.

    The OAS schema is thin (``tools`` is a string, no explicit name field), so we
    take the name from ``resource_name``, ``name`` or ``tools``, in that order.
    """

    name: str
    api_version: str | None
    product_category: str | None
    events: frozenset[str]
    excluded_events: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "WebhookResource":
        d = p.as_mapping(d, "webhook resource")
        name = d.get("resource_name") or d.get("name") or d.get("tools")
        if not name:
            name = p.req_str(d, "resource_name", "webhook resource")
        excluded = tuple(str(e).lower() for e in (d.get("except") or ()))
        events = frozenset(e for e in ("create", "update", "delete")
                           if d.get(e) not in (None, False, "") and e not in excluded)
        return cls(name=str(name), api_version=p.opt_str(d.get("api_version")),
                   product_category=p.opt_str(d.get("product_category")),
                   events=events, excluded_events=excluded)
