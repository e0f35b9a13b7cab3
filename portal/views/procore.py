"""Connecting Procore accounts: /connections, /procore/connect, /procore/callback (issue 4)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from portal import audit
from portal.connections.accounts import may_connect
from portal.access import company_scope_id, get_scoped_or_404, roles_required
from portal.connections import oauth_flow, service
from portal.connections.oauth_flow import FlowError
from portal.extensions import db
from portal.forms import EmptyForm
from portal.models import Integration, ProcoreAccount, Role
from portal.models.integrations import KEPT
from portal.sync.reasons import account_problem
from portal.views import safe_next

bp = Blueprint("procore", __name__)
COMPANY_USERS = (Role.ADMIN, Role.MEMBER)
PENDING_KEY = "procore_pending"


def outcome(kind: str, status: int, **details):
    contact = current_app.config["SUPPORT_CONTACT_EMAIL"]
    return render_template("procore/outcome.html", kind=kind, details=details, contact=contact), status


@bp.route("/connections")
@roles_required(*COMPANY_USERS, read_only=(Role.SUPPORT,))
def connections():
    query = select(ProcoreAccount).order_by(ProcoreAccount.connected_at.desc())
    scope = company_scope_id(current_user)
    if scope is not None:
        query = query.where(ProcoreAccount.company_id == scope)
    accounts = db.session.scalars(query).all()
    return render_template("procore/connections.html", accounts=accounts, action_form=EmptyForm(),
                           can_connect=may_connect(current_user), account_problem=account_problem)


@bp.route("/procore/connect")
@roles_required(*COMPANY_USERS)
def connect():
    if not may_connect(current_user):
        return outcome("no_portal_permission", 403)
    account_id = request.args.get("account", type=int)
    if account_id is not None:
        get_scoped_or_404(ProcoreAccount, account_id)
    next_url = safe_next("procore.connections")
    try:
        return oauth_flow.start(next_url, account_id)
    except Exception:  # noqa: BLE001 - a misconfigured login URL must not be a 500
        current_app.logger.exception("cannot start the Procore authorization")
        return outcome("procore_down", 503)


@bp.route("/procore/callback")
@roles_required(*COMPANY_USERS)
def callback():
    try:
        flow = oauth_flow.consume_state(request.args.get("state"))
        if request.args.get("error"):
            raise FlowError("denied", 400)
        if not request.args.get("code"):
            raise FlowError("no_code", 400)
        pair = oauth_flow.exchange_code()
        identity = service.identify(pair)
    except FlowError as error:
        return outcome(error.kind, error.status)
    if not identity.companies:
        return outcome("no_company", 200, login=identity.login)
    if not identity.admin_companies:
        return outcome("not_directory_admin", 200, company=", ".join(n for _i, n in identity.companies))
    if len(identity.admin_companies) == 1 or current_user.company.procore_company_id:
        chosen = current_user.company.procore_company_id or identity.admin_companies[0][0]
        return _finish(pair, identity, flow, chosen)
    session[PENDING_KEY] = service.save_pending(pair, identity, flow)
    return redirect(url_for("procore.choose_company"))


def _finish(pair, identity, flow, procore_company_id: int):
    try:
        account = service.save_account(current_user, pair, identity, procore_company_id, flow.get("account_id"))
    except service.ConnectRefused as refused:
        db.session.rollback()
        return outcome(refused.kind, 409 if refused.kind == "different_user" else 200, **refused.details)
    audit.record("procore.connected", target=account.procore_login, target_id=account.id,
                 company_id=account.company_id)
    db.session.commit()
    flash(_("Procore account %(login)s connected.", login=account.procore_login), "success")
    return redirect(flow.get("next") or url_for("procore.connections"))


@bp.route("/procore/company", methods=["GET", "POST"])
@roles_required(*COMPANY_USERS)
def choose_company():
    pending = service.load_pending(session.get(PENDING_KEY))
    if pending is None:
        return outcome("pending_expired", 400)
    pair, identity, flow = pending
    form = EmptyForm()
    if form.validate_on_submit():
        chosen = request.form.get("procore_company_id", type=int)
        if chosen not in dict(identity.admin_companies):
            flash(_("Choose one of the companies listed."), "error")
        else:
            service.load_pending(session.pop(PENDING_KEY, None), consume=True)
            return _finish(pair, identity, flow, chosen)
    return render_template("procore/choose_company.html", identity=identity, form=form)


@bp.route("/connections/<int:account_id>/disconnect", methods=["GET", "POST"])
@roles_required(*COMPANY_USERS)
def disconnect(account_id: int):
    """GET: what disconnecting means, asked first (issue 14); POST: revoke and forget the tokens."""
    account = get_scoped_or_404(ProcoreAccount, account_id)
    if current_user.role != Role.ADMIN and account.user_id != current_user.id:
        abort(403)
    if request.method == "GET":
        using = db.session.scalar(select(func.count()).select_from(Integration).where(
            Integration.account_id == account.id, Integration.status.in_(KEPT)))
        return render_template("procore/disconnect.html", account=account, integrations=using or 0,
                               form=EmptyForm())
    if not EmptyForm().validate_on_submit():
        abort(400)
    confirmed = service.disconnect(account)
    audit.record("procore.disconnected", target=account.procore_login, target_id=account.id,
                 company_id=account.company_id, detail={"revoked": bool(confirmed)})
    db.session.commit()
    if confirmed:
        flash(_("%(login)s disconnected; Procore revoked its tokens.", login=account.procore_login), "success")
    else:
        flash(_("%(login)s disconnected here, but Procore did not confirm the revocation; revoke the app in "
                "Procore if it is still listed.", login=account.procore_login), "warning")
    return redirect(url_for("procore.connections"))
