"""JSON shapes of the Drawings tool (fact sheet section 5; OAS Drawings reference)."""
from __future__ import annotations

import json

from sqlalchemy import select

from ..core import clock
from .models import (PENDING_REVIEW, PUBLISHED, Drawing, DrawingArea, DrawingDiscipline, DrawingLogImport,
                              DrawingRevision, DrawingSet, DrawingUpload)
from ..core.media_urls import media_url

TTL = "drawings_url_ttl"


def visible(r: DrawingRevision, admin: bool, with_deleted: bool = False) -> bool:
    """Non-admins see published revisions only (review/publish is an Admin task in Procore)."""
    if r.available_at > clock.now():
        return False  # still "processing"
    if r.deleted_at is not None and not with_deleted:
        return False
    return admin or r.status == PUBLISHED


class Lookup:
    """Project-wide maps of drawings, sets, areas and disciplines (small tables)."""

    def __init__(self, s, project_id: int):
        self.drawings = {d.id: d for d in s.scalars(select(Drawing).where(Drawing.project_id == project_id))}
        self.sets = {d.id: d for d in s.scalars(select(DrawingSet).where(DrawingSet.project_id == project_id))}
        self.areas = {a.id: a for a in s.scalars(select(DrawingArea).where(DrawingArea.project_id == project_id))}
        self.disciplines = {d.id: d for d in s.scalars(select(DrawingDiscipline).where(
            DrawingDiscipline.project_id == project_id))}
        self._order: dict[int, dict[int, int]] = {}
        self._s = s

    def order_in_drawing(self, r: DrawingRevision) -> int:
        if r.drawing_id not in self._order:
            revs = self._s.scalars(select(DrawingRevision).where(DrawingRevision.drawing_id == r.drawing_id,
                                                                 DrawingRevision.deleted_at.is_(None)))
            ordered = sorted(revs, key=lambda x: (x.created_at, x.id))
            self._order[r.drawing_id] = {x.id: i for i, x in enumerate(ordered, 1)}
        return self._order[r.drawing_id].get(r.id, 0)


def pdf_url(r: DrawingRevision) -> str:
    return media_url(f"/downloads/drawing_revisions/{r.id}/pdf", "drawing-pdf", r.id, TTL)


def png_url(r: DrawingRevision, variant: str = "png") -> str:
    return media_url(f"/downloads/drawing_revisions/{r.id}/{variant}", f"drawing-{variant}", r.id, TTL)


def discipline_json(d: DrawingDiscipline) -> dict:
    return {"id": d.id, "name": d.name, "position": d.position, "abbreviations": json.loads(d.abbreviations or "[]")}


def current_revision_json(r: DrawingRevision) -> dict:
    return {"id": r.id, "revision_number": r.revision_number, "pdf_url": pdf_url(r), "pdf_size": r.pdf_size,
            "png_url": png_url(r), "png_size": r.png_size, "thumbnail_url": png_url(r, "thumbnail"),
            "large_thumbnail_url": png_url(r, "large_thumbnail"), "floorplan": False,
            "has_drawing_sketches": False, "updated_at": clock.iso(r.updated_at)}


def drawing_json(d: Drawing, lk: Lookup, current: DrawingRevision | None, view: str = "normal",
                 revisions: list | None = None) -> dict:
    disc = lk.disciplines.get(d.discipline_id)
    out = {"id": d.id, "number": d.number, "drawing_number": d.number, "sheet_number": d.sheet_number,
           "title": d.title, "discipline": disc.name if disc else None, "obsolete": d.obsolete}
    if view == "compact":
        return out
    out["drawing_discipline_id"] = d.discipline_id
    out["current_revision"] = current_revision_json(current) if current else None
    if view == "with_revisions":
        out["revisions"] = [revision_json(r, lk) for r in (revisions or [])]
    return out


def drawing_short_json(d: Drawing, lk: Lookup) -> dict:
    """POST/PATCH drawings response (OAS)."""
    disc = lk.disciplines.get(d.discipline_id)
    return {"id": d.id, "number": d.number, "drawing_number": d.number, "sheet_number": d.sheet_number,
            "title": d.title, "obsolete": d.obsolete, "discipline": disc.name if disc else None}


