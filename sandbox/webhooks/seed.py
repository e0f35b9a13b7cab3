"""Demo webhook hooks (Constructora Demo), the situations the portal must handle:

* Edificio Los Álamos: a hook of ANOTHER application (client ``other-client``, namespace
  ``otra-app-sync``) with every trigger.  The portal must leave it alone.
* Hospital Regional Ñuñoa: OUR namespace (knob ``portal_namespace``) pointing at a WRONG,
  old endpoint, with every trigger.  The portal must repair the destination.
* Puente Río Claro: OUR namespace at the RIGHT endpoint (knob ``portal_url`` +
  RECEIVER_PATH) but with an Authorization secret the portal does not know and only the
  "Project Files"/create trigger.  The portal must rotate the secret and add triggers.

The other projects have no hooks.  ``*.example.com`` hosts are in the knob
``webhook_unreachable_domains``, so deliveries to them fail without any network access.
"""
from __future__ import annotations

from ..core import clock
from ..core.seed import SeedContext, seeder
from .models import EVENT_TYPES, WebhookHook, WebhookTrigger, resources_for

RECEIVER_PATH = "/api/v2/public/api/cbox/procore/webhook"
OTHER_APP_URL = "https://otra-app.example.com/procore/hooks"
WRONG_URL = "https://cbox-antiguo.example.com/api/v2/public/api/cbox/procore/webhook"


def portal_receiver_url(config: dict) -> str:
    return str(config["portal_url"]).rstrip("/") + RECEIVER_PATH


def _all_triggers(config) -> list[tuple[str, str]]:
    return [(name, ev) for name, _c, _t, exc, _u in resources_for("project", config["webhook_unconfirmed_resources"])
            for ev in EVENT_TYPES if ev not in exc]


@seeder(order=300, name="webhooks")
def seed_webhooks(ctx: SeedContext) -> None:
    s, now, cfg = ctx.session, clock.now(), ctx.config
    admin = ctx.users["admin@constructora.test"]
    ours = cfg["portal_namespace"]
    specs = [
        (ctx.projects["alamos"], "otra-app-sync", OTHER_APP_URL, "Bearer otra-app-7f3k9q2m", "other-client",
         _all_triggers(cfg)),
        (ctx.projects["nunoa"], ours, WRONG_URL, "Bearer cbox-antiguo-2b8d1e", "demo-client", _all_triggers(cfg)),
        (ctx.projects["rio_claro"], ours, portal_receiver_url(cfg), "Bearer seeded-unknown-secret", "demo-client",
         [("Project Files", "create")]),
    ]
    for project, namespace, url, auth, client, triggers in specs:
        hook = WebhookHook(company_id=project.company_id, project_id=project.id, namespace=namespace,
                           api_version="v2.0", destination_url=url, authorization=auth,
                           owned_by_user_id=admin.id, application_id=client, created_at=now, updated_at=now)
        s.add(hook)
        s.flush()
        for name, ev in triggers:
            s.add(WebhookTrigger(hook_id=hook.id, resource_name=name, event_type=ev, api_version="v2.0",
                                 company_id=None, project_id=project.id, user_id=admin.id, created_at=now))
