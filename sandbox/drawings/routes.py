"""Drawings tool REST views, part 1: drawing areas, disciplines, sets and drawings.
(Revisions, uploads, publish and downloads are in drawings/revisions.py.)

Permissions (Drawings tool level; stricter reading): reads need >= Read Only, every
mutation needs Admin. Non-admins see published revisions only, and in drawing lists
only drawings that have a current (published) revision.
Request bodies follow the OAS exactly per endpoint (e.g. POST drawing_areas and
drawing_sets take top-level fields, PATCH drawing_sets takes ``drawing_set:{...}``).
"""
from __future__ import annotations

from flask import Blueprint, g, request
from sqlalchemy import func, select

from . import service as svc
from ..core.api import (ADMIN, READ_ONLY, ApiError, actor, int_arg, json_response, paginate_list, project_for,
                  request_data, require_auth, tool_level)
from ..core.db import current_session
from .models import PUBLISHED, Drawing, DrawingArea, DrawingRevision
from .serial import (Lookup, area_json, area_v10_json, discipline_json, drawing_json, drawing_short_json,
                              set_json, visible)
from ..core.models import Project
from ..core.params import id_list, parse_bool

bp = Blueprint("drawings", __name__)


def project_of(project_id: int, level=READ_ONLY) -> Project:
    return project_for(project_id, tool="drawings", level=level)


def is_admin(project: Project) -> bool:
    return tool_level(g.user.id, project, "drawings") >= ADMIN


def body() -> dict:
    return request_data()


def sub(data: dict, key: str) -> dict:
    obj = data.get(key)
    if not isinstance(obj, dict) or not obj:
        raise ApiError(400, f"param is missing or the value is empty: {key}")
    return obj


def _view(allowed: set, default: str = "normal") -> str:
    v = request.args.get("view", default)
    if v not in allowed | {default}:
        raise ApiError(400, f"view must be one of {sorted(allowed)}")
    return v


# --- drawing areas --------------------------------------------------------------------------

def _visible_counts(s, project, admin: bool) -> dict:
    if admin:
        return svc.area_drawing_counts(s, project)
    return dict(s.execute(select(DrawingRevision.area_id, func.count(func.distinct(DrawingRevision.drawing_id)))
                          .join(Drawing, Drawing.id == DrawingRevision.drawing_id)
                          .where(DrawingRevision.project_id == project.id, DrawingRevision.current.is_(True),
                                 Drawing.deleted_at.is_(None)).group_by(DrawingRevision.area_id)).all())


@bp.get("/rest/v1.1/projects/<int:project_id>/drawing_areas")
@require_auth()
def list_areas(project_id):
    project = project_of(project_id)
    s = current_session()
    view = _view({"compact", "extended", "only_ids", "mfe"})
    areas = svc.areas_of(s, project)
    n_areas, all_counts = len(areas), svc.area_drawing_counts(s, project)
    ids = id_list("filters[id]", "filters[id][]")
    if ids is not None:
        areas = [a for a in areas if a.id in ids]
    counts = _visible_counts(s, project, is_admin(project))
    latest = dict(s.execute(select(DrawingRevision.area_id, func.max(DrawingRevision.updated_at)).where(
        DrawingRevision.project_id == project.id).group_by(DrawingRevision.area_id)).all()) if view == "mfe" else {}
    page = paginate_list(areas)
    return json_response([area_json(a, counts.get(a.id, 0), n_areas > 1 and not all_counts.get(a.id), view,
                                    latest.get(a.id)) for a in page])


