"""JSON shapes of Procore folders, files and file versions (fact sheet section 3)."""
from __future__ import annotations

import os

from sqlalchemy import func, select

from ..core import clock
from ..core.api import base_url
from .service import FolderPaths, versions_of
from ..core.models import File, FileVersion, Folder, User


def user_ref(users: dict, uid):
    u = users.get(uid)
    return {"id": u.id, "login": u.login, "name": u.name} if u else None


def users_map(s, ids) -> dict:
    ids = {i for i in ids if i}
    return {u.id: u for u in s.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def version_url(v: FileVersion) -> str:
    return f"{base_url()}/downloads/file_versions/{v.id}"


def prostore_url(v: FileVersion) -> str:
    return f"{base_url()}/downloads/prostore_files/{v.prostore_file_id}"


def version_json(v: FileVersion, users: dict) -> dict:
    return {
        "id": v.id, "notes": v.notes, "url": version_url(v), "size": v.size,
        "created_at": clock.iso(v.created_at), "number": v.number,
        "created_by": user_ref(users, v.created_by_id), "file_id": v.file_id,
        "prostore_file": {"id": v.prostore_file_id, "name": v.filename, "url": prostore_url(v),
                          "filename": v.filename},
    }


def file_type(name: str) -> str | None:
    ext = os.path.splitext(name)[1].lower().lstrip(".")
    return ext or None


def file_json(f: File, versions: list[FileVersion], paths: FolderPaths, users: dict,
              latest_only: bool = False) -> dict:
    # Versions are listed newest first (Procore's order is unverified: sort by `number`).
    vs = sorted(versions, key=lambda v: v.number, reverse=True)
    if latest_only:
        vs = vs[:1]
    latest = max(versions, key=lambda v: v.number) if versions else None
    return {
        "id": f.id, "name": f.name, "parent_id": f.parent_id,
        "size": latest.size if latest else 0, "description": f.description,
        "created_at": clock.iso(f.created_at), "updated_at": clock.iso(f.updated_at),
        "checked_out_until": None, "checked_out_by": None,
        "name_with_path": paths.file_path(f.parent_id, f.name), "private": f.private,
        "is_tracked": f.is_tracked, "tracked_folder": None, "file_type": file_type(f.name),
        "file_versions": [version_json(v, users) for v in vs], "legacy_id": None,
        "is_deleted": f.is_deleted, "created_by": user_ref(users, f.created_by_id),
        "custom_fields": {},
    }


def child_counts(s, model, parent_ids, see_private=True) -> dict:
    """Live children per parent; without ``see_private`` private children are not counted."""
    if not parent_ids:
        return {}
    q = select(model.parent_id, func.count()).where(model.parent_id.in_(parent_ids), model.is_deleted.is_(False))
    if not see_private:
        q = q.where(model.private.is_(False))
    return dict(s.execute(q.group_by(model.parent_id)).all())


def folder_base(f: Folder, paths: FolderPaths, read_only: bool, nfold: int, nfile: int) -> dict:
    return {
        "id": f.id, "name": f.name, "parent_id": f.parent_id, "private": f.private,
        "updated_at": clock.iso(f.updated_at), "is_tracked": f.is_tracked, "tracked_folder": None,
        "name_with_path": paths.folder_path(f.id), "folders": [], "files": [],
        "read_only": read_only, "is_deleted": f.is_deleted, "is_recycle_bin": f.is_recycle_bin,
        "has_children": bool(nfold or nfile), "has_children_files": bool(nfile),
        "has_children_folders": bool(nfold), "custom_fields": {},
    }


def folder_children(s, folder: Folder, include_bin: bool, see_private=True) -> tuple[list[Folder], list[File]]:
    """Direct children. The recycle bin lists the top items of each deleted group.

    Without ``see_private`` (not a Documents Admin) private children are left out; the
    caller has already checked that ``folder`` itself is visible, so nothing deeper is
    hidden by an ancestor."""
    if folder.is_recycle_bin:
        fq = select(Folder).where(Folder.project_id == folder.project_id, Folder.is_deleted.is_(True),
                                  Folder.deleted_with_id == Folder.id)
        files_q = select(File).where(File.project_id == folder.project_id, File.is_deleted.is_(True),
                                     File.deleted_with_id == File.id)
    elif folder.is_deleted:
        fq = select(Folder).where(Folder.parent_id == folder.id, Folder.deleted_with_id == folder.deleted_with_id)
        files_q = select(File).where(File.parent_id == folder.id, File.deleted_with_id == folder.deleted_with_id)
    else:
        fq = select(Folder).where(Folder.parent_id == folder.id, Folder.is_deleted.is_(False))
        if not include_bin:
            fq = fq.where(Folder.is_recycle_bin.is_(False))
        files_q = select(File).where(File.parent_id == folder.id, File.is_deleted.is_(False))
    if not see_private:
        fq, files_q = fq.where(Folder.private.is_(False)), files_q.where(File.private.is_(False))
    folders = sorted(s.scalars(fq), key=lambda x: (not x.is_recycle_bin, (x.name or "").lower()))
    files = sorted(s.scalars(files_q), key=lambda x: x.name.lower())
    return folders, files


def folder_json(s, folder: Folder, *, read_only: bool, include_bin: bool, exclude_folders=False,
                exclude_files=False, latest_only=False, see_private=True) -> dict:
    """A folder with its DIRECT children; child folders carry empty folders[]/files[].

    ``see_private=False`` (not a Documents Admin): private children are neither listed
    nor counted in ``has_children*``."""
    paths = FolderPaths(s, folder.project_id)
    folders, files = folder_children(s, folder, include_bin, see_private)
    ids = [f.id for f in folders] + [folder.id]
    nfold, nfile = child_counts(s, Folder, ids, see_private), child_counts(s, File, ids, see_private)
    out = folder_base(folder, paths, read_only, nfold.get(folder.id, 0), nfile.get(folder.id, 0))
    if folder.is_recycle_bin or folder.is_deleted:
        out["has_children"] = bool(folders or files)
        out["has_children_files"], out["has_children_folders"] = bool(files), bool(folders)
    for f in folders:
        if f.is_recycle_bin:  # the bin "contains" the top items of each deleted group
            bf, bfi = folder_children(s, f, False)
            nfold[f.id], nfile[f.id] = len(bf), len(bfi)
    if not exclude_folders:
        out["folders"] = [folder_base(f, paths, read_only, nfold.get(f.id, 0), nfile.get(f.id, 0))
                          for f in folders]
    if not exclude_files:
        vmap = versions_of(s, [f.id for f in files])
        users = users_map(s, [v.created_by_id for vs in vmap.values() for v in vs]
                          + [f.created_by_id for f in files])
        out["files"] = [file_json(f, vmap[f.id], paths, users, latest_only) for f in files]
    return out


def single_file_json(s, f: File, latest_only=False) -> dict:
    vmap = versions_of(s, [f.id])
    users = users_map(s, [v.created_by_id for v in vmap[f.id]] + [f.created_by_id])
    return file_json(f, vmap[f.id], FolderPaths(s, f.project_id), users, latest_only)
