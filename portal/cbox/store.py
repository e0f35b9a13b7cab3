"""The cBox store API: the only way views, jobs and the sync engine change cBox (SPEC D1, R7, R10, R21).

Every function validates its input, raises a `portal.cbox.errors.CboxError` subclass with a
clear message, and FLUSHES but never commits: the caller (view, job, CLI) commits.

Projects and trees
  create_project(company_id, name) -> CboxProject        with Documentos, Imágenes, Planos
  categorized_folder(project, kind) -> CboxFolder         kind: "documents" | "photos" | "drawings"
  ensure_folder(parent, name, *, origin="local")          the child folder of that (sanitised) name,
      -> CboxFolder                                       created when missing; never a duplicate
  create_folder(parent, name, *, origin="local")          always a new folder; " (2)" if the name is taken
  children(folder) -> (folders, files)                    sorted by name, case-insensitively
  find_child(folder, name) -> CboxFolder | CboxFile | None   by sanitised name, ignoring case
  path_of(item) -> list[str]                              ["Documentos", "Procore", "a.pdf"]

Content
  register_blob(sha256, size) -> CboxBlob   records content a blob-store writer already committed
                                             (refused unless that exact digest and size are stored)
  register_blobs([(sha256, size), ...]) -> {sha256: CboxBlob}   the same for many; incomplete ones left out
  write_blob(stream, *, expected_size=None) -> CboxBlob   streams any object with read(n) into the
      blob store (temp file, fsync, rename; identical content stored once). Raises BlobSizeMismatch
      when expected_size differs, StorageFull on ENOSPC/EDQUOT, OSError otherwise; the temp file
      is always removed and nothing is recorded.
  add_file(folder, name, blob, *, origin="local") -> CboxFile   version 1;
      the name is made unique in the folder (" (2)" …), the given name kept as original_name
  add_files(folder, [(name, blob), ...], *, origin) -> [CboxFile]   add_file for many, bulk statements
  add_version(file, blob) -> CboxFileVersion              no-op (returns the current version)
                                                          when the blob is the current one
Changes
  rename(item, new_name)       unique among siblings (suffixed when taken), original_name updated
  move(item, new_parent)       same project and categorized tree; never a folder into itself
  delete(item)                 hard delete of the item and everything below it; blobs stay
                               until collect_garbage() finds no version using them (a person's
                               deletion goes to the trash instead: portal/cbox/trash.py)
  place_in(item, parent, name) the bare re-parenting move() and the trash share
  collect_garbage(grace=1 h) -> int       unreferenced blobs: rows now, files after commit

Items are CboxFolder or CboxFile rows. The three categorized folders cannot be renamed, moved
or deleted. Sibling folders and files share one namespace, compared ignoring case (names.py);
every call that names a child locks the parent's names for the rest of the transaction, so two
requests at once cannot give a folder and a file the same name.
Rows that reference items (e.g. sync links) must be deleted with them (ondelete CASCADE).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, text

from portal.cbox.blobs import collect_garbage, register_blob, register_blobs, write_blob
from portal.cbox.errors import CboxError, InvalidMove, InvalidName, ProtectedItem
from portal.cbox.names import name_key, safe_name, unique_name
from portal.extensions import db
from portal.models.cbox import (CATEGORIZED_NAMES, KINDS, ORIGINS, CboxBlob, CboxFile,
                                CboxFileVersion, CboxFolder, CboxProject)
from portal.models.tenancy import utcnow

__all__ = ["add_file", "add_files", "add_version", "categorized_folder", "children", "collect_garbage", "create_folder",
           "create_project", "delete", "ensure_folder", "find_child", "move", "path_of", "rename",
           "register_blob", "register_blobs", "write_blob"]


def _check_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidName(_l("A name is required."))
    return name


def _check_folder(folder) -> CboxFolder:
    if not isinstance(folder, CboxFolder):
        raise CboxError(_l("A folder is required."))
    return folder


def _check_item(item):
    if not isinstance(item, (CboxFolder, CboxFile)):
        raise CboxError(_l("A folder or a file is required."))
    return item


def _check_origin(origin: str) -> str:
    if origin not in ORIGINS:
        raise CboxError(_l("Unknown origin %(origin)s.", origin=origin))
    return origin


def create_project(company_id: int, name: str) -> CboxProject:
    name = _check_name(name).strip()
    if len(name) > 200:
        raise InvalidName(_l("A project name has at most 200 characters."))
    if db.session.scalar(select(CboxProject.id).where(CboxProject.company_id == company_id,
                                                      CboxProject.name == name)):
        raise CboxError(_l("A cBox project named %(name)s already exists.", name=name))
    project = CboxProject(company_id=company_id, name=name)
    db.session.add(project)
    db.session.flush()
    for kind in KINDS:
        label = CATEGORIZED_NAMES[kind]
        db.session.add(CboxFolder(project_id=project.id, parent_id=None, kind=kind, category=kind, name=label,
                                  name_key=name_key(label), original_name=label, origin="local"))
    db.session.flush()
    return project


def categorized_folder(project: CboxProject, kind: str) -> CboxFolder:
    if not isinstance(project, CboxProject):
        raise CboxError(_l("A cBox project is required."))
    if kind not in KINDS:
        raise CboxError(_l("Unknown categorized folder %(kind)s.", kind=kind))
    return db.session.scalar(select(CboxFolder).where(CboxFolder.project_id == project.id, CboxFolder.kind == kind))


def _find(folder: CboxFolder, key: str):
    found = db.session.scalar(select(CboxFolder).where(CboxFolder.parent_id == folder.id, CboxFolder.name_key == key))
    return found or db.session.scalar(select(CboxFile).where(CboxFile.folder_id == folder.id, CboxFile.name_key == key))


def _taken_keys(folder: CboxFolder, keys) -> set[str]:
    """Which of `keys` a sibling folder or file holds already: one query for any number of keys."""
    keys = list(set(keys))
    if not keys:
        return set()
    folders = select(CboxFolder.name_key).where(CboxFolder.parent_id == folder.id, CboxFolder.name_key.in_(keys))
    files = select(CboxFile.name_key).where(CboxFile.folder_id == folder.id, CboxFile.name_key.in_(keys))
    return set(db.session.scalars(folders.union_all(files)))


def find_child(folder: CboxFolder, name: str):
    _check_folder(folder)
    return _find(folder, name_key(safe_name(_check_name(name))))


_LOCK_SQLITE = text("UPDATE cbox_folders SET id = id WHERE id = :id")


def _lock_names(parent: CboxFolder) -> None:
    """Serialise name changes among `parent`'s children until the caller's transaction ends.

    Folders and files share one namespace, but each table has its own unique index, so a
    folder and a file of the same name created at once by two requests would both pass the
    check below. The parent's row is locked first: SELECT … FOR UPDATE on PostgreSQL; on
    SQLite a no-op UPDATE takes the database's write lock (pysqlite starts the transaction
    only at the first write). tests/cbox/test_sibling_race.py races the two.
    """
    if parent.id is None:
        return
    if db.engine.dialect.name == "sqlite":
        db.session.execute(_LOCK_SQLITE, {"id": parent.id})
    else:
        db.session.execute(select(CboxFolder.id).where(CboxFolder.id == parent.id).with_for_update())


def _free_name(parent: CboxFolder, wanted: str, exclude=None) -> str:
    """`wanted` sanitised, suffixed when a sibling (other than `exclude`) holds it already.
    Locks the parent's names first (_lock_names)."""
    _lock_names(parent)
    name = safe_name(wanted)
    if parent.id is None or not _taken_keys(parent, [name_key(name)]):
        return name
    if exclude is not None and _find(parent, name_key(name)) is exclude:
        return name
    folders, files = children(parent)
    taken = [item.name for item in (*folders, *files) if item is not exclude]
    return unique_name(taken, name)


