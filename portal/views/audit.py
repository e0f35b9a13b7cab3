"""The audit log page (issue 14): filterable by action, person and period; company admins see their
company's entries, support staff and superadmins every company's (with a company filter)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from portal import audit
from portal.access import company_scope_id, roles_required
from portal.extensions import db
from portal.models import Company, Role

bp = Blueprint("audit", __name__, url_prefix="/audit")
PERIODS = (1, 7, 30, 365)


@bp.route("/")
@roles_required(Role.ADMIN, Role.SUPPORT, Role.SUPERADMIN)
def index():
    scope = company_scope_id(current_user)
    action = request.args.get("action") or None
    if action is not None and action not in audit.ACTIONS:
        action = None  # an unknown filter shows everything rather than an error page
    days = request.args.get("days", type=int)
    filters = audit.Filters(company_id=scope if scope is not None else request.args.get("company", type=int),
                            action=action, actor=(request.args.get("actor") or "").strip()[:255] or None,
                            days=days if days in PERIODS else None)
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = audit.entries(filters, page)
    pages = max(1, -(-total // audit.PER_PAGE))
    if page > pages:
        abort(404)
    companies = {} if scope is not None else dict(db.session.execute(select(Company.id, Company.name)).all())
    return render_template("audit/index.html", rows=rows, total=total, page=page, pages=pages, filters=filters,
                           actions=audit.ACTIONS, label=audit.label, companies=companies, periods=PERIODS,
                           tools=_tools())


def _tools() -> dict:
    from portal.sync.progress import TOOL_LABELS

    return TOOL_LABELS