@bp.get("/rest/v1.0/projects/<int:project_id>/drawing_areas")
@require_auth()
def list_areas_v10(project_id):
    """v1.0 adds drawing_sets[] (sets with revisions in the area) and drawing_disciplines[]
    (disciplines of the area's drawings), and names the flag ``area_deletable``."""
    project = project_of(project_id)
    s = current_session()
    admin = is_admin(project)
    lk = Lookup(s, project.id)
    counts = _visible_counts(s, project, admin)
    revs = [r for r in s.scalars(select(DrawingRevision).where(DrawingRevision.project_id == project.id))
            if visible(r, admin)]
    areas = svc.areas_of(s, project)
    out = []
    for a in paginate_list(areas):
        per_set: dict = {}
        for r in revs:
            if r.area_id == a.id:
                per_set[r.set_id] = per_set.get(r.set_id, 0) + 1
        sets = sorted(((lk.sets[k], n) for k, n in per_set.items() if k in lk.sets), key=lambda t: t[0].position)
        disc_ids = {d.discipline_id for d in lk.drawings.values() if d.area_id == a.id and d.deleted_at is None}
        discs = sorted((lk.disciplines[i] for i in disc_ids if i in lk.disciplines), key=lambda d: d.position)
        out.append(area_v10_json(a, counts.get(a.id, 0), svc.area_deletable(s, project, a), sets, discs))
    return json_response(out)


def _area_body() -> dict:
    data = body()
    return {k: data[k] for k in ("name", "description") if k in data}


@bp.post("/rest/v1.1/projects/<int:project_id>/drawing_areas")
@bp.post("/rest/v1.0/projects/<int:project_id>/drawing_areas")
@require_auth()
def create_area(project_id):
    project = project_of(project_id, ADMIN)
    data = _area_body()
    a = svc.create_area(current_session(), project, actor(), data.get("name"), data.get("description"))
    return json_response({"id": a.id, "name": a.name, "description": a.description}, 201)


@bp.patch("/rest/v1.1/projects/<int:project_id>/drawing_areas/<int:area_id>")
@bp.patch("/rest/v1.0/projects/<int:project_id>/drawing_areas/<int:area_id>")
@require_auth()
def update_area(project_id, area_id):
    project = project_of(project_id, ADMIN)
    s, data = current_session(), _area_body()
    a = svc.update_area(s, project, svc.get_area(s, project, area_id), actor(), name=data.get("name"),
                        description=data["description"] if "description" in data else svc.UNSET)
    return json_response({"id": a.id, "name": a.name, "description": a.description})


@bp.delete("/rest/v1.1/projects/<int:project_id>/drawing_areas/<int:area_id>")
@bp.delete("/rest/v1.0/projects/<int:project_id>/drawing_areas/<int:area_id>")
@require_auth()
def delete_area(project_id, area_id):
    project = project_of(project_id, ADMIN)
    s = current_session()
    svc.delete_area(s, project, svc.get_area(s, project, area_id), actor())
    return json_response({"id": area_id, "success": True})


# --- drawing disciplines --------------------------------------------------------------------

@bp.get("/rest/v1.1/projects/<int:project_id>/drawing_disciplines")
@require_auth()
def list_disciplines(project_id):
    project = project_of(project_id)
    view = _view({"only_ids"})
    items = svc.disciplines_of(current_session(), project)
    ids = id_list("filters[id]", "filters[id][]")
    if ids is not None:
        items = [d for d in items if d.id in ids]
    page = paginate_list(items)
    return json_response([{"id": d.id} if view == "only_ids" else discipline_json(d) for d in page])


@bp.get("/rest/v1.0/projects/<int:project_id>/drawing_disciplines")
@require_auth()
def list_disciplines_v10(project_id):
    project = project_of(project_id)
    return json_response([discipline_json(d) for d in svc.disciplines_of(current_session(), project)])


@bp.patch("/rest/v1.1/projects/<int:project_id>/drawing_disciplines/<int:discipline_id>")
@bp.patch("/rest/v1.0/projects/<int:project_id>/drawing_disciplines/<int:discipline_id>")
@require_auth()
def rename_discipline(project_id, discipline_id):
    project = project_of(project_id, ADMIN)
    s = current_session()
    d = next((x for x in svc.disciplines_of(s, project) if x.id == discipline_id), None)
    if d is None:
        raise ApiError(404, "Drawing discipline not found")
    d = svc.rename_discipline(s, project, d, actor(), body().get("name"))
    return json_response({"id": d.id, "name": d.name, "position": d.position})