def _new_folder(parent: CboxFolder, name: str, original: str, origin: str) -> CboxFolder:
    folder = CboxFolder(project_id=parent.project_id, parent_id=parent.id, category=parent.category, name=name,
                        name_key=name_key(name), original_name=original, origin=origin)
    db.session.add(folder)
    db.session.flush()
    return folder


def ensure_folder(parent: CboxFolder, name: str, *, origin: str = "local") -> CboxFolder:
    _check_folder(parent), _check_name(name), _check_origin(origin)
    _lock_names(parent)  # two runs ensuring "Procore" at once: the second finds the first's folder
    existing = _find(parent, name_key(safe_name(name)))
    if not isinstance(existing, CboxFolder):
        # A file holds the name: an earlier call made a suffixed folder; find it, stay idempotent.
        existing = db.session.scalar(select(CboxFolder).where(CboxFolder.parent_id == parent.id,
                                                              CboxFolder.original_name == name))
    if existing is not None:
        return existing
    return _new_folder(parent, _free_name(parent, name), name, origin)


def create_folder(parent: CboxFolder, name: str, *, origin: str = "local") -> CboxFolder:
    _check_folder(parent), _check_name(name), _check_origin(origin)
    return _new_folder(parent, _free_name(parent, name), name, origin)


def add_file(folder: CboxFolder, name: str, blob: CboxBlob, *, origin: str = "local") -> CboxFile:
    return add_files(folder, [(name, blob)], origin=origin)[0]


