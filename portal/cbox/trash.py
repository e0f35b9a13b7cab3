"""The cBox trash (issue 14): a deleted item stays restorable for CBOX_TRASH_DAYS days, then goes for good.

  trash(item, user) -> CboxTrashEntry   the item (and everything inside it) leaves its tree
  entries(project) -> [CboxTrashEntry]  newest first
  restore(entry) -> (item, folder)      back where it was, or to the categorized folder when that
                                        place is gone; " (2)" when its name is taken meanwhile
  purge(entry)                          deleted for good (blobs go at the next garbage collection)
  purge_expired(now=None) -> int        the periodic job: entries older than CBOX_TRASH_DAYS
  is_trashed(item) -> bool              True for an item in the trash, or inside a trashed folder

A trashed item is moved into a hidden holder folder of its own (models.cbox.CboxTrashEntry says why),
so its rows, versions and blobs are untouched and no page or sync walk that starts at a categorized
folder reaches it. Like store.py, these functions flush and never commit.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.cbox import store
from portal.cbox.errors import CboxError, ProtectedItem
from portal.extensions import db
from portal.models.cbox import CboxFile, CboxFolder, CboxProject, CboxTrashEntry
from portal.models.tenancy import utcnow

def keep_days() -> int:
    return current_app.config["CBOX_TRASH_DAYS"]  # config.py keeps it >= 1


def _root(item) -> CboxFolder:
    node = item.folder if isinstance(item, CboxFile) else item
    while node.parent is not None:
        node = node.parent
    return node


def is_trashed(item) -> bool:
    """In the trash: the top of its tree is a holder folder, not a categorized one."""
    return _root(item).kind is None


def trash(item, user=None) -> CboxTrashEntry:
    """Move `item` out of its tree into the trash; return the entry that remembers where it was."""
    if not isinstance(item, (CboxFile, CboxFolder)) or item.id is None:
        raise CboxError(_l("A cBox folder or file is required."))
    if isinstance(item, CboxFolder) and item.is_categorized:
        raise ProtectedItem(_l("The categorized folders cannot be deleted."))
    if is_trashed(item):
        raise CboxError(_l("%(name)s is already in the trash.", name=item.name))
    parent = store._parent_of(item)
    label = f"trash-{uuid.uuid4().hex}"
    holder = CboxFolder(project_id=item.project_id, parent_id=None, kind=None, category=item.category, name=label,
                        name_key=label, original_name=label, origin="local")
    db.session.add(holder)
    db.session.flush()
    entry = CboxTrashEntry(project_id=item.project_id, holder_id=holder.id, category=item.category,
                           is_folder=isinstance(item, CboxFolder), name=item.name, original_parent_id=parent.id,
                           original_path=" / ".join(store.path_of(parent)), deleted_at=utcnow(),
                           deleted_by_id=getattr(user, "id", None))
    db.session.add(entry)
    store.place_in(item, holder, item.name)
    return entry


def entries(project: CboxProject) -> list[CboxTrashEntry]:
    return list(db.session.scalars(select(CboxTrashEntry).where(CboxTrashEntry.project_id == project.id)
                                   .order_by(CboxTrashEntry.deleted_at.desc(), CboxTrashEntry.id.desc())))


def item_of(entry: CboxTrashEntry):
    """The trashed folder or file (the one item in its holder)."""
    model, column = (CboxFolder, CboxFolder.parent_id) if entry.is_folder else (CboxFile, CboxFile.folder_id)
    return db.session.scalar(select(model).where(column == entry.holder_id))


def expires_at(entry: CboxTrashEntry) -> datetime:
    return entry.deleted_at + timedelta(days=keep_days())


def restore_target(entry: CboxTrashEntry) -> CboxFolder:
    """Where a restore puts the item: its old folder while that is still in its tree, else the
    categorized folder of its kind."""
    parent = db.session.get(CboxFolder, entry.original_parent_id) if entry.original_parent_id else None
    if parent is not None and parent.project_id == entry.project_id and not is_trashed(parent):
        return parent
    return store.categorized_folder(db.session.get(CboxProject, entry.project_id), entry.category)


def restore(entry: CboxTrashEntry):
    """Put the item back (restore_target); its name gets " (2)" if another item took it meanwhile."""
    item, target = item_of(entry), restore_target(entry)
    if item is None:
        raise CboxError(_l("%(name)s is no longer in the trash.", name=entry.name))
    store.place_in(item, target, store._free_name(target, item.name))
    holder = db.session.get(CboxFolder, entry.holder_id)
    db.session.delete(entry)
    db.session.delete(holder)
    db.session.flush()
    return item, target


def purge(entry: CboxTrashEntry) -> None:
    """Delete for good: the holder, the item with all its versions, and the entry."""
    holder = db.session.get(CboxFolder, entry.holder_id)
    db.session.delete(entry)
    if holder is not None:
        db.session.delete(holder)  # ORM cascade: subfolders, files, versions
    db.session.flush()


def purge_expired(now: datetime | None = None) -> int:
    """Entries kept longer than CBOX_TRASH_DAYS go for good (the periodic job "cbox-trash")."""
    limit = (now or datetime.now(timezone.utc)) - timedelta(days=keep_days())
    expired = db.session.scalars(select(CboxTrashEntry).where(CboxTrashEntry.deleted_at < limit)).all()
    for entry in expired:
        purge(entry)
    db.session.commit()
    return len(expired)