# --- drawing sets ---------------------------------------------------------------------------

@bp.get("/rest/v1.0/projects/<int:project_id>/drawing_sets")
@require_auth()
def list_sets(project_id):
    """published/unpublished_drawings_count are null unless drawing_area_id is given (OAS)."""
    project = project_of(project_id)
    s, a = current_session(), request.args
    admin = is_admin(project)
    area_id = int_arg("drawing_area_id", required=False)
    if area_id is not None:
        svc.get_area(s, project, area_id)
    lk = Lookup(s, project.id)
    revs = [r for r in s.scalars(select(DrawingRevision).where(DrawingRevision.project_id == project.id))
            if visible(r, admin)]
    sets = sorted(lk.sets.values(), key=lambda d: (d.position, d.id))
    if area_id is not None:
        sets = [d for d in sets if any(r.set_id == d.id and r.area_id == area_id for r in revs)]
    if "filters[exclude_empty_sets]" in a and parse_bool(a["filters[exclude_empty_sets]"],
                                                         "filters[exclude_empty_sets]"):
        sets = [d for d in sets if any(r.set_id == d.id for r in revs)]
    if "filters[only_attachable_sets]" in a and parse_bool(a["filters[only_attachable_sets]"],
                                                           "filters[only_attachable_sets]"):
        sets = [d for d in sets if any(r.set_id == d.id and r.status == PUBLISHED for r in revs)]
    out = []
    for d in paginate_list(sets):
        pub = unpub = None
        if area_id is not None:
            mine = [r for r in revs if r.set_id == d.id and r.area_id == area_id]
            pub = sum(1 for r in mine if r.status == PUBLISHED)
            unpub = len(mine) - pub
        out.append(set_json(d, project.company_id, pub, unpub))
    return json_response(out)


@bp.post("/rest/v1.0/projects/<int:project_id>/drawing_sets")
@require_auth()
def create_set(project_id):
    project = project_of(project_id, ADMIN)
    data = body()
    d = svc.create_set(current_session(), project, actor(), data.get("name"), data.get("date"))
    return json_response(set_json(d, project.company_id), 201)


@bp.patch("/rest/v1.0/projects/<int:project_id>/drawing_sets/<int:set_id>")
@require_auth()
def update_set(project_id, set_id):
    project = project_of(project_id, ADMIN)
    obj = sub(body(), "drawing_set")
    s = current_session()
    d = svc.update_set(s, project, svc.get_set(s, project, set_id), actor(), name=obj.get("name"),
                       date_=obj["date"] if "date" in obj else svc.UNSET)
    return json_response(set_json(d, project.company_id))


@bp.delete("/rest/v1.0/projects/<int:project_id>/drawing_sets/<int:set_id>")
@require_auth()
def delete_set(project_id, set_id):
    project = project_of(project_id, ADMIN)
    s = current_session()
    svc.delete_set(s, project, svc.get_set(s, project, set_id), actor())
    return "", 200


# --- drawings -------------------------------------------------------------------------------

def area_project(area_id: int, level=READ_ONLY) -> tuple[DrawingArea, Project]:
    s = current_session()
    area = s.get(DrawingArea, area_id)
    if area is None:
        raise ApiError(404, "Drawing area not found")
    project = project_of(area.project_id, level)
    pid = int_arg("project_id", required=False)
    if pid is not None and pid != project.id:
        raise ApiError(404, "Drawing area not found")
    return area, project


