"""Support diagnostics (/support): hook health, event timelines, quarantined events (SPEC D1, R8).

Read-only across companies for support and superadmin, except two actions: re-run the
processing of a stored event, and re-check a hook. Secrets and tokens are never shown.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import periodic
from portal.access import roles_required
from portal.connections.credentials import NoValidCredentials
from portal.extensions import db
from portal.forms import EmptyForm
from portal.models import Company, EventStatus, HookCheck, Role, WebhookEvent
from portal.procore import ProcoreError
from portal.sync import states as sync_states
from portal.sync.progress import TOOL_LABELS
from portal.sync.reasons import procore_problem
from portal.webhooks import health, inbox, jobs, states, timeline
from portal.webhooks.companies import company_client

bp = Blueprint("support", __name__, url_prefix="/support")
STAFF = (Role.SUPPORT, Role.SUPERADMIN)
REPLAYABLE = (EventStatus.DONE, EventStatus.FAILED, EventStatus.RETRYING, EventStatus.RECEIVED)


def _latest_checks() -> list[HookCheck]:
    newest = select(func.max(HookCheck.id)).group_by(HookCheck.company_id, HookCheck.procore_project_id)
    return db.session.scalars(select(HookCheck).where(HookCheck.id.in_(newest))
                              .order_by(HookCheck.company_id, HookCheck.procore_project_name)).all()


@bp.route("/")
@roles_required(*STAFF)
def index():
    companies = {c.id: c for c in db.session.scalars(select(Company).order_by(Company.name))}
    recent = db.session.scalars(select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(25)).all()
    return render_template("support/index.html", companies=companies, checks=_latest_checks(), recent=recent,
                           quarantined=timeline.quarantined(), states=states, **_periodic())


def _periodic() -> dict:
    """The periodic jobs' last and next runs and faults (portal/periodic.py status), and what the latest
    reconciliation round repaired so far (portal/sync/reconcile.py)."""
    from portal.sync.reconcile import repairs_since

    rows = periodic.status()
    reconcile = next((row for row in rows if row.job.name == "sync-reconcile"), None)
    started, done, repaired = repairs_since(reconcile.last_started_at if reconcile else None)
    return {"periodic_rows": rows, "reconcile_round": {"started": started, "done": done, "repaired": repaired}}


@bp.route("/companies/<int:company_id>/projects/<int:procore_project_id>")
@roles_required(*STAFF)
def project(company_id: int, procore_project_id: int):
    company = db.session.get(Company, company_id) or abort(404)
    check = health.latest(company.id, procore_project_id)
    events = timeline.our_events(company.id, procore_project_id)
    deliveries, problem, problem_detail = [], None, None
    if company.procore_company_id is not None and check is not None:
        try:
            client = company_client(company, procore_project_id)
            deliveries, problem = timeline.procore_deliveries(client, company.procore_company_id,
                                                              procore_project_id, check.procore_hook_id)
        except NoValidCredentials as error:
            problem = str(error)
        if isinstance(problem, ProcoreError):  # Procore's message is English: a sentence, the text folded away
            problem, problem_detail = procore_problem(problem), str(problem)[:300]
    return render_template("support/project.html", company=company, project_id=procore_project_id, check=check,
                           entries=timeline.merge(events, deliveries,
                                                  timeline.our_runs(company.id, procore_project_id)),
                           problem=problem, sync=sync_states.page_helpers(), tools=TOOL_LABELS,
                           problem_detail=problem_detail, last_event=next(
                               iter(events), None), quarantined=[e for e in events if e.status == "quarantined"],
                           states=states, form=EmptyForm(), replayable=REPLAYABLE)


@bp.route("/companies/<int:company_id>/projects/<int:procore_project_id>/check", methods=["POST"])
@roles_required(*STAFF)
def recheck(company_id: int, procore_project_id: int):
    company = db.session.get(Company, company_id) or abort(404)
    try:
        if company.procore_company_id is None:
            raise NoValidCredentials(_("This company has not linked a Procore company."))
        health.check(company, procore_project_id, company_client(company, procore_project_id), "support")
        db.session.commit()
        flash(_("Webhook checked again."), "success")
    except NoValidCredentials as error:
        flash(str(error), "error")
    return redirect(url_for("support.project", company_id=company_id, procore_project_id=procore_project_id))


@bp.route("/events/<int:event_id>/replay", methods=["POST"])
@roles_required(*STAFF)
def replay(event_id: int):
    event = db.session.get(WebhookEvent, event_id) or abort(404)
    back = url_for("support.project", company_id=event.company_id or 0, procore_project_id=event.procore_project_id
                   or 0)
    if event.status not in REPLAYABLE:
        flash(_("This event cannot be processed: it is %(status)s.", status=states.event_label(event.status)), "error")
        return redirect(back)
    jobs.replay(event)
    db.session.commit()
    inbox.enqueue(event.id)
    flash(_("Event queued for processing again."), "success")
    return redirect(back)
