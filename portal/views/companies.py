"""Companies (portal tenants): superadmins manage them, support staff read."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import accounts
from portal.access import roles_required
from portal.extensions import db
from portal.forms import CompanyForm, EmptyForm
from portal.models import Company, Role, User

bp = Blueprint("companies", __name__, url_prefix="/companies")


@bp.route("/")
@roles_required(Role.SUPERADMIN, read_only=(Role.SUPPORT,))
def index():
    counts = dict(db.session.execute(
        select(User.company_id, func.count(User.id)).where(User.active.is_(True)).group_by(User.company_id)).all())
    companies = db.session.scalars(select(Company).order_by(Company.name)).all()
    return render_template("companies/index.html", companies=companies, counts=counts, action_form=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.SUPERADMIN)
def create():
    form = CompanyForm()
    if form.validate_on_submit():
        try:
            company = accounts.create_company(form.name.data)
        except accounts.AccountError as error:
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Company %(name)s created.", name=company.name), "success")
            return redirect(url_for("companies.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("companies/form.html", form=form, company=None), status


@bp.route("/<int:company_id>/edit", methods=["GET", "POST"])
@roles_required(Role.SUPERADMIN)
def edit(company_id: int):
    company = db.session.get(Company, company_id) or abort(404)
    form = CompanyForm(obj=company)
    if form.validate_on_submit():
        try:
            accounts.rename_company(company, form.name.data)
        except accounts.AccountError as error:
            form.name.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Company %(name)s saved.", name=company.name), "success")
            return redirect(url_for("companies.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("companies/form.html", form=form, company=company), status


@bp.route("/<int:company_id>/active", methods=["POST"])
@roles_required(Role.SUPERADMIN)
def set_active(company_id: int):
    company = db.session.get(Company, company_id) or abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    company.active = request.form.get("active") == "1"
    db.session.commit()
    message = _("Company %(name)s was activated.") if company.active else _("Company %(name)s was deactivated.")
    flash(message % {"name": company.name}, "success")
    return redirect(url_for("companies.index"))
