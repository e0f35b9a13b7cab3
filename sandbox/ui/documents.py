"""Sandbox UI: the Documents tool (folder browser, files, versions, recycle bin).

Levels follow documents/routes.py: browse >= Read Only, create folders / upload files / add
versions >= Standard, rename / move / delete Admin, the Recycle Bin (view + restore)
Admin only.  Mutations call ``documents.service`` with ``Actor(user_id, None)``.

Private folders and files follow the REST rule (``documents.lookup``, stricter reading):
only Documents Admins see them and what lies below a private folder; for everyone else
they are absent from the browser, the move pickers and the counts, and their pages and
downloads answer 404.  Making an item private or not ("Privada" marker, checkbox on
"Nueva carpeta", toggle in the row menu and on the file page) needs Admin and records
one ``update`` event, like the REST PATCH.
"""
from __future__ import annotations

import mimetypes

from flask import redirect, request, url_for
from werkzeug.datastructures import FileStorage

from ..documents import service as svc
from ..core.api import ApiError
from ..core.db import current_session
from ..documents.serial import folder_children, users_map
from ..core.models import File, FileVersion, Folder
from ..core.storage import download_redirect, put_stream
from .routes import (ADMIN, READ_ONLY, STANDARD, Tab, action, bp, level_of, load_project,
                 project_context, register_tab, render_page, require_level, ui_actor)

register_tab(Tab("documents", "Documentos", "ui.documents", "documents", requires="documents"))


def _sees_private(project) -> bool:
    """Documents Admins see private items (and what lies below private folders)."""
    return level_of(project, "documents") >= ADMIN


def _docs_url(project, folder_id=None):
    return url_for("ui.documents", project_id=project.id, folder=folder_id or None)


def _crumbs(s, folder: Folder) -> list[Folder]:
    out, cur = [], folder
    while cur is not None and not cur.is_root:
        out.append(cur)
        cur = s.get(Folder, cur.parent_id) if cur.parent_id else None
    return list(reversed(out))


def folder_choices(s, project, exclude_subtree_of: int | None = None,
                   see_private: bool = True) -> list[tuple[int, str]]:
    """(id, path) of every live folder the user may see, for "move to" pickers; root first."""
    paths = svc.FolderPaths(s, project.id)
    root, _bin = svc.ensure_roots(s, project)
    skip = paths.subtree(exclude_subtree_of) if exclude_subtree_of else set()
    rows = s.execute(Folder.__table__.select().where(
        Folder.project_id == project.id, Folder.is_deleted.is_(False),
        Folder.is_recycle_bin.is_(False), Folder.is_root.is_(False))).all()
    out = [(root.id, "/ (raíz del proyecto)")]
    out += sorted(((r.id, "/" + paths.folder_path(r.id)) for r in rows
                   if r.id not in skip and (see_private or not paths.is_hidden(r.id))),
                  key=lambda t: t[1].lower())
    return out


def _move_chooser(s, project, see_private: bool):
    """For row menus: destinations of a folder (not into itself) or a file (not where it is)."""
    paths = svc.FolderPaths(s, project.id)
    everything = folder_choices(s, project, see_private=see_private)

    def choices(kind, item):
        skip = paths.subtree(item.id) if kind == "folder" else set()
        return [(fid, p) for fid, p in everything if fid not in skip and fid != item.parent_id]
    return choices


def _uploaded(field: str = "file") -> list[FileStorage]:
    return [f for f in request.files.getlist(field) if f and f.filename]


def _store(fs: FileStorage) -> dict:
    sha, size = put_stream(fs.stream)
    ct = fs.mimetype if fs.mimetype and fs.mimetype != "application/octet-stream" else None
    ct = ct or mimetypes.guess_type(fs.filename)[0] or "application/octet-stream"
    return {"sha256": sha, "size": size, "content_type": ct}


# --- pages ---------------------------------------------------------------------------

