"""Sandbox UI: the Drawings tool (areas -> disciplines -> drawings, revisions, upload, publish).

Levels follow drawings/routes.py: reading needs Drawings >= Read Only and every mutation Admin;
non-admins only see published revisions (and only drawings that have a current one).
An upload goes through ``create_drawing_upload`` exactly like the REST direct import
(events "Drawing Uploads" + "Drawing Revisions", and "Drawings" for a new drawing);
publishing uses ``publish_revision`` (the newest published revision becomes current).
"""
from __future__ import annotations

from collections import OrderedDict

from flask import request, send_file, url_for
from sqlalchemy import select

from ..drawings import service as svc

try:  # revisions, publishing and uploads (split out of drawings.service)
    from ..drawings import revision_service as rsvc
except ImportError:  # pragma: no cover - older layout
    rsvc = svc
from ..core.api import ApiError
from ..core.db import current_session
from ..documents.serial import users_map
from ..drawings.models import PENDING_REVIEW, PUBLISHED, Drawing, DrawingRevision, DrawingSet
from ..drawings.serial import Lookup, visible
from ..core.storage import blob_path, download_redirect, put_stream
from .routes import (ADMIN, READ_ONLY, Tab, action, bp, level_of, load_project, no_access_page, project_context,
                 register_tab, render_page, require_tab, ui_actor)

register_tab(Tab("drawings", "Planos", "ui.drawings", "drawings", requires="drawings"))

STATUS_LABELS = {PUBLISHED: "Publicada", "unpublished": "Sin publicar", PENDING_REVIEW: "Pendiente de revisión"}


@bp.before_request
def _drawings_available():
    if request.endpoint and request.endpoint.startswith("ui.drawing"):
        require_tab("drawings")


def _is_admin(project) -> bool:
    return level_of(project, "drawings") >= ADMIN


def _revisions(s, project, admin: bool, drawing_ids=None) -> dict[int, list[DrawingRevision]]:
    q = select(DrawingRevision).where(DrawingRevision.project_id == project.id, DrawingRevision.deleted_at.is_(None))
    if drawing_ids is not None:
        q = q.where(DrawingRevision.drawing_id.in_(list(drawing_ids)))
    out: dict[int, list[DrawingRevision]] = {}
    for r in s.scalars(q):
        if visible(r, admin):
            out.setdefault(r.drawing_id, []).append(r)
    for lst in out.values():  # newest first
        lst.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    return out


def _sets(s, project) -> list[DrawingSet]:
    return list(s.scalars(select(DrawingSet).where(DrawingSet.project_id == project.id)
                          .order_by(DrawingSet.position, DrawingSet.id)))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- pages ---------------------------------------------------------------------------

@bp.get("/projects/<int:project_id>/drawings")
def drawings(project_id):
    project = load_project(project_id)
    if level_of(project, "drawings") < READ_ONLY:
        return no_access_page(project, "drawings", "drawings")
    s = current_session()
    admin = _is_admin(project)
    areas = svc.areas_of(s, project)
    area = next((a for a in areas if a.id == _int(request.args.get("area"))), None) if request.args.get("area") \
        else svc.ensure_default_area(s, project)
    if area is None:
        raise ApiError(404, "Área de planos no encontrada.")
    lk = Lookup(s, project.id)
    rows = [d for d in lk.drawings.values() if d.area_id == area.id and d.deleted_at is None]
    revs = _revisions(s, project, admin, [d.id for d in rows])
    if not admin:
        rows = [d for d in rows if any(r.current for r in revs.get(d.id, []))]
    groups: OrderedDict = OrderedDict()
    def disc_key(d):
        disc = lk.disciplines.get(d.discipline_id)
        return (disc.position if disc else 10 ** 6, disc.name if disc else "", d.number.lower())
    for d in sorted(rows, key=disc_key):
        disc = lk.disciplines.get(d.discipline_id)
        groups.setdefault(disc.name if disc else "Sin disciplina", []).append(d)
    current = {d.id: next((r for r in revs.get(d.id, []) if r.current), None) for d in rows}
    pending = sorted((r for lst in revs.values() for r in lst if r.status != PUBLISHED),
                     key=lambda r: (r.created_at, r.id), reverse=True) if admin else []
    counts = svc.area_drawing_counts(s, project)
    return render_page("ui/drawings.html", areas=areas, area=area, groups=groups, current=current, revs=revs,
                       pending=pending, counts=counts, lk=lk, sets=_sets(s, project), status_labels=STATUS_LABELS,
                       all_drawings=sorted(rows, key=lambda d: d.number.lower()),
                       **project_context(project, "drawings"))


@bp.get("/projects/<int:project_id>/drawings/<int:drawing_id>")
def drawing_detail(project_id, drawing_id):
    project = load_project(project_id, "drawings", READ_ONLY, "ver planos")
    s = current_session()
    admin = _is_admin(project)
    d = svc.get_drawing(s, project, drawing_id)
    revs = _revisions(s, project, admin, [d.id]).get(d.id, [])
    if not admin and not any(r.current for r in revs):
        raise ApiError(404, "Plano no encontrado.")
    lk = Lookup(s, project.id)
    users = users_map(s, [r.created_by_id for r in revs])
    return render_page("ui/drawing.html", drawing=d, revisions=revs, lk=lk, users=users,
                       area=lk.areas.get(d.area_id), discipline=lk.disciplines.get(d.discipline_id),
                       sets=_sets(s, project), status_labels=STATUS_LABELS, **project_context(project, "drawings"))


