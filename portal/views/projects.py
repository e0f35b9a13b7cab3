"""Procore projects of the linked company, with the signed-in user's access (R9, R32)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.connections.accounts import my_account
from portal.access import roles_required
from portal.connections.credentials import client_for_account
from portal.extensions import db
from portal.models import Role
from portal.procore import ProcoreError, ProcorePermissionError
from portal.sync.reasons import procore_problem_kind

bp = Blueprint("projects", __name__, url_prefix="/projects")

# The tools SPEC R32 needs, and what each one unlocks.
TOOLS = (
    ("admin", _l("Admin"), _l("project Admin tool: webhooks and starting integrations")),
    ("documents", _l("Documents"), _l("importing Documents")),
    ("photos", _l("Photos"), _l("importing Photos")),
    ("drawings", _l("Drawings"), _l("importing Drawings")),
)


@dataclass
class Access:
    levels: dict[str, str]
    missing: list[tuple[str, str]]  # (tool label, what it blocks)


@bp.route("/")
@roles_required(Role.ADMIN, Role.MEMBER)
def index():
    company = current_user.company
    account = my_account(current_user)
    if company.procore_company_id is None or account is None:
        return render_template("projects/index.html", account=account, projects=None, problem=None)
    try:
        projects = sorted(client_for_account(account).projects(company.procore_company_id),
                          key=lambda project: project.name.lower())
    except ProcoreError as error:
        db.session.commit()  # keep a needs-re-authorization mark made by the client
        return render_template("projects/index.html", account=account, projects=None,
                               problem=procore_problem_kind(error)), 502
    return render_template("projects/index.html", account=account, projects=projects, problem=None)


@bp.route("/<int:procore_project_id>/access")
@roles_required(Role.ADMIN, Role.MEMBER)
def access(procore_project_id: int):
    """One project's permission row (htmx fragment, loaded lazily by the projects page)."""
    account = my_account(current_user)
    if account is None or current_user.company.procore_company_id is None:
        abort(404)
    try:
        manifest = client_for_account(account).permissions(current_user.company.procore_company_id,
                                                          procore_project_id)
    except ProcorePermissionError:
        return render_template("projects/_access.html", access=None, problem="not_on_project")
    except ProcoreError as error:
        return render_template("projects/_access.html", access=None, problem=procore_problem_kind(error))
    levels = {tool: manifest.level(tool) for tool, _label, _why in TOOLS}
    missing = [(label, why) for tool, label, why in TOOLS if levels[tool] != "Admin"]
    return render_template("projects/_access.html", access=Access(levels, missing), problem=None, tools=TOOLS)
