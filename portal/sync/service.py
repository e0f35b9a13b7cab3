"""Starting an integration: who may (R32), which Procore projects qualify (R9), and the row (R3).

Functions flush; the view commits, then enqueues the run (RELIABILITY 10).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.cbox import permissions
from portal.extensions import db
from portal.models import CboxFolder, CboxProject, Integration, SyncRun
from portal.models.integrations import IntegrationStatus, RunStatus
from portal.sync import gate
from portal.sync.jobs import create_run
from portal.sync.mapper import TOOLS


class NotAllowed(Exception):
    """A R32 requirement on the portal side is missing; str() says which."""


def categorized_folder(company_id: int, folder_id: int | None) -> CboxFolder | None:
    """The company's categorized folder with that id whose kind names a Procore tool we sync
    (Documentos → documents, Imágenes → photos, Planos → drawings); None otherwise: the view 404s."""
    if folder_id is None:
        return None
    folder = db.session.get(CboxFolder, folder_id)
    if folder is None or folder.kind not in TOOLS:
        return None
    project = db.session.get(CboxProject, folder.project_id)
    return folder if project.company_id == company_id else None


def check_portal_side(user, folder: CboxFolder) -> None:
    if not user.can_integrate_procore:
        raise NotAllowed(_l('Your portal user lacks the permission "Integraciones > Procore". '
                            'A company admin can grant it on the Users page.'))
    if not permissions.can_edit(user, folder):  # R32's one rule (portal/cbox/permissions.py)
        raise NotAllowed(_l("You cannot edit the folder %(name)s in cBox; ask a company admin for edit "
                            "permission on it.", name=permissions.categorized_root(folder).name))


def parse_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not str(value).isdigit():
            raise ValueError(value)
        ids.append(int(value))
    return sorted(set(ids))


def parse_signed_ids(values: list[str]) -> list[int]:
    """Like parse_ids, also accepting the negative ids mappers reserve (photos: the Unclassified pseudo-album)."""
    ids = []
    for value in values:
        text = str(value)
        if not text.removeprefix("-").isdigit():
            raise ValueError(value)
        ids.append(int(text))
    return sorted(set(ids))


def merge_selection(tool: str, old: dict | None, new: dict) -> dict:
    """Importing again from the same project adds to what is synced (R3): the union of both selections.

    Drawings: no discipline chosen means every discipline, so "all" on either side stays "all". The
    shape is areas × disciplines: adding area B with discipline E to area A with discipline A syncs
    both disciplines in both areas (the chooser shows what is synced already)."""
    old = old or {}
    if tool == "drawings":
        areas = sorted({*old.get("areas", []), *new.get("areas", [])})
        if not old.get("areas"):
            return {"areas": areas, "disciplines": sorted(set(new.get("disciplines", [])))}
        everything = not old.get("disciplines") or not new.get("disciplines")
        return {"areas": areas,
                "disciplines": [] if everything else sorted({*old["disciplines"], *new["disciplines"]})}
    return {key: sorted({*old.get(key, []), *new.get(key, [])}) for key in sorted({*old, *new})}


def create_integration(user, account, folder: CboxFolder, project, folder_ids: list[int] = (),
                       file_ids: list[int] = (), *, selection: dict | None = None) -> tuple[Integration, SyncRun]:
    """A new integration of the folder's tool (its kind: documents, photos, drawings), or the folder's
    existing one for the same project with the new selection added (one cBox folder mirrors one
    Procore project); and its import run.

    Selection shapes: documents {"folders": [ids], "files": [ids]} (also given as folder_ids and
    file_ids), photos {"albums": [ids]}, drawings {"areas": [ids], "disciplines": [ids]} (none: all)."""
    tool = folder.kind
    if tool not in TOOLS:
        raise ValueError(f"{folder.name} is not a categorized folder")
    if selection is None:
        selection = {"folders": list(folder_ids), "files": list(file_ids)}
    integration = gate.linked_integration(folder, tool)
    if integration is not None and integration.procore_project_id == project.id:
        integration.selections = merge_selection(tool, integration.selections, selection)
        return integration, start_or_join(integration)
    integration = Integration(company_id=user.company_id, cbox_folder_id=folder.id,
                              procore_company_id=account.procore_company_id, procore_project_id=project.id,
                              procore_project_name=project.name, tool=tool,
                              selections=merge_selection(tool, None, selection), account_id=account.id,
                              created_by_id=user.id, status=IntegrationStatus.ACTIVE)
    db.session.add(integration)
    db.session.flush()
    return integration, create_run(integration, "import")


def start_or_join(integration: Integration) -> SyncRun:
    """The integration's queued run if there is one (it reads the new selection when it starts),
    else a new import run (flushed)."""
    queued = db.session.scalar(select(SyncRun).where(SyncRun.integration_id == integration.id,
                                                     SyncRun.status == RunStatus.QUEUED))
    return queued or create_run(integration, "import")
