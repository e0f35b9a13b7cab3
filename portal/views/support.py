"""Support diagnostics (/support): hook health, event timelines, quarantined events (SPEC D1, R8).

Read-only across companies for support and superadmin, except two actions: re-run the
processing of a stored event, and re-check a hook. Secrets and tokens are never shown.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
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


EVENTS_PER_PAGE = 25
PERIODS = (1, 7, 30)


@bp.route("/")
@roles_required(*STAFF)
def index():
    companies = {c.id: c for c in db.session.scalars(select(Company).order_by(Company.name))}
    checks = _latest_checks()
    filters = _event_filters(companies)
    query = _events_query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // EVENTS_PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    recent = db.session.scalars(query.order_by(WebhookEvent.id.desc()).offset((page - 1) * EVENTS_PER_PAGE)
                                .limit(EVENTS_PER_PAGE)).all()
    return render_template("support/index.html", companies=companies, checks=checks, recent=recent,
                           project_names={(c.company_id, c.procore_project_id): c.procore_project_name
                                          for c in checks if c.procore_project_name},
                           filters=filters, page=page, pages=pages, total=total, periods=PERIODS,
                           runs=timeline.runs_of(recent),
                           event_statuses=EventStatus.ALL, quarantined=timeline.quarantined(), states=states,
                           **_periodic())


def _event_filters(companies: dict) -> dict:
    """The events list's filters from the query string; values that mean nothing are dropped."""
    args = request.args
    company = args.get("company", type=int)
    status = args.get("status") or None
    days = args.get("days", type=int)
    return {"company": company if company in companies else None,
            "project": args.get("project", type=int),
            "status": status if status in EventStatus.ALL else None,
            "days": days if days in PERIODS else None}


def _events_query(filters: dict):
    query = select(WebhookEvent)
    if filters["company"] is not None:
        query = query.where(WebhookEvent.company_id == filters["company"])
    if filters["project"] is not None:
        query = query.where(WebhookEvent.procore_project_id == filters["project"])
    if filters["status"] is not None:
        query = query.where(WebhookEvent.status == filters["status"])
    if filters["days"] is not None:
        query = query.where(WebhookEvent.received_at >= datetime.now(timezone.utc) - timedelta(days=filters["days"]))
    return query


def _periodic() -> dict:
    """The periodic jobs' last and next runs and faults (portal/periodic.py status), and what the latest
    reconciliation round repaired so far (portal/sync/reconcile.py)."""
    from portal.sync.reconcile import repairs_since

    rows = periodic.status()
    reconcile = next((row for row in rows if row.job.name == "sync-reconcile"), None)
    started, done, repaired = repairs_since(reconcile.last_started_at if reconcile else None)
    return {"periodic_rows": rows, "reconcile_round": {"started": started, "done": done, "repaired": repaired}}


SOURCES = ("portal", "procore", "run")


def _timeline_filters() -> dict:
    """One project's timeline filters: which source, which inbox state (our events only), which period."""
    args = request.args
    source, status, days = args.get("source") or None, args.get("status") or None, args.get("days", type=int)
    status = status if status in EventStatus.ALL else None
    return {"source": "portal" if status else (source if source in SOURCES else None), "status": status,
            "days": days if days in PERIODS else None}


@bp.route("/companies/<int:company_id>/projects/<int:procore_project_id>")
@roles_required(*STAFF)
def project(company_id: int, procore_project_id: int):
    company = db.session.get(Company, company_id) or abort(404)
    check = health.latest(company.id, procore_project_id)
    filters = _timeline_filters()
    since = datetime.now(timezone.utc) - timedelta(days=filters["days"]) if filters["days"] else None
    show = {filters["source"]} if filters["source"] else set(SOURCES)
    events = db.session.scalars(_events_query({"company": company.id, "project": procore_project_id, **filters})
                                .order_by(WebhookEvent.id.desc()).limit(timeline.MAX_EVENTS)).all() \
        if "portal" in show else []
    runs = timeline.our_runs(company.id, procore_project_id, since=since) if "run" in show else []
    deliveries, problem, problem_detail = [], None, None
    if company.procore_company_id is not None and check is not None and "procore" in show:
        try:
            client = company_client(company, procore_project_id)
            deliveries, problem = timeline.procore_deliveries(client, company.procore_company_id,
                                                              procore_project_id, check.procore_hook_id)
        except NoValidCredentials as error:
            problem = str(error)
        if isinstance(problem, ProcoreError):  # Procore's message is English: a sentence, the text folded away
            problem, problem_detail = procore_problem(problem), str(problem)[:300]
    entries = [entry for entry in timeline.merge(events, deliveries, runs)
               if since is None or (entry.at is not None and entry.at >= since)]
    pages = max(1, -(-len(entries) // EVENTS_PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    shown = entries[(page - 1) * EVENTS_PER_PAGE:page * EVENTS_PER_PAGE]
    latest = timeline.our_events(company.id, procore_project_id, limit=1)
    return render_template("support/project.html", company=company, project_id=procore_project_id, check=check,
                           entries=shown, total=len(entries), page=page, pages=pages, filters=filters,
                           periods=PERIODS, event_statuses=EventStatus.ALL,
                           problem=problem, sync=sync_states.page_helpers(), tools=TOOL_LABELS,
                           runs=timeline.runs_of(events), problem_detail=problem_detail,
                           last_event=next(iter(latest), None),
                           quarantined=timeline.quarantined(company.id, procore_project_id),
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
