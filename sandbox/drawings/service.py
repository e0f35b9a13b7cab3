"""Drawings service layer, part 1: settings, areas, disciplines, sets and drawings.
(Part 2, drawings/revision_service.py: revisions, publishing, drawing uploads.)

Called by the REST views (drawings/routes.py, drawings/revisions.py), the seeder, the control
API and the sandbox UI.  Signatures are ``(session, project, actor, ...)``; errors are
``ApiError``.  Permission checks are done by the callers (REST: Drawings Admin for every
mutation).  Events: "Drawing Areas", "Drawing Sets", "Drawings", "Drawing Uploads" and
"Drawing Revisions" (the last one is NOT confirmed by Procore; the sandbox emits it).

Revision life cycle (status enum is a sandbox choice, see drawings/models.py):
  upload with drawing_id, 1-page PDF -> "unpublished" (auto-assigned, no review)
  upload without drawing_id / multi-page -> "pending review" (review in the UI: review_revision)
  publish -> "published"; the most recently published revision of a drawing is its only
  ``current`` one, older ones are not current.
"""
from __future__ import annotations

import json
import re
from datetime import date

from sqlalchemy import func, select

from ..core import clock
from ..core.api import Actor, ApiError
from .models import (Drawing, DrawingArea, DrawingDiscipline,
                              DrawingRevision, DrawingSet, DrawingSettings)
from ..core.events import record_change
from ..core.models import Project

RES_DRAWINGS, RES_SETS, RES_AREAS = "Drawings", "Drawing Sets", "Drawing Areas"
RES_UPLOADS, RES_REVISIONS = "Drawing Uploads", "Drawing Revisions"  # the last one is unconfirmed
UNSET = object()
_CTRL = re.compile(r"[\x00-\x1f\x7f]")


def _event(project: Project, res: str, ev: str, rid: int, actor: Actor):
    record_change(project.id, project.company_id, res, ev, rid, actor.user_id, actor.application_id)


def _invalid(field: str, msg: str = "is invalid", status: int = 422):
    return ApiError(status, f"{field} {msg}", body={"errors": {field: [msg]}})


def clean_name(name, field: str = "name", maxlen: int = 255) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _invalid(field, "can't be blank")
    if _CTRL.search(name) or len(name) > maxlen:
        raise _invalid(field)
    return name.strip()


def parse_date(value, field: str) -> str | None:
    """"YYYY-MM-DD" or an ISO date-time -> "YYYY-MM-DD"; None/"" -> None; else 422."""
    if value in (None, ""):
        return None
    try:
        v = str(value).strip()
        return date.fromisoformat(v).isoformat() if len(v) == 10 else clock.iso(clock.parse_iso(v))[:10]
    except (ValueError, TypeError):
        raise _invalid(field) from None


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _invalid(field) from None


# --- settings and areas ---------------------------------------------------------------

def settings_of(s, project: Project) -> DrawingSettings:
    row = s.scalars(select(DrawingSettings).where(DrawingSettings.project_id == project.id)).first()
    if row is None:
        row = DrawingSettings(project_id=project.id, drawings_by_area=False)
        s.add(row)
        s.flush()
    return row


def drawings_by_area(s, project: Project) -> bool:
    return settings_of(s, project).drawings_by_area


def set_drawings_by_area(s, project: Project, enabled: bool) -> DrawingSettings:
    """Procore's "Enable Drawings by Area" project setting (UI only in Procore; no event)."""
    row = settings_of(s, project)
    row.drawings_by_area = bool(enabled)
    return row


def ensure_default_area(s, project: Project, name: str | None = None) -> DrawingArea:
    """Every project has at least one area (fact sheet). Without one, the sandbox creates
    the default area named after the PROJECT (open question 8: a sandbox choice), or ``name``."""
    areas = list(s.scalars(select(DrawingArea).where(DrawingArea.project_id == project.id)
                           .order_by(DrawingArea.id)))
    if areas:
        return next((a for a in areas if a.is_default), areas[0])
    now = clock.now()
    a = DrawingArea(project_id=project.id, name=name or project.name, is_default=True, created_at=now,
                    updated_at=now)
    s.add(a)
    s.flush()
    return a


