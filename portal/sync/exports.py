"""Export from cBox to Procore: what is exported, where it lands, and when it runs (SPEC R5, R24-R31).

An export integration (direction "export") copies chosen folders and files of a Documentos or
Imágenes folder into a `CalidadCloud` folder (Documents) or album (Photos) of a Procore project,
one way: cBox wins (R26). Documents keep the tree below the categorized folder under CalidadCloud
(R28); Photos go flat into the album, only images, each with its cBox path as description (R29,
R30); Drawings are never exported (R27). Every item keeps one Procore item, found by its recorded
Procore id, never by name. A change in an exported cBox folder queues an export run (`touch`); the
run itself is portal/sync/export_run.py. Functions flush; the caller commits.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import select

from portal.extensions import db
from portal.models import CboxFile, CboxFolder, Integration, SyncRun
from portal.models.integrations import EXPORT, KEPT, IntegrationStatus, RunStatus

ROOT_NAME = "CalidadCloud"  # R24
TOOLS = {"documents": "documents", "photos": "photos"}  # cBox category -> Procore tool (R27: no drawings)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp")  # R29, any case


def is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


@dataclass(frozen=True)
class Entry:
    """One cBox item of an export, with where it goes: `path` is its place below the categorized folder."""

    kind: str  # "folder" | "file"
    item: object  # CboxFolder | CboxFile
    parent_id: int | None  # the cBox parent folder id; None: directly under CalidadCloud
    path: tuple[str, ...]

    @property
    def key(self) -> tuple[str, int]:
        return self.kind, self.item.id


def photo_path(file: CboxFile) -> list[str]:
    """What an exported photo's description holds: its cBox path, so same-named images differ (R30)."""
    from portal.cbox import store

    return store.path_of(file)


def is_export(integration: Integration) -> bool:
    return integration.direction == "export"


def inside_import(folder: CboxFolder) -> bool:
    """A folder an import writes into (an integration's "Procore" folder or below): never exported, it
    would copy Procore back to Procore."""
    ids, node = [], folder
    while node is not None:
        ids.append(node.id)
        node = node.parent
    return db.session.scalar(select(Integration.id).where(Integration.direction == "import",
                                                          Integration.procore_folder_id.in_(ids)).limit(1)) is not None


def exportable(folder: CboxFolder) -> bool:
    """Exportar a… › Procore is offered on Documentos and Imágenes folders outside any import (R5, R27)."""
    return folder.category in TOOLS and not inside_import(folder)


def linked(source: CboxFolder, project_id: int) -> Integration | None:
    return db.session.scalar(select(Integration).where(
        Integration.direction == "export", Integration.cbox_folder_id == source.id,
        Integration.procore_project_id == project_id, Integration.status.in_(KEPT)).limit(1))


def create(user, account, source: CboxFolder, *, project_id: int, project_name: str, folder_ids: list[int],
           file_ids: list[int]) -> tuple[Integration, SyncRun]:
    """An export of `source`'s chosen folders and files to a Procore project, and its first run (R5); a
    second export of the same folder to the same project adds to its selection."""
    from portal.sync.jobs import create_run

    integration = linked(source, project_id)
    if integration is None:
        integration = Integration(company_id=source.project.company_id, cbox_folder_id=source.id, direction="export",
                                  procore_company_id=account.procore_company_id, procore_project_id=project_id,
                                  procore_project_name=project_name, tool=TOOLS[source.category],
                                  selections={"folders": [], "files": []}, account_id=account.id,
                                  created_by_id=user.id, status=IntegrationStatus.ACTIVE)
        db.session.add(integration)
        db.session.flush()
    old = integration.selections or {}
    integration.selections = {"folders": sorted({*old.get("folders", []), *folder_ids}),
                              "files": sorted({*old.get("files", []), *file_ids})}
    queued = db.session.scalar(select(SyncRun).where(SyncRun.integration_id == integration.id,
                                                     SyncRun.status == RunStatus.QUEUED))
    return integration, queued or create_run(integration, EXPORT)


def exported_files(file_ids: list[int]) -> set[int]:
    """Which of these cBox files an export wrote to Procore (their rename or new version re-creates them
    there, R31: the page warns first)."""
    from portal.models import SyncItem

    if not file_ids:
        return set()
    return set(db.session.scalars(select(SyncItem.cbox_file_id).join(
        Integration, Integration.id == SyncItem.integration_id).where(
        Integration.direction == "export", SyncItem.cbox_file_id.in_(file_ids), SyncItem.procore_id.is_not(None))))