@bp.get("/projects/<int:project_id>/documents")
def documents(project_id):
    project = load_project(project_id)
    if level_of(project, "documents") < READ_ONLY:
        from .routes import no_access_page
        return no_access_page(project, "documents", "documents")
    s = current_session()
    root, bin_ = svc.ensure_roots(s, project)
    see = _sees_private(project)
    folder_id = request.args.get("folder", type=int)
    folder = svc.get_folder(s, project, folder_id, see_private=see) if folder_id else root
    if folder.is_recycle_bin:
        return redirect(url_for("ui.documents_bin", project_id=project.id))
    folders, files = folder_children(s, folder, include_bin=False, see_private=see)
    vmap = svc.versions_of(s, [f.id for f in files])
    users = users_map(s, [f.created_by_id for f in files + folders]
                      + [v.created_by_id for vs in vmap.values() for v in vs])
    latest = {fid: (vs[-1] if vs else None) for fid, vs in vmap.items()}
    counts = {}
    for f in folders:
        sub_f, sub_files = folder_children(s, f, include_bin=False, see_private=see)
        counts[f.id] = (len(sub_f), len(sub_files))
    bin_count = sum(len(x) for x in folder_children(s, bin_, include_bin=False))
    return render_page("ui/documents.html", folder=folder, crumbs=_crumbs(s, folder), folders=folders,
                       files=files, latest=latest, nversions={k: len(v) for k, v in vmap.items()},
                       users=users, counts=counts, bin_count=bin_count,
                       in_private=svc.folder_is_hidden(s, folder) and not folder.private,
                       move_choices_for=_move_chooser(s, project, see), **project_context(project, "documents"))


@bp.get("/projects/<int:project_id>/documents/files/<int:file_id>")
def document_file(project_id, file_id):
    project = load_project(project_id, "documents", READ_ONLY, "ver documentos")
    s = current_session()
    see = _sees_private(project)
    f = svc.get_file(s, project, file_id, include_deleted=see, see_private=see)
    versions = list(reversed(svc.versions_of(s, [f.id])[f.id]))
    users = users_map(s, [v.created_by_id for v in versions] + [f.created_by_id])
    parent = s.get(Folder, f.parent_id)
    return render_page("ui/document_file.html", file=f, versions=versions, users=users, parent=parent,
                       crumbs=_crumbs(s, parent) if parent else [],
                       path=svc.FolderPaths(s, project.id).file_path(f.parent_id, f.name),
                       in_private=not f.private and svc.file_is_hidden(s, f),
                       move_choices=folder_choices(s, project, see_private=see),
                       **project_context(project, "documents"))


@bp.get("/projects/<int:project_id>/documents/recycle-bin")
def documents_bin(project_id):
    project = load_project(project_id, "documents", ADMIN, "ver la Papelera")
    s = current_session()
    _root, bin_ = svc.ensure_roots(s, project)
    folders, files = folder_children(s, bin_, include_bin=False)
    paths = svc.FolderPaths(s, project.id)
    items = [("folder", f, paths.folder_path(f.parent_id)) for f in folders]
    items += [("file", f, paths.folder_path(f.parent_id)) for f in files]
    items.sort(key=lambda t: t[1].updated_at, reverse=True)
    vmap = svc.versions_of(s, [f.id for f in files])
    sizes = {fid: (vs[-1].size if vs else 0) for fid, vs in vmap.items()}
    return render_page("ui/documents_bin.html", items=items, sizes=sizes,
                       **project_context(project, "documents"))


@bp.get("/projects/<int:project_id>/documents/versions/<int:version_id>/download")
def document_download(project_id, version_id):
    project = load_project(project_id, "documents", READ_ONLY, "descargar documentos")
    s = current_session()
    v = s.get(FileVersion, version_id)
    f = s.get(File, v.file_id) if v else None
    if f is None or f.project_id != project.id or (
            not _sees_private(project) and (f.is_deleted or svc.file_is_hidden(s, f))):
        raise ApiError(404, "Versión no encontrada.")
    # Same signed, expiring storage URL an API client is redirected to.
    return download_redirect(v.sha256, v.filename, v.content_type)


