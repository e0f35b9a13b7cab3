"""Starting an integration: who may (R32), which Procore projects qualify (R9), and the row (R3).

Functions flush; the view commits, then enqueues the run (RELIABILITY 10).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import CboxFolder, CboxFolderEditor, CboxProject, Integration, Role, SyncRun
from portal.models.integrations import QUEUED
from portal.sync import gate
from portal.sync.jobs import create_run

class NotAllowed(Exception):
    """A R32 requirement on the portal side is missing; str() says which."""


def documents_folder(company_id: int, folder_id: int | None) -> CboxFolder | None:
    """The company's categorized Documentos folder with that id (None otherwise: the view 404s)."""
    if folder_id is None:
        return None
    folder = db.session.get(CboxFolder, folder_id)
    if folder is None or folder.kind != "documents":
        return None
    project = db.session.get(CboxProject, folder.project_id)
    return folder if project.company_id == company_id else None


def can_edit(user, folder: CboxFolder) -> bool:
    """Edit permission on the categorized folder (R32): admins always, members when listed as editors."""
    if user.role == Role.ADMIN:
        return True
    return db.session.scalar(select(CboxFolderEditor.id).where(
        CboxFolderEditor.folder_id == folder.id, CboxFolderEditor.user_id == user.id)) is not None


def check_portal_side(user, folder: CboxFolder) -> None:
    if not user.can_integrate_procore:
        raise NotAllowed(_l('Your portal user lacks the permission "Integraciones > Procore". '
                            'A company admin can grant it on the Users page.'))
    if not can_edit(user, folder):
        raise NotAllowed(_l("You cannot edit the folder %(name)s in cBox; ask a company admin for edit "
                            "permission on it.", name=folder.name))


def parse_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not str(value).isdigit():
            raise ValueError(value)
        ids.append(int(value))
    return sorted(set(ids))


def create_integration(user, account, folder: CboxFolder, project, folder_ids: list[int],
                       file_ids: list[int]) -> tuple[Integration, SyncRun]:
    """A new integration, or the folder's existing one for the same project with the new folders and
    files added to its selection (one cBox folder mirrors one Procore project); and its import run."""
    integration = gate.linked_integration(folder)
    if integration is not None and integration.procore_project_id == project.id:
        old = integration.selections or {}
        integration.selections = {"folders": sorted({*old.get("folders", []), *folder_ids}),
                                  "files": sorted({*old.get("files", []), *file_ids})}
        return integration, start_or_join(integration)
    integration = Integration(company_id=user.company_id, cbox_folder_id=folder.id,
                              procore_company_id=account.procore_company_id, procore_project_id=project.id,
                              procore_project_name=project.name, tool="documents",
                              selections={"folders": folder_ids, "files": file_ids}, account_id=account.id,
                              created_by_id=user.id, status="active")
    db.session.add(integration)
    db.session.flush()
    return integration, create_run(integration, "import")


def start_or_join(integration: Integration) -> SyncRun:
    """The integration's queued run if there is one (it reads the new selection when it starts),
    else a new import run (flushed)."""
    queued = db.session.scalar(select(SyncRun).where(SyncRun.integration_id == integration.id,
                                                     SyncRun.status == QUEUED))
    return queued or create_run(integration, "import")
