"""Shared helpers for REST views: errors, auth, company header, permissions, pagination.

Typical view::

    bp = Blueprint("photos", __name__)

    @bp.get("/rest/v1.0/images")
    @require_auth()                       # bearer + rate limit + Procore-Company-Id
    def list_images():
        project = project_for(int_arg("project_id"), tool="photos", level=READ_ONLY)
        rows = paginate_select(select(Image).where(...).order_by(Image.id))
        return json_response([serialize(r) for r in rows])

Errors: ``raise ApiError(403, "...")`` (or ``abort_json``) -> ``{"errors": "..."}``.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import g, jsonify, request
from sqlalchemy import and_, bindparam, func, select, text

from . import clock
from .db import current_session
from .models import (ADMIN, NONE, READ_ONLY, Company, CompanyUser, Permission, Project,
                     ProjectUser, Token, User)
from .state import cfg, state

__all__ = ["ApiError", "abort_json", "json_response", "require_auth", "current_user",
           "current_company", "current_token", "actor", "Actor", "project_for", "int_arg",
           "tool_level", "company_tool_level", "is_company_admin", "page_params",
           "paginate_select", "paginate_list", "request_data", "base_url", "READ_ONLY", "ADMIN"]


class ApiError(Exception):
    def __init__(self, status: int, message="error", body=None, headers=None):
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else {"errors": message}
        self.headers = headers or {}


def abort_json(status: int, message: str, **headers):
    raise ApiError(status, message, headers=headers)


def json_response(data, status: int = 200, headers: dict | None = None):
    resp = jsonify(data)
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def base_url() -> str:
    return (cfg("public_base_url") or request.host_url).rstrip("/")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: passed to service functions, ends up in record_change."""
    user_id: int | None
    application_id: str | None  # OAuth client_id; None = sandbox UI (a human in Procore's UI)


# --- auth ---------------------------------------------------------------------

def _bearer() -> str | None:
    h = request.headers.get("Authorization", "")
    if h[:7].lower() == "bearer " and h[7:].strip():
        return h[7:].strip()
    return None


# Built once: a statement built per request costs more CPU than the query (the hot path of every download).
_TOKEN_AND_USER = (select(Token, User).outerjoin(User, User.id == Token.user_id)
                   .where(Token.access_token == bindparam("raw")))


def token_and_user(raw: str | None) -> tuple[Token | None, User | None]:
    """The valid (unexpired, unrevoked, not rotated away) token row and its user, in one query; (None, None)."""
    if not raw:
        return None, None
    row = current_session().execute(_TOKEN_AND_USER, {"raw": raw}).first()
    if row is None:
        return None, None
    tok, user = row
    if tok.revoked_at is not None or tok.expires_at <= clock.now():
        return None, None
    # Stricter reading (unverified): once a refresh token is used, the access token of
    # the same grant dies too, so clients must persist and use the newest pair.
    if tok.refreshed_at is not None:
        return None, None
    return tok, user


def lookup_token(raw: str | None) -> Token | None:
    """Valid (unexpired, unrevoked, not rotated away) token row, or None."""
    return token_and_user(raw)[0]


def _rate_limit(key: str):
    info = state().limiter.hit(key, clock.now(), state().config)
    if info.get("limit") is None:
        return
    g.rate_info = info
    if not info["allowed"]:
        state().stats.incr("rate_limited_429")
        raise ApiError(429, "Rate limit exceeded", headers={"Retry-After": str(info["retry_after"])})


def inject_faults():
    """Random 503 (with Retry-After) / 500-502-504 per the error_*_rate knobs."""
    c = state().config
    if c["error_503_rate"] and random.random() < c["error_503_rate"]:
        state().stats.incr("injected_503")
        raise ApiError(503, "Service Unavailable (sandbox fault injection)",
                       headers={"Retry-After": str(c["retry_after_503"])})
    if c["error_5xx_rate"] and random.random() < c["error_5xx_rate"]:
        state().stats.incr("injected_5xx")
        raise ApiError(random.choice([500, 502, 504]), "Internal Server Error (sandbox fault injection)")


