"""Flat, paginated index of a project's folders and files:
GET /rest/v1.0/projects/{project_id}/documents  (fact sheet section 3).

Supported: filters[document_type]=file|folder, filters[folder_id] (whole subtree,
excluding the folder itself), filters[is_in_recycle_bin]=true|false (default false;
recycle-bin items are visible to Documents Admins only), filters[updated_at] and
filters[created_at] (ISO range "a...b", either side may be empty), filters[search]
(name contains), filters[file_type] (extension), filters[created_by_id],
filters[private]=true|false (the item's own ``private`` flag),
sort=name|-name|updated_at|-updated_at|created_at|-created_at|id|-id, page, per_page.
The root folder and the Recycle Bin folder itself are not listed.
Unknown sort values are rejected with 400 (stricter reading).

Private items (stricter reading, see ``documents.lookup``): users who are not Documents
Admins never get a private folder or file, nor anything below a private folder, and the
``children`` counts they get leave private children out.  ``private_parent`` is
``{id, name}`` of the nearest private folder above an item (null when there is none).
"""
from __future__ import annotations

from flask import Blueprint, g, request
from sqlalchemy import func, literal, select, union_all

from ..core import clock
from ..core.api import (ADMIN, ApiError, json_response, page_params, paginate_list, project_for, require_auth,
                  set_pagination_headers, tool_level)
from ..core.db import current_session
from .lookup import hidden_folders_cte
from .serial import child_counts, file_type, user_ref, users_map
from .service import FolderPaths, versions_of
from ..core.models import File, Folder

bp = Blueprint("documents_index", __name__)

SORTS = {"name", "updated_at", "created_at", "id"}


def _range(value: str, name: str) -> tuple[float | None, float | None]:
    if "..." not in value:
        raise ApiError(400, f"filters[{name}] must be a range 'start...end'")
    a, b = value.split("...", 1)
    try:
        return (clock.parse_iso(a) if a.strip() else None, clock.parse_iso(b) if b.strip() else None)
    except ValueError:
        raise ApiError(400, f"filters[{name}] must contain ISO-8601 dates") from None


def _bool(v: str, name: str) -> bool:
    if v.lower() in ("true", "1"):
        return True
    if v.lower() in ("false", "0"):
        return False
    raise ApiError(400, f"{name} must be true or false")


def _filtered(model, kind: str, project_id: int, a, in_bin: bool, subtree_cte, hidden_cte=None):
    """SELECT kind, id, sort keys FROM <model> WHERE <filters>, or None if excluded.

    ``hidden_cte`` (non-admins): folders that are private or below a private folder."""
    q = select(literal(kind).label("kind"), model.id.label("id"), model.name_key.label("name"),
               model.updated_at.label("updated_at"), model.created_at.label("created_at")
               ).where(model.project_id == project_id, model.is_deleted.is_(in_bin))
    if hidden_cte is not None:
        col = Folder.id if model is Folder else File.parent_id
        q = q.where(model.private.is_(False), col.not_in(select(hidden_cte.c.id)))
    if "filters[private]" in a:
        q = q.where(model.private.is_(_bool(a["filters[private]"], "filters[private]")))
    if model is Folder:
        q = q.where(Folder.is_root.is_(False), Folder.is_recycle_bin.is_(False))
    if subtree_cte is not None:
        col = Folder.id if model is Folder else File.parent_id
        q = q.where(col.in_(select(subtree_cte.c.id)))
        if model is Folder:
            q = q.where(Folder.id != int(a["filters[folder_id]"]))
    for key, attr in (("filters[updated_at]", "updated_at"), ("filters[created_at]", "created_at")):
        if key in a:
            lo, hi = _range(a[key], attr)
            if lo is not None:
                q = q.where(getattr(model, attr) >= lo)
            if hi is not None:
                q = q.where(getattr(model, attr) <= hi)
    if a.get("filters[search]"):
        q = q.where(model.name_key.contains(a["filters[search]"].lower(), autoescape=True))
    if a.get("filters[file_type]"):
        if model is Folder:
            return None
        q = q.where(model.name_key.endswith("." + a["filters[file_type]"].lower().lstrip("."), autoescape=True))
    if a.get("filters[created_by_id]"):
        try:
            q = q.where(model.created_by_id == int(a["filters[created_by_id]"]))
        except ValueError:
            raise ApiError(400, "filters[created_by_id] must be an integer") from None
    return q