def _revision_for_view(project, revision_id) -> DrawingRevision:
    s = current_session()
    r = rsvc.get_revision(s, project, revision_id)
    if not visible(r, _is_admin(project)):
        raise ApiError(404, "Revisión no encontrada.")
    return r


@bp.get("/projects/<int:project_id>/drawings/revisions/<int:revision_id>/pdf")
def drawing_pdf(project_id, revision_id):
    project = load_project(project_id, "drawings", READ_ONLY, "descargar planos")
    r = _revision_for_view(project, revision_id)
    d = current_session().get(Drawing, r.drawing_id)
    name = r.filename or f"{d.number} rev {r.revision_number or 0}.pdf"
    return download_redirect(r.pdf_sha256, name, "application/pdf")


@bp.get("/projects/<int:project_id>/drawings/revisions/<int:revision_id>/png")
def drawing_png(project_id, revision_id):
    project = load_project(project_id, "drawings", READ_ONLY, "ver planos")
    r = _revision_for_view(project, revision_id)
    return send_file(blob_path(r.png_sha256), mimetype="image/png", conditional=True, etag=r.png_sha256[:32],
                     max_age=300)


# --- actions -------------------------------------------------------------------------

def _back(project, default):
    nxt = request.form.get("next")
    return nxt if nxt and nxt.startswith("/ui/") else default


@bp.post("/projects/<int:project_id>/drawings/uploads")
def drawings_upload(project_id):
    """Upload PDF(s): a new revision of ``drawing_id`` or new drawings (number/title from the
    file name); ``publish=1`` publishes the new revisions at once."""
    project = load_project(project_id)
    f = request.form
    back = _back(project, url_for("ui.drawings", project_id=project.id, area=f.get("area_id") or None))
    publish = f.get("publish") == "1"

    def run():
        load_project(project_id, "drawings", ADMIN, "subir planos")
        s = current_session()
        drawing = svc.get_drawing(s, project, _int(f.get("drawing_id")), field="drawing_id") \
            if f.get("drawing_id") else None
        area = svc.get_area(s, project, drawing.area_id if drawing else _int(f.get("area_id")), field="drawing_area_id")
        new_set = (f.get("new_set") or "").strip()
        dset = svc.create_set(s, project, ui_actor(), new_set, f.get("drawing_date") or None) if new_set \
            else svc.get_set(s, project, _int(f.get("set_id")), field="drawing_set_id")
        files = [x for x in request.files.getlist("file") if x and x.filename]
        if not files:
            raise ApiError(422, "elige al menos un PDF")
        if drawing is not None:
            files = files[:1]  # one new revision of that drawing
        imports = []
        for fs in files:
            sha, size = put_stream(fs.stream)
            imports.append({"sha256": sha, "size": size, "filename": fs.filename,
                            "drawing_date": f.get("drawing_date") or None, "received_date": None,
                            "default_revision": (f.get("revision_number") or "").strip() or None,
                            "drawing_id": drawing.id if drawing else None})
        up, _created = rsvc.create_drawing_upload(s, project, ui_actor(), area=area, dset=dset, imports=imports)
        revs = list(s.scalars(select(DrawingRevision).where(DrawingRevision.upload_id == up.id)
                              .order_by(DrawingRevision.id)))
        if publish:
            for r in revs:
                rsvc.publish_revision(s, project, ui_actor(), r)
        return revs

    def ok(revs):
        s = current_session()
        names = ", ".join(f"{s.get(Drawing, r.drawing_id).number} rev {r.revision_number}" for r in revs)
        return f"Subido: {names}" + (" — publicado." if publish else " — pendiente de publicar.")
    return action(run, ok=ok, back=back, fail_prefix="No se pudo subir el plano")


@bp.post("/projects/<int:project_id>/drawings/revisions/<int:revision_id>/publish")
def drawings_publish(project_id, revision_id):
    project = load_project(project_id)

    def run():
        load_project(project_id, "drawings", ADMIN, "publicar planos")
        s = current_session()
        r = rsvc.publish_revision(s, project, ui_actor(), rsvc.get_revision(s, project, revision_id))
        return s.get(Drawing, r.drawing_id).number, r.revision_number
    return action(run, ok=lambda x: f"{x[0]} rev {x[1]} publicada: ahora es la revisión actual.",
                  back=_back(project, url_for("ui.drawings", project_id=project.id)),
                  fail_prefix="No se pudo publicar")


@bp.post("/projects/<int:project_id>/drawings/<int:drawing_id>/obsolete")
def drawings_obsolete(project_id, drawing_id):
    project = load_project(project_id)
    flag = request.form.get("obsolete") == "1"

    def run():
        load_project(project_id, "drawings", ADMIN, "marcar planos obsoletos")
        s = current_session()
        d = svc.set_drawing_obsolete(s, project, svc.get_drawing(s, project, drawing_id), ui_actor(), flag)
        return d.number
    return action(run, ok=lambda n: f"{n} marcado como {'obsoleto' if flag else 'vigente'}.",
                  back=url_for("ui.drawing_detail", project_id=project.id, drawing_id=drawing_id),
                  fail_prefix="No se pudo cambiar el plano")
