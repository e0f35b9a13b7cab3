"""The sync state of every item a cBox folder page shows, read from recorded state (SPEC R7, R13, R34).

An item under an integration's "Procore" folder shows its link's status (synced, syncing,
pending, pending deletion, error) with the reason; an item there without a link was created in
cBox ("only in cBox"). When no account can act on the integration's Procore project any more,
its items read "pending" with "reconnect Procore" (R34). A folder shows the worst state among
itself and everything below it, with how many items are in that state. Items outside every
integration's tree are not synced with anything and show no state.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext, pgettext
from sqlalchemy import bindparam, select, text

from portal.connections.credentials import project_accounts
from portal.extensions import db
from portal.models import CboxFolder, Integration, SyncItem
from portal.models.integrations import EVENT, EXPORT, IMPORT, KEPT, REFRESH, RETRY, ItemStatus, RunStatus
from portal.sync.reasons import Reason, describe

LOCAL = "local"  # only in cBox
SEVERITY = (ItemStatus.ERROR, ItemStatus.PENDING_DELETION, ItemStatus.PENDING, ItemStatus.SYNCING, LOCAL,
            ItemStatus.SYNCED)  # worst first
FILE, FOLDER = "file", "folder"

_SUBTREE = text("""
WITH RECURSIVE tree(top_id, id) AS (
    SELECT id, id FROM cbox_folders WHERE id IN :ids
  UNION ALL
    SELECT tree.top_id, f.id FROM cbox_folders f JOIN tree ON f.parent_id = tree.id
)
SELECT tree.top_id, COALESCE(s.status, 'local'), COUNT(*) FROM tree
  JOIN cbox_files f ON f.folder_id = tree.id
  LEFT JOIN sync_items s ON s.cbox_file_id = f.id
  GROUP BY tree.top_id, COALESCE(s.status, 'local')
UNION ALL
SELECT tree.top_id, COALESCE(s.status, 'local'), COUNT(*) FROM tree
  LEFT JOIN sync_items s ON s.cbox_folder_id = tree.id
  WHERE tree.id <> tree.top_id
  GROUP BY tree.top_id, COALESCE(s.status, 'local')
UNION ALL
SELECT tree.top_id, s.status, COUNT(*) FROM tree
  JOIN sync_items p ON p.cbox_folder_id = tree.id AND p.procore_kind = 'folder'
  JOIN sync_items s ON s.integration_id = p.integration_id AND s.procore_parent_id = p.procore_id
  WHERE s.cbox_file_id IS NULL AND s.cbox_folder_id IS NULL
  GROUP BY tree.top_id, s.status
UNION ALL
SELECT tree.top_id, s.status, COUNT(*) FROM tree
  JOIN integrations i ON i.procore_folder_id = tree.id
  JOIN sync_items s ON s.integration_id = i.id AND s.procore_parent_id IS NULL
  WHERE s.cbox_file_id IS NULL AND s.cbox_folder_id IS NULL
  GROUP BY tree.top_id, s.status
""").bindparams(bindparam("ids", expanding=True))


@dataclass
class ItemState:
    status: str
    reason: str | None = None
    counts: dict = field(default_factory=dict)  # a folder's contents by state (synced left out)
    reconnect: bool = False  # show the way to reconnect Procore (R34)

    @property
    def label(self) -> str:
        return label(self.status)

    @property
    def summary(self) -> str | None:
        """"3 pending": how many items below a folder are in its (worst) state."""
        count = self.counts.get(self.status)
        return count_label(self.status, count) if count else None

    @property
    def details(self) -> str | None:
        """Every non-synced count, for the folder's title: "1 error, 3 pending"."""
        parts = [count_label(status, self.counts[status]) for status in SEVERITY if self.counts.get(status)]
        return ", ".join(parts) or None


def label(status: str) -> str:
    return {ItemStatus.SYNCED: _("Synced"), ItemStatus.SYNCING: _("Syncing"), ItemStatus.PENDING: _("Pending"),
            ItemStatus.PENDING_DELETION: _("Pending deletion"), ItemStatus.ERROR: _("Error"),
            LOCAL: _("Only in cBox")}[status]


def count_label(status: str, count: int) -> str:
    forms = {ItemStatus.SYNCED: ngettext("%(num)d synced", "%(num)d synced", count),
             ItemStatus.SYNCING: ngettext("%(num)d syncing", "%(num)d syncing", count),
             ItemStatus.PENDING: ngettext("%(num)d pending", "%(num)d pending", count),
             ItemStatus.PENDING_DELETION: ngettext("%(num)d pending deletion", "%(num)d pending deletion", count),
             ItemStatus.ERROR: ngettext("%(num)d with errors", "%(num)d with errors", count),
             LOCAL: ngettext("%(num)d only in cBox", "%(num)d only in cBox", count)}
    return forms[status]


