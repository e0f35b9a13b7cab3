"""Drawings tool REST views, part 2: drawing revisions (list/show/patch/publish), drawing
uploads, authenticated PDF/PNG downloads and the sandbox-only control endpoints.

* ``GET /rest/v1.0/projects/{id}/drawing_revisions``: obsolete and deleted revisions are
  excluded by default (``with_obsolete``, ``filters[deleted]=only|with``); there is no
  ``filters[current]`` (Procore docs: filter ``current`` client-side or use
  ``drawing_set_id=current_set``). Default order ``id``.
* ``POST /rest/v1.0/projects/{id}/drawing_revisions/publish`` is known only from a
  third-party tool listing [L]; implemented as the OAS-derived reference describes it.
* ``/rest/v1.1/projects/{id}/drawing_uploads``: Drawings Admin only (stricter).
"""
from __future__ import annotations

import hmac

from flask import Blueprint, g, request
from sqlalchemy import select

from . import revision_service as rsvc
from . import service as svc
from ..core.api import ADMIN, Actor, ApiError, actor, int_arg, json_response, paginate_list, require_auth
from ..core.db import current_session
from .routes import body, is_admin, project_of, sub
from .models import PENDING_REVIEW, DrawingRevision, DrawingUpload
from .serial import TTL, Lookup, revision_json, revision_patch_json, upload_json, visible
from ..core.models import Project, User
from ..core.media_urls import authorize_download, check_media_url
from ..core.params import id_list, in_range, parse_bool, parse_range
from ..core.state import cfg, state
from ..core.storage import download_redirect

bp = Blueprint("drawings_revisions", __name__)
P = "/rest/v1.0/projects/<int:project_id>"

REVISION_VIEWS = {"only_pdf_urls", "only_ids", "only_ids_post_review", "web_index", "web_show",
                  "extended_coordinates", "extended_files", "extended_dpi", "android"}
REVISION_SORTS = {"id", "created_at", "deleted_at", "drawing_number", "number", "title", "drawing_date",
                  "received_date", "status", "revision_number", "revision", "updated_at"}


def _sort_value(key: str, r: DrawingRevision, lk: Lookup):
    d = lk.drawings.get(r.drawing_id)
    if key in ("drawing_number", "number"):
        return (d.number.lower() if d else "")
    if key == "title":
        return ((d.title or "").lower() if d else "")
    if key in ("revision_number", "revision"):
        v = r.revision_number or ""
        return (0, int(v), "") if v.isdigit() else (1, 0, v.lower())
    if key in ("drawing_date", "received_date", "deleted_at"):
        v = getattr(r, key)
        return (v is None, v or "")
    return getattr(r, key)


