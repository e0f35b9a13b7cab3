"""Documents service layer: every folder/file/version mutation lives here.

REST views (documents/routes.py), the control API and the future web UI call these
functions so that every change goes through ``record_change``.  They take an
explicit session and an ``Actor`` (user_id + OAuth client id, None from the UI).
Errors are raised as ``ApiError`` (UI callers may catch it and show ``.body``).
"""
from __future__ import annotations

import os
import re

from sqlalchemy import select

from ..core import clock
from ..core.api import Actor, ApiError
from .lookup import (RECYCLE_BIN_NAME, FolderPaths, ensure_roots, file_is_hidden,  # noqa: F401
                               folder_is_hidden, get_file, get_folder, versions_of)
from ..core.events import record_change
from ..core.models import File, FileVersion, Folder, Project

RES_FOLDERS, RES_FILES, RES_VERSIONS = "Project Folders", "Project Files", "Project File Versions"


def _event(project: Project, res: str, ev: str, rid: int, actor: Actor):
    record_change(project.id, project.company_id, res, ev, rid, actor.user_id, actor.application_id)


# --- validation ---------------------------------------------------------------

_CTRL = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(name) -> str:
    # Procore's exact rules are unknown; we accept any non-blank name without control
    # characters ("/", "?" and ".." included: clients must sanitise names themselves).
    if not isinstance(name, str) or not name.strip():
        raise ApiError(422, "name is required", body={"errors": {"name": ["can't be blank"]}})
    if _CTRL.search(name) or len(name) > 255:
        raise ApiError(422, "name is invalid", body={"errors": {"name": ["is invalid"]}})
    return name


def _taken(s, model, project_id, parent_id, name, exclude_id=None) -> bool:
    # Case-insensitive clash check among non-deleted siblings (stricter reading).
    q = select(model.id).where(model.project_id == project_id, model.parent_id == parent_id,
                               model.name_key == name.lower(), model.is_deleted.is_(False))
    if exclude_id is not None:
        q = q.where(model.id != exclude_id)
    return s.scalars(q.limit(1)).first() is not None


def _unique(s, model, project_id, parent_id, name) -> str:
    if not _taken(s, model, project_id, parent_id, name):
        return name
    stem, ext = os.path.splitext(name) if model is File else (name, "")
    n = 1
    while _taken(s, model, project_id, parent_id, f"{stem} ({n}){ext}"):
        n += 1
    return f"{stem} ({n}){ext}"


def _name_taken():
    return ApiError(422, "name has already been taken",
                    body={"errors": {"name": ["has already been taken"]}})


def _target_folder(s, project, parent_id, see_private=True) -> Folder:
    """The destination folder; root when ``parent_id`` is empty.

    A folder the actor may not see (private, or below a private folder, and the actor
    is not a Documents Admin) answers exactly like a folder that does not exist.
    """
    if parent_id in (None, ""):
        return ensure_roots(s, project)[0]
    try:
        pid = int(parent_id)
    except (TypeError, ValueError):
        raise ApiError(422, "parent_id is invalid", body={"errors": {"parent_id": ["is invalid"]}}) from None
    parent = s.get(Folder, pid)
    if parent is None or parent.project_id != project.id or parent.is_deleted or parent.is_recycle_bin or (
            not see_private and folder_is_hidden(s, parent)):
        raise ApiError(422, "parent folder not found", body={"errors": {"parent_id": ["is invalid"]}})
    return parent


def _touch(folder_id, s, now):
    f = s.get(Folder, folder_id)
    if f is not None:
        f.updated_at = now


# --- folders ------------------------------------------------------------------

def create_folder(s, project: Project, actor: Actor, name, parent_id=None, is_tracked=False, *,
                  private=False, see_private=True) -> Folder:
    """``private``: only Documents Admins will see it (callers check who may set it).
    ``see_private``: False when the actor is not a Documents Admin (hidden parents → 422)."""
    name = clean_name(name)
    parent = _target_folder(s, project, parent_id, see_private)
    if _taken(s, Folder, project.id, parent.id, name):
        raise _name_taken()
    now = clock.now()
    f = Folder(project_id=project.id, parent_id=parent.id, name=name, is_tracked=bool(is_tracked),
               private=bool(private), created_at=now, updated_at=now, created_by_id=actor.user_id)
    s.add(f)
    s.flush()
    _event(project, RES_FOLDERS, "create", f.id, actor)
    return f