def areas_of(s, project: Project) -> list[DrawingArea]:
    ensure_default_area(s, project)
    return list(s.scalars(select(DrawingArea).where(DrawingArea.project_id == project.id).order_by(DrawingArea.id)))


def get_area(s, project: Project, area_id, field: str | None = None) -> DrawingArea:
    a = s.get(DrawingArea, area_id) if area_id not in (None, "") else None
    if a is None or a.project_id != project.id:
        if field:
            raise _invalid(field)
        raise ApiError(404, "Drawing area not found")
    return a


def resolve_area(s, project: Project, area_id) -> DrawingArea:
    """``drawing_area_id`` of uploads/publish: required only with Drawings by Area on;
    otherwise the default area is used."""
    if area_id in (None, ""):
        if drawings_by_area(s, project):
            raise _invalid("drawing_area_id", "is required when Drawings by Area is enabled")
        return ensure_default_area(s, project)
    return get_area(s, project, _int(area_id, "drawing_area_id"), field="drawing_area_id")


def _area_name_taken(s, project, name, exclude_id=None) -> bool:
    q = select(DrawingArea.id).where(DrawingArea.project_id == project.id, DrawingArea.name_key == name.lower())
    if exclude_id:
        q = q.where(DrawingArea.id != exclude_id)
    return s.scalars(q.limit(1)).first() is not None


def create_area(s, project: Project, actor: Actor, name, description=None) -> DrawingArea:
    name = clean_name(name)
    ensure_default_area(s, project)
    if _area_name_taken(s, project, name):
        raise _invalid("name", "has already been taken")
    now = clock.now()
    a = DrawingArea(project_id=project.id, name=name, description=description, created_at=now, updated_at=now,
                    created_by_id=actor.user_id)
    s.add(a)
    s.flush()
    _event(project, RES_AREAS, "create", a.id, actor)
    return a


def update_area(s, project: Project, area: DrawingArea, actor: Actor, *, name=None, description=UNSET) -> DrawingArea:
    if name is not None:
        name = clean_name(name)
        if name.lower() != area.name.lower() and _area_name_taken(s, project, name, area.id):
            raise _invalid("name", "has already been taken")
        area.name = name
    if description is not UNSET:
        area.description = description
    area.updated_at = clock.now()
    _event(project, RES_AREAS, "update", area.id, actor)
    return area


def area_drawing_counts(s, project: Project) -> dict:
    return dict(s.execute(select(Drawing.area_id, func.count()).where(
        Drawing.project_id == project.id, Drawing.deleted_at.is_(None)).group_by(Drawing.area_id)).all())


def area_deletable(s, project: Project, area: DrawingArea) -> bool:
    """Deletable when it holds no drawing and is not the project's only area."""
    n_areas = s.scalar(select(func.count()).select_from(DrawingArea).where(DrawingArea.project_id == project.id))
    return n_areas > 1 and not area_drawing_counts(s, project).get(area.id)


def delete_area(s, project: Project, area: DrawingArea, actor: Actor) -> None:
    if not area_deletable(s, project, area):
        raise ApiError(422, "This drawing area has drawings or is the project's only area and cannot be deleted",
                       body={"errors": {"base": ["Drawing area cannot be deleted"]}})
    was_default = area.is_default
    s.delete(area)
    s.flush()
    if was_default:
        nxt = s.scalars(select(DrawingArea).where(DrawingArea.project_id == project.id)
                        .order_by(DrawingArea.id)).first()
        if nxt is not None:
            nxt.is_default = True
    _event(project, RES_AREAS, "delete", area.id, actor)


# --- disciplines ----------------------------------------------------------------------------