def badge_kind(status: str) -> str:
    """The badge colour of an item status (the progress page's list of items with problems)."""
    return {ItemStatus.SYNCED: "ok", ItemStatus.ERROR: "error", LOCAL: "neutral"}.get(status, "warn")


# Runs (SPEC D1) as every page names them: one word family, feminine like "la ejecución" in Spanish
# (en cola, en curso, deteniéndose, detenida, terminada, fallida, a la espera de confirmación, cancelada,
# reemplazada). The context "run" keeps them apart from the same English words used elsewhere.
def run_status(status: str) -> tuple[str, str]:
    """(label, badge kind) of a run status."""
    labels = {RunStatus.QUEUED: (pgettext("run", "Queued"), "neutral"),
              RunStatus.RUNNING: (pgettext("run", "Running"), "warn"),
              RunStatus.STOPPING: (pgettext("run", "Stopping"), "warn"),
              RunStatus.STOPPED: (pgettext("run", "Stopped"), "neutral"),
              RunStatus.DONE: (pgettext("run", "Done"), "ok"), RunStatus.FAILED: (pgettext("run", "Failed"), "error"),
              RunStatus.AWAITING: (pgettext("run", "Awaiting confirmation"), "warn"),
              RunStatus.CANCELLED: (pgettext("run", "Cancelled"), "neutral"),
              RunStatus.SUPERSEDED: (pgettext("run", "Superseded"), "neutral")}
    return labels.get(status, (pgettext("run", "Unknown state"), "neutral"))


def run_kind(kind: str, origin: str | None = None) -> str:
    """What started a run: an import, a refresh, Procore's webhook events, an export, an admin's retry."""
    if origin == RETRY:
        return pgettext("run", "Retry of failed items")
    labels = {IMPORT: pgettext("run", "Import"), REFRESH: pgettext("run", "Refresh"),
              EVENT: pgettext("run", "Changes from Procore"), EXPORT: pgettext("run", "Export")}
    return labels.get(kind, pgettext("run", "Run"))


def run_summary(run, export: bool = False, short: bool = False) -> str:
    """What a finished run did, each count in its singular or plural form: "1 importado, 2 actualizados, …"."""
    if export:
        parts = {"done": ngettext("%(num)d exported", "%(num)d exported", run.imported),
                 "updated": ngettext("%(num)d updated in Procore", "%(num)d updated in Procore", run.updated),
                 "skipped": ngettext("%(num)d unchanged or not exported (not an image)",
                                     "%(num)d unchanged or not exported (not images)", run.skipped),
                 "failed": ngettext("%(num)d failed", "%(num)d failed", run.failed),
                 "deleted": ngettext("%(num)d removed from Procore", "%(num)d removed from Procore", run.deleted)}
    else:
        parts = {"done": ngettext("%(num)d imported", "%(num)d imported", run.imported),
                 "updated": ngettext("%(num)d updated", "%(num)d updated", run.updated),
                 "skipped": ngettext("%(num)d skipped (already up to date)", "%(num)d skipped (already up to date)",
                                     run.skipped),
                 "failed": ngettext("%(num)d failed", "%(num)d failed", run.failed),
                 "deleted": ngettext("%(num)d deleted", "%(num)d deleted", run.deleted)}
    if short:
        return _("%(done)s, %(updated)s, %(failed)s", done=parts["done"], updated=parts["updated"],
                 failed=parts["failed"])
    return _("%(done)s, %(updated)s, %(skipped)s, %(failed)s, %(deleted)s.", **parts)


def page_helpers() -> dict:
    """Runs and items as the integration pages name them (their blueprints' context processors)."""
    from portal.sync.reasons import describe_run_error

    return {"run_status": run_status, "run_kind": run_kind, "run_summary": run_summary, "item_label": label,
            "item_badge": badge_kind, "run_problem": describe_run_error}


def worst(statuses) -> str:
    present = set(statuses)
    return next((status for status in SEVERITY if status in present), ItemStatus.SYNCED)


@dataclass
class Missing:
    """An item that belongs here but never arrived in cBox (its import failed or waits)."""

    kind: str
    name: str
    state: ItemState


