"""Webhook health pages: /projects/<id>/webhook, its lazily loaded cell, check and repair (SPEC R8, R9)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.connections.accounts import may_connect, my_account
from portal.access import roles_required
from portal.connections.credentials import client_for_account
from portal.extensions import db
from portal.forms import EmptyForm
from portal.models import Role
from portal.procore import ProcoreError
from portal.sync.reasons import procore_problem
from portal.webhooks import health, repair, states

bp = Blueprint("webhooks", __name__, url_prefix="/projects")
USERS = (Role.ADMIN, Role.MEMBER)
FRESH_FOR = timedelta(minutes=10)


def _context(procore_project_id: int):
    """(company, client) for the signed-in user's linked company; 404 when there is none."""
    account = my_account(current_user)
    if account is None or current_user.company.procore_company_id is None:
        abort(404)
    return current_user.company, client_for_account(account)


def _is_fresh(row) -> bool:
    return datetime.now(timezone.utc) - row.checked_at < FRESH_FOR


def _render(template: str, row, **extra):
    return render_template(template, row=row, states=states, form=EmptyForm(),
                           can_repair=may_connect(current_user), **extra)


@bp.route("/<int:procore_project_id>/webhook")
@roles_required(*USERS)
def detail(procore_project_id: int):
    company, client = _context(procore_project_id)
    row = health.latest(company.id, procore_project_id)
    if row is None or request.args.get("check"):
        row = health.check(company, procore_project_id, client, current_user.email)
        db.session.commit()
    return _render("webhooks/detail.html", row=row, plan=repair.plan(row))


@bp.route("/<int:procore_project_id>/webhook/cell")
@roles_required(*USERS)
def cell(procore_project_id: int):
    """The projects page's Webhook cell: the stored diagnosis when fresh, else a new check."""
    company, client = _context(procore_project_id)
    row = health.latest(company.id, procore_project_id)
    if row is None or not _is_fresh(row):
        row = health.check(company, procore_project_id, client, current_user.email)
        db.session.commit()
    return _render("webhooks/_cell.html", row=row)


@bp.route("/<int:procore_project_id>/webhook/check", methods=["POST"])
@roles_required(*USERS)
def check(procore_project_id: int):
    company, client = _context(procore_project_id)
    row = health.check(company, procore_project_id, client, current_user.email)
    db.session.commit()
    if request.htmx:
        return _render("webhooks/_cell.html", row=row)
    return redirect(url_for("webhooks.detail", procore_project_id=procore_project_id))


@bp.route("/<int:procore_project_id>/webhook/repair", methods=["GET", "POST"])
@roles_required(*USERS)
def repair_hook(procore_project_id: int):
    """GET: the preview of exactly what will change. POST: apply it (R8 "Save Endpoint")."""
    company, client = _context(procore_project_id)
    if not may_connect(current_user):
        abort(403)
    htmx = bool(request.htmx)
    row = health.check(company, procore_project_id, client, current_user.email)
    db.session.commit()
    try:
        repair.require_admin(client, company, procore_project_id)
        if request.method == "GET" or not EmptyForm().validate_on_submit():
            return _render("webhooks/_preview.html", row=row, plan=repair.plan(row), full=not htmx)
        row, failed = repair.apply(client, company, procore_project_id, row, current_user.email)
        audit.record("hook.repaired", target=row.procore_project_name or str(procore_project_id),
                     target_id=procore_project_id, company_id=company.id,
                     detail={"state": row.state, "trigger_failures": len(failed or [])})
        db.session.commit()
    except repair.RepairRefused:  # R9: name the missing permission (htmx swaps only 2xx answers)
        return _render("webhooks/_preview.html", row=row, plan=None, refused=True, full=not htmx), 200 if htmx else 403
    except ProcoreError as error:
        db.session.rollback()
        return _render("webhooks/_preview.html", row=row, plan=None, error=procore_problem(error),
                       detail=str(error)[:300], full=not htmx), 200 if htmx else 502
    if htmx:
        return _render("webhooks/_cell.html", row=row, failed=failed, repaired=True)
    flash(_("Webhook repaired.") if row.state == states.HEALTHY else _("Changes applied; see the new state."),
          "success")
    return redirect(url_for("webhooks.detail", procore_project_id=procore_project_id))
