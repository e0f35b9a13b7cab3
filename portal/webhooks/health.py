"""Diagnose one Procore project's webhook (SPEC R8, R11, R12) and keep each diagnosis.

For the sync engineer:

    from portal.webhooks.health import import_block_reason
    reason = import_block_reason(company, procore_project_id, client)
    # None: our hook is there, points at PUBLIC_BASE_URL + WEBHOOK_PATH and nothing blocks
    # imports. Otherwise a translated sentence saying why, naming the other application's
    # endpoint when one owns the project (R11) or ours points elsewhere (R12).

It runs a fresh check (and stores it as a HookCheck row, flushed; the caller commits).
Every state but "healthy" blocks, except "deliveries failing": Procore keeps retrying
those and the refresh reconciles what was missed (RELIABILITY 9); the page shows it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from portal.alerts import raise_alert
from portal.extensions import db
from portal.models import Company, HookCheck
from portal.procore.resources import SUBSCRIBED
from portal.procore import (PaginationIncomplete, ProcoreError)
from portal.sync.reasons import procore_problem_kind
from portal.webhooks import secrets, states

# Documents, Photos and Drawings resources (portal/procore/resources.py; names are third-party [L]).
# Only those Procore offers in GET /webhooks/resources are required.
WANTED_RESOURCES = SUBSCRIBED
EVENTS = ("create", "update", "delete")
BAD_OUTCOMES = ("retried", "failed", "discarded")
# Failing deliveries do not block: Procore retries them and the refresh reconciles (RELIABILITY 9).
BLOCKING = (states.OTHER_APP, states.MISSING, states.WRONG_ENDPOINT, states.TRIGGERS_MISSING, states.WRONG_SECRET,
            states.CHECK_FAILED)


@dataclass
class Diagnosis:
    state: str
    details: dict = field(default_factory=dict)
    hook_id: int | None = None


def expected_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + current_app.config["WEBHOOK_PATH"]


def _hook_json(hook) -> dict:
    return {"id": hook.id, "namespace": hook.namespace, "destination_url": hook.destination_url,
            "api_version": hook.api_version}


def wanted_triggers(client, pcid: int, project_id: int, api_version: str | None) -> tuple[set, list]:
    """(resource, event) pairs to require, and wanted resources Procore does not offer."""
    version = {"v2": "v2.0", None: "v2.0"}.get(api_version, api_version)
    listed = client.webhook_resources(pcid, project_id)
    # Procore lists one row per (resource, api_version); fall back to every row if none match.
    offered = {r.name: r for r in listed if r.api_version in (None, version)} or {r.name: r for r in listed}
    pairs = {(name, ev) for name in WANTED_RESOURCES if name in offered
             for ev in EVENTS if ev in offered[name].events}
    return pairs, [name for name in WANTED_RESOURCES if name not in offered]


def _latest_delivery_problem(client, pcid: int, project_id: int, hook_id: int) -> dict | None:
    seen = []
    try:  # cursor listing, oldest first; three pages are enough for a health signal
        for delivery in client.deliveries(pcid, project_id, hook_id, page_size=100, max_pages=3):
            seen.append(delivery)
    except PaginationIncomplete:
        pass
    if not seen or seen[-1].outcome not in BAD_OUTCOMES:
        return None
    last = seen[-1]
    return {"outcome": last.outcome, "response_status": last.response_status,
            "response_error": (last.response_error or "")[:300],
            "at": last.started_at.isoformat() if last.started_at else None}


def diagnose(client, company: Company, project_id: int) -> Diagnosis:
    pcid, namespace, url = company.procore_company_id, current_app.config["PROCORE_WEBHOOK_NAMESPACE"], expected_url()
    hooks = client.hooks(pcid, project_id)
    ours = next((h for h in hooks if h.namespace == namespace), None)
    others = [_hook_json(h) for h in hooks if h.namespace != namespace and h.destination_url != url]
    details: dict = {"expected_url": url, "namespace": namespace, "other_hooks": others,
                     "hook": _hook_json(ours) if ours else None, "problems": []}
    problems = details["problems"]
    if others:
        problems.append(states.OTHER_APP)
    if ours is None:
        problems.append(states.MISSING)
        pairs, details["unavailable_resources"] = wanted_triggers(client, pcid, project_id, None)
        details["missing_triggers"] = sorted(pairs)
    else:
        if ours.destination_url != url:
            problems.append(states.WRONG_ENDPOINT)
        pairs, details["unavailable_resources"] = wanted_triggers(client, pcid, project_id, ours.api_version)
        have = {(t.resource_name, t.event_type) for t in client.triggers(pcid, project_id, ours.id)}
        details["missing_triggers"] = sorted(pairs - have)
        if details["missing_triggers"]:
            problems.append(states.TRIGGERS_MISSING)
        if not secrets.tail_matches(secrets.current(company.id, project_id), ours.authorization_masked):
            problems.append(states.WRONG_SECRET)
        details["delivery_problem"] = _latest_delivery_problem(client, pcid, project_id, ours.id)
        if details["delivery_problem"]:
            problems.append(states.DELIVERIES_FAILING)
    state = next((s for s in states.PRIORITY if s in problems), states.HEALTHY)
    return Diagnosis(state, details, ours.id if ours else None)


def _failure(error: ProcoreError) -> Diagnosis:
    """A check Procore did not let finish; its kind is the one mapping's (portal/sync/reasons.py)."""
    why = procore_problem_kind(error)  # "permission", "auth", "not_found", "unavailable", …
    return Diagnosis(states.CHECK_FAILED, {"error": why, "message": str(error)[:300], "problems": []})