class FolderStates:
    """The states of one folder page: the folder itself, its subfolders, its files, and the items
    that should be here but never arrived (`missing`)."""

    def __init__(self, folder: CboxFolder, crumbs: list[CboxFolder], folders: list[CboxFolder], files: list):
        self.folder, self.states, self.missing = folder, {}, []
        covering = _integrations_by_root([crumb.id for crumb in crumbs])
        integration = next((covering[c.id] for c in reversed(crumbs) if c.id in covering), None)
        if integration is None and self._exports(folder, crumbs, folders, files):
            return
        roots = {} if integration else _integrations_by_root([sub.id for sub in folders])
        synced_folders = [sub for sub in folders if integration or sub.id in roots]
        self.lost = {i.id for i in {integration, *roots.values()} - {None} if not _has_account(i)}
        links = _links(files if integration else [], synced_folders + ([folder] if integration else []))
        counts = _subtree_counts([sub.id for sub in synced_folders] + ([folder.id] if integration else []))
        for file in files if integration else []:
            self.states[(FILE, file.id)] = self._item(links.get((FILE, file.id)), integration)
        for sub in synced_folders:
            self.states[(FOLDER, sub.id)] = self._folder(links.get((FOLDER, sub.id)), counts.get(sub.id, {}),
                                                         integration or roots.get(sub.id))
        if integration:
            own = links.get((FOLDER, folder.id))
            self.states[(FOLDER, folder.id)] = self._folder(own, counts.get(folder.id, {}), integration)
            self.missing = [Missing(link.procore_kind, link.name, self._item(link, integration))
                            for link in _never_arrived(integration, folder, own)]

    def of(self, item) -> ItemState | None:
        return self.states.get((FOLDER if isinstance(item, CboxFolder) else FILE, item.id))

    def _exports(self, folder: CboxFolder, crumbs: list[CboxFolder], folders: list[CboxFolder], files: list) -> bool:
        """States under an export (R5): its items' links; an item of the selection not exported yet waits
        as pending; a file the export leaves out on purpose (not an image, R29) reads "only in cBox"."""
        chain = {crumb.id for crumb in crumbs}
        in_scope_files, in_scope_folders, exports = {}, {}, []
        for integration in _export_integrations(folder.project.company_id):
            chosen = integration.selections or {}
            every = bool(chain & set(chosen.get("folders", [])))
            for file in files:
                if every or file.id in chosen.get("files", []):
                    in_scope_files[file.id] = integration
            for sub in folders:
                if every or sub.id in chosen.get("folders", []):
                    in_scope_folders[sub.id] = integration
            if every:
                exports.append(integration)
        if not (in_scope_files or in_scope_folders or exports):
            return False
        self.lost = {i.id for i in {*in_scope_files.values(), *in_scope_folders.values(), *exports}
                     if not _has_account(i)}
        scoped = [sub for sub in folders if sub.id in in_scope_folders]
        links = _links([file for file in files if file.id in in_scope_files], scoped + ([folder] if exports else []))
        counts = _subtree_counts([sub.id for sub in scoped] + ([folder.id] if exports else []))
        for file in files:
            if file.id in in_scope_files:
                link = links.get((FILE, file.id))
                self.states[(FILE, file.id)] = (self._item(link, in_scope_files[file.id]) if link is not None else
                                                ItemState(ItemStatus.PENDING, Reason("not_exported_yet").describe()))
        for sub in scoped:
            self.states[(FOLDER, sub.id)] = self._folder(links.get((FOLDER, sub.id)), counts.get(sub.id, {}),
                                                         in_scope_folders[sub.id])
        if exports:
            self.states[(FOLDER, folder.id)] = self._folder(links.get((FOLDER, folder.id)),
                                                            counts.get(folder.id, {}), exports[0])
        return True

    def _item(self, link: SyncItem | None, integration) -> ItemState:
        if link is None:
            return ItemState(LOCAL, Reason("only_local").describe())
        if link.status == ItemStatus.SKIPPED:  # an export leaves it in cBox on purpose
            return ItemState(LOCAL, describe(link.reason_code, link.reason_args, link.error))
        if integration.id in self.lost and link.status in (ItemStatus.SYNCED, ItemStatus.SYNCING, ItemStatus.PENDING):
            return ItemState(ItemStatus.PENDING, Reason("no_credentials").describe(), reconnect=True)
        return ItemState(link.status, describe(link.reason_code, link.reason_args, link.error))

    def _folder(self, link: SyncItem | None, counts: dict, integration) -> ItemState:
        counts = dict(counts)
        own = self._item(link, integration) if link is not None else None
        if integration.id in self.lost:
            for status in (ItemStatus.SYNCED, ItemStatus.SYNCING):
                counts[ItemStatus.PENDING] = counts.get(ItemStatus.PENDING, 0) + counts.pop(status, 0)
        status = worst([*counts, *([own.status] if own else []), ItemStatus.SYNCED])
        counts.pop(ItemStatus.SYNCED, None)
        if own is not None and own.status == status:
            return ItemState(status, own.reason, counts, own.reconnect)
        if integration.id in self.lost and status == ItemStatus.PENDING:
            return ItemState(status, Reason("no_credentials").describe(), counts, reconnect=True)
        return ItemState(status, None, counts)