@bp.get(f"{P}/drawing_revisions")
@require_auth()
def list_revisions(project_id):
    project = project_of(project_id)
    s, a = current_session(), request.args
    admin = is_admin(project)
    view = a.get("view")
    if view is not None and view not in REVISION_VIEWS:
        raise ApiError(400, f"view must be one of {sorted(REVISION_VIEWS)}")
    deleted = a.get("filters[deleted]")
    if deleted not in (None, "only", "with"):
        raise ApiError(400, "filters[deleted] must be only or with")
    with_obsolete = parse_bool(a["with_obsolete"], "with_obsolete") if "with_obsolete" in a else False
    lk = Lookup(s, project.id)
    revs = [r for r in s.scalars(select(DrawingRevision).where(DrawingRevision.project_id == project.id))
            if visible(r, admin, with_deleted=deleted is not None)]
    if deleted == "only":
        revs = [r for r in revs if r.deleted_at is not None]
    if not with_obsolete:
        revs = [r for r in revs if not (lk.drawings.get(r.drawing_id) and lk.drawings[r.drawing_id].obsolete)]
    for key, attr in (("drawing_area_id", "area_id"), ("drawing_id", "drawing_id")):
        val = int_arg(key, required=False)
        if val is not None:
            revs = [r for r in revs if getattr(r, attr) == val]
    disc = int_arg("drawing_discipline_id", required=False)
    if disc is not None:
        revs = [r for r in revs if lk.drawings.get(r.drawing_id) and lk.drawings[r.drawing_id].discipline_id == disc]
    if a.get("drawing_set_id"):
        if a["drawing_set_id"] == "current_set":
            revs = [r for r in revs if r.current]
        else:
            sid = int_arg("drawing_set_id")
            revs = [r for r in revs if r.set_id == sid]
    for ids in (id_list("id[]", "id"), id_list("filters[ids]", "filters[ids][]")):
        if ids is not None:
            revs = [r for r in revs if r.id in ids]
    if "filters[updated_at]" in a:
        rng = parse_range(a["filters[updated_at]"], "filters[updated_at]")
        revs = [r for r in revs if in_range(r.updated_at, rng)]
    if "is_reviewed" in a:
        want = parse_bool(a["is_reviewed"], "is_reviewed")
        revs = [r for r in revs if (r.status != PENDING_REVIEW) == want]
    if a.get("query"):
        q = a["query"].lower()
        revs = [r for r in revs if lk.drawings.get(r.drawing_id) and (
            q in lk.drawings[r.drawing_id].number.lower() or q in (lk.drawings[r.drawing_id].title or "").lower())]
    keys = [k.strip() for k in a.get("sort", "id").split(",") if k.strip()] or ["id"]
    for k in keys:
        if k.lstrip("-") not in REVISION_SORTS:
            raise ApiError(400, f"sort keys must be among {sorted(REVISION_SORTS)} (optionally prefixed with -)")
    revs.sort(key=lambda r: r.id)
    for k in reversed(keys):
        revs.sort(key=lambda r, k=k: _sort_value(k.lstrip("-"), r, lk), reverse=k.startswith("-"))
    if view == "only_ids_post_review":
        revs = [r for r in revs if r.status != PENDING_REVIEW]
    page = paginate_list(revs)
    if view in ("only_ids", "only_ids_post_review"):
        return json_response([{"id": r.id} for r in page])
    if view == "only_pdf_urls":
        return json_response([{"id": r.id, "pdf_url": revision_json(r, lk)["pdf_url"]} for r in page])
    return json_response([revision_json(r, lk) for r in page])


def _visible_revision(s, project, revision_id) -> DrawingRevision:
    r = rsvc.get_revision(s, project, revision_id)
    if not visible(r, is_admin(project)):
        raise ApiError(404, "Drawing revision not found")
    return r


@bp.get(f"{P}/drawing_revisions/<int:revision_id>")
@require_auth()
def show_revision(project_id, revision_id):
    project = project_of(project_id)
    s = current_session()
    return json_response(revision_json(_visible_revision(s, project, revision_id), Lookup(s, project.id)))


@bp.patch(f"{P}/drawing_revisions/<int:revision_id>")
@require_auth()
def update_revision(project_id, revision_id):
    project = project_of(project_id, ADMIN)
    obj = sub(body(), "drawing_revision")
    s = current_session()
    r = rsvc.update_revision(
        s, project, rsvc.get_revision(s, project, revision_id), actor(),
        drawing_date=obj["drawing_date"] if "drawing_date" in obj else svc.UNSET,
        received_date=obj["received_date"] if "received_date" in obj else svc.UNSET,
        revision_number=obj["revision_number"] if "revision_number" in obj else svc.UNSET,
        set_id=obj.get("drawing_set_id"), drawing_id=obj.get("drawing_id"))
    ordered = [x.id for x in s.scalars(select(DrawingRevision).where(
        DrawingRevision.drawing_id == r.drawing_id, DrawingRevision.deleted_at.is_(None),
        DrawingRevision.status != PENDING_REVIEW).order_by(DrawingRevision.created_at, DrawingRevision.id))]
    return json_response(revision_patch_json(r, Lookup(s, project.id), ordered))


@bp.post(f"{P}/drawing_revisions/publish")
@require_auth()
def publish(project_id):
    project = project_of(project_id, ADMIN)
    data = body()
    if data.get("drawing_set_id") in (None, ""):
        raise ApiError(400, "param is missing or the value is empty: drawing_set_id")
    if "distribute" in data and data["distribute"] is not None:
        parse_bool(data["distribute"], "distribute", 422)  # no e-mails in the sandbox
    done, errors = rsvc.publish_set(current_session(), project, actor(), data["drawing_set_id"],
                                   data.get("drawing_area_id"))
    return json_response({"drawing_revisions": [{"id": r.id} for r in done], "errors": errors})


