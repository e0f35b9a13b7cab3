"""Drawings service layer, part 2: revisions (add / update / review / publish / delete),
the "one current revision per drawing" rule, and drawing uploads.

Part 1 (settings, areas, disciplines, sets, drawings) is drawings/service.py; both modules
follow the same conventions: ``(session, project, actor, ...)``, ``ApiError`` on errors,
one ``record_change`` per change, permission checks left to the caller.

Revision life cycle (status enum is a sandbox choice, see drawings/models.py):
  upload with drawing_id, 1-page PDF -> "unpublished" (auto-assigned, no review)
  upload without drawing_id / multi-page -> "pending review" (review in the UI: review_revision)
  publish -> "published"; the most recently published revision of a drawing is its only
  ``current`` one, older ones are not current.
"""
from __future__ import annotations

import functools
import os
import re

from sqlalchemy import func, select

from ..core import clock
from ..core.api import Actor, ApiError
from .models import (PENDING_REVIEW, PUBLISHED, UNPUBLISHED, Drawing, DrawingArea, DrawingLogImport,
                              DrawingRevision, DrawingSet, DrawingUpload)
from .service import (RES_DRAWINGS, RES_REVISIONS, RES_UPLOADS, UNSET, _event, _guess_discipline, _int,
                               _invalid, create_drawing, delete_drawing, drawings_by_area, get_drawing, get_set,
                               parse_date, resolve_area, update_drawing)
from ..core.models import Project
from ..photos.media import make_png
from ..core.storage import blob_path, put_bytes


# --- revisions --------------------------------------------------------------------------------

def pdf_pages(sha256: str, size: int) -> int:
    """Validate PDF magic bytes (422 otherwise) and count pages (best effort, >= 1)."""
    try:
        with open(blob_path(sha256), "rb") as fh:
            data = fh.read(min(size, 32 * 1024 * 1024) if size else 1024)
    except OSError:
        data = b""
    if not data.startswith(b"%PDF"):
        raise ApiError(422, "Drawing uploads must be PDF files",
                       body={"errors": {"drawing_log_imports": ["upload must be a PDF file"]}})
    return max(1, len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)))


@functools.lru_cache(maxsize=512)
def _png_bytes(label: str) -> bytes:
    h = sum(label.encode("utf-8")) % 200
    return make_png(64, 48, lambda x, y: (255 if x in (0, 63) or y in (0, 47) else 240 - h // 4,
                                          240 - (x * 3) % 60, 200 + (h % 50)), text=label)


def _render_png(label: str) -> tuple[str, int, int, int]:
    """A stand-in rendering of a sheet (Procore rasterises the PDF): 64x48 PNG."""
    sha, size = put_bytes(_png_bytes(label))
    return sha, size, 64, 48


def _check_revision_unique(s, drawing_id, revision_number, set_id, drawing_date, received_date, exclude_id=None):
    # DOC /tutorial-direct-drawing-uploads: "If the revision number already exists for the Drawing,
    # one of the following must be unique: Drawing Set, Drawing Date or Received Date."
    q = select(DrawingRevision).where(DrawingRevision.drawing_id == drawing_id,
                                      DrawingRevision.revision_number == revision_number,
                                      DrawingRevision.set_id == set_id, DrawingRevision.deleted_at.is_(None))
    for r in s.scalars(q):
        if r.id != exclude_id and r.drawing_date == drawing_date and r.received_date == received_date:
            raise _invalid("revision_number", "already exists for this drawing in this set with the same dates")


def recompute_current(s, project: Project, drawing: Drawing, actor: Actor | None = None) -> None:
    """Exactly one current revision per drawing: the most recently published one.
    With an actor, records updates for the drawing and every revision whose flag changed."""
    revs = list(s.scalars(select(DrawingRevision).where(DrawingRevision.drawing_id == drawing.id)))
    live = [r for r in revs if r.status == PUBLISHED and r.deleted_at is None]
    newest = max(live, key=lambda r: (r.published_at or 0, r.id)) if live else None
    changed = []
    for r in revs:
        flag = r is newest
        if r.current != flag:
            r.current = flag
            r.updated_at = clock.now()
            changed.append(r)
    if changed:
        drawing.updated_at = clock.now()
        if actor is not None:
            _event(project, RES_DRAWINGS, "update", drawing.id, actor)
            for r in changed:
                _event(project, RES_REVISIONS, "update", r.id, actor)


