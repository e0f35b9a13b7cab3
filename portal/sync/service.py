"""Starting an integration: who may (R32), which Procore projects qualify (R9), and the row (R3).

Functions flush; the view commits, then enqueues the run (RELIABILITY 10).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import CboxFolder, CboxFolderEditor, CboxProject, Integration, Role, SyncRun
from portal.procore import ProcoreError, ProcorePermissionError
from portal.sync.jobs import create_run

# The two Procore permissions R32 needs for Documents, with the label the page names when missing.
NEEDED = (("admin", _l("Admin on the project's Admin tool")), ("documents", _l("Admin on the Documents tool")))


class NotAllowed(Exception):
    """A R32 requirement on the portal side is missing; str() says which."""


@dataclass
class ProjectChoice:
    id: int
    name: str
    missing: list = field(default_factory=list)  # labels of missing Procore permissions (R9)
    problem: str | None = None

    @property
    def eligible(self) -> bool:
        return not self.missing and self.problem is None


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


def project_choices(client, procore_company_id: int) -> list[ProjectChoice]:
    """Every active project, each with the Procore permissions the user lacks there (R9, R32)."""
    choices = []
    for project in sorted(client.projects(procore_company_id), key=lambda p: p.name.lower()):
        choice = ProjectChoice(project.id, project.name)
        try:
            manifest = client.permissions(procore_company_id, project.id)
            choice.missing = [label for tool, label in NEEDED if not manifest.is_admin(tool)]
        except ProcorePermissionError:
            choice.problem = _l("You are not a member of this project in Procore.")
        except ProcoreError:
            choice.problem = _l("Procore did not answer for this project; try again.")
        choices.append(choice)
    return choices


def parse_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not str(value).isdigit():
            raise ValueError(value)
        ids.append(int(value))
    return sorted(set(ids))


def create_integration(user, account, folder: CboxFolder, project: ProjectChoice, folder_ids: list[int],
                       file_ids: list[int]) -> tuple[Integration, SyncRun]:
    integration = Integration(company_id=user.company_id, cbox_folder_id=folder.id,
                              procore_company_id=account.procore_company_id, procore_project_id=project.id,
                              procore_project_name=project.name, tool="documents",
                              selections={"folders": folder_ids, "files": file_ids}, account_id=account.id,
                              created_by_id=user.id, status="active")
    db.session.add(integration)
    db.session.flush()
    return integration, create_run(integration, "import")
