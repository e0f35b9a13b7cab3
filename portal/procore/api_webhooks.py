"""Webhooks v1.0: hooks, triggers, deliveries, subscribable resources.

A hook and its triggers must share the same scope (one project or one
company) and api_version, otherwise Procore delivers nothing; every method
therefore takes the scope explicitly (project_id=None means company scope).
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from . import _parse as p
from .errors import ProcoreNotFound
from .models import BulkTriggerResult, Delivery, Hook, Trigger, WebhookResource

HOOKS = "/rest/v1.0/webhooks/hooks"
BULK_MAX = 500  # Procore's documented maximum per bulk call (413 beyond)


def _scope(company_id: int, project_id: int | None) -> dict[str, int]:
    return {"project_id": project_id} if project_id is not None else {"company_id": company_id}


class WebhooksAPI:
    def hooks(self, company_id: int, project_id: int | None = None,
              namespace: str | None = None) -> list[Hook]:
        params: dict[str, Any] = _scope(company_id, project_id)
        if namespace:
            params["namespace"] = namespace
        return list(self.paginate(HOOKS, company_id=company_id, params=params, model=Hook))

    def create_hook(self, company_id: int, project_id: int | None, *, namespace: str,
                    destination_url: str, authorization: str,
                    api_version: str = "v2") -> Hook:
        """``authorization`` is the full header value Procore will send us
        (e.g. "Bearer <secret>"); it is never logged nor kept on the model."""
        hook = {"api_version": api_version, "namespace": namespace,
                "destination_url": destination_url,
                "destination_headers": {"Authorization": authorization}}
        return Hook.from_api(self.request("POST", HOOKS, company_id=company_id,
                                          json={**_scope(company_id, project_id), "hook": hook}))

    def update_hook(self, company_id: int, project_id: int | None, hook_id: int, *,
                    destination_url: str | None = None, authorization: str | None = None,
                    namespace: str | None = None, api_version: str | None = None) -> Hook:
        hook: dict[str, Any] = {k: v for k, v in (
            ("destination_url", destination_url), ("namespace", namespace),
            ("api_version", api_version)) if v is not None}
        if authorization is not None:
            hook["destination_headers"] = {"Authorization": authorization}
        return Hook.from_api(self.request(
            "PATCH", f"{HOOKS}/{int(hook_id)}", company_id=company_id,
            json={**_scope(company_id, project_id), "hook": hook}))

    def delete_hook(self, company_id: int, project_id: int | None, hook_id: int) -> bool:
        """False if the hook was already gone (idempotent)."""
        return self._delete_scoped(f"{HOOKS}/{int(hook_id)}", company_id, project_id)

    # -- triggers --------------------------------------------------------------

    def triggers(self, company_id: int, project_id: int | None, hook_id: int) -> list[Trigger]:
        return list(self.paginate(f"{HOOKS}/{int(hook_id)}/triggers", company_id=company_id,
                                  params=_scope(company_id, project_id), model=Trigger))

    def create_trigger(self, company_id: int, project_id: int | None, hook_id: int, *,
                       resource_name: str, event_type: str,
                       api_version: str = "v2") -> Trigger:
        return Trigger.from_api(self.request(
            "POST", f"{HOOKS}/{int(hook_id)}/triggers", company_id=company_id,
            json={**_scope(company_id, project_id), "api_version": api_version,
                  "trigger": {"resource_name": resource_name, "event_type": event_type}}))

    def create_triggers_bulk(self, company_id: int, project_id: int | None, hook_id: int,
                             triggers: Iterable[tuple[str, str]], *,
                             api_version: str = "v2") -> BulkTriggerResult:
        """Create (resource_name, event_type) triggers, <= 500 per call.

        Procore answers 200 (all created) or 207 Multi-Status with
        ``success``/``failed`` lists; both are folded into one result.
        """
        wanted = [{"resource_name": r, "event_type": e} for r, e in triggers]
        created: list[Trigger] = []
        failed: list[tuple[str, str, str]] = []
        for start in range(0, len(wanted), BULK_MAX):
            chunk = wanted[start:start + BULK_MAX]
            body = self.request("POST", f"{HOOKS}/{int(hook_id)}/triggers/bulk",
                                company_id=company_id,
                                json={**_scope(company_id, project_id),
                                      "api_version": api_version, "triggers": chunk})
            ok, bad = _bulk_outcome(body)
            created.extend(Trigger.from_api(t) for t in ok)
            failed.extend(bad)
        return BulkTriggerResult(created=tuple(created), failed=tuple(failed))

    def delete_trigger(self, company_id: int, project_id: int | None, hook_id: int,
                       trigger_id: int) -> bool:
        return self._delete_scoped(f"{HOOKS}/{int(hook_id)}/triggers/{int(trigger_id)}",
                                   company_id, project_id)

    # -- deliveries and resources ------------------------------------------------

    def deliveries(self, company_id: int, project_id: int | None, hook_id: int, *,
                   status: str | None = None, page_size: int = 100,
                   max_pages: int | None = None) -> Iterator[Delivery]:
        """``status``: any | successful | failing | discarded."""
        params: dict[str, Any] = _scope(company_id, project_id)
        if status:
            params["filters[status]"] = status
        return self.paginate_cursor(f"{HOOKS}/{int(hook_id)}/deliveries",
                                    company_id=company_id, params=params,
                                    page_size=page_size, model=Delivery, max_pages=max_pages)

    def webhook_resources(self, company_id: int,
                          project_id: int | None) -> list[WebhookResource]:
        body = self.request("GET", "/rest/v1.0/webhooks/resources", company_id=company_id,
                            params=_scope(company_id, project_id))
        return [WebhookResource.from_api(r) for r in p.mapping_list(body, "webhook resources")]

    def _delete_scoped(self, path: str, company_id: int, project_id: int | None) -> bool:
        try:
            self.request("DELETE", path, company_id=company_id,
                         params=_scope(company_id, project_id), expect_json=False).close()
        except ProcoreNotFound:
            return False
        return True


def _bulk_outcome(body: Any) -> tuple[list[Mapping[str, Any]], list[tuple[str, str, str]]]:
    if isinstance(body, list):  # defensive: a bare list of created triggers
        return p.mapping_list(body, "bulk triggers"), []
    body = p.as_mapping(body, "bulk triggers")
    ok = p.mapping_list(body.get("success"), "bulk triggers.success")
    bad = []
    for item in p.mapping_list(body.get("failed"), "bulk triggers.failed"):
        trig = item.get("trigger") if isinstance(item.get("trigger"), Mapping) else item
        reason = item.get("errors") or item.get("error") or item.get("message") or "failed"
        bad.append((str(trig.get("resource_name", "")), str(trig.get("event_type", "")),
                    str(reason)[:300]))
    return ok, bad