def _list_drawings(area_id, v11: bool):
    area, project = area_project(area_id)
    s, a = current_session(), request.args
    admin = is_admin(project)
    view = _view({"compact", "extended", "with_revisions"}) if v11 else "normal"
    lk = Lookup(s, project.id)
    revs: dict = {}
    for r in s.scalars(select(DrawingRevision).where(DrawingRevision.area_id == area.id)):
        if visible(r, admin):
            revs.setdefault(r.drawing_id, []).append(r)
    drawings = [d for d in lk.drawings.values() if d.area_id == area.id and d.deleted_at is None]
    current = {d.id: next((r for r in revs.get(d.id, []) if r.current), None) for d in drawings}
    if not admin:
        drawings = [d for d in drawings if current[d.id] is not None]
    if v11 and a.get("filters[drawing_discipline_id]"):
        did = int_arg("filters[drawing_discipline_id]")
        drawings = [d for d in drawings if d.discipline_id == did]
    if v11 and a.get("filters[drawing_set_id]"):
        if a["filters[drawing_set_id]"] == "current_set":
            drawings = [d for d in drawings if current[d.id] is not None]
        else:
            sid = int_arg("filters[drawing_set_id]")
            drawings = [d for d in drawings if any(r.set_id == sid for r in revs.get(d.id, []))]

    def order(d):
        disc = lk.disciplines.get(d.discipline_id)
        return (disc.position if disc else 10**6, d.number.lower(), d.id)
    drawings.sort(key=order)
    page = paginate_list(drawings)
    return json_response([drawing_json(d, lk, current[d.id], view,
                                       sorted(revs.get(d.id, []), key=lambda r: (r.created_at, r.id)))
                          for d in page])


@bp.get("/rest/v1.1/drawing_areas/<int:area_id>/drawings")
@require_auth()
def list_drawings(area_id):
    return _list_drawings(area_id, True)


@bp.get("/rest/v1.0/drawing_areas/<int:area_id>/drawings")
@require_auth()
def list_drawings_v10(area_id):
    return _list_drawings(area_id, False)


def _discipline_name(data: dict, obj: dict):
    disc = obj.get("drawing_discipline") if isinstance(obj.get("drawing_discipline"), dict) \
        else data.get("drawing_discipline")  # OAS nests it in drawing; the tutorial names it top-level
    return disc.get("name") if isinstance(disc, dict) else None


@bp.post("/rest/v1.1/drawing_areas/<int:area_id>/drawings")
@require_auth()
def create_drawing(area_id):
    area, project = area_project(area_id, ADMIN)
    data = body()
    obj = sub(data, "drawing")
    disc = _discipline_name(data, obj)
    if not disc:
        raise ApiError(422, "drawing_discipline name can't be blank",
                       body={"errors": {"drawing_discipline": ["can't be blank"]}})
    s = current_session()
    d = svc.create_drawing(s, project, actor(), area, number=obj.get("number"), discipline_name=disc,
                           title=obj.get("title"), sheet_number=obj.get("sheet_number"))
    return json_response(drawing_short_json(d, Lookup(s, project.id)), 201)


@bp.patch("/rest/v1.1/drawing_areas/<int:area_id>/drawings/<int:drawing_id>")
@bp.patch("/rest/v1.0/drawing_areas/<int:area_id>/drawings/<int:drawing_id>")
@require_auth()
def update_drawing(area_id, drawing_id):
    area, project = area_project(area_id, ADMIN)
    data = body()
    obj = sub(data, "drawing")
    s = current_session()
    d = svc.get_drawing(s, project, drawing_id, area=area)
    obsolete = parse_bool(obj["obsolete"], "obsolete", 422) if obj.get("obsolete") is not None else None
    d = svc.update_drawing(s, project, d, actor(), number=obj.get("number"),
                           title=obj["title"] if "title" in obj else svc.UNSET, obsolete=obsolete,
                           discipline_name=_discipline_name(data, obj),
                           sheet_number=obj["sheet_number"] if "sheet_number" in obj else svc.UNSET)
    return json_response(drawing_short_json(d, Lookup(s, project.id)))