# --- actions -------------------------------------------------------------------------

def _here(project, folder_id=None):
    nxt = request.form.get("next")
    return nxt if nxt and nxt.startswith("/ui/") else _docs_url(project, folder_id)


@bp.post("/projects/<int:project_id>/documents/folders")
def documents_create_folder(project_id):
    project = load_project(project_id)
    parent_id = request.form.get("parent_id") or None
    back = _docs_url(project, parent_id)

    def run():
        load_project(project_id, "documents", STANDARD, "crear carpetas")
        private = request.form.get("private") == "1"
        if private:
            require_level(project, "documents", ADMIN, "crear carpetas privadas")
        return svc.create_folder(current_session(), project, ui_actor(), request.form.get("name", "").strip(),
                                 parent_id, private=private, see_private=_sees_private(project))

    def ok(f):
        return f"Carpeta «{f.name}» creada" + (" como privada." if f.private else ".")
    return action(run, ok=ok, back=back, fail_prefix="No se pudo crear la carpeta")


@bp.post("/projects/<int:project_id>/documents/files")
def documents_upload(project_id):
    project = load_project(project_id)
    parent_id = request.form.get("parent_id") or None
    back = _docs_url(project, parent_id)

    def run():
        load_project(project_id, "documents", STANDARD, "subir archivos")
        uploads = _uploaded()
        if not uploads:
            raise ApiError(422, "elige al menos un archivo")
        unique = request.form.get("unique_name") == "1"
        desc = request.form.get("description", "").strip() or None
        created = []
        for fs in uploads:
            blob = _store(fs)
            created.append(svc.create_file(current_session(), project, ui_actor(), name=fs.filename,
                                           parent_id=parent_id, description=desc, unique_name=unique,
                                           see_private=_sees_private(project), **blob))
        return created

    def ok(created):
        if len(created) == 1:
            return f"Archivo «{created[0].name}» subido ({_size(created[0])})."
        return f"{len(created)} archivos subidos."
    return action(run, ok=ok, back=back, fail_prefix="No se pudo subir el archivo")


def _size(f: File) -> str:
    from .routes import fmt_size
    vs = svc.versions_of(current_session(), [f.id])[f.id]
    return fmt_size(vs[-1].size if vs else 0)


@bp.post("/projects/<int:project_id>/documents/files/<int:file_id>/versions")
def documents_new_version(project_id, file_id):
    project = load_project(project_id)
    back = url_for("ui.document_file", project_id=project.id, file_id=file_id)

    def run():
        load_project(project_id, "documents", STANDARD, "subir versiones")
        s = current_session()
        f = svc.get_file(s, project, file_id, see_private=_sees_private(project))
        uploads = _uploaded()
        if not uploads:
            raise ApiError(422, "elige el archivo de la nueva versión")
        blob = _store(uploads[0])
        return svc.add_file_version(s, project, f, ui_actor(), notes=request.form.get("notes", "").strip() or None,
                                    **blob)
    return action(run, ok=lambda v: f"Versión {v.number} subida.", back=back,
                  fail_prefix="No se pudo subir la versión")


def _doc(s, project, kind: str, doc_id: int, include_deleted=False, see_private=True):
    if kind == "folder":
        return svc.get_folder(s, project, doc_id, include_deleted=include_deleted, see_private=see_private)
    if kind == "file":
        return svc.get_file(s, project, doc_id, include_deleted=include_deleted, see_private=see_private)
    raise ApiError(404, "Tipo de documento desconocido.")


@bp.post("/projects/<int:project_id>/documents/<kind>/<int:doc_id>/rename")
def documents_rename(project_id, kind, doc_id):
    project = load_project(project_id)
    back = _here(project)

    def run():
        load_project(project_id, "documents", ADMIN, "renombrar")
        s = current_session()
        item = _doc(s, project, kind, doc_id)
        old = item.name
        name = request.form.get("name", "")
        update = svc.update_folder if kind == "folder" else svc.update_file
        update(s, project, item, ui_actor(), name=name.strip() if name.strip() else name)
        return old, item.name
    return action(run, ok=lambda r: f"«{r[0]}» renombrado a «{r[1]}».", back=back,
                  fail_prefix="No se pudo renombrar")


