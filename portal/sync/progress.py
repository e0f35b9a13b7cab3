"""What the integration pages show: the gate before an import (R9, R11, R12, R32) and a run's
progress (files, bytes, rate, ETA, failures with reasons; D1)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import or_, select

from portal.cbox import store
from portal.extensions import db
from portal.models import CboxFolder, Integration, SyncItem, SyncRun
from portal.models.integrations import ACTIVE_RUN_STATUSES, ERROR, PENDING
from portal.models.tenancy import utcnow
from portal.sync.service import NEEDED, ProjectChoice


def now():
    return utcnow()


def last_run(integration: Integration) -> SyncRun | None:
    return db.session.scalar(select(SyncRun).where(SyncRun.integration_id == integration.id)
                             .order_by(SyncRun.id.desc()).limit(1))


def documents_of(project) -> CboxFolder:
    return store.categorized_folder(project, "documents")


def eligible_project(client, company, account, project_id: int) -> tuple[ProjectChoice, str | None]:
    """The project with its missing Procore permissions, and why an import is refused (None: allowed)."""
    from portal.webhooks.health import import_block_reason

    project = client.project(account.procore_company_id, project_id)
    manifest = client.permissions(account.procore_company_id, project_id)
    choice = ProjectChoice(project.id, project.name,
                           missing=[str(label) for tool, label in NEEDED if not manifest.is_admin(tool)])
    if choice.missing:
        return choice, _("You lack %(missing)s in this Procore project; a Procore project Admin can grant it.",
                         missing=", ".join(choice.missing))
    return choice, import_block_reason(company, project_id, client)


def import_page(client, company, account, project_id: int):
    choice, block = eligible_project(client, company, account, project_id)
    db.session.commit()  # the gate's webhook check (a HookCheck row) before the next Procore call (db_boundary)
    root = None if block else client.root_folder(account.procore_company_id, project_id)
    return choice, block, root


def integrations_for_folder(company_id: int, folder_id: int | None) -> list[Integration]:
    """Integrations that write into a cBox folder: its categorized folder, its "Procore" folder, or a
    folder they created."""
    if folder_id is None:
        return []
    linked = select(SyncItem.integration_id).where(SyncItem.cbox_folder_id == folder_id)
    return list(db.session.scalars(select(Integration).where(
        Integration.company_id == company_id,
        or_(Integration.cbox_folder_id == folder_id, Integration.procore_folder_id == folder_id,
            Integration.id.in_(linked))).order_by(Integration.id)))


@dataclass
class RunView:
    run: SyncRun | None
    failures: list
    seconds: float

    @classmethod
    def latest(cls, integration: Integration) -> RunView:
        run = last_run(integration)
        failures = db.session.scalars(select(SyncItem).where(
            SyncItem.integration_id == integration.id, SyncItem.status.in_((ERROR, PENDING)),
            SyncItem.error.is_not(None)).order_by(SyncItem.updated_at.desc()).limit(50)).all()
        seconds = 0.0
        if run is not None and run.started_at is not None:
            end = run.finished_at or now()
            seconds = max((_aware(end) - _aware(run.started_at)).total_seconds(), 0.001)
        return cls(run, list(failures), seconds)

    @property
    def active(self) -> bool:
        return self.run is not None and self.run.status in ACTIVE_RUN_STATUSES

    @property
    def rate(self) -> float:
        """Bytes per second since the run started."""
        return self.run.bytes_done / self.seconds if self.run and self.seconds else 0.0

    @property
    def eta(self) -> int | None:
        if not self.active or not self.rate:
            return None
        return int(max(self.run.bytes_total - self.run.bytes_done, 0) / self.rate)

    @property
    def percent(self) -> int:
        run = self.run
        if run is None or not run.files_total:
            return 100 if run is not None and not self.active else 0
        return min(100, int(100 * run.files_done / run.files_total))


def _aware(value):
    from datetime import timezone

    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
