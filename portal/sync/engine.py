"""One sync run (import or refresh): list Procore, plan by id + version, apply to cBox (R3, R7, R10, R13, R21).

The mapper lists Procore in its own thread (listing.py) while downloads run in a small thread
pool (fetch.py): both overlap. The run thread alone writes rows; it commits before every wait
(never blocking while it holds the database) and with a heartbeat about once a second, so a
killed worker loses at most a second of bookkeeping: the blobs are content-addressed and the
links say what is done, so a re-run skips it (RELIABILITY 10-12).

Which account lists (R33, R34): the first valid one whose permission manifest, read in this run,
shows Admin on the tool; if its view shrinks during the listing (a 403, a folder its parent lists
but it cannot read), the next such account lists again. Without any, the first account that can
still read is used, and what it cannot see waits as "pending": deletions happen only on proof
(removal.py), and a large one waits for an admin's confirmation.
"""
from __future__ import annotations

import time
from dataclasses import replace

from flask import current_app
from sqlalchemy import select

from portal import alerts
from portal.cbox import store
from portal.cbox.errors import CboxError
from portal.connections.credentials import DbCredential, client_for, project_accounts, \
    record_integration
from portal.extensions import db
from portal.models import CboxFolder, Integration, SyncItem
from portal.models.integrations import EVENT, REFRESH, ItemStatus, RunStatus
from portal.models.tenancy import utcnow
from portal.procore import PaginationIncomplete, ProcoreAuthError, ProcoreError, ProcorePermissionError
from portal.sync import removal
from portal.sync.apply import MOVE, SKIP, UPDATE, apply_folder, cbox_item, link_for, mark_error, place, plan_file, \
    remember, set_state, store_file
from portal.sync.batches import SharedFetcher
from portal.sync.fetch import Fetched, Target
from portal.sync.listing import Listing
from portal.sync.mapper import ABSENT, DELETED, FILE, FOLDER, HIDDEN, LIVE, OUTSIDE, FullRefreshNeeded, \
    RemoteItem, mapper_for
from portal.sync.reasons import Reason, run_error

RECORD_BATCH = 16  # finished downloads recorded together (see Execution.drain)
RECORD_EVERY = 0.25  # seconds: a slow trickle of downloads is still recorded promptly
ADMIN, READER = "admin", "reader"  # an account's standing on the tool, from its permission manifest