def _never_arrived(integration: Integration, folder: CboxFolder, own: SyncItem | None) -> list[SyncItem]:
    """Links of items Procore has in this folder that have no cBox copy (a failed or waiting import)."""
    if folder.id == integration.procore_folder_id:
        parent = SyncItem.procore_parent_id.is_(None)
    elif own is not None:
        parent = SyncItem.procore_parent_id == own.procore_id
    else:
        return []
    return list(db.session.scalars(select(SyncItem).where(
        SyncItem.integration_id == integration.id, parent, SyncItem.cbox_file_id.is_(None),
        SyncItem.cbox_folder_id.is_(None)).order_by(SyncItem.name).limit(200)))


def _integrations_by_root(folder_ids: list[int]) -> dict[int, Integration]:
    if not folder_ids:
        return {}
    rows = db.session.scalars(select(Integration).where(Integration.procore_folder_id.in_(folder_ids)))
    return {integration.procore_folder_id: integration for integration in rows}


def _export_integrations(company_id: int) -> list[Integration]:
    return list(db.session.scalars(select(Integration).where(
        Integration.company_id == company_id, Integration.direction == "export", Integration.status.in_(KEPT))))


def _has_account(integration: Integration) -> bool:
    return bool(project_accounts(integration.company_id, integration.procore_project_id, integration.account_id))


def _links(files: list, folders: list) -> dict:
    found = {}
    if files:
        for link in db.session.scalars(select(SyncItem).where(SyncItem.cbox_file_id.in_([f.id for f in files]))):
            found[(FILE, link.cbox_file_id)] = link
    if folders:
        ids = [f.id for f in folders]
        for link in db.session.scalars(select(SyncItem).where(SyncItem.cbox_folder_id.in_(ids))):
            found[(FOLDER, link.cbox_folder_id)] = link
    return found


def _subtree_counts(folder_ids: list[int]) -> dict[int, dict[str, int]]:
    """{folder id: {state: items below it}} in one recursive query."""
    counts: dict[int, dict[str, int]] = {}
    if not folder_ids:
        return counts
    for top_id, status, count in db.session.execute(_SUBTREE, {"ids": folder_ids}):
        status = LOCAL if status == ItemStatus.SKIPPED else status
        bucket = counts.setdefault(top_id, {})
        bucket[status] = bucket.get(status, 0) + count
    return counts


def categorized_states(folders: list[CboxFolder]) -> dict[int, ItemState]:
    """The state of each categorized folder (Documentos, Imágenes, Planos) that holds an integration's
    tree: the worst state below its "Procore" folder(s)."""
    integrations = list(db.session.scalars(select(Integration).where(
        Integration.cbox_folder_id.in_([f.id for f in folders]), Integration.procore_folder_id.is_not(None))))
    counts = _subtree_counts([i.procore_folder_id for i in integrations])
    states = {}
    for integration in integrations:
        below = dict(counts.get(integration.procore_folder_id, {}))
        lost = not _has_account(integration)
        if lost:
            for status in (ItemStatus.SYNCED, ItemStatus.SYNCING):
                below[ItemStatus.PENDING] = below.get(ItemStatus.PENDING, 0) + below.pop(status, 0)
        merged = states.setdefault(integration.cbox_folder_id, {})
        for status, count in below.items():
            merged[status] = merged.get(status, 0) + count
        merged["_lost"] = merged.get("_lost", False) or lost
    result = {}
    for folder_id, merged in states.items():
        lost = merged.pop("_lost")
        status = worst([*merged, ItemStatus.SYNCED])
        merged.pop(ItemStatus.SYNCED, None)
        reason = Reason("no_credentials").describe() if lost and status == ItemStatus.PENDING else None
        result[folder_id] = ItemState(status, reason, merged, reconnect=reason is not None)
    return result
