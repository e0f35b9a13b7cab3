"""Webhooks: ORM models, the subscribable-resource catalog and payload builders.

Tables (all on ``sandbox.core.db.Base``; ids from the global 64-bit sequence):

* ``webhook_hooks``      one hook = one scope (company OR project) + destination.
* ``webhook_triggers``   (resource_name, event_type, api_version) on a hook.
* ``webhook_jobs``       the outbound queue: one row per (hook, event) to deliver.
                         Rows, not memory, so a restarted sandbox resumes delivery.
* ``webhook_deliveries`` one row per delivery ATTEMPT (what the Deliveries API lists),
                         plus one ``discarded`` row per discarded job.
* ``webhook_endpoints``  retry state per destination URL (Procore pauses and backs off
                         per endpoint, not per hook).

Fact sheet: /work/shared/procore-api.md section 6.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, IdMixin

# --- constants ------------------------------------------------------------------

# api_version values.  Docs examples send "v2"; it is accepted as an alias of "v2.0"
# and stored/returned as "v2.0".  "v3.0" = v2.0 + related_resources (always []).
API_VERSIONS = ("v2.0", "v3.0", "v4.0")
API_VERSION_ALIASES = {"v2": "v2.0"}
DEFAULT_API_VERSION = "v2.0"
EVENT_TYPES = ("create", "update", "delete")

# Procore delivery rules (fact sheet "Delivery, retries, security"); all divided by
# the ``webhook_time_scale`` knob.
BACKOFF_INITIAL = 1.0          # first retry after 1 s
BACKOFF_MAX = 3600.0           # doubling up to a max interval of 1 h
DISCARD_AFTER = 12 * 3600.0    # after 12 h of failing, queued events are discarded
HISTORY_DAYS = 28              # the UI keeps a rolling 28 days of history [M]
RESPONSE_BODY_LIMIT = 2048     # response_body is truncated to this many characters

# Deliveries API status filter -> outcomes
STATUS_FILTERS = {"any": None, "successful": ("ok",), "failing": ("retried", "failed"),
                  "discarded": ("discarded",)}

# --- subscribable resources (GET /rest/v1.0/webhooks/resources) ------------------
# (resource_name, product_category, tool, except[], unconfirmed)
# Project list: third-party record of a real sandbox (fact sheet [L]), limited to the
# tools this sandbox implements.  "Drawing Revisions" is NOT in that record and no
# Procore source confirms it: listed only while the knob
# ``webhook_unconfirmed_resources`` is true, and marked ``sandbox_unconfirmed``.
PROJECT_RESOURCES = [
    ("Project Folders", "Project Management", "Documents", [], False),
    ("Project Files", "Project Management", "Documents", [], False),
    ("Project File Versions", "Project Management", "Documents", [], False),
    ("Images", "Project Management", "Photos", [], False),
    ("Image Categories", "Project Management", "Photos", [], False),
    ("Drawings", "Project Management", "Drawings", [], False),
    ("Drawing Sets", "Project Management", "Drawings", [], False),
    ("Drawing Areas", "Project Management", "Drawings", [], False),
    ("Drawing Uploads", "Project Management", "Drawings", [], False),
    ("Markup Layers", "Project Management", "Drawings", ["delete"], False),
    ("Drawing Revisions", "Project Management", "Drawings", [], True),
]
# Company scope (stricter reading of the same record): only company-level resources can
# be subscribed on a company hook, so project resources such as "Project Files" are 422
# there.  The sandbox never emits these company events (company documents and project
# creation are not implemented), they are listed for fidelity only.
COMPANY_RESOURCES = [
    ("Company Folders", "Core", "Documents", [], False),
    ("Company Files", "Core", "Documents", [], False),
    ("Company File Versions", "Core", "Documents", [], False),
    ("Projects", "Core", "Portfolio", ["delete"], False),
]


def resources_for(scope: str, include_unconfirmed: bool) -> list[tuple]:
    rows = PROJECT_RESOURCES if scope == "project" else COMPANY_RESOURCES
    return [r for r in rows if include_unconfirmed or not r[4]]


def allowed_events(scope: str, include_unconfirmed: bool) -> dict[str, set]:
    """resource_name -> set of event types that may be subscribed in this scope."""
    return {name: set(EVENT_TYPES) - set(exc) for name, _c, _t, exc, _u in resources_for(scope, include_unconfirmed)}


def normalize_api_version(value) -> str | None:
    """Canonical api_version or None when not supported."""
    if not isinstance(value, str):
        return None
    v = API_VERSION_ALIASES.get(value.strip(), value.strip())
    return v if v in API_VERSIONS else None


# --- models ---------------------------------------------------------------------

class WebhookHook(IdMixin, Base):
    __tablename__ = "webhook_hooks"
    # company_id is always set (for project hooks: the project's company, used for
    # lookups only; the API shows owned_by_company_id = null for project hooks).
    company_id: Mapped[int] = mapped_column(BigInteger, index=True)
    project_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    namespace: Mapped[str] = mapped_column(String(255))
    api_version: Mapped[str] = mapped_column(String(16))
    destination_url: Mapped[str] = mapped_column(String(2000))
    authorization: Mapped[str | None] = mapped_column(Text, nullable=True)
    owned_by_user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # OAuth client that created the hook (None = created in the UI).
    application_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)

    @property
    def scope(self) -> str:
        return "project" if self.project_id is not None else "company"


class WebhookTrigger(IdMixin, Base):
    __tablename__ = "webhook_triggers"
    hook_id: Mapped[int] = mapped_column(ForeignKey("webhook_hooks.id", ondelete="CASCADE"), index=True)
    resource_name: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(16))
    api_version: Mapped[str] = mapped_column(String(16))
    company_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # company scope
    project_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # project scope
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class WebhookJob(IdMixin, Base):
    """One event to deliver to one hook.  status: queued | delivered | discarded |
    dropped (fault knob) | cancelled (hook deleted)."""
    __tablename__ = "webhook_jobs"
    hook_id: Mapped[int] = mapped_column(BigInteger, index=True)
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[float] = mapped_column(Float)
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)
    redelivery_of: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class WebhookDelivery(IdMixin, Base):
    """One attempt.  outcome: ok | retried (failed, a retry follows) | failed (failed,
    no retry: its job was discarded or cancelled) | discarded (job discarded)."""
    __tablename__ = "webhook_deliveries"
    hook_id: Mapped[int] = mapped_column(BigInteger, index=True)
    job_id: Mapped[int] = mapped_column(BigInteger, index=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    destination_url: Mapped[str] = mapped_column(String(2000))
    payload: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_headers: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON object
    response_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[float] = mapped_column(Float)
    completed_at: Mapped[float] = mapped_column(Float)


class WebhookEndpoint(Base):
    """Retry state of one destination URL (shared by every hook pointing at it)."""
    __tablename__ = "webhook_endpoints"
    url: Mapped[str] = mapped_column(String(2000), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)          # consecutive failures
    failing_since: Mapped[float | None] = mapped_column(Float, nullable=True)
    next_attempt_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


# --- payloads -------------------------------------------------------------------

def iso_micro(ts: float | None) -> str | None:
    """Procore webhook style timestamp: "2025-02-06T23:34:12.246562Z"."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _str_id(v):
    return None if v is None else str(v)