# --- drawing uploads ----------------------------------------------------------------------------

def _as_list(value) -> list | None:
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and value and all(str(k).isdigit() for k in value):
        return [value[k] for k in sorted(value, key=int)]  # form fields drawing_log_imports[0][...]
    if isinstance(value, dict) and list(value) == [""]:
        return [value[""]]  # form fields drawing_log_imports[][...] (one import)
    return None


@bp.post("/rest/v1.1/projects/<int:project_id>/drawing_uploads")
@require_auth()
def create_upload(project_id):
    """OAS nests the fields in ``drawing_upload``; the tutorial lists them at the top level:
    both are accepted. Every import needs upload_uuid, drawing_date and default_revision
    (OAS marks all three required; stricter than the tutorial)."""
    project = project_of(project_id, ADMIN)
    data = body()
    obj = data["drawing_upload"] if isinstance(data.get("drawing_upload"), dict) else data
    s = current_session()
    token = request.headers.get("Idempotency-Token")
    if token:
        old = s.scalars(select(DrawingUpload).where(DrawingUpload.project_id == project.id,
                                                    DrawingUpload.idempotency_token == token)).first()
        if old is not None:
            return json_response(upload_json(s, old, rsvc.upload_status(s, old)), 200)
    if obj.get("drawing_set_id") in (None, ""):
        raise ApiError(422, "drawing_set_id can't be blank", body={"errors": {"drawing_set_id": ["can't be blank"]}})
    dset = svc.get_set(s, project, svc._int(obj["drawing_set_id"], "drawing_set_id"), field="drawing_set_id")
    area = svc.resolve_area(s, project, obj.get("drawing_area_id"))
    items = _as_list(obj.get("drawing_log_imports"))
    if not items:
        raise ApiError(422, "drawing_log_imports can't be blank",
                       body={"errors": {"drawing_log_imports": ["can't be blank"]}})
    from ..core.uploads import consume_upload
    imports = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ApiError(422, "drawing_log_imports must be objects")
        missing = [k for k in ("upload_uuid", "drawing_date", "default_revision") if item.get(k) in (None, "")]
        if missing:
            raise ApiError(422, f"drawing_log_imports[{i}]: {', '.join(missing)} can't be blank",
                           body={"errors": {f"drawing_log_imports[{i}].{k}": ["can't be blank"] for k in missing}})
        blob = consume_upload(s, str(item["upload_uuid"]), project, g.user)
        imports.append({"sha256": blob["sha256"], "size": blob["size"], "filename": blob.get("filename"),
                        "drawing_date": item["drawing_date"], "received_date": item.get("received_date"),
                        "default_revision": str(item["default_revision"]), "drawing_id": item.get("drawing_id")})
    flags = {k: parse_bool(obj[k], k, 422) for k in ("get_info_from_filename", "drawing_number_contains_revision")
             if obj.get(k) not in (None, "")}
    up, _created = rsvc.create_drawing_upload(
        s, project, actor(), area=area, dset=dset, imports=imports, idempotency_token=token,
        processing_seconds=float(cfg("drawing_upload_processing_seconds") or 0), **flags)
    return json_response(upload_json(s, up, rsvc.upload_status(s, up)), 201)


def _upload(s, project, upload_id) -> DrawingUpload:
    up = s.get(DrawingUpload, upload_id)
    if up is None or up.project_id != project.id:
        raise ApiError(404, "Drawing upload not found")
    return up


def _upload_view() -> bool:
    v = request.args.get("view", "normal")
    if v not in ("normal", "with_drawing_log_imports"):
        raise ApiError(400, "view must be normal or with_drawing_log_imports")
    return v == "with_drawing_log_imports"


@bp.get("/rest/v1.1/projects/<int:project_id>/drawing_uploads")
@bp.get("/rest/v1.0/projects/<int:project_id>/drawing_uploads")
@require_auth()
def list_uploads(project_id):
    project = project_of(project_id, ADMIN)
    s, with_imports = current_session(), _upload_view()
    ups = list(s.scalars(select(DrawingUpload).where(DrawingUpload.project_id == project.id)
                         .order_by(DrawingUpload.id)))
    return json_response([upload_json(s, u, rsvc.upload_status(s, u), with_imports) for u in paginate_list(ups)])


