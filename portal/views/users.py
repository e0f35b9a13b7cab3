"""User management: company admins manage their company, superadmins everyone, support reads."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal import accounts, audit
from portal.access import company_scope_id, get_scoped_or_404, roles_required
from portal.extensions import db
from portal.forms import EmptyForm, UserEditForm, UserForm
from portal.models import Company, Role, User

bp = Blueprint("users", __name__, url_prefix="/users")
MANAGERS = (Role.ADMIN, Role.SUPERADMIN)


def _role_choices():
    labels = {Role.MEMBER: _("Member"), Role.ADMIN: _("Company admin"),
              Role.SUPPORT: _("Support"), Role.SUPERADMIN: _("Superadmin")}
    roles = accounts.COMPANY_ROLES if current_user.role == Role.ADMIN else tuple(Role)
    return [(role.value, labels[role]) for role in roles]


def _prepare(form: UserForm) -> None:
    form.role.choices = _role_choices()
    if current_user.role == Role.ADMIN:
        form.company_id.choices = [(current_user.company_id, current_user.company.name)]
    else:
        companies = db.session.scalars(select(Company).order_by(Company.name)).all()
        form.company_id.choices = [(0, _("— none (support, superadmin) —"))] + [(c.id, c.name) for c in companies]


def _selected(form: UserForm) -> tuple[Role, Company | None]:
    """Role and company from the form, refusing values outside the offered choices."""
    if form.role.data not in {value for value, _label in form.role.choices}:
        raise accounts.AccountError(_("Choose a role from the list."), "role")
    role = Role(form.role.data)
    if current_user.role == Role.ADMIN:
        return role, current_user.company
    company = db.session.get(Company, form.company_id.data) if form.company_id.data else None
    if form.company_id.data and company is None:
        raise accounts.AccountError(_("Choose a company from the list."), "company_id")
    return role, company


def _field_error(form, error: accounts.AccountError) -> None:
    getattr(form, error.field or "email").errors.append(str(error))


@bp.route("/")
@roles_required(*MANAGERS, read_only=(Role.SUPPORT,))
def index():
    query = select(User).order_by(User.email)
    scope = company_scope_id(current_user)
    if scope is not None:
        query = query.where(User.company_id == scope)
    users = db.session.scalars(query).all()
    return render_template("users/index.html", users=users, action_form=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def create():
    form = UserForm()
    _prepare(form)
    if form.validate_on_submit():
        try:
            role, company = _selected(form)
            user, password = accounts.create_user(
                form.email.data, role, company, form.password.data or None,
                form.name.data, form.can_integrate_procore.data)
        except accounts.AccountError as error:
            _field_error(form, error)
        else:
            audit.record("user.created", target=user.email, target_id=user.id, company_id=user.company_id,
                         detail={"role": user.role.value, "can_integrate_procore": user.can_integrate_procore})
            db.session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            if not form.password.data:
                flash(_("Initial password (shown only now): %(password)s", password=password), "warning")
            return redirect(url_for("users.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("users/form.html", form=form, user=None), status


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit(user_id: int):
    user = get_scoped_or_404(User, user_id)
    if current_user.role == Role.ADMIN and user.role not in accounts.COMPANY_ROLES:
        abort(404)
    form = UserEditForm(obj=user)
    _prepare(form)
    if request.method == "GET":
        form.role.data = user.role.value
        form.company_id.data = user.company_id or 0
    if form.validate_on_submit():
        try:
            role, company = _selected(form)
            accounts.update_user(user, email=form.email.data, name=form.name.data, role=role, company=company,
                                 can_integrate_procore=form.can_integrate_procore.data,
                                 password=form.password.data or None)
        except accounts.AccountError as error:
            _field_error(form, error)
        else:
            audit.record("user.changed", target=user.email, target_id=user.id, company_id=user.company_id,
                         detail={"role": user.role.value, "can_integrate_procore": user.can_integrate_procore})
            db.session.commit()
            flash(_("Changes to %(email)s saved.", email=user.email), "success")
            return redirect(url_for("users.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("users/form.html", form=form, user=user), status


@bp.route("/<int:user_id>/active", methods=["POST"])
@roles_required(*MANAGERS)
def set_active(user_id: int):
    user = get_scoped_or_404(User, user_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        accounts.set_user_active(user, request.form.get("active") == "1", acting=current_user)
    except accounts.AccountError as error:
        flash(str(error), "error")
    else:
        audit.record("user.activated" if user.active else "user.deactivated", target=user.email, target_id=user.id,
                     company_id=user.company_id)
        db.session.commit()
        message = _("%(email)s was activated.") if user.active else _("%(email)s was deactivated.")
        flash(message % {"email": user.email}, "success")
    if request.htmx:
        return render_template("users/_row.html", user=user, action_form=EmptyForm(), oob_flash=True)
    return redirect(url_for("users.index"))
