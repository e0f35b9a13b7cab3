"""Read-side helpers of the Documents tool: roots, lookups, versions, folder paths, privacy.

Private documents (fact sheet section 3: ``private`` on folders and files, set through
``explicit_permissions``).  Procore does not document who may see them; the sandbox
takes the STRICTER reading: only Documents **Admins** see private items.  Every other
user (Standard, Read Only) sees neither a private folder, nor a private file, nor
anything below a private folder, whatever the items below are flagged: such items are
left out of listings and the flat index, and looking them up answers 404 (as for an id
that does not exist; never 403, so their existence is not revealed).  The lookups take
``see_private`` (the caller's "is a Documents Admin"); it defaults to True for the
control API, the seeders and the service layer's own re-reads.
"""
from __future__ import annotations

from sqlalchemy import select

from ..core import clock
from ..core.api import ApiError
from ..core.models import File, FileVersion, Folder, Project

RECYCLE_BIN_NAME = "Recycle Bin"


def ensure_roots(s, project: Project) -> tuple[Folder, Folder]:
    """Root folder and its Recycle Bin child (created on first use)."""
    root = s.scalars(select(Folder).where(Folder.project_id == project.id, Folder.is_root.is_(True))).first()
    now = clock.now()
    if root is None:
        # Root name is null and name_with_path "" (unverified; stricter: clients must not
        # rely on the root having a name).
        root = Folder(project_id=project.id, parent_id=None, name=None, is_root=True,
                      created_at=now, updated_at=now)
        s.add(root)
        s.flush()
    bin_ = s.scalars(select(Folder).where(Folder.project_id == project.id,
                                          Folder.is_recycle_bin.is_(True))).first()
    if bin_ is None:
        bin_ = Folder(project_id=project.id, parent_id=root.id, name=RECYCLE_BIN_NAME,
                      is_recycle_bin=True, created_at=now, updated_at=now)
        s.add(bin_)
        s.flush()
    return root, bin_


def folder_is_hidden(s, folder: Folder | None) -> bool:
    """True if the folder is private or lies below a private folder (hidden from non-admins)."""
    seen: set[int] = set()
    while folder is not None and folder.id not in seen:
        if folder.private:
            return True
        seen.add(folder.id)
        folder = s.get(Folder, folder.parent_id) if folder.parent_id else None
    return False


def file_is_hidden(s, file: File) -> bool:
    """True if the file is private or lies below a private folder (hidden from non-admins)."""
    return file.private or folder_is_hidden(s, s.get(Folder, file.parent_id))


def get_folder(s, project: Project, folder_id: int, include_deleted=False, see_private=True) -> Folder:
    f = s.get(Folder, folder_id)
    if f is None or f.project_id != project.id or (f.is_deleted and not include_deleted) or (
            not see_private and folder_is_hidden(s, f)):
        raise ApiError(404, "Folder not found")
    return f


def get_file(s, project: Project, file_id: int, include_deleted=False, see_private=True) -> File:
    f = s.get(File, file_id)
    if f is None or f.project_id != project.id or (f.is_deleted and not include_deleted) or (
            not see_private and file_is_hidden(s, f)):
        raise ApiError(404, "File not found")
    return f


def hidden_folders_cte(project_id: int):
    """SQL: ids of the project's folders that are private or below a private folder."""
    hidden = select(Folder.id).where(Folder.project_id == project_id,
                                     Folder.private.is_(True)).cte("hidden_folders", recursive=True)
    # UNION (not UNION ALL): a private folder inside a private folder is listed once.
    return hidden.union(select(Folder.id).where(Folder.parent_id == hidden.c.id))


def versions_of(s, file_ids) -> dict[int, list[FileVersion]]:
    out: dict[int, list[FileVersion]] = {fid: [] for fid in file_ids}
    ids = list(file_ids)
    for i in range(0, len(ids), 500):
        for v in s.scalars(select(FileVersion).where(FileVersion.file_id.in_(ids[i:i + 500]))):
            out[v.file_id].append(v)
    for lst in out.values():
        lst.sort(key=lambda v: v.number)
    return out


class FolderPaths:
    """Loads a project's folder tree once and answers name_with_path / subtree queries."""

    def __init__(self, s, project_id: int):
        rows = s.execute(select(Folder.id, Folder.parent_id, Folder.name, Folder.is_root, Folder.private)
                         .where(Folder.project_id == project_id)).all()
        self.info = {r.id: (r.parent_id, r.name, r.is_root) for r in rows}
        self.private = {r.id for r in rows if r.private}
        self._cache: dict[int, str] = {}

    def private_folder(self, folder_id: int | None) -> int | None:
        """The nearest private folder among ``folder_id`` and its ancestors, or None."""
        seen: set[int] = set()
        while folder_id is not None and folder_id in self.info and folder_id not in seen:
            if folder_id in self.private:
                return folder_id
            seen.add(folder_id)
            folder_id = self.info[folder_id][0]
        return None

    def is_hidden(self, folder_id: int | None) -> bool:
        """True if the folder is private or below a private folder (see the module docstring)."""
        return self.private_folder(folder_id) is not None

    def folder_path(self, folder_id: int | None) -> str:
        if folder_id is None or folder_id not in self.info:
            return ""
        if folder_id in self._cache:
            return self._cache[folder_id]
        parent, name, is_root = self.info[folder_id]
        path = "" if is_root else (f"{self.folder_path(parent)}/{name}" if self.folder_path(parent) else name)
        self._cache[folder_id] = path
        return path

    def file_path(self, parent_id: int, name: str) -> str:
        base = self.folder_path(parent_id)
        return f"{base}/{name}" if base else name

    def subtree(self, folder_id: int) -> set[int]:
        children: dict[int, list[int]] = {}
        for fid, (parent, _n, _r) in self.info.items():
            children.setdefault(parent, []).append(fid)
        out, stack = set(), [folder_id]
        while stack:
            cur = stack.pop()
            if cur in out:
                continue
            out.add(cur)
            stack.extend(children.get(cur, []))
        return out
