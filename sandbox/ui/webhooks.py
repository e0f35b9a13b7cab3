"""Sandbox UI: read-only Webhooks tab (the project's hooks, triggers, recent deliveries)
plus the project's most recent change events, so a demo can follow an action from the
UI to the event row to the webhook delivery.

Visible with the same rule as the REST hooks API for a project scope: Admin on the
project's ``admin`` tool.
"""
from __future__ import annotations

import json
from collections import OrderedDict

from sqlalchemy import func, select

from ..core.db import current_session
from ..documents.serial import users_map
from ..core.events import Event
from .routes import (ADMIN, Tab, bp, level_of, load_project, no_access_page, project_context, register_tab, render_page,
                 require_tab)
from ..webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookHook, WebhookJob, WebhookTrigger
from ..webhooks.service import mask_secret

register_tab(Tab("webhooks", "Webhooks", "ui.webhooks", "admin", requires="webhooks"))

RECENT_DELIVERIES = 12
RECENT_EVENTS = 15


def _event_label(payload: str) -> dict:
    try:
        p = json.loads(payload)
    except ValueError:
        return {}
    return {"resource": p.get("resource_name") or p.get("resource_type"),
            "event_type": p.get("event_type") or p.get("reason"), "resource_id": p.get("resource_id")}


@bp.get("/projects/<int:project_id>/webhooks")
def webhooks(project_id):
    require_tab("webhooks")
    project = load_project(project_id)
    if level_of(project, "admin") < ADMIN:
        return no_access_page(project, "webhooks", "admin",
                              "Ver los webhooks del proyecto requiere nivel «Admin» en la herramienta Admin "
                              "del proyecto (la misma regla que la API de hooks).")
    s = current_session()
    hooks = list(s.scalars(select(WebhookHook).where(WebhookHook.project_id == project.id)
                           .order_by(WebhookHook.id)))
    rows = []
    for h in hooks:
        triggers: OrderedDict[str, list[str]] = OrderedDict()
        for t in s.scalars(select(WebhookTrigger).where(WebhookTrigger.hook_id == h.id)
                           .order_by(WebhookTrigger.resource_name, WebhookTrigger.id)):
            triggers.setdefault(t.resource_name, []).append(t.event_type)
        deliveries = list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.hook_id == h.id)
                                    .order_by(WebhookDelivery.id.desc()).limit(RECENT_DELIVERIES)))
        queued = s.scalar(select(func.count()).select_from(WebhookJob).where(
            WebhookJob.hook_id == h.id, WebhookJob.status == "queued"))
        rows.append({"hook": h, "triggers": triggers, "auth": mask_secret(h.authorization),
                     "deliveries": [(d, _event_label(d.payload)) for d in deliveries], "queued": queued,
                     "endpoint": s.get(WebhookEndpoint, h.destination_url)})
    events = list(s.scalars(select(Event).where(Event.project_id == project.id)
                            .order_by(Event.id.desc()).limit(RECENT_EVENTS)))
    users = users_map(s, [e.user_id for e in events])
    return render_page("ui/webhooks.html", rows=rows, events=events, users=users,
                       **project_context(project, "webhooks"))
