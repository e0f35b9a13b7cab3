"""One-click repair of a project's webhook: the "Save Endpoint" fix (SPEC R8, R9, R11).

`plan()` turns a fresh diagnosis into the exact list of changes (the preview);
`apply()` performs them: create our hook or PATCH ours (destination and a new secret),
then add the missing triggers with the bulk API. Another application's hook is never
touched: for "owned by another application" we only create our own hook beside it, and
imports stay refused until that hook is removed (R11). Needs Admin on the project's
Admin tool (R9). A new secret is committed BEFORE Procore learns it, so the first
delivery carrying it is already accepted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from portal.extensions import db
from portal.models import Company, HookCheck
from portal.webhooks import health, secrets, states


class RepairRefused(RuntimeError):
    """The signed-in Procore user may not change webhooks on this project (R9)."""


@dataclass
class Plan:
    create_hook: bool = False
    new_destination: str | None = None  # PATCH our hook's destination_url to this
    old_destination: str | None = None
    rotate_secret: bool = False
    triggers: list[tuple[str, str]] = field(default_factory=list)
    other_app_endpoints: list[str] = field(default_factory=list)  # untouched; still blocks imports

    @property
    def empty(self) -> bool:
        return not (self.create_hook or self.new_destination or self.rotate_secret or self.triggers)


def plan(row: HookCheck) -> Plan:
    details, problems = row.details or {}, set((row.details or {}).get("problems", []))
    result = Plan(other_app_endpoints=[h.get("destination_url") or "?" for h in details.get("other_hooks", [])])
    if row.state == states.CHECK_FAILED:
        return result
    hook = details.get("hook")
    if hook is None:
        result.create_hook = result.rotate_secret = True
    elif states.WRONG_ENDPOINT in problems:
        result.new_destination, result.old_destination = details["expected_url"], hook.get("destination_url")
        result.rotate_secret = True
    elif states.WRONG_SECRET in problems:
        result.rotate_secret = True
    result.triggers = [tuple(pair) for pair in details.get("missing_triggers", [])]
    return result


def require_admin(client, company: Company, project_id: int) -> None:
    if client.permissions(company.procore_company_id, project_id).level("admin") != "Admin":
        raise RepairRefused("Admin on the project's Admin tool")


def _set_endpoint(client, company: Company, project_id: int, row: HookCheck, todo: Plan) -> tuple[int, str]:
    """Create or PATCH our hook with a fresh secret; return (hook id, api_version)."""
    secret_row, plain = secrets.create(company.id, project_id)
    db.session.commit()  # accepted before Procore sends it
    config = current_app.config
    try:
        if todo.create_hook:
            hook = client.create_hook(company.procore_company_id, project_id,
                                      namespace=config["PROCORE_WEBHOOK_NAMESPACE"],
                                      destination_url=health.expected_url(),
                                      authorization=secrets.header_value(plain))
        else:
            hook = client.update_hook(company.procore_company_id, project_id, row.procore_hook_id,
                                      destination_url=todo.new_destination,
                                      authorization=secrets.header_value(plain))
    except Exception:
        db.session.delete(secret_row)
        db.session.commit()
        raise
    secret_row.procore_hook_id = hook.id
    secrets.retire_others(secret_row)
    db.session.commit()
    return hook.id, hook.api_version or "v2"


def apply(client, company: Company, project_id: int, row: HookCheck, checked_by: str) -> tuple[HookCheck, list]:
    """Apply the plan of `row` (a fresh check); return (new check, trigger failures)."""
    require_admin(client, company, project_id)
    todo = plan(row)
    hook_id = row.procore_hook_id
    api_version = (row.details.get("hook") or {}).get("api_version") or "v2"
    if todo.create_hook or todo.new_destination or todo.rotate_secret:
        hook_id, api_version = _set_endpoint(client, company, project_id, row, todo)
    failed: list = []
    if todo.triggers and hook_id is not None:
        wanted = todo.triggers
        if todo.create_hook:  # a new hook needs every offered trigger
            wanted = sorted(health.wanted_triggers(client, company.procore_company_id, project_id, api_version)[0])
        result = client.create_triggers_bulk(company.procore_company_id, project_id, hook_id, wanted,
                                             api_version=api_version)
        failed = list(result.failed)
    after = health.check(company, project_id, client, checked_by, project_name=row.procore_project_name)
    db.session.commit()
    return after, failed