class Execution:
    def __init__(self, run):
        self.run, self.integration = run, run.integration
        self.mapper = mapper_for(self.integration.tool)
        self.target = Target(self.integration.procore_company_id, self.integration.procore_project_id,
                             dict(self.integration.selections or {}),
                             exclude=frozenset(export_roots(self.integration.company_id,
                                                            self.integration.procore_project_id)))
        self.refs = [tuple(ref) for ref in run.scope or []] if run.kind == EVENT else None
        self.links: dict = {}
        self.sightings = removal.Sightings()
        self.folders: dict[int, CboxFolder] = {}
        self.stop_reason: str | None = None
        self.full_needed = False
        self.last_tick = self.last_record = 0.0
        self.ready: list[Fetched] = []  # finished downloads not recorded yet
        self.early: Listing | None = None  # a listing started before its account was chosen (execute)

    # -- the run ---------------------------------------------------------------------------------
    def execute(self) -> str:
        integration = self.integration
        accounts = project_accounts(integration.company_id, integration.procore_project_id, integration.account_id)
        if not accounts:
            return self.finish(RunStatus.FAILED, run_error("no_credentials"))
        self.links = {(link.procore_kind, link.procore_id): link for link in db.session.scalars(
            select(SyncItem).where(SyncItem.integration_id == integration.id))}
        self.root = procore_root(integration)
        if self.refs is not None:
            status = self.apply_events(accounts[0])
            if status is not None:
                return status
        chosen, complete = None, False
        # The first account's listing starts now, while its manifest is read: one latency less before the
        # first download. Its items are used only if that account is the one chosen to list; otherwise it
        # is cancelled unread (a request or two wasted, only when another account's standing decides).
        db.session.commit()  # what execute() wrote so far (the Procore folder): the listing thread never waits on it
        self.early = self.new_listing(accounts[0]).start()
        try:
            for account, admin in self.standings(accounts):
                chosen = account, admin
                complete = self.attempt(account)
                if self.stop_reason or not self.sightings.hidden or not admin:
                    break
                current_app.logger.info("sync run %s: the view of %s shrank; trying another account", self.run.id,
                                        account.procore_login)
        finally:
            self.listing_for(None)  # an early listing never chosen: cancelled
        if chosen is None:
            return self.finish(RunStatus.FAILED, run_error("no_reader"))
        return self.conclude(complete, *chosen)

    def listing_for(self, account) -> Listing | None:
        """The listing `account` runs with: the one started early if it is that account's (once), else a new
        one. An early listing of another account is cancelled, without waiting for its request to end."""
        early, self.early = self.early, None
        if early is not None and account is not None and early.account_id == account.id:
            return early
        if early is not None:
            early.cancel()
        if account is None:
            return None
        return self.new_listing(account)

    def new_listing(self, account) -> Listing:
        return Listing(current_app._get_current_object(), account.id, self.target, self.mapper, self.refs)

    def standings(self, accounts):
        """Yield (account, is_admin) to list with: every account whose manifest shows Admin on the tool,
        in turn; if none does, the first account that can still read the project."""
        fallback, admins = None, 0
        for account in accounts:
            standing = self.standing(account)
            if standing == ADMIN:
                admins += 1
                yield account, True
            elif standing == READER and fallback is None:
                fallback = account
        if not admins and fallback is not None:
            yield fallback, False

    def standing(self, account) -> str | None:
        return account_standing(account, self.target.procore_company_id, self.target.procore_project_id,
                                self.mapper.tool)

    def apply_events(self, account) -> str | None:
        """An event run: read what the events named, with the first valid account, placing items under
        the folders the integration already has. Its manifest is read only if something may have to
        leave cBox (remove_missing). None when an event needs the whole listing instead (widened)."""
        known = {link.procore_id: (link.procore_parent_id, link.name) for (kind, _id), link in self.links.items()
                 if kind == FOLDER and link.status in (ItemStatus.SYNCED, ItemStatus.SYNCING)
                 and link.cbox_folder_id is not None}
        self.target = replace(self.target, known=known)
        complete = self.attempt(account)
        if not self.full_needed:
            return self.conclude(complete, account, None)
        current_app.logger.info("sync run %s: an event needs a full refresh", self.run.id)
        self.run.kind, self.run.scope, self.refs, self.full_needed = REFRESH, None, None, False
        self.target = replace(self.target, known={})
        return None

    def attempt(self, account) -> bool:
        """List and copy with one account; True when the listing was complete."""
        run = self.run
        run.files_total = run.files_done = run.bytes_total = run.bytes_done = run.skipped = run.failed = 0
        run.listing_complete = False  # while listing, the page shows "N found", never a percentage (D1)
        self.sightings, self.folders, self.account = removal.Sightings(), {}, account
        app, workers = current_app._get_current_object(), current_app.config["SYNC_DOWNLOAD_THREADS"]
        db.session.commit()
        # Downloads go to this worker's threads, and beyond what they can take, to other workers (batches.py).
        with SharedFetcher(app, run.id, account.id, self.target, self.mapper, workers) as fetcher:
            with self.listing_for(account) as listing:
                complete = self.walk(listing, fetcher)
            # The total stops moving: from here the page shows a percentage. finish() sets the flag's
            # final meaning (a complete listing, which alone may decide deletions).
            run.listing_complete = complete
            db.session.commit()
            fetcher.flush()
            while fetcher.pending:
                self.wait(fetcher)
            self.drain(fetcher, force=True)
        return complete

    def conclude(self, complete: bool, account, admin: bool | None) -> str:
        if self.stop_reason == RunStatus.STOPPING:
            return self.finish(RunStatus.STOPPED)
        if self.stop_reason:
            return self.finish(RunStatus.FAILED, self.stop_reason)
        if complete and not self.remove_missing(account, admin):
            return self.finish(RunStatus.AWAITING)
        if self.run.kind == "import" and admin:
            record_integration(account, self.integration.procore_project_id)  # R33
        return self.finish(RunStatus.DONE, None if complete else self.run.error)

    def walk(self, listing: Listing, fetcher: SharedFetcher) -> bool:
        """Plan and apply every listed item; True when the listing was complete."""
        try:
            for item in listing.items(idle=lambda: self.wait(fetcher, seconds=0)):
                if item.presence != LIVE:
                    self.sighted(item)
                    continue
                self.sightings.seen.add((item.kind, item.id))
                self.folder(item) if item.kind == FOLDER else self.file(item, fetcher)
                while fetcher.full():
                    self.wait(fetcher)
                self.drain(fetcher)
                if self.stop_reason:
                    return False
        except FullRefreshNeeded:
            self.full_needed = True
            return False
        except PaginationIncomplete as error:
            self.run.error = run_error("listing_incomplete", error.message)
            return False
        except ProcoreAuthError as error:
            self.stop_reason = run_error("auth_rejected", error.message)
            return False
        except ProcoreError as error:
            self.stop_reason = run_error("list_failed", error)
            return False
        return True

    def sighted(self, item: RemoteItem) -> None:
        """An item Procore did not list as live: in the recycle bin (proof), unreadable (no proof), absent
        (404) or outside the selection (both proof only when the account is Admin, like any absence)."""
        getattr(self.sightings, {DELETED: "deleted", HIDDEN: "hidden", ABSENT: "absent",
                                 OUTSIDE: "outside"}[item.presence]).add((item.kind, item.id))

    def drain(self, fetcher: SharedFetcher, force: bool = False) -> None:
        """Collect finished downloads; record them in batches (RECORD_BATCH files, or every
        RECORD_EVERY seconds, or when forced at the end): a batch of new files costs a handful of
        statements instead of five per file."""
        self.ready.extend(fetcher.done())
        if self.ready and (force or len(self.ready) >= RECORD_BATCH
                           or time.monotonic() - self.last_record >= RECORD_EVERY):
            self.record_ready()
        self.tick()

    def wait(self, fetcher: SharedFetcher, seconds: float = 1.0) -> None:
        """Wait for downloads (or the listing) without holding the database: commit first. SQLite has
        one writer, and a download thread may have to save a refreshed token meanwhile. The wait is
        short so the heartbeat stays fresh even while one huge file downloads (RELIABILITY 10)."""
        self.drain(fetcher)
        db.session.commit()
        fetcher.wait_any(seconds)
        self.drain(fetcher)

    # -- items -----------------------------------------------------------------------------------
    def parent_of(self, item: RemoteItem) -> CboxFolder | None:
        if item.parent_id is None:
            return self.root
        if item.parent_id not in self.folders:
            link = self.links.get((FOLDER, item.parent_id))
            folder = cbox_item(link) if link is not None and link.status != ItemStatus.ERROR else None
            if folder is None:
                return None
            self.folders[item.parent_id] = folder
        return self.folders[item.parent_id]

    def folder(self, item: RemoteItem) -> None:
        link = link_for(self.links, self.integration.id, item)
        parent = self.parent_of(item)
        if parent is None:
            return mark_error(link, item, Reason("parent_missing"), self.run.id)
        try:
            self.folders[item.id] = apply_folder(item, link, parent, self.run.id)
        except CboxError as error:
            mark_error(link, item, Reason("store_error", {"detail": str(error.message)}), self.run.id)

    def file(self, item: RemoteItem, fetcher: SharedFetcher) -> None:
        run, link = self.run, self.links.get((FILE, item.id))
        action = plan_file(item, link)
        run.files_total += 1
        run.bytes_total += item.size or 0
        if action == SKIP:
            run.files_done, run.skipped = run.files_done + 1, run.skipped + 1
            return remember(link, item, run.id)
        if action == MOVE and self.parent_of(item) is not None:
            try:
                place(cbox_item(link), self.parent_of(item), item.name)
                remember(link, item, run.id)
            except CboxError as error:
                mark_error(link, item, Reason("store_error", {"detail": str(error.message)}), run.id)
            run.files_done, run.updated = run.files_done + 1, run.updated + 1
            return None
        if action == UPDATE and link is not None:
            set_state(link, ItemStatus.SYNCING)  # the cBox copy is being replaced now
        fetcher.submit(item)

    def record_ready(self) -> None:
        ready, self.ready, self.last_record = self.ready, [], time.monotonic()
        fresh: dict[int, tuple[CboxFolder, list[Fetched]]] = {}  # parent folder id -> new files
        for fetched in ready:
            checked = self.check(fetched)
            if checked is None:
                continue
            link, parent = checked
            if link is None or cbox_item(link) is None:
                fresh.setdefault(parent.id, (parent, []))[1].append(fetched)
            else:
                self.store_one(fetched, parent)  # a new version or a moved file
        if fresh:
            self.store_fresh(list(fresh.values()))

    def check(self, fetched: Fetched):
        """Count the file; record a failed download at once. (link or None, parent) when it can be stored."""
        item, run = fetched.item, self.run
        run.files_done += 1
        parent = self.parent_of(item)
        if fetched.auth_lost:
            self.stop_reason = fetched.error
            self.fail(fetched, fetched.reason, status=ItemStatus.PENDING)  # R34: waits, nothing lost
            return None
        reason = fetched.reason or (None if parent is not None else Reason("parent_missing"))
        if reason is not None:
            self.fail(fetched, reason)
            return None
        return self.links.get((FILE, item.id)), parent

    def fail(self, fetched: Fetched, reason: Reason, status: str = ItemStatus.ERROR) -> None:
        self.run.failed += 1
        mark_error(link_for(self.links, self.integration.id, fetched.item), fetched.item, reason, self.run.id,
                   status=status)

    def stored(self, fetched: Fetched, action: str) -> None:
        run = self.run
        run.bytes_done += fetched.size
        if action == "create":
            run.imported += 1
        else:
            run.updated += 1

    def store_one(self, fetched: Fetched, parent: CboxFolder) -> None:
        link = link_for(self.links, self.integration.id, fetched.item)
        try:
            action = store_file(fetched.item, link, parent, fetched.sha256, fetched.size, self.run.id)
        except (CboxError, OSError) as failure:
            detail = str(getattr(failure, "message", None) or failure)
            return self.fail(fetched, Reason("store_error", {"detail": detail}))
        self.stored(fetched, action)

    def store_fresh(self, groups: list[tuple[CboxFolder, list[Fetched]]]) -> None:
        """New files, grouped by folder: their blobs in two statements, each folder's files in one flush."""
        blobs = store.register_blobs([(fetched.sha256, fetched.size) for _, group in groups for fetched in group])
        for parent, group in groups:
            whole = [fetched for fetched in group if fetched.sha256 in blobs]
            for fetched in group:
                if fetched.sha256 not in blobs:
                    self.fail(fetched, Reason("store_error", {"detail": "the stored content is missing or incomplete"}))
            try:
                files = store.add_files(parent, [(fetched.item.name, blobs[fetched.sha256]) for fetched in whole],
                                        origin="procore")
            except (CboxError, OSError):
                for fetched in whole:  # one by one, so each file gets its own reason
                    self.store_one(fetched, parent)
                continue
            for fetched, file in zip(whole, files, strict=True):
                link = link_for(self.links, self.integration.id, fetched.item)
                link.cbox_file_id, link.sha256 = file.id, fetched.sha256
                remember(link, fetched.item, self.run.id)
                self.stored(fetched, "create")

    # -- deletions (R7, R13, R34) ----------------------------------------------------------------
    def remove_missing(self, account, admin: bool | None) -> bool:
        """Delete what Procore proved gone, keep the rest as pending; False when the deletion is large
        enough to wait for an admin's confirmation (nothing is deleted then). `admin` None: not read
        yet (an event run), read now since it decides."""
        gone = removal.unseen(self.links, self.sightings, named_only=self.refs is not None)
        if not gone:
            return True
        if admin is None:
            admin = self.standing(account) == ADMIN
        proven, kept = removal.sort_proof(self.links, self.sightings, gone, admin, self.verifier(account))
        removal.keep(kept, account.procore_login, self.run.id)
        if proven and removal.needs_confirmation(self.run, proven, len(self.links)):
            removal.await_confirmation(self.run, proven)
            return False
        removal.delete(self.links, proven, self.run)
        return True

    def verifier(self, account):
        client = None

        def verify(kind: str, item_id: int) -> str:
            nonlocal client
            db.session.commit()  # never hold the database across a Procore call
            client = client or client_for(DbCredential(account.id))
            try:
                return self.mapper.verify(client, self.target, kind, item_id)
            except ProcoreError:
                return HIDDEN  # no answer proves nothing
        return verify

    # -- bookkeeping -----------------------------------------------------------------------------
    def tick(self, force: bool = False) -> None:
        """Commit progress and a heartbeat about once a second; notice a stop request."""
        if not force and time.monotonic() - self.last_tick < 1.0:
            return
        self.last_tick = time.monotonic()
        self.run.heartbeat_at = utcnow()
        db.session.commit()
        status = db.session.scalar(select(type(self.run).status).where(type(self.run).id == self.run.id))
        if status == RunStatus.STOPPING and not self.stop_reason:
            self.stop_reason = RunStatus.STOPPING

    def finish(self, status: str, error: str | None = None) -> str:
        run = self.run
        run.status, run.finished_at, run.heartbeat_at = status, utcnow(), utcnow()
        run.listing_complete = status in (RunStatus.DONE, RunStatus.AWAITING) and not error
        if error:
            run.error = error[:2000]
        removal.settle(self.links.values(), run.listing_complete, stopped=status == RunStatus.STOPPED, detail=error)
        if run.listing_complete and run.kind != EVENT:  # only a whole listing decides deletions anew
            removal.supersede(run)
        alerts.run_ended(run)
        db.session.commit()
        return status


