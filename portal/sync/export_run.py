"""One export run: make Procore's CalidadCloud match the chosen cBox items (SPEC R5, R24-R31, R34).

The run thread reads cBox, decides per item (by its link, never by name) and records links; a small
pool uploads and writes to Procore. A new file is uploaded (direct upload) and created; a file renamed
or given a new version in cBox is deleted and created again (R31: its Procore comments go); a file moved
is moved; an item that left cBox (or the selection) is deleted from Procore, or waits as "pending
deletion" while no account is valid (R25). A refresh ("Procore › Actualizar") first reads CalidadCloud
back and undoes what was done there in Procore (R26: cBox wins): foreign items go, renamed or moved ones
are put back, changed or missing ones are written again. No transaction stays open across a call.
"""
from __future__ import annotations

import mimetypes
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from portal import alerts
from portal.cbox.blobstore import get_blob_store
from portal.connections.credentials import DbCredential, client_for, project_accounts
from portal.extensions import db
from portal.models import CboxFile, SyncItem
from portal.models.integrations import REFRESH, ItemStatus, RunStatus
from portal.models.tenancy import utcnow
from portal.procore import ProcoreAuthError, ProcoreError, ProcoreNotFound, ProcoreValidationError
from portal.sync import exports
from portal.sync.apply import set_state
from portal.sync.engine import ADMIN, account_standing
from portal.sync.reasons import Reason, procore_error, run_error

CREATE, RECREATE, MOVE, DESCRIBE = "create", "recreate", "move", "describe"
IN_FLIGHT = 32  # writes queued ahead of the pool


@dataclass(frozen=True)
class Task:
    key: tuple[str, int]
    action: str
    name: str
    sha256: str
    size: int
    parent: int  # the Procore folder (Documents) or album (Photos) it goes in
    path: str  # exported_path: where below CalidadCloud, or the photo's description (R30)
    old_id: int | None = None


@dataclass(frozen=True)
class Done:
    task: Task
    procore_id: int | None = None
    name: str | None = None
    version_id: int | None = None
    reason: Reason | None = None


