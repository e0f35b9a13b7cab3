"""Sandbox UI: the Photos tool (albums, image grid, upload, move, delete, recycle bin).

Levels follow photos/routes.py: view >= Read Only; upload photos and create albums >= Standard;
move a photo >= Standard (non-Admins only their own photos); delete photos / albums,
see and retrieve from the recycle bin, see private albums: Admin.  Private photos are
shown to Admins and to their uploader.  Mutations call ``photos.service`` with
``Actor(user_id, None)``.
"""
from __future__ import annotations

from flask import request, send_file, url_for
from sqlalchemy import func, select

from ..photos import service as svc
from ..core.api import ApiError
from ..core.db import current_session
from ..documents.serial import users_map
from ..photos.models import Image, ImageCategory
from ..photos.serial import Viewer
from ..core.storage import blob_path, put_stream
from .routes import (ADMIN, READ_ONLY, STANDARD, Tab, action, bp, level_of, load_project, no_access_page,
                 project_context, register_tab, render_page, require_tab, ui_actor)

register_tab(Tab("photos", "Fotos", "ui.photos", "photos", requires="photos"))


@bp.before_request
def _photos_available():
    if request.endpoint and request.endpoint.startswith("ui.photo"):
        require_tab("photos")


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _viewer(project) -> Viewer:
    from flask import g
    return Viewer(g.ui_user.id, level_of(project, "photos") >= ADMIN)


def _albums(s, project, viewer: Viewer) -> list[ImageCategory]:
    return [a for a in svc.albums_of(s, project) if viewer.admin or not a.private]


def _visible(s, project, viewer: Viewer, q) -> list[Image]:
    albums = {a.id: a for a in s.scalars(select(ImageCategory).where(ImageCategory.project_id == project.id))}
    return [img for img in s.scalars(q) if viewer.sees(img, albums.get(img.category_id))]


def _photos_url(project, album=None):
    return url_for("ui.photos", project_id=project.id, album=album)


# --- pages ---------------------------------------------------------------------------

@bp.get("/projects/<int:project_id>/photos")
def photos(project_id):
    project = load_project(project_id)
    if level_of(project, "photos") < READ_ONLY:
        return no_access_page(project, "photos", "photos")
    s = current_session()
    viewer = _viewer(project)
    albums = _albums(s, project, viewer)
    by_id = {a.id: a for a in albums}
    live = select(Image).where(Image.project_id == project.id, Image.deleted_at.is_(None))
    all_images = _visible(s, project, viewer, live.order_by(Image.created_at.desc(), Image.id.desc()))
    counts = {a.id: 0 for a in albums}
    for img in all_images:
        if img.category_id in counts:
            counts[img.category_id] += 1
    sel = request.args.get("album", "all")
    album = None
    if sel != "all":
        try:
            album = by_id.get(int(sel))
        except ValueError:
            album = None
        if album is None:
            raise ApiError(404, "Álbum no encontrado.")
    images = [i for i in all_images if album is None or i.category_id == album.id]
    bin_count = s.scalar(select(func.count()).select_from(Image).where(
        Image.project_id == project.id, Image.deleted_at.is_not(None))) if viewer.admin else 0
    users = users_map(s, [i.uploader_id for i in images])
    return render_page("ui/photos.html", albums=albums, album=album, images=images, counts=counts,
                       total=len(all_images), album_names={a.id: a.name for a in albums}, users=users,
                       bin_count=bin_count, unclassified=svc.ensure_unclassified(s, project),
                       **project_context(project, "photos"))


@bp.get("/projects/<int:project_id>/photos/recycle-bin")
def photos_bin(project_id):
    project = load_project(project_id, "photos", ADMIN, "ver la Papelera de Fotos")
    s = current_session()
    images = list(s.scalars(select(Image).where(Image.project_id == project.id, Image.deleted_at.is_not(None))
                            .order_by(Image.deleted_at.desc(), Image.id.desc())))
    albums = {a.id: a for a in svc.albums_of(s, project)}
    users = users_map(s, [i.uploader_id for i in images])
    return render_page("ui/photos_bin.html", images=images, albums=albums, users=users,
                       **project_context(project, "photos"))


@bp.get("/projects/<int:project_id>/photos/images/<int:image_id>/file")
def photo_file(project_id, image_id):
    """The picture itself, inline (also used as thumbnail: the sandbox has no thumbnailer)."""
    project = load_project(project_id, "photos", READ_ONLY, "ver fotos")
    s = current_session()
    viewer = _viewer(project)
    img = s.get(Image, image_id)
    if img is None or img.project_id != project.id or not viewer.sees(img, s.get(ImageCategory, img.category_id)):
        raise ApiError(404, "Foto no encontrada.")
    return send_file(blob_path(img.sha256), mimetype=img.content_type, download_name=img.filename,
                     conditional=True, etag=img.sha256[:32], max_age=300)


# --- actions -------------------------------------------------------------------------

def _back(project):
    nxt = request.form.get("next")
    return nxt if nxt and nxt.startswith("/ui/") else _photos_url(project)