def add_revision(s, project: Project, actor: Actor, drawing: Drawing, *, sha256: str, size: int, set_id: int,
                 revision_number, drawing_date=None, received_date=None, filename=None, status=UNPUBLISHED,
                 upload: DrawingUpload | None = None, import_id=None) -> DrawingRevision:
    """New revision of ``drawing`` from stored PDF content (``storage.put_bytes``).
    ``status=PUBLISHED`` publishes it at once (seeding / UI)."""
    pdf_pages(sha256, size)
    dset = get_set(s, project, set_id, field="drawing_set_id")
    rev_no = str(revision_number) if revision_number not in (None, "") else None
    dd, rd = parse_date(drawing_date, "drawing_date"), parse_date(received_date, "received_date")
    _check_revision_unique(s, drawing.id, rev_no, dset.id, dd, rd)
    png_sha, png_size, w, h = _render_png(f"{drawing.number} rev {rev_no}")
    now = clock.now()
    r = DrawingRevision(project_id=project.id, drawing_id=drawing.id, area_id=drawing.area_id, set_id=dset.id,
                        upload_id=upload.id if upload else None, import_id=import_id, revision_number=rev_no,
                        status=status if status != PUBLISHED else UNPUBLISHED, drawing_date=dd, received_date=rd,
                        filename=filename, pdf_sha256=sha256, pdf_size=size, png_sha256=png_sha, png_size=png_size,
                        width=w, height=h, available_at=upload.ready_at if upload else 0.0, created_at=now,
                        updated_at=now, created_by_id=actor.user_id)
    s.add(r)
    s.flush()
    _event(project, RES_REVISIONS, "create", r.id, actor)
    if status == PUBLISHED:
        _publish(s, project, actor, [r])
    return r


def get_revision(s, project: Project, revision_id, include_deleted=False) -> DrawingRevision:
    r = s.get(DrawingRevision, revision_id) if revision_id not in (None, "") else None
    if r is None or r.project_id != project.id or (r.deleted_at is not None and not include_deleted) \
            or r.available_at > clock.now():
        raise ApiError(404, "Drawing revision not found")
    return r


def update_revision(s, project: Project, revision: DrawingRevision, actor: Actor, *, drawing_date=UNSET,
                    received_date=UNSET, revision_number=UNSET, set_id=None, drawing_id=None) -> DrawingRevision:
    """PATCH drawing_revision. ``drawing_id`` re-assigns it to another drawing of the same area
    (an emptied placeholder drawing is deleted). Status is unchanged."""
    if revision.deleted_at is not None:
        raise ApiError(404, "Drawing revision not found")
    old_drawing = s.get(Drawing, revision.drawing_id)
    if drawing_date is not UNSET:
        revision.drawing_date = parse_date(drawing_date, "drawing_date")
    if received_date is not UNSET:
        revision.received_date = parse_date(received_date, "received_date")
    if revision_number is not UNSET:
        revision.revision_number = str(revision_number) if revision_number not in (None, "") else None
    if set_id not in (None, ""):
        revision.set_id = get_set(s, project, _int(set_id, "drawing_set_id"), field="drawing_set_id").id
    target = old_drawing
    if drawing_id not in (None, ""):
        target = get_drawing(s, project, _int(drawing_id, "drawing_id"), field="drawing_id")
        if target.area_id != revision.area_id:
            raise _invalid("drawing_id", "belongs to another drawing area")
        revision.drawing_id = target.id
    _check_revision_unique(s, revision.drawing_id, revision.revision_number, revision.set_id,
                           revision.drawing_date, revision.received_date, exclude_id=revision.id)
    revision.updated_at = clock.now()
    _event(project, RES_REVISIONS, "update", revision.id, actor)
    if target is not old_drawing:
        recompute_current(s, project, target, actor)
        recompute_current(s, project, old_drawing, actor)
        _drop_if_empty_placeholder(s, project, old_drawing, actor)
    return revision


def _drop_if_empty_placeholder(s, project, drawing: Drawing, actor: Actor):
    left = s.scalars(select(DrawingRevision.id).where(DrawingRevision.drawing_id == drawing.id,
                                                      DrawingRevision.deleted_at.is_(None)).limit(1)).first()
    if left is None and drawing.deleted_at is None and drawing.upload_id is not None:
        delete_drawing(s, project, drawing, actor)


