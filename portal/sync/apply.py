"""Apply one planned change to cBox through the store API, and record the link (SyncItem).

Everything flushes; the run loop commits. Planning is by Procore (kind, id) and version,
never by name: a rename or move in Procore renames or moves the same cBox item.
"""
from __future__ import annotations

from portal.cbox import store, trash
from portal.extensions import db
from portal.models import CboxFile, CboxFolder, SyncItem
from portal.models.integrations import ItemStatus
from portal.sync.mapper import FILE, FOLDER, RemoteItem
from portal.sync.reasons import Reason

# What a plan decides for one remote item.
CREATE, UPDATE, MOVE, SKIP = "create", "update", "move", "skip"


def cbox_item(link: SyncItem):
    """The linked cBox row, or None when it was removed in cBox or sits in its trash (a refresh makes it
    again; restored before that, the link finds it back: no duplicate)."""
    if link.procore_kind == FOLDER:
        item = db.session.get(CboxFolder, link.cbox_folder_id) if link.cbox_folder_id else None
    else:
        item = db.session.get(CboxFile, link.cbox_file_id) if link.cbox_file_id else None
    return None if item is None or trash.is_trashed(item) else item


def plan_file(item: RemoteItem, link: SyncItem | None) -> str:
    """CREATE/UPDATE need a download; MOVE only renames or moves; SKIP changes nothing.

    A changed updated_at with the same version and size is a rename or move (Procore bumps
    updated_at on those), not new content: no download.
    """
    if link is None or cbox_item(link) is None:
        return CREATE
    if link.status != ItemStatus.SYNCED or item.version_id != link.procore_version_id or item.size != link.procore_size:
        return UPDATE  # errors and pending items are retried by every refresh: that is how it repairs them
    if item.parent_id != link.procore_parent_id or item.name != link.name:
        return MOVE
    return SKIP


def link_for(links: dict, integration_id: int, item: RemoteItem) -> SyncItem:
    key = (item.kind, item.id)
    if key not in links:
        links[key] = SyncItem(integration_id=integration_id, procore_kind=item.kind, procore_id=item.id,
                              name=item.name, status=ItemStatus.PENDING, attempts=0)
        db.session.add(links[key])
    return links[key]


def remember(link: SyncItem, item: RemoteItem, run_id: int, status: ItemStatus = ItemStatus.SYNCED,
             reason: Reason | None = None):
    link.procore_parent_id, link.name, link.last_run_id = item.parent_id, item.name, run_id
    set_state(link, status, reason)
    if item.kind == FILE and status == ItemStatus.SYNCED:
        link.procore_version_id, link.procore_size, link.procore_updated_at = item.version_id, item.size, \
            item.updated_at
        link.attempts = 0
    elif status == ItemStatus.ERROR:
        link.attempts = (link.attempts or 0) + 1


def set_state(link: SyncItem, status: str, reason: Reason | None = None) -> None:
    """The link's status and why (the code for the page, the English sentence for support)."""
    link.status = status
    link.reason_code, link.reason_args = (reason.code, reason.args or None) if reason else (None, None)
    link.error = reason.english() if reason else None


def place(item, parent: CboxFolder, name: str):
    """Move/rename an existing cBox item to where Procore has it now (R22: moves within the selection)."""
    current_parent = item.folder if isinstance(item, CboxFile) else item.parent
    if current_parent.id != parent.id:
        store.move(item, parent)
    if item.original_name != name:
        store.rename(item, name)


def apply_folder(item: RemoteItem, link: SyncItem, parent: CboxFolder, run_id: int) -> CboxFolder:
    """Create or place the folder. Its link reads "syncing" until the run that visited it completes
    (engine.settle): a folder of an import that stopped half-way is not "synced"."""
    folder = cbox_item(link)
    if folder is None:
        folder = store.create_folder(parent, item.name, origin="procore")
        link.cbox_folder_id = folder.id
    else:
        place(folder, parent, item.name)
    remember(link, item, run_id, status=ItemStatus.SYNCING)
    return folder


def store_file(item: RemoteItem, link: SyncItem, parent: CboxFolder, sha256: str, size: int, run_id: int) -> str:
    """Record downloaded content as a new file or a new version; return CREATE or UPDATE."""
    blob = store.register_blob(sha256, size)  # the download thread already streamed it into the store
    file = cbox_item(link)
    if file is None:
        file = store.add_file(parent, item.name, blob, origin="procore")
        link.cbox_file_id, action = file.id, CREATE
    else:
        place(file, parent, item.name)
        store.add_version(file, blob)
        action = UPDATE
    link.sha256 = sha256
    remember(link, item, run_id)
    return action


def mark_error(link: SyncItem, item: RemoteItem, reason: Reason, run_id: int, status: str = ItemStatus.ERROR) -> None:
    """The item keeps its previous content (nothing is lost) and shows why it is not synced."""
    remember(link, item, run_id, status=status, reason=reason)
