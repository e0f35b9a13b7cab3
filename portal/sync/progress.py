"""What the integration pages show: the gate before an import (R9, R11, R12, R32) and a run's
progress (files, bytes, rate, ETA, failures with reasons; D1)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, text

from portal.cbox import store
from portal.extensions import db
from portal.models import CboxFile, CboxFolder, Integration, SyncItem, SyncRun
from portal.connections.credentials import project_accounts
from portal.models.integrations import ACTIVE_RUN_STATUSES, PROBLEM_ITEM_STATUSES
from portal.models.tenancy import utcnow
from portal.sync.reasons import describe


def now():
    return utcnow()


def last_run(integration: Integration) -> SyncRun | None:
    return db.session.scalar(select(SyncRun).where(SyncRun.integration_id == integration.id)
                             .order_by(SyncRun.id.desc()).limit(1))


# What the pages call each Procore tool, and the cBox folder it lands in (SPEC "The data flow", R10).
TOOL_LABELS = {"documents": _l("Procore Documents"), "photos": _l("Procore Photos"),
               "drawings": _l("Procore Drawings")}


def categorized_of(project) -> list[CboxFolder]:
    """Documentos, Imágenes, Planos: where "Import from… › Procore" starts (R3)."""
    return [store.categorized_folder(project, kind) for kind in TOOL_LABELS]


def destination(integration: Integration) -> str:
    """ "Imágenes/Procore": where an import writes (R10); "Procore › CalidadCloud" for an export (R24)."""
    if integration.direction == "export":
        return "Procore › CalidadCloud"
    folder = db.session.get(CboxFolder, integration.cbox_folder_id)
    return f"{folder.name if folder is not None else '?'}/Procore"


# Each folder id with every folder above it (itself included): is it below an import's "Procore" folder,
# or below a folder an export chose?
_UP = text("""
WITH RECURSIVE up(start_id, id, parent_id, depth) AS (
    SELECT id, id, parent_id, 0 FROM cbox_folders WHERE id IN :ids
  UNION ALL
    SELECT up.start_id, f.id, f.parent_id, up.depth + 1 FROM cbox_folders f JOIN up ON f.id = up.parent_id
    WHERE up.depth < 200
)
SELECT start_id, id FROM up
""").bindparams(bindparam("ids", expanding=True))


def covering(company_id: int | None, folder_ids) -> dict[int, set[int]]:
    """{folder id: ids of the integrations that write there}: an import's categorized folder, its "Procore"
    folder (R10) and every folder below it, whoever created it; an export's source folder, the folders it
    chose and everything below them, and the folders of the files it chose (R5). Plain local folders are
    covered by none. A fixed number of queries for any number of folders."""
    ids = sorted({int(i) for i in folder_ids if i is not None})
    found: dict[int, set[int]] = {}
    if company_id is None or not ids:
        return found
    above: dict[int, set[int]] = {}
    for start_id, folder_id in db.session.execute(_UP, {"ids": ids}):
        above.setdefault(start_id, set()).add(folder_id)
    integrations = db.session.scalars(select(Integration).where(Integration.company_id == company_id)).all()
    for integration in integrations:
        chosen = integration.selections or {}
        if integration.direction == "export":
            roots = set(chosen.get("folders", []))
            file_folders = set(db.session.scalars(select(CboxFile.folder_id).where(
                CboxFile.id.in_(chosen.get("files", []) or [0]))))
        else:
            roots, file_folders = {integration.procore_folder_id}, set()
        for folder_id in ids:
            if (above.get(folder_id, set()) & roots or folder_id in file_folders
                    or folder_id == integration.cbox_folder_id):
                found.setdefault(folder_id, set()).add(integration.id)
    linked = select(SyncItem.integration_id, SyncItem.cbox_folder_id).join(
        Integration, Integration.id == SyncItem.integration_id).where(
        Integration.company_id == company_id, SyncItem.cbox_folder_id.in_(ids))
    for integration_id, folder_id in db.session.execute(linked):  # a synced folder moved out of "Procore" in cBox
        found.setdefault(folder_id, set()).add(integration_id)
    return found


def integrations_for_folder(company_id: int, folder_id: int | None) -> list[Integration]:
    """Integrations that write into a cBox folder ("Procore › Actualizar" refreshes them): see covering()."""
    ids = covering(company_id, [folder_id]).get(folder_id, set()) if folder_id is not None else set()
    if not ids:
        return []
    return list(db.session.scalars(select(Integration).where(Integration.id.in_(ids)).order_by(Integration.id)))


@dataclass
class Problem:
    """One item that is not synced, as the progress page lists it."""

    name: str
    status: str
    reason: str | None


@dataclass
class RunView:
    run: SyncRun | None
    failures: list
    seconds: float
    credentials_lost: bool = False  # no account can act on the project any more (R34)

    @classmethod
    def latest(cls, integration: Integration) -> RunView:
        run = last_run(integration)
        links = db.session.scalars(select(SyncItem).where(
            SyncItem.integration_id == integration.id, SyncItem.status.in_(PROBLEM_ITEM_STATUSES))
            .order_by(SyncItem.updated_at.desc()).limit(50)).all()
        failures = [Problem(link.name, link.status, describe(link.reason_code, link.reason_args, link.error))
                    for link in links]
        seconds = 0.0
        if run is not None and run.started_at is not None:
            end = run.finished_at or now()
            seconds = max((end - run.started_at).total_seconds(), 0.001)
        lost = not project_accounts(integration.company_id, integration.procore_project_id, integration.account_id)
        return cls(run, failures, seconds, lost)

    @property
    def active(self) -> bool:
        return self.run is not None and self.run.status in ACTIVE_RUN_STATUSES

    @property
    def rate(self) -> float:
        """Bytes per second since the run started."""
        return self.run.bytes_done / self.seconds if self.run and self.seconds else 0.0

    @property
    def listing(self) -> bool:
        """The run is still listing: its total grows, so neither a percentage nor a time left is shown."""
        return self.active and not self.run.listing_complete

    @property
    def eta(self) -> int | None:
        if not self.active or self.listing or not self.rate:
            return None
        return int(max(self.run.bytes_total - self.run.bytes_done, 0) / self.rate)

    @property
    def percent(self) -> int:
        run = self.run
        if run is None or not run.files_total:
            return 100 if run is not None and not self.active else 0
        return min(100, int(100 * run.files_done / run.files_total))