def covering(folder: CboxFolder | None) -> list[Integration]:
    """Export integrations whose selection holds `folder` (or a folder above it), or a file in it."""
    if folder is None:
        return []
    chain, node = set(), folder
    while node is not None:
        chain.add(node.id)
        node = node.parent
    files = set(db.session.scalars(select(CboxFile.id).where(CboxFile.folder_id == folder.id)))
    found = []
    for integration in db.session.scalars(select(Integration).where(
            Integration.direction == "export", Integration.status == IntegrationStatus.ACTIVE,
            Integration.company_id == folder.project.company_id)):
        selections = integration.selections or {}
        if chain & set(selections.get("folders", [])) or files & set(selections.get("files", [])):
            found.append(integration)
    return found


def covering_item(item) -> list[Integration]:
    """The exports an item belongs to: those covering its folder (a folder: itself), or choosing it."""
    if isinstance(item, CboxFolder):
        return covering(item)
    found = covering(item.folder)
    for integration in db.session.scalars(select(Integration).where(
            Integration.direction == "export", Integration.status == IntegrationStatus.ACTIVE,
            Integration.company_id == item.project.company_id)):
        if item.id in (integration.selections or {}).get("files", []) and integration not in found:
            found.append(integration)
    return found


def queue(integrations: list[Integration]) -> list[int]:
    """Queue an export run of each (debounced: one queued run per integration); returns the run ids. A
    failure to reach Redis leaves the committed run row to the sweeper: the page's change stands."""
    from portal.sync.jobs import start_run

    runs = []
    for integration in {integration.id: integration for integration in integrations}.values():
        try:
            runs.append(start_run(integration, EXPORT).id)
        except Exception:  # noqa: BLE001 - the cBox change is committed; the sweeper enqueues the run row
            logging.getLogger(__name__).warning("export run of integration %s not enqueued", integration.id,
                                                exc_info=True)
    return runs


def touch(*folders: CboxFolder | None) -> list[int]:
    """After a committed change in cBox (upload, new folder, new version): an export run of every export
    covering those folders, so the change reaches Procore by itself (R5)."""
    return queue([integration for folder in folders for integration in covering(folder)])


def walk(integration: Integration) -> Iterator[Entry]:
    """The cBox side of an export, parents first: the chosen folders with everything below them (and the
    folders between the categorized folder and them), the chosen files; each once."""
    selections = integration.selections or {}
    # Never an import's "Procore" folder (exporting Documentos whole leaves Documentos/Procore out).
    seen: set[tuple[str, int]] = {("folder", folder_id) for folder_id in db.session.scalars(
        select(Integration.procore_folder_id).where(Integration.direction == "import",
                                                    Integration.procore_folder_id.is_not(None)))}
    for folder_id in selections.get("folders", []):
        folder = db.session.get(CboxFolder, folder_id)
        if folder is not None and not folder.is_categorized:
            yield from _ancestors(folder.parent, seen)
        if folder is not None:
            yield from _subtree(folder, seen)
    for file_id in selections.get("files", []):
        file = db.session.get(CboxFile, file_id)
        if file is not None and ("file", file.id) not in seen:
            yield from _ancestors(file.folder, seen)
            seen.add(("file", file.id))
            yield Entry("file", file, _parent_id(file.folder), _path(file.folder) + (file.name,))


def _parent_id(folder: CboxFolder) -> int | None:
    return None if folder.is_categorized else folder.id


def _path(folder: CboxFolder) -> tuple[str, ...]:
    names, node = [], folder
    while node is not None and not node.is_categorized:
        names.append(node.name)
        node = node.parent
    return tuple(reversed(names))


def _ancestors(folder: CboxFolder | None, seen: set) -> Iterator[Entry]:
    chain, node = [], folder
    while node is not None and not node.is_categorized:
        chain.append(node)
        node = node.parent
    for node in reversed(chain):
        if ("folder", node.id) not in seen:
            seen.add(("folder", node.id))
            yield Entry("folder", node, _parent_id(node.parent), _path(node))


def _subtree(folder: CboxFolder, seen: set) -> Iterator[Entry]:
    stack = [folder]
    while stack:
        node = stack.pop()
        if node is not folder and ("folder", node.id) in seen:
            continue  # already given, or an import's folder
        if not node.is_categorized and ("folder", node.id) not in seen:
            seen.add(("folder", node.id))
            yield Entry("folder", node, _parent_id(node.parent), _path(node))
        for file in node.files:
            if ("file", file.id) not in seen:
                seen.add(("file", file.id))
                yield Entry("file", file, _parent_id(node), _path(node) + (file.name,))
        stack.extend(reversed(node.subfolders))