def add_files(folder: CboxFolder, entries, *, origin: str = "local") -> list[CboxFile]:
    """add_file for many (name, blob) pairs in one folder: one query for the names already taken, one
    multi-row INSERT … RETURNING for the files, one for their versions, one SELECT for the files (the
    import records its downloads this way). Same names as add_file one by one would give, in order; a
    clash takes _free_name's path for that name.

    Bulk statements, not the unit of work: the import spent about 1 ms of CPU per file in the ORM flush,
    a tenth of its work horse's (issue 13); these take under half of that. The folder's loaded `files`
    collection, which the statements bypass, is expired."""
    _check_folder(folder), _check_origin(origin)
    entries = list(entries)
    for name, blob in entries:
        _check_name(name)
        if not isinstance(blob, CboxBlob):
            raise CboxError(_l("A stored blob is required."))
    if not entries:
        return []
    if folder.id is None:
        db.session.flush()  # a folder created in this transaction: its id first
    _lock_names(folder)
    wanted = [safe_name(name) for name, _ in entries]
    taken = _taken_keys(folder, [name_key(name) for name in wanted])
    ids, rows = [], []

    def insert_rows():
        if rows:
            ids.extend(db.session.scalars(insert(CboxFile).returning(CboxFile.id, sort_by_parameter_order=True),
                                          rows).all())
            rows.clear()

    for (name, _blob), safe in zip(entries, wanted, strict=True):
        final = safe
        if name_key(safe) in taken:  # rare: _free_name queries the siblings, the batch's earlier files included
            insert_rows()
            final = _free_name(folder, name)
        taken.add(name_key(final))
        rows.append({"project_id": folder.project_id, "folder_id": folder.id, "category": folder.category,
                     "name": final, "name_key": name_key(final), "original_name": name, "origin": origin})
    insert_rows()
    db.session.execute(insert(CboxFileVersion), [
        {"file_id": file_id, "number": 1, "blob_sha256": blob.sha256, "size": blob.size}
        for file_id, (_name, blob) in zip(ids, entries, strict=True)])
    db.session.expire(folder, ["files"])
    files = {file.id: file for file in db.session.scalars(select(CboxFile).where(CboxFile.id.in_(ids)))}
    return [files[file_id] for file_id in ids]