def update_folder(s, project: Project, folder: Folder, actor: Actor, *, name=None,
                  parent_id=None, is_tracked=None, private=None, see_private=True) -> Folder:
    """Rename / move / (un)track / make private or not; one "update" event."""
    if folder.is_root or folder.is_recycle_bin:
        raise ApiError(403, "This folder cannot be modified")
    if folder.is_deleted:
        if parent_id in (None, ""):
            raise ApiError(404, "Folder not found")
        # Moving an item out of the recycle bin with PATCH parent_id is UNVERIFIED in
        # Procore; the sandbox accepts it as a restore into the given folder.
        return restore_document(s, project, "folder", folder.id, actor, parent_id=parent_id)
    new_name = clean_name(name) if name is not None else folder.name
    new_parent = folder.parent_id
    if parent_id not in (None, ""):
        target = _target_folder(s, project, parent_id, see_private)
        if target.id in FolderPaths(s, project.id).subtree(folder.id):
            raise ApiError(422, "cannot move a folder into itself", body={"errors": {"parent_id": ["is invalid"]}})
        new_parent = target.id
    if (new_name, new_parent) != (folder.name, folder.parent_id) and _taken(
            s, Folder, project.id, new_parent, new_name, exclude_id=folder.id):
        raise _name_taken()
    now = clock.now()
    if new_parent != folder.parent_id:
        _touch(folder.parent_id, s, now)
        _touch(new_parent, s, now)
    folder.name, folder.parent_id = new_name, new_parent
    if is_tracked is not None:
        folder.is_tracked = bool(is_tracked)
    if private is not None:
        folder.private = bool(private)
    folder.updated_at = now
    _event(project, RES_FOLDERS, "update", folder.id, actor)
    return folder


def delete_folder(s, project: Project, folder: Folder, actor: Actor) -> None:
    """Move a folder (and its whole subtree) to the recycle bin.

    Only ONE event (for the folder itself) is recorded, not one per descendant
    (unverified; stricter: receivers must handle subtree deletes themselves).
    """
    if folder.is_root or folder.is_recycle_bin:
        raise ApiError(403, "This folder cannot be deleted")
    now = clock.now()
    subtree = FolderPaths(s, project.id).subtree(folder.id)
    for f in s.scalars(select(Folder).where(Folder.id.in_(subtree), Folder.is_deleted.is_(False))):
        f.is_deleted, f.deleted_with_id = True, folder.id
    for f in s.scalars(select(File).where(File.parent_id.in_(subtree), File.is_deleted.is_(False))):
        f.is_deleted, f.deleted_with_id = True, folder.id
    folder.updated_at = now
    _touch(folder.parent_id, s, now)
    _event(project, RES_FOLDERS, "delete", folder.id, actor)


# --- files --------------------------------------------------------------------

def _new_version(s, file: File, actor: Actor, sha256: str, size: int, content_type: str,
                 filename: str, notes, number: int) -> FileVersion:
    from ..core.db import next_id
    v = FileVersion(file_id=file.id, number=number, notes=notes, size=size, sha256=sha256,
                    content_type=content_type or "application/octet-stream", filename=filename,
                    prostore_file_id=next_id(s), created_at=clock.now(), created_by_id=actor.user_id)
    s.add(v)
    s.flush()
    return v


def create_file(s, project: Project, actor: Actor, *, name, sha256: str, size: int,
                content_type: str | None = None, parent_id=None, description=None,
                unique_name=False, notes=None, private=False, see_private=True) -> File:
    """``private`` / ``see_private``: as in ``create_folder``."""
    name = clean_name(name)
    parent = _target_folder(s, project, parent_id, see_private)
    if _taken(s, File, project.id, parent.id, name):
        if not unique_name:
            raise _name_taken()
        name = _unique(s, File, project.id, parent.id, name)
    now = clock.now()
    f = File(project_id=project.id, parent_id=parent.id, name=name, description=description,
             private=bool(private), created_at=now, updated_at=now, created_by_id=actor.user_id)
    s.add(f)
    s.flush()
    _new_version(s, f, actor, sha256, size, content_type, name, notes, 1)
    parent.updated_at = now
    _event(project, RES_FILES, "create", f.id, actor)
    return f