def build_payload(ev, api_version: str) -> dict:
    """The JSON body Procore POSTs for event row ``ev`` (sandbox.core.events.Event)."""
    if api_version == "v4.0":
        # All ids are strings; event_type -> reason; resource_name -> resource_type
        # (exact v4.0 resource_type strings are unconfirmed: the v2 names are used).
        return {"id": ev.ulid, "timestamp": iso_micro(ev.created_at), "reason": ev.event_type,
                "company_id": _str_id(ev.company_id), "project_id": _str_id(ev.project_id),
                "user_id": _str_id(ev.user_id), "resource_type": ev.resource_name,
                "resource_id": _str_id(ev.resource_id)}
    body = {"id": ev.id, "ulid": ev.ulid, "timestamp": iso_micro(ev.created_at),
            "metadata": {"source_user_id": ev.user_id, "source_project_id": ev.project_id,
                         "source_operation_id": None, "source_company_id": ev.company_id,
                         "source_application_id": ev.application_id},
            "user_id": ev.user_id, "company_id": ev.company_id, "project_id": ev.project_id,
            "api_version": api_version, "event_type": ev.event_type,
            "resource_name": ev.resource_name, "resource_id": ev.resource_id}
    if api_version == "v3.0":
        body["related_resources"] = []
    return body