class ExportRun:
    def __init__(self, run):
        self.run, self.integration = run, run.integration
        self.photos = self.integration.tool == "photos"
        self.company_id, self.project_id = self.integration.procore_company_id, self.integration.procore_project_id
        self.links: dict[tuple[str, int], SyncItem] = {}
        self.last_tick = 0.0

    # -- the run ---------------------------------------------------------------------------------
    def execute(self) -> str:
        accounts = project_accounts(self.integration.company_id, self.project_id, self.integration.account_id)
        self.load_links()
        if not accounts:
            self.hold_deletions()  # R25: nothing deleted in Procore until credentials are valid again
            return self.finish(RunStatus.FAILED, run_error("no_credentials"))
        account = next((a for a in accounts if account_standing(a, self.company_id, self.project_id,
                                                                self.integration.tool) == ADMIN), None)
        if account is None:
            return self.finish(RunStatus.FAILED, run_error("not_admin", self.integration.tool))
        self.account_id, self.client = account.id, client_for(DbCredential(account.id))
        try:
            self.root_id = self.ensure_root()
            entries = list(exports.walk(self.integration))
            if self.run.kind == REFRESH:
                self.reconcile()
            self.export(entries)
            self.remove_gone({entry.key for entry in entries})
        except ProcoreAuthError as error:
            return self.finish(RunStatus.FAILED, run_error("auth_rejected", error.message))
        except ProcoreError as error:
            return self.finish(RunStatus.FAILED, run_error("write_failed", error))
        return self.finish(RunStatus.DONE)

    def call(self, fn, *args, **kwargs):
        """A Procore call from the run thread: the transaction is ended first (never held across it)."""
        db.session.commit()
        return fn(*args, **kwargs)

    def load_links(self) -> None:
        for link in db.session.scalars(select(SyncItem).where(SyncItem.integration_id == self.integration.id)):
            cbox_id = link.cbox_folder_id if link.procore_kind == "folder" else link.cbox_file_id
            self.links[(link.procore_kind, cbox_id if cbox_id is not None else -link.id)] = link

    def ensure_root(self) -> int:
        """CalidadCloud, created once even when several workers start together (R24)."""
        if self.photos:
            root = self.call(self.client.ensure_album, self.company_id, self.project_id, exports.ROOT_NAME)
        else:
            root = self.call(self.client.ensure_folder, self.company_id, self.project_id, exports.ROOT_NAME)
        self.integration.procore_root_id = root.id
        return root.id

    def link(self, key: tuple[str, int]) -> SyncItem:
        if key not in self.links:
            kind, cbox_id = key
            self.links[key] = SyncItem(integration_id=self.integration.id, procore_kind=kind, name="", attempts=0,
                                       **{"cbox_folder_id" if kind == "folder" else "cbox_file_id": cbox_id})
            db.session.add(self.links[key])
        return self.links[key]

    # -- writing ---------------------------------------------------------------------------------
    def export(self, entries) -> None:
        for entry in entries:
            if entry.kind == "folder" and not self.photos:
                self.place_folder(entry)
        tasks = [task for entry in entries if entry.kind == "file" for task in [self.plan(entry)] if task]
        self.run.files_total = len(tasks) + self.run.skipped
        self.run.bytes_total = sum(task.size for task in tasks)
        self.run.listing_complete = True  # the total is known: the page shows a percentage from now on
        self.write(tasks)

    def parent_of(self, entry) -> int:
        if self.photos or entry.parent_id is None:
            return self.root_id
        return self.links[("folder", entry.parent_id)].procore_id

    def place_folder(self, entry) -> None:
        link, parent, name = self.link(entry.key), self.parent_of(entry), entry.item.name
        if link.procore_id is not None and (link.name, link.procore_parent_id) != (name, parent):
            try:
                self.call(self.client.update_folder, self.company_id, self.project_id, link.procore_id, name=name,
                          parent_id=parent)
            except ProcoreNotFound:
                link.procore_id = None  # deleted in Procore: made again below (R26)
        if link.procore_id is None:
            folder = self.call(self.client.ensure_folder, self.company_id, self.project_id, name, parent_id=parent)
            link.procore_id = folder.id
        link.name, link.procore_parent_id, link.exported_path = name, parent, "/".join(entry.path)
        set_state(link, ItemStatus.SYNCED)
        link.last_run_id = self.run.id

    def plan(self, entry) -> Task | None:
        file: CboxFile = entry.item
        link, version = self.links.get(entry.key), file.current_version
        if self.photos and not exports.is_image(file.name):
            skipped = self.link(entry.key)
            set_state(skipped, ItemStatus.SKIPPED, Reason("not_an_image"))
            skipped.name, skipped.last_run_id = file.name, self.run.id
            self.run.skipped += 1
            self.run.files_done += 1
            return None
        parent, path = self.parent_of(entry), "/".join(entry.path)
        if self.photos:
            path = "/".join(exports.photo_path(file))
        task = Task(entry.key, CREATE, file.name, version.blob_sha256, version.size, parent, path)
        if link is None or link.procore_id is None or link.status == ItemStatus.SKIPPED:
            return task
        if link.sha256 != version.blob_sha256 or link.name != file.name:
            return Task(**{**task.__dict__, "action": RECREATE, "old_id": link.procore_id})  # R31
        if not self.photos and link.procore_parent_id != parent:
            return Task(**{**task.__dict__, "action": MOVE, "old_id": link.procore_id})
        if self.photos and link.exported_path != path:
            return Task(**{**task.__dict__, "action": DESCRIBE, "old_id": link.procore_id})
        self.run.skipped += 1
        self.run.files_done += 1
        set_state(link, ItemStatus.SYNCED)
        return None

    def write(self, tasks: list[Task]) -> None:
        app, local = current_app._get_current_object(), threading.local()
        workers = current_app.config["SYNC_DOWNLOAD_THREADS"]

        def run_task(task: Task) -> Done:
            with app.app_context():
                if not hasattr(local, "client"):
                    local.client = client_for(DbCredential(self.account_id))
                return perform(local.client, self.company_id, self.project_id, self.photos, task)

        pending: list[Future] = []
        db.session.commit()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export") as pool:
            for task in tasks:
                pending.append(pool.submit(run_task, task))
                while len(pending) > IN_FLIGHT:
                    pending = self.collect(pending)
            while pending:
                pending = self.collect(pending)

    def collect(self, pending: list[Future]) -> list[Future]:
        db.session.commit()  # nothing held while the pool writes to Procore
        finished, waiting = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
        for future in finished:
            self.record(future.result())
        self.tick()
        return list(waiting)

    def record(self, done: Done) -> None:
        run, link = self.run, self.link(done.task.key)
        run.files_done += 1
        link.last_run_id = run.id
        if done.reason is not None:
            run.failed += 1
            waits = done.reason.code == "auth_lost"  # R34
            set_state(link, ItemStatus.PENDING if waits else ItemStatus.ERROR, done.reason)
            if done.task.action == RECREATE and done.procore_id is None:
                link.procore_id = None  # the old one is gone: the next run creates it
            link.attempts = (link.attempts or 0) + 1
            return
        task = done.task
        if task.action in (CREATE, RECREATE):
            run.imported += 1
            link.procore_id, link.procore_version_id = done.procore_id, done.version_id
        else:
            run.updated += 1
        run.bytes_done += task.size
        link.name, link.sha256, link.procore_parent_id = done.name or task.name, task.sha256, task.parent
        link.exported_path, link.attempts = task.path, 0
        set_state(link, ItemStatus.SYNCED)

    # -- deleting --------------------------------------------------------------------------------
    def remove_gone(self, present: set) -> None:
        """Items no longer in cBox or the selection leave Procore (files first, then folders)."""
        gone = [link for key, link in self.links.items() if key not in present and link.id is not None]
        for link in sorted(gone, key=lambda link: link.procore_kind != "file"):
            if link.procore_id is not None and link.status != ItemStatus.SKIPPED:
                try:
                    self.call(self.delete, link)
                except ProcoreAuthError:
                    set_state(link, ItemStatus.PENDING_DELETION, Reason("export_delete_waiting"))
                    continue
            db.session.delete(link)
            self.run.deleted += 1

    def delete(self, link: SyncItem) -> bool:
        if link.procore_kind == "folder":
            return self.client.delete_folder(self.company_id, self.project_id, link.procore_id)
        if self.photos:
            return self.client.delete_image(self.company_id, self.project_id, link.procore_id)
        return self.client.delete_file(self.company_id, self.project_id, link.procore_id)

    def hold_deletions(self) -> None:
        present = {entry.key for entry in exports.walk(self.integration)}
        for key, link in self.links.items():
            if key not in present and link.procore_id is not None and link.status != ItemStatus.PENDING_DELETION:
                set_state(link, ItemStatus.PENDING_DELETION, Reason("export_delete_waiting"))

    # -- R26: Procore back in line with cBox -------------------------------------------------------
    def reconcile(self) -> None:
        """Read CalidadCloud back: what is not ours goes, what we wrote but was changed there is marked
        to be written again, what is missing is created again (cBox wins)."""
        ours = {link.procore_id: link for link in self.links.values() if link.procore_id is not None}
        seen: set[int] = set()
        for kind, item_id, parent_id, name, version_id, description in list(self.procore_side()):  # read, then write
            link = ours.get(item_id)
            if link is None:
                self.call(self.delete_foreign, kind, item_id)
                self.run.deleted += 1
                continue
            seen.add(item_id)
            changed = (name != link.name or (not self.photos and parent_id != link.procore_parent_id)
                       or (version_id is not None and version_id != link.procore_version_id)
                       or (self.photos and description != link.exported_path))
            if changed and link.procore_kind == "file":
                link.sha256 = None  # written again from cBox by the export pass (R31 path)
            elif changed:
                link.name = None  # a folder: renamed / moved back by place_folder
        for link in ours.values():
            if link.procore_id not in seen and link.status != ItemStatus.SKIPPED:
                link.procore_id = None  # deleted in Procore: created again

    def delete_foreign(self, kind: str, item_id: int) -> None:
        if kind == "folder":
            self.client.delete_folder(self.company_id, self.project_id, item_id)
        elif self.photos:
            self.client.delete_image(self.company_id, self.project_id, item_id)
        else:
            self.client.delete_file(self.company_id, self.project_id, item_id)

    def procore_side(self):
        """(kind, id, parent id, name, version id, description) of everything inside CalidadCloud."""
        db.session.commit()
        if self.photos:
            for image in self.client.images(self.company_id, self.project_id, self.root_id):
                yield "file", image.id, self.root_id, image.filename, None, image.description
            return
        stack = [self.root_id]
        while stack:
            folder = self.client.folder(self.company_id, self.project_id, stack.pop())
            for child in folder.folders:
                if not (child.is_deleted or child.is_recycle_bin):
                    yield "folder", child.id, folder.id, child.name, None, None
                    stack.append(child.id)
            for file in folder.files:
                if not file.is_deleted:
                    version = file.current_version
                    yield "file", file.id, folder.id, file.name, version.id if version else None, None

    # -- bookkeeping -----------------------------------------------------------------------------
    def tick(self) -> None:
        if time.monotonic() - self.last_tick >= 1.0:
            self.last_tick = time.monotonic()
            self.run.heartbeat_at = utcnow()
            db.session.commit()

    def finish(self, status: str, error: str | None = None) -> str:
        run = self.run
        run.status, run.finished_at, run.heartbeat_at = status, utcnow(), utcnow()
        run.listing_complete = status == RunStatus.DONE
        if error:
            run.error = error[:2000]
        alerts.run_ended(run)
        db.session.commit()
        return status