@bp.get("/rest/v1.0/projects/<int:project_id>/documents")
@require_auth()
def documents_index(project_id):
    project = project_for(project_id, tool="documents")
    a = request.args
    s = current_session()
    admin = tool_level(g.user.id, project, "documents") >= ADMIN
    doc_type = a.get("filters[document_type]")
    if doc_type not in (None, "file", "folder"):
        raise ApiError(400, "filters[document_type] must be file or folder")
    in_bin = _bool(a["filters[is_in_recycle_bin]"], "filters[is_in_recycle_bin]") \
        if "filters[is_in_recycle_bin]" in a else False
    sort = a.get("sort", "id")
    if sort.lstrip("-") not in SORTS:
        raise ApiError(400, f"sort must be one of {sorted(SORTS)} (optionally prefixed with -)")
    subtree = None
    if "filters[folder_id]" in a:
        try:
            fid = int(a["filters[folder_id]"])
        except ValueError:
            raise ApiError(400, "filters[folder_id] must be an integer") from None
        subtree = select(literal(fid).label("id")).cte("subtree", recursive=True)
        subtree = subtree.union_all(select(Folder.id).where(Folder.parent_id == subtree.c.id))
    hidden = None if admin else hidden_folders_cte(project.id)
    parts = []
    if doc_type != "file":
        parts.append(_filtered(Folder, "folder", project.id, a, in_bin, subtree, hidden))
    if doc_type != "folder":
        parts.append(_filtered(File, "file", project.id, a, in_bin, subtree, hidden))
    parts = [p for p in parts if p is not None]
    if (in_bin and not admin) or not parts:
        return json_response(paginate_list([]))
    u = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    col = u.c[sort.lstrip("-")]
    order = [col.desc(), u.c.id.desc()] if sort.startswith("-") else [col.asc(), u.c.id.asc()]
    page, per_page = page_params()
    total = s.scalar(select(func.count()).select_from(u))
    set_pagination_headers(total, page, per_page)
    rows = s.execute(select(u.c.kind, u.c.id).order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    folder_ids = [r.id for r in rows if r.kind == "folder"]
    file_ids = [r.id for r in rows if r.kind == "file"]
    objs = {f.id: f for f in s.scalars(select(Folder).where(Folder.id.in_(folder_ids)))} if folder_ids else {}
    objs.update({f.id: f for f in s.scalars(select(File).where(File.id.in_(file_ids)))} if file_ids else {})
    paths = FolderPaths(s, project.id)
    paths.children = child_counts(s, Folder, folder_ids, see_private=admin)
    paths.file_children = child_counts(s, File, folder_ids, see_private=admin)
    vmap = versions_of(s, file_ids)
    users = users_map(s, [o.created_by_id for o in objs.values()])
    return json_response([_item(r.kind, objs[r.id], paths, users, vmap) for r in rows])


def _private_parent(f, paths: FolderPaths):
    pid = paths.private_folder(f.parent_id)
    return {"id": pid, "name": paths.info[pid][1]} if pid is not None else None


def _item(kind, f, paths: FolderPaths, users: dict, vmap: dict) -> dict:
    if kind == "folder":
        name_with_path = paths.folder_path(f.id)
        nfold, nfile = paths.children.get(f.id, 0), paths.file_children.get(f.id, 0)
        extra = {"file": None, "children": {"has_children": bool(nfold or nfile),
                                            "has_children_folders": bool(nfold),
                                            "has_children_files": bool(nfile)}}
    else:
        name_with_path = paths.file_path(f.parent_id, f.name)
        vs = vmap.get(f.id) or []
        cur = max(vs, key=lambda v: v.number) if vs else None
        extra = {"file": {"checked_out_by": None, "checked_out_until": None, "description": f.description,
                          "file_type": file_type(f.name),
                          "current_version": {"id": cur.id, "number": cur.number, "size": cur.size,
                                              "created_at": clock.iso(cur.created_at)} if cur else None}}
    return {"id": f.id, "name": f.name, "name_with_path": name_with_path, "parent_id": f.parent_id,
            "created_at": clock.iso(f.created_at), "created_by": user_ref(users, f.created_by_id),
            "updated_at": clock.iso(f.updated_at), "read_only": False, "is_deleted": f.is_deleted,
            "is_recycle_bin": False, "document_type": kind, "is_tracked": f.is_tracked,
            "private": f.private, "private_parent": _private_parent(f, paths), "tracked_folder": None,
            "custom_fields": {}, "children": None, **extra}