def export_roots(company_id: int, project_id: int) -> set[int]:
    """The CalidadCloud folder/album ids of the project's exports: an import never copies them back."""
    return set(db.session.scalars(select(Integration.procore_root_id).where(
        Integration.direction == "export", Integration.company_id == company_id,
        Integration.procore_project_id == project_id, Integration.procore_root_id.is_not(None))))


def account_standing(account, company_id: int, project_id: int, tool: str) -> str | None:
    """ADMIN or READER on the tool (the permission manifest, read now), or None when the account cannot
    act on the project."""
    db.session.commit()  # never hold the database across a Procore call
    try:
        manifest = client_for(DbCredential(account.id)).permissions(company_id, project_id)
    except (ProcoreAuthError, ProcorePermissionError):
        return None
    except ProcoreError:
        return READER  # the manifest could not be read: list, but prove nothing by absence
    return ADMIN if manifest.is_admin(tool) else READER


def procore_root(integration) -> CboxFolder:
    """Documentos/Procore (R10), created once and remembered on the integration."""
    folder = db.session.get(CboxFolder, integration.procore_folder_id) if integration.procore_folder_id else None
    if folder is None:
        categorized = db.session.get(CboxFolder, integration.cbox_folder_id)
        folder = store.ensure_folder(categorized, "Procore", origin="procore")
        integration.procore_folder_id = folder.id
    return folder