@bp.post("/projects/<int:project_id>/photos/albums")
def photos_create_album(project_id):
    project = load_project(project_id)

    def run():
        load_project(project_id, "photos", STANDARD, "crear álbumes")
        return svc.create_album(current_session(), project, ui_actor(), request.form.get("name", ""),
                                private=request.form.get("private") == "1")
    return action(run, ok=lambda a: f"Álbum «{a.name}» creado.", back=lambda a: _photos_url(project, a.id),
                  fail_prefix="No se pudo crear el álbum")


@bp.post("/projects/<int:project_id>/photos/albums/<int:album_id>/delete")
def photos_delete_album(project_id, album_id):
    project = load_project(project_id)

    def run():
        load_project(project_id, "photos", ADMIN, "eliminar álbumes")
        s = current_session()
        album = svc.get_album(s, project, album_id)
        name = album.name
        return name, len(svc.delete_album(s, project, album, ui_actor()))
    return action(run, ok=lambda r: f"Álbum «{r[0]}» eliminado; {r[1]} foto{'s' if r[1] != 1 else ''} "
                                    f"enviada{'s' if r[1] != 1 else ''} a la Papelera.",
                  back=_photos_url(project), fail_prefix="No se pudo eliminar el álbum")


@bp.post("/projects/<int:project_id>/photos/images")
def photos_upload(project_id):
    project = load_project(project_id)
    album_id = request.form.get("album_id") or None

    def run():
        load_project(project_id, "photos", STANDARD, "subir fotos")
        s = current_session()
        viewer = _viewer(project)
        if album_id:
            album = svc.get_album(s, project, _int(album_id))
            if album.private and not viewer.admin:
                raise ApiError(422, "image_category_id is invalid")
        files = [f for f in request.files.getlist("file") if f and f.filename]
        if not files:
            raise ApiError(422, "elige al menos una foto")
        desc = request.form.get("description", "").strip() or None
        out = []
        for fs in files:
            sha, size = put_stream(fs.stream)
            out.append(svc.create_image(s, project, ui_actor(), sha256=sha, size=size, filename=fs.filename,
                                        category_id=album_id, description=desc,
                                        private=request.form.get("private") == "1"))
        return out
    return action(run, ok=lambda imgs: (f"Foto «{imgs[0].filename}» subida." if len(imgs) == 1
                                        else f"{len(imgs)} fotos subidas."),
                  back=_photos_url(project, album_id), fail_prefix="No se pudo subir la foto")


def _own_or_admin(project, img: Image) -> None:
    from flask import g
    if level_of(project, "photos") < ADMIN and img.uploader_id != g.ui_user.id:
        raise ApiError(403, "Permiso insuficiente: solo los Admins de Photos pueden mover fotos subidas por otros.")


@bp.post("/projects/<int:project_id>/photos/images/<int:image_id>/move")
def photos_move(project_id, image_id):
    project = load_project(project_id)

    def run():
        load_project(project_id, "photos", STANDARD, "mover fotos")
        s = current_session()
        viewer = _viewer(project)
        img = svc.get_image(s, project, image_id)
        if not viewer.sees(img, s.get(ImageCategory, img.category_id)):
            raise ApiError(404, "Foto no encontrada.")
        _own_or_admin(project, img)
        target = request.form.get("album_id")
        if not target:
            raise ApiError(422, "elige el álbum de destino")
        dest = svc.get_album(s, project, _int(target))
        if dest.private and not viewer.admin:
            raise ApiError(422, "image_category_id is invalid")
        svc.update_image(s, project, img, ui_actor(), category_id=dest.id)
        return img.filename, dest.name
    return action(run, ok=lambda r: f"«{r[0]}» movida al álbum «{r[1]}».", back=_back(project),
                  fail_prefix="No se pudo mover la foto")


@bp.post("/projects/<int:project_id>/photos/images/<int:image_id>/delete")
def photos_delete(project_id, image_id):
    project = load_project(project_id)

    def run():
        load_project(project_id, "photos", ADMIN, "eliminar fotos")
        s = current_session()
        img = svc.get_image(s, project, image_id)
        svc.delete_image(s, project, img, ui_actor())
        return img.filename
    return action(run, ok=lambda n: f"«{n}» enviada a la Papelera.", back=_back(project),
                  fail_prefix="No se pudo eliminar la foto")


@bp.post("/projects/<int:project_id>/photos/images/<int:image_id>/retrieve")
def photos_retrieve(project_id, image_id):
    project = load_project(project_id)

    def run():
        load_project(project_id, "photos", ADMIN, "recuperar fotos")
        s = current_session()
        img = svc.retrieve_image(s, project, svc.get_image(s, project, image_id, include_recycled=True),
                                 ui_actor())
        return img.filename, s.get(ImageCategory, img.category_id).name
    return action(run, ok=lambda r: f"«{r[0]}» recuperada en el álbum «{r[1]}».",
                  back=url_for("ui.photos_bin", project_id=project.id), fail_prefix="No se pudo recuperar la foto")
