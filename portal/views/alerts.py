"""Alerts (issue 14): the company's recent alerts, and each admin's mail choices (immediate per kind,
daily digest). The header links here with the count of the last week's alerts."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import alerts
from portal.access import roles_required
from portal.extensions import db
from portal.forms import EmptyForm
from portal.models import Role

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
DAYS = 30


@bp.route("/")
@roles_required(Role.ADMIN, Role.MEMBER)
def index():
    rows = alerts.recent(current_user.company_id, days=DAYS, limit=200)
    return render_template("alerts/index.html", rows=rows, kinds=alerts.KINDS, label=alerts.label,
                           detail=alerts.detail, settings=alerts.settings_of(current_user), form=EmptyForm(),
                           mail_on=bool(current_app.config.get("SMTP_HOST")), days=DAYS)


@bp.route("/settings", methods=["POST"])
@roles_required(Role.ADMIN)
def save_settings():
    if not EmptyForm().validate_on_submit():
        abort(400)
    chosen = set(request.form.getlist("immediate"))
    current_user.alert_settings = {"immediate": {kind: kind in chosen for kind in alerts.KINDS},
                                   "digest": request.form.get("digest") == "1"}
    db.session.commit()
    flash(_("Your alert choices were saved."), "success")
    return redirect(url_for(".index"))