def perform(client, company_id: int, project_id: int, photos: bool, task: Task) -> Done:
    """One write to Procore (a pool thread; no database)."""
    try:
        if task.action == MOVE:
            client.update_file(company_id, project_id, task.old_id, parent_id=task.parent)
            return Done(task, task.old_id)
        if task.action == DESCRIBE:
            client.update_image(company_id, project_id, task.old_id, description=task.path)
            return Done(task, task.old_id)
        if task.action == RECREATE:
            (client.delete_image if photos else client.delete_file)(company_id, project_id, task.old_id)
        content_type = mimetypes.guess_type(task.name)[0] or "application/octet-stream"
        with get_blob_store().open(task.sha256) as stream:
            uuid = client.upload(company_id, project_id, stream, filename=task.name, size=task.size,
                                 content_type=content_type)
        if photos:
            image = client.create_image_from_upload(company_id, project_id, upload_uuid=uuid, image_name=task.name,
                                                    category_id=task.parent, description=task.path)
            return Done(task, image.id, task.name)
        try:
            file = client.create_file_from_upload(company_id, project_id, upload_uuid=uuid, name=task.name,
                                                  parent_id=task.parent)
        except ProcoreValidationError:  # the name is taken in Procore (a foreign file): keep both
            file = client.create_file_from_upload(company_id, project_id, upload_uuid=uuid, name=task.name,
                                                  parent_id=task.parent, unique_name=True)
        version = file.current_version
        return Done(task, file.id, file.name, version.id if version else None)
    except ProcoreAuthError as error:
        return Done(task, reason=Reason("auth_lost") if error.needs_reauth else Reason("forbidden"))
    except ProcoreError as error:
        return Done(task, reason=procore_error(error, limit=300))
    except OSError as error:
        return Done(task, reason=Reason("store_error", {"detail": str(error)}))