def require_auth(company: bool | str = True):
    """Decorator: bearer token (401), rate limit (429), Procore-Company-Id (400/403).

    company=True     header required (all endpoints except /me and /companies)
    company="except-user"  header optional for user tokens, required for client_credentials
    company=False    never checked
    Also applies the fault-injection knobs (error_503_rate, error_5xx_rate).
    Sets g.token, g.user, g.company (Company or None), g.client_id.
    """
    def deco(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            raw = _bearer()
            tok, user = token_and_user(raw)
            key = f"app:{tok.client_id}:user:{tok.user_id}" if tok else f"ip:{request.remote_addr}"
            # Rate limit keyed by application+user (not by token string) so that refreshing
            # does not reset the budget: stricter than "per token".
            _rate_limit(key)
            inject_faults()
            if tok is None:
                state().stats.incr("unauthorized_401")
                msg = "Access token expired or revoked" if raw else "Missing bearer token"
                raise ApiError(401, msg, headers={
                    "WWW-Authenticate": 'Bearer realm="Procore API", error="invalid_token"'})
            if user is None or not user.is_active:
                raise ApiError(401, "User is inactive")
            g.token, g.user, g.client_id, g.company = tok, user, tok.client_id, None
            state().stats.api_request(f"{raw[:8]}…({user.login})", user.login, request.url_rule.rule
                                      if request.url_rule else request.path, request.method)
            need = company is True or (company == "except-user" and (
                user.service_client_id is not None or "company_id" in request.args
                or "project_id" in request.args))
            header = request.headers.get("Procore-Company-Id")
            if need and not header:
                raise ApiError(400, "Missing Procore-Company-Id header!")
            if header and company is not False:
                g.company = _company_from_header(header, user)
            return view(*args, **kwargs)
        return wrapper
    return deco


_COMPANY_AND_MEMBERSHIP = (
    select(Company, CompanyUser.id)
    .outerjoin(CompanyUser, and_(CompanyUser.company_id == Company.id, CompanyUser.user_id == bindparam("uid"),
                                 CompanyUser.is_active.is_(True)))
    .where(Company.id == bindparam("cid")).limit(1))


def _company_from_header(header: str, user: User) -> Company:
    try:
        cid = int(header.strip())
    except ValueError:
        raise ApiError(400, "Invalid Procore-Company-Id header") from None
    row = current_session().execute(_COMPANY_AND_MEMBERSHIP, {"cid": cid, "uid": user.id}).first()
    comp, member = row if row else (None, None)
    if comp is None or member is None or not comp.is_active:
        raise ApiError(403, "You do not have access to this company")
    return comp


# Download URLs carry no company header: one query says whether the user may read the project's tool
# (what project_for checks: company membership, project membership or company Admin, the tool's level).
_DOWNLOAD_ACCESS = text("""
SELECT
  EXISTS (SELECT 1 FROM company_users WHERE company_id = :cid AND user_id = :uid AND is_active) AS member,
  EXISTS (SELECT 1 FROM project_users WHERE project_id = :pid AND user_id = :uid) AS on_project,
  (SELECT level FROM permissions WHERE user_id = :uid AND company_id = :cid AND project_id IS NULL
     AND tool = 'admin' LIMIT 1) AS company_admin,
  (SELECT level FROM permissions WHERE user_id = :uid AND project_id = :pid AND tool = :tool LIMIT 1) AS level
""")


def download_level(project_id: int, company_id: int, tool: str) -> int:
    """The current user's level on the project's ``tool`` for an authenticated download: 403 unless a member
    of the project's company and of the project (or company Admin) with at least Read Only on the tool."""
    row = current_session().execute(_DOWNLOAD_ACCESS, {"uid": g.user.id, "cid": company_id, "pid": project_id,
                                                       "tool": tool}).one()
    if not row.member:
        raise ApiError(403, "You do not have access to this file")
    if not row.on_project and (row.company_admin or NONE) < ADMIN:
        raise ApiError(403, "You do not have access to this project")
    level = NONE if row.level is None else row.level
    if level < READ_ONLY:
        raise ApiError(403, f"You do not have the required permission on the {tool} tool")
    return level


def current_user() -> User:
    return g.user


def current_token() -> Token:
    return g.token


def current_company() -> Company | None:
    return g.get("company")


def actor() -> Actor:
    return Actor(g.user.id, g.client_id)


# --- arguments ----------------------------------------------------------------

def int_arg(name: str, required: bool = True, source=None) -> int | None:
    src = request.args if source is None else source
    raw = src.get(name)
    if raw in (None, ""):
        if required:
            raise ApiError(400, f"{name} is required")
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ApiError(400, f"{name} must be an integer") from None


def _set_nested(out: dict, key: str, value):
    # Rails-style "file[name]" / "a[b][c]" -> nested dicts
    if "[" not in key or not key.endswith("]"):
        out[key] = value
        return
    head, rest = key.split("[", 1)
    parts = [head] + rest[:-1].split("][")
    cur = out
    for p in parts[:-1]:
        nxt = cur.get(p)
        if not isinstance(nxt, dict):
            nxt = cur[p] = {}
        cur = nxt
    cur[parts[-1]] = value


def request_data() -> dict:
    """Body as dict: JSON, or form fields (incl. Rails-style nested keys), plus files."""
    if request.is_json:
        data = request.get_json(silent=True)
        if data is None:
            raise ApiError(400, "Malformed JSON body")
        if not isinstance(data, dict):
            raise ApiError(400, "JSON body must be an object")
        return data
    out: dict = {}
    for k in request.form:
        _set_nested(out, k, request.form.get(k))
    for k in request.files:
        _set_nested(out, k, request.files[k])
    return out


# --- permissions ----------------------------------------------------------------

def company_tool_level(user_id: int, company_id: int, tool: str) -> int:
    row = current_session().scalars(select(Permission).where(
        Permission.user_id == user_id, Permission.company_id == company_id,
        Permission.project_id.is_(None), Permission.tool == tool)).first()
    return row.level if row else NONE


def is_company_admin(user_id: int, company_id: int) -> bool:
    """'Full company admin' = Admin on the company-level Admin tool (sandbox definition)."""
    return company_tool_level(user_id, company_id, "admin") >= ADMIN


def tool_level(user_id: int, project: Project, tool: str) -> int:
    row = current_session().scalars(select(Permission).where(
        Permission.user_id == user_id, Permission.project_id == project.id,
        Permission.tool == tool)).first()
    return row.level if row else NONE


def is_project_member(user_id: int, project_id: int) -> bool:
    return current_session().scalars(select(ProjectUser.id).where(
        ProjectUser.project_id == project_id, ProjectUser.user_id == user_id)).first() is not None


def project_for(project_id: int, tool: str | None = None, level: int = READ_ONLY) -> Project:
    """Load a project the current user may use in the current company, else 404/403.

    A project of another company than Procore-Company-Id is 404 (stricter reading).
    """
    s = current_session()
    project = s.get(Project, project_id)
    comp = current_company()
    if project is None or comp is None or project.company_id != comp.id:
        raise ApiError(404, "Project not found")
    uid = g.user.id
    if not is_project_member(uid, project.id) and not is_company_admin(uid, comp.id):
        raise ApiError(403, "You do not have access to this project")
    if tool is not None and tool_level(uid, project, tool) < level:
        raise ApiError(403, f"You do not have the required permission on the {tool} tool")
    return project


# --- pagination -----------------------------------------------------------------

def page_params() -> tuple[int, int]:
    """(page, per_page). per_page above the cap is clamped (Per-Page shows the value used)."""
    page = int_arg("page", required=False) or 1
    raw_pp = request.args.get("per_page")
    per_page = int_arg("per_page", required=False) if raw_pp not in (None, "") else cfg("per_page_default")
    if page < 1 or per_page < 1:
        raise ApiError(400, "page and per_page must be positive integers")
    return page, min(per_page, cfg("per_page_max"))


def _link(page: int, per_page: int) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "per_page")]
    args += [("page", str(page)), ("per_page", str(per_page))]
    return f"{base_url()}{request.path}?{urlencode(args)}"