def review_revision(s, project: Project, actor: Actor, revision: DrawingRevision, *, number=None, title=UNSET,
                    discipline_name=None) -> DrawingRevision:
    """What an Admin does in Procore's review screen (no API): confirm number/title/discipline of a
    "pending review" revision; it becomes "unpublished" (ready to publish)."""
    if revision.status != PENDING_REVIEW:
        raise ApiError(422, "Only revisions pending review can be reviewed")
    drawing = s.get(Drawing, revision.drawing_id)
    if number is not None or title is not UNSET or discipline_name:
        update_drawing(s, project, drawing, actor, number=number, title=title, discipline_name=discipline_name)
    revision.status, revision.updated_at = UNPUBLISHED, clock.now()
    _event(project, RES_REVISIONS, "update", revision.id, actor)
    return revision


def _publish(s, project, actor, revisions: list[DrawingRevision]) -> None:
    now = clock.now()
    drawings = {}
    for r in revisions:
        r.status, r.published_at, r.updated_at = PUBLISHED, now, now
        drawings[r.drawing_id] = s.get(Drawing, r.drawing_id)
    s.flush()
    for r in revisions:
        _event(project, RES_REVISIONS, "update", r.id, actor)
    for d in drawings.values():
        recompute_current(s, project, d, actor)


def publish_revision(s, project: Project, actor: Actor, revision: DrawingRevision) -> DrawingRevision:
    """Publish one revision (sandbox UI; publishing from the UI also counts as its review).
    It becomes the drawing's current revision; the previous current one is no longer current."""
    if revision.deleted_at is not None or revision.available_at > clock.now():
        raise ApiError(404, "Drawing revision not found")
    if revision.status == PUBLISHED:
        raise ApiError(422, "Drawing revision is already published")
    _publish(s, project, actor, [revision])
    return revision


def publish_set(s, project: Project, actor: Actor, set_id, area_id=None) -> tuple[list[DrawingRevision], list[str]]:
    """POST drawing_revisions/publish: publish every reviewed ("unpublished") revision of the set
    (in the area). Revisions still pending review are skipped and reported in ``errors``."""
    dset = get_set(s, project, _int(set_id, "drawing_set_id"), field="drawing_set_id")
    area = resolve_area(s, project, area_id) if area_id not in (None, "") or drawings_by_area(s, project) else None
    q = select(DrawingRevision).where(DrawingRevision.project_id == project.id, DrawingRevision.set_id == dset.id,
                                      DrawingRevision.deleted_at.is_(None),
                                      DrawingRevision.available_at <= clock.now(),
                                      DrawingRevision.status != PUBLISHED)
    if area is not None:
        q = q.where(DrawingRevision.area_id == area.id)
    todo, errors = [], []
    for r in s.scalars(q.order_by(DrawingRevision.id)):
        if r.status == PENDING_REVIEW:
            errors.append(f"Drawing revision {r.id} needs a review in Procore before it can be published")
        else:
            todo.append(r)
    if todo:
        _publish(s, project, actor, todo)
    return todo, errors


def delete_revision(s, project: Project, revision: DrawingRevision, actor: Actor) -> None:
    now = clock.now()
    revision.deleted_at, revision.updated_at = now, now
    _event(project, RES_REVISIONS, "delete", revision.id, actor)
    recompute_current(s, project, s.get(Drawing, revision.drawing_id), actor)


# --- drawing uploads ---------------------------------------------------------------------------

def _from_filename(filename: str | None) -> tuple[str, str | None]:
    stem = os.path.splitext(os.path.basename((filename or "").replace("\\", "/")))[0].strip()
    if not stem:
        return "Sin número", None
    parts = stem.split(None, 1)
    return parts[0], (parts[1] if len(parts) > 1 else stem)


