"""What a run does with linked items Procore did not list: delete on proof only (SPEC R7, R13, R34).

An item leaves cBox only when Procore positively says it is gone: it was seen in Procore's
recycle bin, or it is absent from a complete listing made by an account whose permission
manifest (re-read in the same run) shows Admin on the tool. Anything else (a lowered
permission, a private folder, a 403) proves nothing: the item stays in cBox as "pending" with
the reason, and nothing is deleted. A large deletion waits for an admin's confirmation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select, update

from portal.cbox import store
from portal.extensions import db
from portal.models import SyncItem, SyncRun
from portal.models.integrations import ItemStatus, RunStatus
from portal.models.tenancy import utcnow
from portal.sync.apply import cbox_item, set_state
from portal.sync.mapper import DELETED, FILE, FOLDER
from portal.sync.reasons import Reason

VERIFY_MAX = 200  # unseen items read one by one for a recycle-bin proof; past this they just wait


@dataclass
class Sightings:
    """What one listing saw: live items, items in the recycle bin, items the account could not read."""

    seen: set = field(default_factory=set)
    deleted: set = field(default_factory=set)
    hidden: set = field(default_factory=set)
    absent: set = field(default_factory=set)  # a direct read answered 404
    outside: set = field(default_factory=set)  # exists, but not inside the selection (event runs)

    @property
    def named(self) -> set:
        return self.deleted | self.hidden | self.absent | self.outside

    def under(self, link: SyncItem, links: dict, keys: set) -> bool:
        """Is the link, or a folder above it (as the links remember the tree), one of `keys`?"""
        key, hops = (link.procore_kind, link.procore_id), 0
        while key is not None and hops < 200:
            if key in keys:
                return True
            parent = links.get((FOLDER, links[key].procore_parent_id)) if key in links else None
            key, hops = ((FOLDER, parent.procore_id) if parent is not None else None), hops + 1
        return False


def unseen(links: dict, sightings: Sightings, named_only: bool = False) -> list[SyncItem]:
    """Linked items the listing did not see live. An event run lists only what its events named, so
    only those items (and what is below a named folder) are candidates, never the rest."""
    named = sightings.named
    return [link for key, link in links.items() if key not in sightings.seen and link.id is not None
            and (not named_only or sightings.under(link, links, named))]


def sort_proof(links: dict, sightings: Sightings, gone: list[SyncItem], admin: bool,
               verify) -> tuple[list[SyncItem], list[SyncItem]]:
    """Split unseen links into (proven gone, kept). `verify(kind, id)` reads one item from Procore."""
    proven, doubtful = [], []
    for link in gone:
        if sightings.under(link, links, sightings.deleted):
            proven.append(link)
        elif admin and not sightings.under(link, links, sightings.hidden):
            proven.append(link)  # absent from an Admin's complete listing
        else:
            doubtful.append(link)
    if not doubtful or len(doubtful) > VERIFY_MAX:
        return proven, doubtful
    kept = []
    for link in doubtful:  # the account may still see it in the recycle bin
        (proven if verify(link.procore_kind, link.procore_id) == DELETED else kept).append(link)
    return proven, kept


def keep(links: list[SyncItem], login: str, run_id: int) -> None:
    """Not proven gone: the cBox copy stays, "pending" with who could not see it (R34)."""
    for link in links:
        set_state(link, ItemStatus.PENDING, Reason("cannot_see", {"login": login}))
        link.last_run_id = run_id


def needs_confirmation(run: SyncRun, proven: list[SyncItem], total: int) -> bool:
    return len(proven) > delete_threshold(total) and not run.confirmed_deletes


def await_confirmation(run: SyncRun, proven: list[SyncItem]) -> None:
    """Nothing is deleted yet: each item reads "pending deletion" and the run shows what would go."""
    for link in proven:
        set_state(link, ItemStatus.PENDING_DELETION, Reason("await_confirm"))
        link.last_run_id = run.id
    run.preview = sorted(preview_path(link) for link in proven)[:500]


def delete(links: dict, proven: list[SyncItem], run: SyncRun) -> None:
    for link in sorted(proven, key=lambda link: link.procore_kind != FILE):  # files, then folders
        item = cbox_item(link)
        if item is not None:
            store.delete(item)
        db.session.delete(link)
        links.pop((link.procore_kind, link.procore_id), None)
        run.deleted += 1
    db.session.flush()


def delete_threshold(total: int) -> float:
    """How many deletions a refresh makes without asking (config SYNC_DELETE_CONFIRM_*)."""
    config = current_app.config
    items = config["SYNC_DELETE_CONFIRM_ITEMS"]
    if total >= config["SYNC_DELETE_CONFIRM_MIN_TOTAL"]:  # 10% of a tiny tree is one file
        return min(items, total * config["SYNC_DELETE_CONFIRM_RATIO"])
    return items


def preview_path(link: SyncItem) -> str:
    item = cbox_item(link)
    if item is not None:
        return "/".join(store.path_of(item))
    return f"{link.name}/ (Procore)" if link.procore_kind == "folder" else f"{link.name} (Procore)"  # no code shown


def settle(links, complete: bool, stopped: bool = False, detail: str | None = None) -> None:
    """At the end of a run: items it was still writing are synced when it completed, else pending
    with why (a folder of an import that stopped half-way never reads "synced")."""
    reason = Reason("run_stopped") if stopped else Reason("run_incomplete", {"detail": (detail or "")[:300]})
    for link in links:
        if link.status == ItemStatus.SYNCING:
            set_state(link, ItemStatus.SYNCED if complete else ItemStatus.PENDING, None if complete else reason)


def settle_abandoned(integration_id: int, detail: str) -> None:
    """The same for a run no worker will finish (the sweeper's stopped runs, an unexpected error)."""
    reason = Reason("run_incomplete", {"detail": detail[:300]})
    db.session.execute(update(SyncItem).where(SyncItem.integration_id == integration_id,
                                              SyncItem.status == ItemStatus.SYNCING)
                       .values(status=ItemStatus.PENDING, reason_code=reason.code, reason_args=reason.args,
                               error=reason.english()))


def supersede(run: SyncRun) -> None:
    """A later run listed Procore again: an older run still awaiting a confirmation is closed."""
    db.session.execute(update(SyncRun).where(SyncRun.integration_id == run.integration_id, SyncRun.id != run.id,
                                             SyncRun.status == RunStatus.AWAITING)
                       .values(status=RunStatus.SUPERSEDED, finished_at=utcnow()))


def awaiting_links(run: SyncRun) -> list[SyncItem]:
    """The links a run awaiting confirmation would delete."""
    return list(db.session.scalars(select(SyncItem).where(
        SyncItem.integration_id == run.integration_id, SyncItem.last_run_id == run.id,
        SyncItem.status == ItemStatus.PENDING_DELETION)))


def keep_them(run: SyncRun) -> int:
    """The admin keeps the copies: they stay in cBox, unlinked ("only in cBox"); the run ends done."""
    links = awaiting_links(run)
    for link in links:
        db.session.delete(link)
    run.status, run.finished_at = RunStatus.DONE, utcnow()
    db.session.flush()
    return len(links)


def cancel(run: SyncRun) -> None:
    """Nothing is deleted now; the items say so, and the next refresh asks again."""
    for link in awaiting_links(run):
        set_state(link, ItemStatus.PENDING_DELETION, Reason("delete_cancelled"))
    run.status, run.finished_at = RunStatus.CANCELLED, utcnow()
    db.session.flush()
