"""Sandbox web UI (``/ui/``): act as a Procore user and change documents, photos, drawings.

A person picks a seeded Procore user ("act as", no password) and works like in
Procore's web app.  Every change goes through the same service-layer functions as the
REST API with ``Actor(user_id, None)`` (no OAuth application: a human in the web UI),
so the same change events are recorded and turned into webhook deliveries.

* Plain server-rendered forms; every mutation is POST + redirect with a flash message.
* CSRF: one random token per browser session, sent back in a hidden ``csrf_token`` field.
* Permissions use the REST rules (``project_for``, ``tool_level``); a refused action
  shows a clear message instead of a JSON error.
* The UI keeps its own session cookie (``procore_sandbox_ui``) so it never clobbers the
  portal's ``session`` cookie on the same host (cookies ignore ports).

This module holds the shared machinery (login, CSRF, layout, project loading, tabs);
``ui/documents.py``, ``ui/photos.py``, ``ui/drawings.py`` and ``ui/webhooks.py`` add the tool pages
to the same blueprint.  A tool whose sandbox module is missing is simply not shown.
"""
from __future__ import annotations

import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from sqlalchemy import select

from ..core import clock
from ..core.api import Actor, ApiError, _company_from_header, is_company_admin, project_for, tool_level
from ..core.db import current_session
from ..core.models import (ADMIN, LEVEL_NAMES, PROJECT_TOOLS, READ_ONLY, STANDARD, Company,
                     CompanyUser, Project, ProjectUser, User)

log = logging.getLogger("sandbox.ui")

# static files in sandbox/static/ui (static_folder is relative to this module's folder, sandbox/ui/)
_STATIC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static", "ui")
bp = Blueprint("ui", __name__, url_prefix="/ui", static_folder=_STATIC, static_url_path="/static")

SESSION_USER, SESSION_CSRF = "ui_user_id", "ui_csrf"
COOKIE_NAME = "procore_sandbox_ui"
_PUBLIC_ENDPOINTS = {"ui.login", "ui.static"}

__all__ = ["bp", "init_app", "Tab", "register_tab", "ui_actor", "load_project", "require_level",
           "action", "back_to", "render_page", "UiError", "ADMIN", "STANDARD", "READ_ONLY"]


def init_app(app) -> None:
    # Only if nobody configured one: the sandbox app has no other use for Flask sessions.
    if not app.secret_key:
        app.secret_key = secrets.token_hex(32)
    if app.config.get("SESSION_COOKIE_NAME", "session") == "session":
        app.config["SESSION_COOKIE_NAME"] = COOKIE_NAME
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    # Globals for the macros in templates/ui/_macros.html (imported without context).
    app.jinja_env.globals.update(ui_csrf_token=csrf_token, ui_level_names=LEVEL_NAMES)