def disciplines_of(s, project: Project) -> list[DrawingDiscipline]:
    return list(s.scalars(select(DrawingDiscipline).where(DrawingDiscipline.project_id == project.id)
                          .order_by(DrawingDiscipline.position, DrawingDiscipline.id)))


def ensure_discipline(s, project: Project, name, abbreviations=()) -> DrawingDiscipline:
    """Find (case-insensitive) or create a discipline. No event: Procore has no discipline resource."""
    name = clean_name(name, "drawing_discipline")
    d = s.scalars(select(DrawingDiscipline).where(DrawingDiscipline.project_id == project.id,
                                                  DrawingDiscipline.name_key == name.lower())).first()
    if d is None:
        pos = s.scalar(select(func.max(DrawingDiscipline.position)).where(
            DrawingDiscipline.project_id == project.id)) or 0
        now = clock.now()
        d = DrawingDiscipline(project_id=project.id, name=name, position=pos + 1,
                              abbreviations=json.dumps(list(abbreviations) or [name[:1].upper()]),
                              created_at=now, updated_at=now)
        s.add(d)
        s.flush()
    return d


def rename_discipline(s, project: Project, discipline: DrawingDiscipline, actor: Actor, name) -> DrawingDiscipline:
    name = clean_name(name)
    clash = s.scalars(select(DrawingDiscipline.id).where(
        DrawingDiscipline.project_id == project.id, DrawingDiscipline.name_key == name.lower(),
        DrawingDiscipline.id != discipline.id)).first()
    if clash:
        raise _invalid("name", "has already been taken")
    discipline.name, discipline.updated_at = name, clock.now()
    return discipline


def _guess_discipline(s, project: Project, number: str) -> DrawingDiscipline | None:
    m = re.match(r"[A-Za-z]+", number or "")
    if not m:
        return None
    prefix = m.group(0).upper()
    for d in disciplines_of(s, project):
        if prefix in [a.upper() for a in json.loads(d.abbreviations or "[]")]:
            return d
    return None


# --- sets -----------------------------------------------------------------------------------

def get_set(s, project: Project, set_id, field: str | None = None) -> DrawingSet:
    d = s.get(DrawingSet, set_id) if set_id not in (None, "") else None
    if d is None or d.project_id != project.id:
        if field:
            raise _invalid(field)
        raise ApiError(404, "Drawing set not found")
    return d


def create_set(s, project: Project, actor: Actor, name, date_=None) -> DrawingSet:
    name = clean_name(name)
    pos = s.scalar(select(func.max(DrawingSet.position)).where(DrawingSet.project_id == project.id)) or 0
    now = clock.now()
    d = DrawingSet(project_id=project.id, name=name, date=parse_date(date_, "date"), position=pos + 1,
                   created_at=now, updated_at=now)
    s.add(d)
    s.flush()
    _event(project, RES_SETS, "create", d.id, actor)
    return d


def update_set(s, project: Project, dset: DrawingSet, actor: Actor, *, name=None, date_=UNSET) -> DrawingSet:
    if name is not None:
        dset.name = clean_name(name)
    if date_ is not UNSET:
        dset.date = parse_date(date_, "date")
    dset.updated_at = clock.now()
    _event(project, RES_SETS, "update", dset.id, actor)
    return dset


def delete_set(s, project: Project, dset: DrawingSet, actor: Actor) -> None:
    used = s.scalars(select(DrawingRevision.id).where(DrawingRevision.set_id == dset.id,
                                                      DrawingRevision.deleted_at.is_(None)).limit(1)).first()
    if used:
        # Stricter reading (Procore's rule is unknown): a set that still has revisions stays.
        raise ApiError(422, "This drawing set has drawing revisions and cannot be deleted",
                       body={"errors": {"base": ["Drawing set has drawing revisions"]}})
    s.delete(dset)
    s.flush()
    _event(project, RES_SETS, "delete", dset.id, actor)