@bp.post("/projects/<int:project_id>/documents/<kind>/<int:doc_id>/move")
def documents_move(project_id, kind, doc_id):
    project = load_project(project_id)
    back = _here(project)

    def run():
        load_project(project_id, "documents", ADMIN, "mover")
        s = current_session()
        item = _doc(s, project, kind, doc_id)
        target = request.form.get("parent_id")
        if not target:
            raise ApiError(422, "elige la carpeta de destino")
        update = svc.update_folder if kind == "folder" else svc.update_file
        update(s, project, item, ui_actor(), parent_id=target)
        dest = s.get(Folder, item.parent_id)
        return item.name, (dest.name if dest and not dest.is_root else "la raíz del proyecto")
    return action(run, ok=lambda r: f"«{r[0]}» movido a «{r[1]}».", back=back, fail_prefix="No se pudo mover")


def _private_message(kind: str, item) -> str:
    if kind == "folder":
        if item.private:
            return f"Carpeta «{item.name}» marcada como privada: solo la ven los Admin de Documents."
        return f"La carpeta «{item.name}» ya no es privada."
    if item.private:
        return f"Archivo «{item.name}» marcado como privado: solo lo ven los Admin de Documents."
    return f"El archivo «{item.name}» ya no es privado."


@bp.post("/projects/<int:project_id>/documents/<kind>/<int:doc_id>/private")
def documents_set_private(project_id, kind, doc_id):
    """``private=1`` makes the folder or file private, ``private=0`` visible again (Admin)."""
    project = load_project(project_id)
    back = _here(project)

    def run():
        s = current_session()
        # Lookup first, as the REST API: a hidden item is "not found" for non-admins.
        item = _doc(s, project, kind, doc_id, see_private=_sees_private(project))
        require_level(project, "documents", ADMIN, "cambiar la privacidad")
        if request.form.get("private") not in ("0", "1"):
            raise ApiError(422, "indique si el elemento debe ser privado o no")
        update = svc.update_folder if kind == "folder" else svc.update_file
        update(s, project, item, ui_actor(), private=request.form["private"] == "1")
        return item
    return action(run, ok=lambda item: _private_message(kind, item), back=back,
                  fail_prefix="No se pudo cambiar la privacidad")


@bp.post("/projects/<int:project_id>/documents/<kind>/<int:doc_id>/delete")
def documents_delete(project_id, kind, doc_id):
    project = load_project(project_id)
    back = _here(project)

    def run():
        load_project(project_id, "documents", ADMIN, "eliminar")
        s = current_session()
        item = _doc(s, project, kind, doc_id)
        (svc.delete_folder if kind == "folder" else svc.delete_file)(s, project, item, ui_actor())
        return item.name
    return action(run, ok=lambda n: f"«{n}» enviado a la Papelera.", back=back, fail_prefix="No se pudo eliminar")


@bp.post("/projects/<int:project_id>/documents/<kind>/<int:doc_id>/restore")
def documents_restore(project_id, kind, doc_id):
    project = load_project(project_id)
    back = url_for("ui.documents_bin", project_id=project.id)

    def run():
        load_project(project_id, "documents", ADMIN, "restaurar desde la Papelera")
        if kind not in ("folder", "file"):
            raise ApiError(404, "Tipo de documento desconocido.")
        item = svc.restore_document(current_session(), project, kind, doc_id, ui_actor())
        paths = svc.FolderPaths(current_session(), project.id)
        return item.name, "/" + paths.folder_path(item.parent_id)
    return action(run, ok=lambda r: f"«{r[0]}» restaurado en {r[1]}.", back=back,
                  fail_prefix="No se pudo restaurar")