def revision_json(r: DrawingRevision, lk: Lookup) -> dict:
    d = lk.drawings.get(r.drawing_id)
    disc = lk.disciplines.get(d.discipline_id) if d else None
    order = lk.order_in_drawing(r)
    return {
        "id": r.id, "drawing_id": r.drawing_id, "number": d.number if d else None,
        "drawing_number": d.number if d else None, "sheet_number": d.sheet_number if d else None,
        "title": d.title if d else None, "revision_number": r.revision_number, "current": r.current,
        "obsolete": bool(d and d.obsolete), "status": r.status,
        "drawing_date": r.drawing_date, "received_date": r.received_date,
        "drawing_set": {"id": r.set_id}, "drawing_area": {"id": r.area_id},
        "discipline": {"id": disc.id, "name": disc.name, "position": disc.position} if disc else None,
        "pdf_url": pdf_url(r), "pdf_size": r.pdf_size, "png_url": png_url(r), "png_size": r.png_size,
        "thumbnail_url": png_url(r, "thumbnail"), "large_thumbnail_url": png_url(r, "large_thumbnail"),
        "zip_url": None, "width": r.width, "height": r.height, "floorplan": False, "position": order,
        "order_in_drawing": order, "has_drawing_sketches": False, "drawing_sketches_count": 0,
        "has_public_markup_layer_elements": False, "connectability_outdated": False,
        "activity_stream_last_viewed_at": None, "updated_at": clock.iso(r.updated_at), "custom_fields": {},
    }


def revision_patch_json(r: DrawingRevision, lk: Lookup, ordered_ids: list[int]) -> dict:
    d = lk.drawings.get(r.drawing_id)
    return {"id": r.id, "drawing_date": r.drawing_date, "received_date": r.received_date,
            "revision_number": r.revision_number, "floorplan": False, "current": r.current,
            "drawing_id": r.drawing_id, "sheet_number": d.sheet_number if d else None,
            "drawing_set": {"id": r.set_id}, "ordered_revision_ids": ordered_ids, "custom_fields": {}}


def area_json(a: DrawingArea, count: int, deletable: bool, view: str = "normal", latest=None) -> dict:
    """v1.1 shape; ``latest_revision_update`` only in the mfe view (OAS)."""
    if view == "only_ids":
        return {"id": a.id}
    if view == "compact":
        return {"id": a.id, "name": a.name}
    out = {"id": a.id, "name": a.name, "drawings_count": count, "description": a.description,
           "created_at": clock.iso(a.created_at), "updated_at": clock.iso(a.updated_at), "deletable": deletable}
    if view == "mfe":
        out["latest_revision_update"] = clock.iso(latest or a.updated_at)
    return out


def area_v10_json(a: DrawingArea, count: int, deletable: bool, sets: list, disciplines: list) -> dict:
    return {"id": a.id, "name": a.name, "drawings_count": count, "description": a.description,
            "drawing_sets": [{"id": d.id, "project_id": d.project_id, "name": d.name,
                              "created_at": clock.iso(d.created_at), "updated_at": clock.iso(d.updated_at),
                              "date": d.date, "position": d.position, "drawing_revisions_count": n}
                             for d, n in sets],
            "drawing_disciplines": [{"id": d.id, "name": d.name, "position": d.position} for d in disciplines],
            "created_at": clock.iso(a.created_at), "updated_at": clock.iso(a.updated_at), "area_deletable": deletable}


def set_json(d: DrawingSet, company_id: int, published=None, unpublished=None) -> dict:
    return {"id": d.id, "project_id": d.project_id, "company_id": company_id, "name": d.name,
            "created_at": clock.iso(d.created_at), "updated_at": clock.iso(d.updated_at), "date": d.date,
            "position": d.position, "connected": False, "deletable": False,  # deprecated, always false
            "published_drawings_count": published, "unpublished_drawings_count": unpublished}


def upload_json(s, up: DrawingUpload, status: str, with_imports: bool = False) -> dict:
    out = {"id": up.id, "project_id": up.project_id, "company_id": up.company_id, "created_by_id": up.created_by_id,
           "created_at": clock.iso(up.created_at), "updated_at": clock.iso(up.updated_at),
           "error_email_sent": False, "notify_on_success": False, "deletion_in_progress": False,
           "success_email_sent": False, "drawing_area_id": up.area_id, "status": status,
           "pre_adaptive_complete": False, "drawing_number_contains_revision": up.drawing_number_contains_revision,
           "get_info_from_filename": up.get_info_from_filename, "language": None}
    if with_imports:
        out["drawing_log_imports"] = [
            {"id": i.id, "filename": i.filename, "drawing_set_id": i.set_id, "drawing_date": i.drawing_date,
             "received_date": i.received_date, "default_revision": i.default_revision, "drawing_id": i.drawing_id,
             "custom_fields": {}}
            for i in s.scalars(select(DrawingLogImport).where(DrawingLogImport.upload_id == up.id)
                               .order_by(DrawingLogImport.id))]
    return out


__all__ = ["visible", "Lookup", "pdf_url", "png_url", "discipline_json", "drawing_json", "drawing_short_json",
           "revision_json", "revision_patch_json", "area_json", "area_v10_json", "set_json", "upload_json",
           "PENDING_REVIEW"]