# --- drawings -------------------------------------------------------------------------------

def get_drawing(s, project: Project, drawing_id, field: str | None = None, area: DrawingArea | None = None) -> Drawing:
    d = s.get(Drawing, drawing_id) if drawing_id not in (None, "") else None
    if d is None or d.project_id != project.id or d.deleted_at is not None or (area and d.area_id != area.id):
        if field:
            raise _invalid(field)
        raise ApiError(404, "Drawing not found")
    return d


def _number_taken(s, area_id, number, exclude_id=None) -> bool:
    q = select(Drawing.id).where(Drawing.area_id == area_id, Drawing.number_key == number.lower(),
                                 Drawing.deleted_at.is_(None))
    if exclude_id:
        q = q.where(Drawing.id != exclude_id)
    return s.scalars(q.limit(1)).first() is not None


def create_drawing(s, project: Project, actor: Actor, area: DrawingArea, *, number, discipline_name=None,
                   title=None, sheet_number=None, abbreviations=()) -> Drawing:
    """A drawing (placeholder until a revision is uploaded). Number unique per area
    (case-insensitive, stricter reading)."""
    number = clean_name(number, "number")
    if _number_taken(s, area.id, number):
        raise _invalid("number", "has already been taken")
    disc = ensure_discipline(s, project, discipline_name, abbreviations) if discipline_name else None
    now = clock.now()
    d = Drawing(project_id=project.id, area_id=area.id, number=number, title=title, sheet_number=sheet_number,
                discipline_id=disc.id if disc else None, created_at=now, updated_at=now, created_by_id=actor.user_id)
    s.add(d)
    s.flush()
    _event(project, RES_DRAWINGS, "create", d.id, actor)
    return d


def update_drawing(s, project: Project, drawing: Drawing, actor: Actor, *, number=None, title=UNSET,
                   obsolete=None, discipline_name=None, sheet_number=UNSET) -> Drawing:
    if number is not None:
        number = clean_name(number, "number")
        if number.lower() != drawing.number.lower() and _number_taken(s, drawing.area_id, number, drawing.id):
            raise _invalid("number", "has already been taken")
        drawing.number = number
    if title is not UNSET:
        drawing.title = title
    if sheet_number is not UNSET:
        drawing.sheet_number = sheet_number
    if obsolete is not None:
        drawing.obsolete = bool(obsolete)
    if discipline_name:
        drawing.discipline_id = ensure_discipline(s, project, discipline_name).id
    drawing.updated_at = clock.now()
    _event(project, RES_DRAWINGS, "update", drawing.id, actor)
    return drawing


def set_drawing_obsolete(s, project: Project, drawing: Drawing, actor: Actor, obsolete: bool = True) -> Drawing:
    return update_drawing(s, project, drawing, actor, obsolete=obsolete)


def delete_drawing(s, project: Project, drawing: Drawing, actor: Actor) -> None:
    """Delete a drawing and its revisions (they then show with filters[deleted])."""
    now = clock.now()
    for r in s.scalars(select(DrawingRevision).where(DrawingRevision.drawing_id == drawing.id,
                                                     DrawingRevision.deleted_at.is_(None))):
        r.deleted_at, r.current, r.updated_at = now, False, now
    drawing.deleted_at, drawing.updated_at = now, now
    _event(project, RES_DRAWINGS, "delete", drawing.id, actor)


# Part 2 (revisions, publishing, drawing uploads) lives in drawings/revision_service.py; its public
# functions are also reachable here (``drawings.service.publish_revision`` ...), resolved lazily to
# avoid a circular import.
_PART2 = {"pdf_pages", "recompute_current", "add_revision", "get_revision", "update_revision", "review_revision",
          "publish_revision", "publish_set", "delete_revision", "create_drawing_upload", "upload_status",
          "delete_drawing_upload"}


def __getattr__(name: str):
    if name in _PART2:
        from . import revision_service
        return getattr(revision_service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
