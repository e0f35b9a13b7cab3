"""Entry point for stored Procore webhook events (called by the webhook worker).

Until the dedicated webhook-sync issue, an event on a project with integrations just queues a
(debounced) refresh of those integrations: the refresh re-lists both sides and converges (R7).
"""
from __future__ import annotations

from typing import Any


def _get(event: Any, *names: str):
    """Events may be ORM rows or dicts; read the first attribute/key present."""
    for name in names:
        if isinstance(event, dict) and name in event:
            return event[name]
        if hasattr(event, name):
            return getattr(event, name)
    return None


def apply_event(event) -> str:
    """Return "no_integration" or "refresh_queued". Signature is stable (webhook worker contract)."""
    company_id = _get(event, "company_id")
    project_id = _get(event, "procore_project_id", "project_id")
    try:
        from portal.sync.jobs import queue_refresh_for_project
    except ImportError:  # engine not installed yet: nothing can be covered by an integration
        return "no_integration"
    queued = queue_refresh_for_project(company_id, project_id)
    return "refresh_queued" if queued else "no_integration"