def create_drawing_upload(s, project: Project, actor: Actor, *, area: DrawingArea, dset: DrawingSet,
                          imports: list[dict], idempotency_token: str | None = None,
                          get_info_from_filename: bool = False,
                          drawing_number_contains_revision: bool = False,
                          processing_seconds: float = 0.0) -> tuple[DrawingUpload, bool]:
    """Create a drawing upload from stored PDFs. ``imports``: dicts with ``sha256, size,
    filename, drawing_date, received_date, default_revision, drawing_id``.
    Returns (upload, created); created=False for a repeated Idempotency-Token.

    With ``drawing_id`` (and a 1-page PDF) the revision is auto-assigned to that drawing as
    "unpublished"; otherwise number/title come from the file name (the sandbox's stand-in
    for OCR; an existing drawing with that number gets the revision) and it is "pending review".
    """
    if idempotency_token:
        old = s.scalars(select(DrawingUpload).where(DrawingUpload.project_id == project.id,
                                                    DrawingUpload.idempotency_token == idempotency_token)).first()
        if old is not None:
            return old, False
    if not imports:
        raise _invalid("drawing_log_imports", "can't be blank")
    now = clock.now()
    up = DrawingUpload(project_id=project.id, company_id=project.company_id, area_id=area.id, set_id=dset.id,
                       created_by_id=actor.user_id, idempotency_token=idempotency_token,
                       get_info_from_filename=bool(get_info_from_filename),
                       drawing_number_contains_revision=bool(drawing_number_contains_revision),
                       created_at=now, updated_at=now, ready_at=now + max(0.0, processing_seconds or 0.0))
    s.add(up)
    s.flush()
    _event(project, RES_UPLOADS, "create", up.id, actor)
    for imp in imports:
        pages = pdf_pages(imp["sha256"], imp["size"])
        dd = parse_date(imp.get("drawing_date"), "drawing_date")
        rd = parse_date(imp.get("received_date"), "received_date")
        drawing_id = imp.get("drawing_id")
        li = DrawingLogImport(upload_id=up.id, filename=imp.get("filename"), set_id=dset.id, drawing_date=dd,
                              received_date=rd, default_revision=imp.get("default_revision"),
                              drawing_id=_int(drawing_id, "drawing_id") if drawing_id not in (None, "") else None)
        s.add(li)
        s.flush()
        if li.drawing_id is not None:
            drawing = get_drawing(s, project, li.drawing_id, field="drawing_id")
            if drawing.area_id != area.id:
                raise _invalid("drawing_id", "belongs to another drawing area")
            # A multi-page PDF cannot be auto-assigned: "a review will be required" (DOC).
            status = UNPUBLISHED if pages == 1 else PENDING_REVIEW
        else:
            number, title = _from_filename(imp.get("filename"))
            drawing = s.scalars(select(Drawing).where(Drawing.area_id == area.id, Drawing.deleted_at.is_(None),
                                                      Drawing.number_key == number.lower())).first()
            if drawing is None:
                disc = _guess_discipline(s, project, number)
                drawing = create_drawing(s, project, actor, area, number=number, title=title,
                                         discipline_name=disc.name if disc else None)
                drawing.upload_id = up.id  # created by this upload (a placeholder until reviewed)
            status = PENDING_REVIEW
        rev_no = imp.get("default_revision")
        if rev_no in (None, ""):
            rev_no = str(s.scalar(select(func.count()).select_from(DrawingRevision).where(
                DrawingRevision.drawing_id == drawing.id, DrawingRevision.deleted_at.is_(None))))
        add_revision(s, project, actor, drawing, sha256=imp["sha256"], size=imp["size"], set_id=dset.id,
                     revision_number=rev_no, drawing_date=dd, received_date=rd, filename=imp.get("filename"),
                     status=status, upload=up, import_id=li.id)
    return up, True


def upload_status(s, up: DrawingUpload) -> str:
    """in_progress while processing; ready_for_review while a revision awaits review; else reviewed."""
    if clock.now() < up.ready_at:
        return "in_progress"
    pending = s.scalars(select(DrawingRevision.id).where(DrawingRevision.upload_id == up.id,
                                                         DrawingRevision.deleted_at.is_(None),
                                                         DrawingRevision.status == PENDING_REVIEW).limit(1)).first()
    return "ready_for_review" if pending else "reviewed"


def delete_drawing_upload(s, project: Project, up: DrawingUpload, actor: Actor) -> None:
    """OAS: "Delete an unreviewed Drawing Upload" (a reviewed one -> 422). Its unpublished
    revisions are deleted, and drawings it created that are left empty."""
    if upload_status(s, up) == "reviewed":
        raise ApiError(422, "Only unreviewed drawing uploads can be deleted",
                       body={"errors": {"base": ["Drawing upload has already been reviewed"]}})
    touched = {}
    for r in s.scalars(select(DrawingRevision).where(DrawingRevision.upload_id == up.id,
                                                     DrawingRevision.deleted_at.is_(None),
                                                     DrawingRevision.status != PUBLISHED)):
        r.deleted_at = r.updated_at = clock.now()
        _event(project, RES_REVISIONS, "delete", r.id, actor)
        touched[r.drawing_id] = s.get(Drawing, r.drawing_id)
    for d in touched.values():
        _drop_if_empty_placeholder(s, project, d, actor)
    s.delete(up)
    s.flush()
    _event(project, RES_UPLOADS, "delete", up.id, actor)