def add_version(file: CboxFile, blob: CboxBlob) -> CboxFileVersion:
    if not isinstance(file, CboxFile) or not isinstance(blob, CboxBlob):
        raise CboxError(_l("A file and a stored blob are required."))
    current = file.current_version
    if current is not None and current.blob_sha256 == blob.sha256:
        return current  # identical content: re-importing or re-uploading changes nothing
    version = CboxFileVersion(file=file, number=(current.number + 1 if current else 1), blob_sha256=blob.sha256,
                              size=blob.size)
    file.updated_at = utcnow()
    db.session.add(version)
    db.session.flush()
    return version


def _parent_of(item) -> CboxFolder | None:
    return item.folder if isinstance(item, CboxFile) else item.parent


def rename(item, new_name: str):
    _check_item(item), _check_name(new_name)
    if isinstance(item, CboxFolder) and item.is_categorized:
        raise ProtectedItem(_l("The categorized folders cannot be renamed."))
    final = _free_name(_parent_of(item), new_name, exclude=item)
    item.name, item.name_key, item.original_name = final, name_key(final), new_name
    db.session.flush()
    return item


def _is_inside(folder: CboxFolder, ancestor: CboxFolder) -> bool:
    while folder is not None:
        if folder.id == ancestor.id:
            return True
        folder = folder.parent
    return False


def move(item, new_parent: CboxFolder):
    _check_item(item), _check_folder(new_parent)
    if isinstance(item, CboxFolder) and item.is_categorized:
        raise ProtectedItem(_l("The categorized folders cannot be moved."))
    if new_parent.project_id != item.project_id or new_parent.category != item.category:
        raise InvalidMove(_l("Items can only move within the same categorized folder."))
    if isinstance(item, CboxFolder) and _is_inside(new_parent, item):
        raise InvalidMove(_l("A folder cannot be moved into itself or one of its subfolders."))
    if _parent_of(item).id == new_parent.id:
        return item
    place_in(item, new_parent, _free_name(new_parent, item.name))
    return item


def place_in(item, parent: CboxFolder, name: str) -> None:
    """Put `item` in `parent` under `name` (already free there: _free_name). No checks: move() and the
    trash (portal/cbox/trash.py) check first."""
    item.name, item.name_key = name, name_key(name)
    if isinstance(item, CboxFile):
        item.folder = parent
    else:
        item.parent = parent
    db.session.flush()


def delete(item) -> None:
    _check_item(item)
    if isinstance(item, CboxFolder) and item.is_categorized:
        raise ProtectedItem(_l("The categorized folders cannot be deleted."))
    db.session.delete(item)  # ORM cascades remove subfolders, files and versions
    db.session.flush()


def path_of(item) -> list[str]:
    _check_item(item)
    names, node = [item.name], _parent_of(item)
    while node is not None:
        names.append(node.name)
        node = node.parent
    return names[::-1]


def children(folder: CboxFolder) -> tuple[list[CboxFolder], list[CboxFile]]:
    _check_folder(folder)
    folders = db.session.scalars(select(CboxFolder).where(CboxFolder.parent_id == folder.id)
                                 .order_by(CboxFolder.name_key)).all()
    files = db.session.scalars(select(CboxFile).where(CboxFile.folder_id == folder.id)
                               .order_by(CboxFile.name_key)).all()
    return list(folders), list(files)


_BELOW = text("""
WITH RECURSIVE tree(id) AS (
    SELECT id FROM cbox_folders WHERE parent_id = :folder_id
  UNION ALL
    SELECT f.id FROM cbox_folders f JOIN tree ON f.parent_id = tree.id
)
SELECT (SELECT COUNT(*) FROM tree),
       (SELECT COUNT(*) FROM cbox_files WHERE folder_id = :folder_id OR folder_id IN (SELECT id FROM tree))
""")


def count_below(folder: CboxFolder) -> tuple[int, int]:
    """(folders, files) anywhere below `folder`: what deleting it removes with it."""
    _check_folder(folder)
    folders, files = db.session.execute(_BELOW, {"folder_id": folder.id}).one()
    return int(folders), int(files)