@bp.get("/rest/v1.1/projects/<int:project_id>/drawing_uploads/<int:upload_id>")
@require_auth()
def show_upload(project_id, upload_id):
    project = project_of(project_id, ADMIN)
    s = current_session()
    up = _upload(s, project, upload_id)
    return json_response(upload_json(s, up, rsvc.upload_status(s, up), _upload_view()))


@bp.delete("/rest/v1.1/projects/<int:project_id>/drawing_uploads/<int:upload_id>")
@bp.delete("/rest/v1.0/projects/<int:project_id>/drawing_uploads/<int:upload_id>")
@require_auth()
def delete_upload(project_id, upload_id):
    project = project_of(project_id, ADMIN)
    s = current_session()
    rsvc.delete_drawing_upload(s, project, _upload(s, project, upload_id), actor())
    return "", 200


# --- downloads (Bearer + signed expiring URL; 302 to storage) ------------------------------------

_VARIANTS = {"pdf": "drawing-pdf", "png": "drawing-png", "thumbnail": "drawing-thumbnail",
             "large_thumbnail": "drawing-large_thumbnail"}


@bp.get("/downloads/drawing_revisions/<int:revision_id>/<variant>")
@require_auth(company=False)
def download_revision(revision_id, variant):
    if variant not in _VARIANTS:
        raise ApiError(404, "Not found")
    s = current_session()
    r = s.get(DrawingRevision, revision_id)
    project = authorize_download(r.project_id if r else None, "drawings")
    check_media_url(_VARIANTS[variant], revision_id, TTL)
    r = _visible_revision(s, project, revision_id)
    d = Lookup(s, project.id).drawings.get(r.drawing_id)
    stem = f"{d.number if d else 'plano'} rev {r.revision_number or '0'}"
    if variant == "pdf":
        return download_redirect(r.pdf_sha256, r.filename or f"{stem}.pdf", "application/pdf")
    return download_redirect(r.png_sha256, f"{stem} {variant}.png", "image/png")


# --- sandbox control endpoints (not Procore) ----------------------------------------------------

def _control() -> tuple:
    tok = state().config.get("control_token")
    if tok and not hmac.compare_digest(request.headers.get("X-Sandbox-Token", ""), tok):
        raise ApiError(401, "X-Sandbox-Token required")
    data = request.get_json(silent=True) or {}
    s = current_session()
    project = s.get(Project, int(data.get("project_id") or 0))
    if project is None:
        raise ApiError(404, "project not found")
    user = s.scalars(select(User).where(User.login == data.get("login", "admin@constructora.test"))).first()
    if user is None:
        raise ApiError(404, "unknown user")
    return data, s, project, Actor(user.id, None)


@bp.post("/_sandbox/drawings/settings")
def control_settings():
    """{project_id, drawings_by_area}: Procore's "Enable Drawings by Area" setting."""
    data, s, project, _a = _control()
    row = svc.set_drawings_by_area(s, project, bool(data.get("drawings_by_area")))
    return json_response({"project_id": project.id, "drawings_by_area": row.drawings_by_area})


@bp.post("/_sandbox/drawings/review")
def control_review():
    """{project_id, revision_id, number?, title?, discipline?, login?}: the review step of
    Procore's web app (no API): a "pending review" revision becomes "unpublished"."""
    data, s, project, who = _control()
    r = rsvc.get_revision(s, project, data.get("revision_id"))
    r = rsvc.review_revision(s, project, who, r, number=data.get("number"),
                            title=data["title"] if "title" in data else svc.UNSET,
                            discipline_name=data.get("discipline"))
    return json_response(revision_json(r, Lookup(s, project.id)))


@bp.post("/_sandbox/drawings/publish")
def control_publish():
    """{project_id, revision_id, login?}: publish one revision as in Procore's web app."""
    data, s, project, who = _control()
    r = rsvc.publish_revision(s, project, who, rsvc.get_revision(s, project, data.get("revision_id")))
    return json_response(revision_json(r, Lookup(s, project.id)))
