"""The dashboard: what the signed-in person can do next, with live facts only."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user
from rq import Queue, Worker
from sqlalchemy import func, select

from portal import redis_conn
from portal.access import company_scope_id, login_required
from portal.overview import company_overview
from portal.sync.reasons import describe_run_error
from portal.webhooks import states as hook_states
from portal.extensions import db
from portal.models import Company, User

bp = Blueprint("dashboard", __name__)


def _background_status() -> dict:
    """Count live RQ workers and queued jobs; an unreachable Redis is reported, not raised."""
    connection = redis_conn.connection()
    try:
        workers = Worker.count(connection=connection)
        queued = sum(len(Queue(name, connection=connection)) for name in current_app.config["RQ_QUEUES"])
        return {"ok": True, "workers": workers, "queued": queued}
    except Exception as error:  # noqa: BLE001 - shown on the page as "unavailable"
        current_app.logger.warning("Redis unavailable for the dashboard: %s", error.__class__.__name__)
        return {"ok": False, "workers": 0, "queued": 0}


@bp.route("/")
@login_required
def index():
    scope = company_scope_id(current_user)
    users = select(func.count(User.id)).where(User.active.is_(True))
    procore_users = users.where(User.can_integrate_procore.is_(True))
    if scope is not None:
        users = users.where(User.company_id == scope)
        procore_users = procore_users.where(User.company_id == scope)
    stats = {
        "users": db.session.scalar(users),
        "procore_users": db.session.scalar(procore_users),
        "companies": None if scope is not None else db.session.scalar(select(func.count(Company.id))),
    }
    # A company's people see their sync at a glance; the queue's internals are for support (issue 14).
    overview = company_overview(scope) if scope is not None else None
    return render_template("dashboard/index.html", stats=stats, overview=overview,
                           background=_background_status() if scope is None else None,
                           hook_label=hook_states.label, hook_badge=hook_states.kind,
                           run_problem=describe_run_error)