def check(company: Company, project_id: int, client, checked_by: str, project_name: str | None = None) -> HookCheck:
    """Diagnose and store the result (flushes; the caller commits)."""
    try:
        diagnosis = diagnose(client, company, project_id)
    except ProcoreError as error:
        diagnosis = _failure(error)
    name = project_name or _known_name(company.id, project_id) or _fetch_name(client, company, project_id)
    previous = db.session.scalar(select(HookCheck.state).where(  # the last state actually seen
        HookCheck.company_id == company.id, HookCheck.procore_project_id == project_id,
        HookCheck.state != states.CHECK_FAILED).order_by(HookCheck.id.desc()).limit(1))
    if previous == states.HEALTHY and diagnosis.state not in (states.HEALTHY, states.CHECK_FAILED):
        # Healthy before, broken now: the admins hear of it once, when it turns (issue 14). A check that
        # could not reach Procore proves nothing about the hook.
        raise_alert(company.id, "hook_unhealthy", name or str(project_id), f"/projects/{project_id}/webhook",
                    state=diagnosis.state)
    row = HookCheck(company_id=company.id, procore_project_id=project_id, state=diagnosis.state,
                    details=diagnosis.details, procore_hook_id=diagnosis.hook_id, checked_by=checked_by[:254],
                    procore_project_name=name)
    db.session.add(row)
    db.session.flush()
    return row


def _fetch_name(client, company: Company, project_id: int) -> str | None:
    """One extra call, only the first time a project is checked: support pages show names."""
    try:
        return client.project(company.procore_company_id, project_id).name[:300]
    except ProcoreError:
        return None


def _known_name(company_id: int, project_id: int) -> str | None:
    previous = latest(company_id, project_id)
    return previous.procore_project_name if previous else None


def latest(company_id: int, project_id: int) -> HookCheck | None:
    return db.session.scalar(select(HookCheck).where(HookCheck.company_id == company_id,
                                                     HookCheck.procore_project_id == project_id)
                             .order_by(HookCheck.id.desc()))


def block_reason(row: HookCheck) -> str | None:
    """The translated reason a stored diagnosis refuses imports, or None."""
    if row.state not in BLOCKING:
        return None
    if row.state == states.OTHER_APP:
        endpoints = ", ".join(h["destination_url"] or "?" for h in row.details.get("other_hooks", []))
        return _("Imports are refused: this Procore project's webhook is owned by another application "
                 "(endpoint %(endpoints)s). A Procore project Admin must remove it first.", endpoints=endpoints)
    if row.state == states.WRONG_ENDPOINT:
        return _("Imports are refused: the project's webhook points at %(url)s instead of this portal (%(ours)s). "
                 "Repair the webhook first.", url=(row.details.get("hook") or {}).get("destination_url"),
                 ours=row.details.get("expected_url"))
    if row.state == states.CHECK_FAILED:
        return _("Imports are refused: the project's webhook could not be checked. %(why)s",
                 why=states.check_failure(row.details))
    return _("Imports are refused: %(state)s. Repair the project's webhook first.",
             state=str(states.label(row.state)).lower())


def import_block_reason(company: Company, procore_project_id: int, client) -> str | None:
    """Run a fresh check; None when the hook is ours and healthy enough to import (R11, R12)."""
    return block_reason(check(company, procore_project_id, client, checked_by="import"))