def set_pagination_headers(total: int, page: int, per_page: int):
    last = max(1, -(-total // per_page))
    links = [f'<{_link(1, per_page)}>; rel="first"']
    if page > 1:
        links.append(f'<{_link(min(page - 1, last), per_page)}>; rel="prev"')
    if page < last:
        links.append(f'<{_link(page + 1, per_page)}>; rel="next"')
    links.append(f'<{_link(last, per_page)}>; rel="last"')
    g.pagination_headers = {"Link": ", ".join(links), "Total": str(total), "Per-Page": str(per_page)}


def paginate_select(stmt, session=None) -> list:
    s = session or current_session()
    page, per_page = page_params()
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    set_pagination_headers(total, page, per_page)
    return list(s.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))


def paginate_list(items: list) -> list:
    page, per_page = page_params()
    set_pagination_headers(len(items), page, per_page)
    return items[(page - 1) * per_page: page * per_page]


def add_response_headers(resp):
    """after_request hook (installed by the app): rate-limit + pagination headers."""
    info = g.get("rate_info")
    if info and info.get("limit") is not None:
        resp.headers["X-Rate-Limit-Limit"] = str(info["limit"])
        resp.headers["X-Rate-Limit-Remaining"] = str(info["remaining"])
        resp.headers["X-Rate-Limit-Reset"] = str(info["reset"])
    for k, v in (g.get("pagination_headers") or {}).items():
        if resp.status_code < 400:
            resp.headers[k] = v
    return resp