class UiError(Exception):
    """An error page inside the UI layout (status + message)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


# --- tabs registry --------------------------------------------------------------

@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    endpoint: str
    tool: str | None  # project tool whose level is shown on the tab (None: always visible)
    requires: str | None = None  # blueprint that must be registered (the tool's REST module)

    def available(self) -> bool:
        return self.requires is None or self.requires in current_app.blueprints


TABS: list[Tab] = []


def register_tab(tab: Tab) -> None:
    if all(t.key != tab.key for t in TABS):
        TABS.append(tab)


def visible_tabs() -> list[Tab]:
    return [t for t in TABS if t.available()]


def require_tab(key: str) -> None:
    """404 for the pages of a tool whose sandbox module is not registered in this app."""
    if not any(t.key == key for t in visible_tabs()):
        abort(404)


# --- formatting helpers -----------------------------------------------------------

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None

_MONTHS = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"]


def _tz(name: str | None):
    if not name or ZoneInfo is None:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except Exception:
        return timezone.utc


@bp.app_template_filter("ui_dt")
def fmt_dt(ts, tzname=None):
    if ts is None:
        return "—"
    tz = _tz(tzname or getattr(g.get("ui_project"), "time_zone", None))
    d = datetime.fromtimestamp(float(ts), tz=tz)
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}, {d:%H:%M}"


@bp.app_template_filter("ui_size")
def fmt_size(n):
    if n is None:
        return "—"
    n = int(n)
    if n < 1024:
        return f"{n} B"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1024.0
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}".replace(".0 ", " ")
    return f"{n} B"


def csrf_token() -> str:
    tok = session.get(SESSION_CSRF)
    if not tok:
        tok = session[SESSION_CSRF] = secrets.token_urlsafe(24)
    return tok


@bp.context_processor
def _inject():
    return {"csrf_token": csrf_token, "ui_user": g.get("ui_user"), "tabs": visible_tabs(),
            "level_names": LEVEL_NAMES, "ADMIN": ADMIN, "STANDARD": STANDARD, "READ_ONLY": READ_ONLY,
            "sandbox_now": clock.now()}


# --- request guards -------------------------------------------------------------------

def _safe_next(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui"):
        return None
    return url


@bp.before_request
def _guard():
    # CSRF first: every POST carries the per-session token.
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        want = session.get(SESSION_CSRF, "")
        if not want or not hmac.compare_digest(sent, want):
            raise UiError(400, "La sesión expiró o el formulario no es válido (token CSRF). "
                               "Vuelve a cargar la página e inténtalo de nuevo.")
    g.ui_user = None
    uid = session.get(SESSION_USER)
    if uid:
        u = current_session().get(User, int(uid))
        if u is not None and u.is_active and u.service_client_id is None:
            g.ui_user = u
            g.user = u  # the REST permission helpers read g.user
        else:
            session.pop(SESSION_USER, None)
    if g.ui_user is None and request.endpoint not in _PUBLIC_ENDPOINTS:
        if request.method == "GET":
            return redirect(url_for("ui.login", next=request.full_path.rstrip("?")))
        flash("Elige un usuario para continuar.", "error")
        return redirect(url_for("ui.login"))
    return None


@bp.errorhandler(UiError)
def _ui_error(e: UiError):
    return render_page("ui/error.html", status=e.status, message=e.message), e.status


_TAB_OF_ENDPOINT = (("document", "documents"), ("photo", "photos"), ("drawing", "drawings"), ("webhook", "webhooks"))


@bp.errorhandler(ApiError)
def _api_error(e: ApiError):
    project = g.get("ui_project")
    tab = next((t for part, t in _TAB_OF_ENDPOINT if part in (request.endpoint or "")), None)
    if project is not None and tab is not None and e.status in (403, 404) and request.method == "GET":
        # inside the project layout, so the tabs stay usable
        return render_page("ui/tab_error.html", status=e.status, message=error_text(e),
                           **project_context(project, tab)), e.status
    return render_page("ui/error.html", status=e.status, message=error_text(e)), e.status


@bp.errorhandler(404)
def _not_found(_e):
    return render_page("ui/error.html", status=404, message="Página no encontrada."), 404


@bp.errorhandler(Exception)
def _crash(e: Exception):
    from werkzeug.exceptions import HTTPException
    if isinstance(e, HTTPException):
        return e
    log.exception("sandbox UI error on %s %s", request.method, request.path)
    return render_page("ui/error.html", status=500,
                       message=f"Error interno del sandbox: {type(e).__name__}: {e}"), 500


def render_page(template: str, **ctx):
    return render_template(template, **ctx)


# --- identity, projects, permissions ----------------------------------------------------

def ui_actor() -> Actor:
    """Changes made in the UI: the chosen user, no OAuth application."""
    return Actor(g.ui_user.id, None)


def load_project(project_id: int, tool: str | None = None, level: int = READ_ONLY,
                 verb: str | None = None) -> Project:
    """The project if the UI user may use it (same rules as the REST API), else ApiError."""
    s = current_session()
    project = s.get(Project, project_id)
    if project is None:
        raise ApiError(404, "Proyecto no encontrado.")
    try:
        g.company = _company_from_header(str(project.company_id), g.ui_user)
    except ApiError:
        raise ApiError(403, f"{g.ui_user.name} no pertenece a la empresa de este proyecto.") from None
    try:
        project_for(project.id)
    except ApiError as e:
        if e.status == 403:
            raise ApiError(403, f"{g.ui_user.name} no es miembro del proyecto «{project.name}».") from None
        raise
    g.ui_project = project
    if tool is not None:
        require_level(project, tool, level, verb)
    return project


def level_of(project: Project, tool: str) -> int:
    return tool_level(g.ui_user.id, project, tool)


def require_level(project: Project, tool: str, level: int, verb: str | None = None) -> None:
    have = level_of(project, tool)
    if have < level:
        what = verb or "esta acción"
        raise ApiError(403, f"Permiso insuficiente: {what} requiere nivel «{LEVEL_NAMES[level]}» en la "
                            f"herramienta {PROJECT_TOOLS.get(tool, tool)}; tu nivel es «{LEVEL_NAMES[have]}».")


def error_text(e: ApiError) -> str:
    if str(e) and str(e) != "error":
        return str(e)
    body = e.body.get("errors") if isinstance(e.body, dict) else None
    if isinstance(body, dict):
        parts = [f"{k} {m}" for k, msgs in body.items() for m in (msgs if isinstance(msgs, list) else [msgs])]
        if parts:
            return "; ".join(parts)
    return str(e)


def _referrer_path() -> str | None:
    """The referring /ui/ page on this host (to stay on it after a refused action)."""
    ref = request.referrer
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return None
    return _safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


def back_to(default: str) -> str:
    return _safe_next(request.form.get("next")) or default


def action(fn, *, ok, back: str, fail_prefix: str = "No se pudo completar la acción"):
    """Run a mutation; flash the result and redirect (POST/redirect/GET).

    ``fn()`` does the work; ``ok`` is the success message (or a callable taking fn's
    result).  An ApiError rolls back the transaction and is shown on the next page.
    ``back`` may be a callable taking fn's result (e.g. to go to a new item).
    """
    s = current_session()
    try:
        result = fn()
        s.flush()
    except ApiError as e:
        s.rollback()
        msg = error_text(e)
        flash(msg if msg.startswith("Permiso insuficiente") else f"{fail_prefix}: {msg}", "error")
        return redirect(request.form.get("fail") and _safe_next(request.form.get("fail"))
                        or _referrer_path() or (back if isinstance(back, str) else url_for("ui.home")))
    flash(ok(result) if callable(ok) else ok, "success")
    return redirect(back(result) if callable(back) else back)


# --- login, home ------------------------------------------------------------------------

def _pickable_users(s) -> list[User]:
    return list(s.scalars(select(User).where(User.is_active.is_(True), User.service_client_id.is_(None))
                          .order_by(User.id)))


def _user_summary(s, u: User) -> str:
    comps = list(s.scalars(select(Company.name).join(CompanyUser, CompanyUser.company_id == Company.id)
                           .where(CompanyUser.user_id == u.id, CompanyUser.is_active.is_(True))
                           .order_by(Company.id)))
    nproj = len(list(s.scalars(select(ProjectUser.id).where(ProjectUser.user_id == u.id))))
    if not comps:
        return "Sin empresa"
    return f"{', '.join(comps)} · {nproj} proyecto{'s' if nproj != 1 else ''}"


@bp.route("/login", methods=["GET", "POST"])
def login():
    s = current_session()
    users = _pickable_users(s)
    nxt = _safe_next(request.values.get("next"))
    if request.method == "POST":
        try:
            u = s.get(User, int(request.form.get("user_id", "0")))
        except ValueError:
            u = None
        if u is None or u not in users:
            flash("Elige un usuario de la lista.", "error")
            return redirect(url_for("ui.login", next=nxt))
        session[SESSION_USER] = u.id
        flash(f"Ahora actúas como {u.name}.", "success")
        return redirect(nxt or url_for("ui.home"))
    csrf_token()
    return render_page("ui/login.html", users=[(u, _user_summary(s, u)) for u in users], next=nxt,
                       current_id=session.get(SESSION_USER))


@bp.post("/logout")
def logout():
    session.pop(SESSION_USER, None)
    flash("Sesión cerrada.", "success")
    return redirect(url_for("ui.login"))


@bp.get("/")
def home():
    s = current_session()
    u = g.ui_user
    companies = list(s.scalars(select(Company).join(CompanyUser, CompanyUser.company_id == Company.id)
                               .where(CompanyUser.user_id == u.id, CompanyUser.is_active.is_(True),
                                      Company.is_active.is_(True)).order_by(Company.id)))
    groups = []
    for c in companies:
        stmt = select(Project).where(Project.company_id == c.id)
        admin = is_company_admin(u.id, c.id)
        if not admin:
            stmt = stmt.where(Project.id.in_(select(ProjectUser.project_id).where(ProjectUser.user_id == u.id)))
        projects = list(s.scalars(stmt.order_by(Project.active.desc(), Project.name)))
        rows = [(p, {t: tool_level(u.id, p, t) for t in ("documents", "photos", "drawings")}) for p in projects]
        groups.append((c, admin, rows))
    return render_page("ui/home.html", groups=groups)


@bp.get("/projects/<int:project_id>")
def project_home(project_id):
    project = load_project(project_id)
    tabs = visible_tabs()
    for tab in tabs:
        if tab.tool is None or level_of(project, tab.tool) >= READ_ONLY:
            return redirect(url_for(tab.endpoint, project_id=project.id))
    return redirect(url_for(tabs[0].endpoint, project_id=project.id))


def project_context(project: Project, active_tab: str) -> dict:
    """What the project layout (header + tabs) needs."""
    s = current_session()
    levels = {t: level_of(project, t) for t in PROJECT_TOOLS}
    return {"project": project, "company": s.get(Company, project.company_id), "levels": levels,
            "active_tab": active_tab}


def no_access_page(project: Project, tab: str, tool: str, message: str | None = None):
    """The tab page shown (status 403) when the user's level on the tool is too low."""
    return render_page("ui/no_access.html", tool_name=PROJECT_TOOLS.get(tool, tool), message=message,
                       **project_context(project, tab)), 403


# Tool pages (each registers its routes and tab on ``bp``).  Import order = tab order.
from . import documents  # noqa: E402,F401

for _mod in ("photos", "drawings", "webhooks"):
    try:
        __import__(f"{__package__}.{_mod}")
    except ImportError as _e:  # the feature's sandbox module is not there (yet)
        log.info("sandbox UI: %s not loaded (%s)", _mod, _e)
