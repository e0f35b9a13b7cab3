"""Sandbox control API under /_sandbox/ (JSON; not part of Procore).

Protected by header ``X-Sandbox-Token`` only when the ``control_token`` knob is set.
"""
from __future__ import annotations

import hmac

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from . import clock
from . import config as config_mod
from .api import Actor, ApiError
from .db import current_session
from .events import events_after
from .models import LEVEL_BY_NAME, Company, Permission, Project, ProjectUser, User
from .state import state

bp = Blueprint("control", __name__, url_prefix="/_sandbox")


@bp.before_request
def guard():
    """The control API answers only with X-Sandbox-Token when the knob control_token is set."""
    tok = state().config.get("control_token")
    if tok and not hmac.compare_digest(request.headers.get("X-Sandbox-Token", ""), tok):
        raise ApiError(401, "X-Sandbox-Token required")


def json_body() -> dict:
    """The request's JSON object (400 otherwise); shared by every /_sandbox/ blueprint."""
    data = request.get_json(silent=True) if request.data else {}
    if not isinstance(data, dict):
        raise ApiError(400, "JSON object body required")
    return data


@bp.get("/health")
def health():
    return jsonify({"ok": True, "time": clock.now()})


@bp.get("/stats")
def stats():
    return jsonify(state().stats.snapshot())


@bp.post("/stats/reset")
def stats_reset():
    state().stats.reset()
    return jsonify(state().stats.snapshot())


def _public_config() -> dict:
    return {k: v for k, v in state().config.items()}


@bp.get("/config")
def get_config():
    return jsonify(_public_config())


@bp.post("/config")
def set_config():
    try:
        update = config_mod.validate_update(state().config, json_body())
    except (KeyError, ValueError) as e:
        raise ApiError(400, str(e).strip("'\"")) from None
    state().update_config(lambda config: config.update(update))
    if any(k.startswith("rate_limit") for k in update):
        state().limiter.reset()
    return jsonify(_public_config())


@bp.post("/reset")
def reset():
    """Drop all data, re-seed, zero counters; restores the startup config unless keep_config."""
    from .seed import reset_all
    body = json_body()
    st = state()
    if not body.get("keep_config"):
        st.update_config(lambda config: (config.clear(), config.update(st.initial_config)))
    reset_all(seed=body.get("seed", True))
    return jsonify({"ok": True})


@bp.post("/clock")
def set_clock():
    body = json_body()

    def move(cfg):
        if "offset" in body:
            cfg["clock_offset"] = float(body["offset"])
        if "advance" in body:
            cfg["clock_offset"] = float(cfg.get("clock_offset") or 0) + float(body["advance"])
        return cfg["clock_offset"]
    return jsonify({"clock_offset": state().update_config(move), "now": clock.now()})


@bp.get("/state")
def describe():
    """Ids of the seeded world, for tests and demos."""
    s = current_session()
    comps = []
    for c in s.scalars(select(Company).order_by(Company.id)):
        projects = s.scalars(select(Project).where(Project.company_id == c.id).order_by(Project.id))
        comps.append({"id": c.id, "name": c.name,
                      "projects": [{"id": p.id, "name": p.name, "active": p.active} for p in projects]})
    users = [{"id": u.id, "login": u.login, "name": u.name, "is_active": u.is_active,
              "service_client_id": u.service_client_id} for u in s.scalars(select(User).order_by(User.id))]
    clients = [{"client_id": c["client_id"], "name": c.get("name"), "redirect_uris": c.get("redirect_uris", [])}
               for c in state().config["oauth_clients"]]
    return jsonify({"companies": comps, "users": users, "clients": clients})


def _user(s, login) -> User:
    u = s.scalars(select(User).where(User.login == login)).first()
    if u is None:
        raise ApiError(404, f"unknown user {login!r}")
    return u


@bp.post("/tokens")
def mint_token():
    """Issue a token without the browser flow: {login, client_id?, expires_in?}."""
    from .oauth import issue_token, token_json
    body = json_body()
    s = current_session()
    user = _user(s, body.get("login", ""))
    client_id = body.get("client_id", "demo-client")
    grant = "client_credentials" if user.service_client_id else "authorization_code"
    tok = issue_token(s, client_id, user, grant)
    if body.get("expires_in") is not None:
        tok.expires_at = tok.created_at + float(body["expires_in"])
    return jsonify(token_json(tok))


@bp.post("/users")
def update_user():
    """{login, is_active}: deactivate/reactivate a Procore user."""
    body = json_body()
    s = current_session()
    u = _user(s, body.get("login", ""))
    if "is_active" in body:
        u.is_active = bool(body["is_active"])
    return jsonify({"id": u.id, "login": u.login, "is_active": u.is_active})


@bp.post("/permissions")
def set_permission():
    """{login, company_id, project_id?, tool, level: "None"|"Read Only"|"Standard"|"Admin"}."""
    body = json_body()
    s = current_session()
    u = _user(s, body.get("login", ""))
    level = LEVEL_BY_NAME.get(str(body.get("level", "")).lower())
    if level is None:
        raise ApiError(400, "level must be None, Read Only, Standard or Admin")
    pid, cid = body.get("project_id"), int(body["company_id"])
    row = s.scalars(select(Permission).where(Permission.user_id == u.id, Permission.company_id == cid,
                                             Permission.project_id == pid if pid else Permission.project_id.is_(None),
                                             Permission.tool == body["tool"])).first()
    if row is None:
        row = Permission(user_id=u.id, company_id=cid, project_id=pid, tool=body["tool"], level=level)
        s.add(row)
    row.level = level
    if pid and not s.scalars(select(ProjectUser).where(ProjectUser.project_id == pid,
                                                       ProjectUser.user_id == u.id)).first():
        s.add(ProjectUser(project_id=pid, user_id=u.id))
    return jsonify({"ok": True})


@bp.get("/events")
def list_events():
    s = current_session()
    rows = events_after(s, int(request.args.get("after_id", 0)), int(request.args.get("limit", 500)),
                        int(request.args["project_id"]) if request.args.get("project_id") else None)
    return jsonify([e.to_dict() for e in rows])


def _project(s, body) -> Project:
    p = s.get(Project, int(body.get("project_id") or 0))
    if p is None:
        raise ApiError(404, "project not found")
    return p


def _ui_actor(s, body) -> Actor:
    """Changes made 'in the Procore web UI': no application id."""
    login = body.get("login", "admin@constructora.test")
    return Actor(_user(s, login).id, body.get("application_id"))


@bp.post("/documents/restore")
def restore():
    """{project_id, type: folder|file, id, parent_id?, login?}: restore from the recycle bin."""
    from ..documents.service import restore_document
    body = json_body()
    s = current_session()
    kind = body.get("type")
    if kind not in ("folder", "file"):
        raise ApiError(400, "type must be folder or file")
    item = restore_document(s, _project(s, body), kind, int(body["id"]), _ui_actor(s, body),
                            parent_id=body.get("parent_id"))
    return jsonify({"id": item.id, "parent_id": item.parent_id, "name": item.name})


@bp.post("/generate")
def generate():
    """{project_id, files, total_mb, folders, versions?, seed?, events?}: benchmark tree."""
    from ..documents.seed import generate_tree
    body = json_body()
    s = current_session()
    project = _project(s, body)
    result = generate_tree(s, project, _ui_actor(s, body), files=int(body.get("files", 100)),
                           total_mb=float(body.get("total_mb", 1)), folders=int(body.get("folders", 10)),
                           versions=int(body.get("versions", 1)), seed=body.get("seed"),
                           events=bool(body.get("events", False)))
    return jsonify(result)