def add_file_version(s, project: Project, file: File, actor: Actor, *, sha256: str, size: int,
                     content_type: str | None = None, notes=None, filename=None) -> FileVersion:
    """New version. Records "Project File Versions" create AND "Project Files" update.

    ``filename`` is the version's download name (file_version[name]); the file keeps its name.
    """
    if file.is_deleted:
        raise ApiError(404, "File not found")
    last = max((v.number for v in versions_of(s, [file.id])[file.id]), default=0)
    v = _new_version(s, file, actor, sha256, size, content_type,
                     clean_name(filename) if filename else file.name, notes, last + 1)
    file.updated_at = v.created_at
    _event(project, RES_VERSIONS, "create", v.id, actor)
    _event(project, RES_FILES, "update", file.id, actor)
    return v


def update_file(s, project: Project, file: File, actor: Actor, *, name=None, parent_id=None,
                description=None, private=None, see_private=True) -> File:
    if file.is_deleted:
        if parent_id in (None, ""):
            raise ApiError(404, "File not found")
        # UNVERIFIED in Procore (see update_folder): PATCH parent_id restores from the bin.
        return restore_document(s, project, "file", file.id, actor, parent_id=parent_id)
    new_name = clean_name(name) if name is not None else file.name
    new_parent = (_target_folder(s, project, parent_id, see_private).id if parent_id not in (None, "")
                  else file.parent_id)
    if (new_name, new_parent) != (file.name, file.parent_id) and _taken(
            s, File, project.id, new_parent, new_name, exclude_id=file.id):
        raise _name_taken()
    now = clock.now()
    if new_parent != file.parent_id:
        _touch(file.parent_id, s, now)
        _touch(new_parent, s, now)
    file.name, file.parent_id = new_name, new_parent
    if description is not None:
        file.description = description
    if private is not None:
        file.private = bool(private)
    file.updated_at = now
    _event(project, RES_FILES, "update", file.id, actor)
    return file


def delete_file(s, project: Project, file: File, actor: Actor) -> None:
    file.is_deleted, file.deleted_with_id = True, file.id
    now = clock.now()
    file.updated_at = now
    _touch(file.parent_id, s, now)
    _event(project, RES_FILES, "delete", file.id, actor)


def restore_document(s, project: Project, kind: str, doc_id: int, actor: Actor, parent_id=None):
    """Restore a folder or file from the recycle bin (Procore has NO documented API for this).

    Everything deleted together with it comes back.  It returns to ``parent_id`` if
    given, else to its original folder, or to the project root when that folder is
    gone (fact sheet / SPEC R23).  Records one "update" event for the restored item.
    """
    model, res = (Folder, RES_FOLDERS) if kind == "folder" else (File, RES_FILES)
    item = s.get(model, doc_id)
    if item is None or item.project_id != project.id or not item.is_deleted:
        raise ApiError(404, f"{kind.capitalize()} not found in the recycle bin")
    if parent_id not in (None, ""):
        target = _target_folder(s, project, parent_id).id
    else:
        orig = s.get(Folder, item.parent_id)
        target = item.parent_id if orig is not None and not orig.is_deleted else ensure_roots(s, project)[0].id
    if _taken(s, model, project.id, target, item.name, exclude_id=item.id):
        item.name = _unique(s, model, project.id, target, item.name)
    group = item.deleted_with_id or item.id
    if kind == "folder":  # its subtree items that were deleted in the same operation
        ids = FolderPaths(s, project.id).subtree(item.id)
        rows = list(s.scalars(select(Folder).where(Folder.id.in_(ids), Folder.deleted_with_id == group)))
        rows += list(s.scalars(select(File).where(File.parent_id.in_(ids), File.deleted_with_id == group)))
        for row in rows:
            row.is_deleted, row.deleted_with_id = False, None
    now = clock.now()
    item.parent_id, item.is_deleted, item.deleted_with_id, item.updated_at = target, False, None, now
    _touch(target, s, now)
    _event(project, res, "update", item.id, actor)
    return item
