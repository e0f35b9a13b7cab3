"""Identity, companies, projects and the permission manifest."""
from __future__ import annotations

from flask import Blueprint, g, request
from sqlalchemy import select

from . import clock
from .api import (ApiError, base_url, current_company, int_arg, is_company_admin, json_response,
                  paginate_list, paginate_select, project_for, require_auth, tool_level,
                  company_tool_level)
from .db import current_session
from .models import (COMPANY_TOOLS, LEVEL_NAMES, PROJECT_TOOLS, Company, CompanyUser, Project,
                     ProjectUser, User)

bp = Blueprint("core_api", __name__)
V = "/rest/v1.0"


@bp.get(f"{V}/me")
@require_auth(company="except-user")
def me():
    u = g.user
    return json_response({"id": u.id, "login": u.login, "name": u.name})


def company_json(c: Company) -> dict:
    return {"id": c.id, "name": c.name, "is_active": c.is_active, "logo_url": c.logo_url,
            "pcn_business_experience": None, "my_company": False}


@bp.get(f"{V}/companies")
@require_auth(company="except-user")
def companies():
    stmt = (select(Company).join(CompanyUser, CompanyUser.company_id == Company.id)
            .where(CompanyUser.user_id == g.user.id, CompanyUser.is_active.is_(True),
                   Company.is_active.is_(True)).order_by(Company.id))
    return json_response([company_json(c) for c in paginate_select(stmt)])


def project_json(p: Project, company: Company, creator: User | None, compact: bool = False) -> dict:
    if compact:
        return {"id": p.id, "name": p.name, "display_name": p.display_name}
    return {
        "id": p.id, "name": p.name, "display_name": p.display_name, "project_number": p.project_number,
        "address": p.address, "city": p.city, "state_code": p.state_code, "country_code": p.country_code,
        "zip": p.zip, "county": None, "time_zone": p.time_zone, "latitude": None, "longitude": None,
        "stage": None, "project_stage": None, "project_template": None, "phone": None,
        "created_at": clock.iso(p.created_at), "updated_at": clock.iso(p.updated_at), "active": p.active,
        "origin_id": None, "origin_data": None, "origin_code": None, "is_demo": False,
        "parent_job_id": None, "start_date": None, "completion_date": None, "projected_finish_date": None,
        "company": {"id": company.id, "name": company.name},
        "created_by": {"id": creator.id, "name": creator.name, "login": creator.login} if creator else None,
        "custom_fields": {}, "photo_id": None, "project_region_id": None,
    }


@bp.get(f"{V}/projects")
@require_auth()
def projects():
    cid = int_arg("company_id")
    comp = current_company()
    if cid != comp.id:
        # Stricter reading: company_id must name the company of the Procore-Company-Id header.
        raise ApiError(400, "company_id does not match the Procore-Company-Id header")
    s = current_session()
    stmt = select(Project).where(Project.company_id == comp.id)
    status = request.args.get("filters[by_status]", "Active")
    if status == "Active":
        stmt = stmt.where(Project.active.is_(True))
    elif status == "Inactive":
        stmt = stmt.where(Project.active.is_(False))
    elif status != "All":
        raise ApiError(400, "filters[by_status] must be Active, Inactive or All")
    if not is_company_admin(g.user.id, comp.id):
        stmt = stmt.where(Project.id.in_(select(ProjectUser.project_id).where(ProjectUser.user_id == g.user.id)))
    if request.args.get("filters[name]"):
        stmt = stmt.where(Project.name.contains(request.args["filters[name]"]))
    ids = request.args.getlist("filters[id]") or request.args.getlist("filters[id][]")
    if ids:
        try:
            stmt = stmt.where(Project.id.in_([int(x) for raw in ids for x in raw.split(",") if x]))
        except ValueError:
            raise ApiError(400, "filters[id] must be integers") from None
    rows = paginate_select(stmt.order_by(Project.name, Project.id))
    compact = request.args.get("serializer_view") == "compact"
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_({p.created_by_id for p in rows})))}
    return json_response([project_json(p, comp, users.get(p.created_by_id), compact) for p in rows])


@bp.get(f"{V}/projects/<int:project_id>")
@require_auth()
def project_show(project_id):
    p = project_for(project_id)
    s = current_session()
    return json_response(project_json(p, current_company(), s.get(User, p.created_by_id) if p.created_by_id else None))


def _tool_json(name: str, friendly: str, level: int, tool_id: int, url: str) -> dict:
    return {"id": tool_id, "name": name, "friendly_name": friendly, "domain_id": None,
            "tab_group": None, "available_for_user": level > 0, "url": url,
            "user_access_level": {"id": level, "name": LEVEL_NAMES[level]},
            "permitted_actions": [], "create_url": None, "can_create": level >= 2, "trial": False}


@bp.get(f"{V}/settings/permissions")
@require_auth()
def permissions():
    """Permission manifest. Tool names/level strings are unconfirmed (open question 2)."""
    project_id = int_arg("project_id", required=False)
    comp = current_company()
    if project_id is not None:
        p = project_for(project_id)
        tools = [_tool_json(n, f, tool_level(g.user.id, p, n), i + 1,
                            f"{base_url()}/{p.id}/project/{n}") for i, (n, f) in enumerate(PROJECT_TOOLS.items())]
    else:
        cid = int_arg("company_id")
        if cid != comp.id:
            raise ApiError(400, "company_id does not match the Procore-Company-Id header")
        tools = [_tool_json(n, f, company_tool_level(g.user.id, comp.id, n), 100 + i,
                            f"{base_url()}/{comp.id}/company/{n}") for i, (n, f) in enumerate(COMPANY_TOOLS.items())]
    return json_response({"tools": tools})


@bp.get(f"{V}/companies/<int:company_id>/me")
@require_auth()
def company_me(company_id):
    comp = current_company()
    if company_id != comp.id:
        raise ApiError(403, "You do not have access to this company")
    u = g.user
    return json_response({"id": u.id, "name": u.name, "email_address": u.login, "is_active": u.is_active,
                          "is_employee": True, "company_permission_template_id": None,
                          "default_permission_template_id": None, "add_to_new_projects": False,
                          "vendor": None})


@bp.get(f"{V}/projects/<int:project_id>/users")
@require_auth()
def project_users(project_id):
    p = project_for(project_id, tool="directory")
    s = current_session()
    users = list(s.scalars(select(User).join(ProjectUser, ProjectUser.user_id == User.id)
                           .where(ProjectUser.project_id == p.id).order_by(User.name)))
    return json_response([{"id": u.id, "login": u.login, "name": u.name, "email_address": u.login,
                           "is_active": u.is_active} for u in paginate_list(users)])

