"""The Drawings tool mapper: the current revision of every published drawing of the selected areas
and disciplines, as Planos/Procore/<Area>/<Discipline>/<number> <title>.pdf (SPEC R10, R15, R16, R17).

Selection: {"areas": [area ids], "disciplines": [discipline ids]}; no discipline means all of them.

* R17: every project has at least one drawing area; without "Drawings by Area" it is the project's
  default one. It is used like any other: a folder named after it (after the project when Procore
  gives it no name).
* R16: an area is a FOLDER item (the area id); under it, one FOLDER per discipline that holds synced
  drawings. Procore's discipline ids are project-wide, so the same discipline under two areas needs
  two folders: its id is `discipline_folder_id(area, discipline)`, a deterministic negative 62-bit
  hash of the pair (Procore ids are positive, so it never meets one; the same pair always gives the
  same id, so refreshes and webhook events find the same folder).
* R15: a drawing is a FILE item whose id is the DRAWING id and whose version id is its CURRENT
  revision's id. Only revisions that are current (the most recently published) and published are
  taken; obsolete drawings (excluded by Procore's revision listing) and revisions in review or
  unpublished are not. When a newer revision is published it becomes current: same file id, new
  version id, so the engine adds a new version to the same cBox file. A drawing made obsolete, or
  whose discipline or area is no longer selected, is missing from the complete listing and leaves
  cBox (an Admin's listing is proof; list_refs says OUTSIDE).

Listing: one paginated GET /projects/{id}/drawing_revisions?drawing_area_id= per selected area
(deleted and obsolete revisions excluded by Procore by default; no server-side "current" filter,
so it is applied here), plus the area listing for names. PDF URLs are time-limited and need the
Bearer token: refetch reads the drawing's revisions again for a fresh one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

from portal.procore import DrawingRevision, ProcoreNotFound, ProcorePermissionError
from portal.sync import refs as refs_
from portal.sync.mapper import ABSENT, DELETED, FILE, FOLDER, HIDDEN, LIVE, OUTSIDE, FullRefreshNeeded, RemoteItem, \
    marker

# webhook resources resolved item by item
DRAWINGS, REVISIONS, UPLOADS = "Drawings", "Drawing Revisions", "Drawing Uploads"
PUBLISHED = "published"


def discipline_folder_id(area_id: int, discipline_id: int) -> int:
    """The folder id of one discipline inside one area: -(62-bit blake2b of the pair) - 2, so always
    negative (never a Procore id) and deterministic (the same folder in every run and every event)."""
    digest = hashlib.blake2b(f"drawings:{int(area_id)}:{int(discipline_id)}".encode(), digest_size=8).digest()
    return -((int.from_bytes(digest, "big") >> 2) + 2)


def selection_of(selections: dict | None) -> tuple[list[int], set[int]]:
    """(selected area ids in order, selected discipline ids: empty = every discipline)."""
    selections = selections or {}
    return ([int(i) for i in dict.fromkeys(selections.get("areas", []))],
            {int(i) for i in selections.get("disciplines", [])})


def is_current(revision: DrawingRevision) -> bool:
    """The revision R15 syncs: its drawing's current one, published, not obsolete. `status` is not
    documented by Procore (open question 8): when it is missing, `current` (= most recently published)
    decides alone."""
    status = (revision.status or PUBLISHED).strip().lower()
    return revision.current and not revision.obsolete and status == PUBLISHED and revision.drawing_id is not None


def file_name(revision: DrawingRevision) -> str:
    """`<number> <title>.pdf` (R16); the store makes the name safe and unique."""
    label = " ".join(part.strip() for part in (revision.number, revision.title) if part and part.strip())
    return f"{label or revision.drawing_id}.pdf"


def drawing_item(revision: DrawingRevision, parent_id: int) -> RemoteItem:
    return RemoteItem(FILE, revision.drawing_id, parent_id, file_name(revision), version_id=revision.id,
                      size=revision.pdf_size, updated_at=revision.updated_at, download_url=revision.pdf_url)


def discipline_item(area_id: int, revision: DrawingRevision) -> RemoteItem | None:
    """The discipline folder of a revision in an area; None for a drawing without a discipline (it then
    sits directly in its area folder)."""
    discipline = revision.discipline
    if discipline is None:
        return None
    return RemoteItem(FOLDER, discipline_folder_id(area_id, discipline.id), area_id,
                      discipline.name or str(discipline.id))


@dataclass(frozen=True)
class Choice:
    id: int
    name: str
    count: int | None = None


class _Areas:
    """The project's drawing areas (one complete listing), named for cBox (R17)."""

    def __init__(self, client, company_id: int, project_id: int):
        self.client, self.company_id, self.project_id = client, company_id, project_id
        self.areas = {area.id: area for area in client.drawing_areas(company_id, project_id)}
        self._project_name: str | None = None

    def name(self, area_id: int) -> str:
        name = (self.areas[area_id].name or "").strip()
        if name:
            return name
        if self._project_name is None:  # an unnamed default area: it is the project's
            self._project_name = self.client.project(self.company_id, self.project_id).name
        return self._project_name

    def folder(self, area_id: int) -> RemoteItem:
        return RemoteItem(FOLDER, area_id, None, self.name(area_id), updated_at=self.areas[area_id].updated_at)


def area_choices(client, company_id: int, project_id: int) -> list[Choice]:
    areas = _Areas(client, company_id, project_id)
    return [Choice(area_id, areas.name(area_id), area.drawings_count) for area_id, area in areas.areas.items()]


def discipline_choices(client, company_id: int, project_id: int) -> list[Choice]:
    disciplines = sorted(client.drawing_disciplines(company_id, project_id),
                         key=lambda d: (d.position if d.position is not None else 10 ** 9, d.name.lower()))
    return [Choice(d.id, d.name or str(d.id)) for d in disciplines]


class DrawingsMapper:
    tool = "drawings"
    category = "drawings"

    def list_remote(self, client, integration) -> Iterator[RemoteItem]:
        company_id, project_id = integration.procore_company_id, integration.procore_project_id
        area_ids, disciplines = selection_of(integration.selections)
        areas = _Areas(client, company_id, project_id)
        for area_id in area_ids:
            if area_id not in areas.areas:  # absent from the complete area listing
                yield marker(FOLDER, area_id, None, ABSENT)
                continue
            current = {}
            try:
                for revision in client.drawing_revisions(company_id, project_id, area_id):
                    if is_current(revision) and revision.drawing_area_id in (None, area_id) and (
                            not disciplines or (revision.discipline is not None
                                                and revision.discipline.id in disciplines)):
                        current.setdefault(revision.drawing_id, revision)
            except (ProcoreNotFound, ProcorePermissionError) as error:  # the area vanished, or cannot be read
                yield marker(FOLDER, area_id, None, ABSENT if isinstance(error, ProcoreNotFound) else HIDDEN)
                continue
            yield areas.folder(area_id)
            yield from _area_tree(area_id, current.values())

    def list_refs(self, client, integration, refs: list[tuple[str, int]]) -> Iterator[RemoteItem]:
        """Drawings and revisions webhook events named, read now (contract: mapper.Mapper.list_refs).
        A revision stands for its drawing, whose CURRENT revision decides (R15); areas, sets and
        uploads change many drawings at once: FullRefreshNeeded."""
        wanted = refs_.checked(refs, (DRAWINGS, REVISIONS, UPLOADS))
        yield from refs_.resolve_all(wanted, _Refs(client, integration).resolve)

    def verify(self, client, integration, kind: str, item_id: int) -> str:
        resolver = _Refs(client, integration)
        if kind == FILE:
            return resolver.drawing(item_id)[-1].presence
        area_ids, disciplines = selection_of(integration.selections)
        areas = resolver.areas()
        if item_id > 0:
            return ABSENT if item_id not in areas.areas else LIVE if item_id in area_ids else OUTSIDE
        all_disciplines = [d.id for d in client.drawing_disciplines(integration.procore_company_id,
                                                                     integration.procore_project_id)]
        for area_id in areas.areas:
            for discipline_id in all_disciplines:
                if discipline_folder_id(area_id, discipline_id) == item_id:
                    chosen = area_id in area_ids and (not disciplines or discipline_id in disciplines)
                    return LIVE if chosen else OUTSIDE
        return ABSENT

    def refetch(self, client, integration, item: RemoteItem) -> RemoteItem | None:
        """The drawing's current revision again, with a fresh time-limited pdf_url (a newer published
        revision comes as its new version); None when it has none any more."""
        revisions = client.drawing_revisions(integration.procore_company_id, integration.procore_project_id,
                                             drawing_id=item.id)
        current = next((r for r in revisions if is_current(r)), None)
        return None if current is None else drawing_item(current, item.parent_id)

    def describe(self, client, integration) -> dict:
        area_ids, disciplines = selection_of(integration.selections)
        areas = _Areas(client, integration.procore_company_id, integration.procore_project_id)
        names = {c.id: c.name for c in discipline_choices(client, integration.procore_company_id,
                                                          integration.procore_project_id)}
        return {"areas": [areas.name(i) if i in areas.areas else str(i) for i in area_ids],
                "disciplines": [names.get(i, str(i)) for i in sorted(disciplines)]}


def _area_tree(area_id: int, revisions) -> Iterator[RemoteItem]:
    """An area's discipline folders and drawings, parents first, in Procore's discipline order."""
    def order(revision: DrawingRevision):
        discipline = revision.discipline
        return (discipline is not None, discipline.position if discipline and discipline.position is not None
                else 10 ** 9, (discipline.name or "").lower() if discipline else "", (revision.number or "").lower(),
                revision.drawing_id)
    folders: set[int] = set()
    for revision in sorted(revisions, key=order):
        folder = discipline_item(area_id, revision)
        if folder is not None and folder.id not in folders:
            folders.add(folder.id)
            yield folder
        yield drawing_item(revision, folder.id if folder is not None else area_id)


class _Refs:
    def __init__(self, client, integration):
        self.client = client
        self.company_id, self.project_id = integration.procore_company_id, integration.procore_project_id
        self.area_ids, self.disciplines = selection_of(integration.selections)
        self._areas: _Areas | None = None
        self.read: dict[int, list[RemoteItem]] = {}  # drawing id -> what drawing() gave, for this call
        self.revision_drawing: dict[int, int] = {}  # revision id -> drawing id, from the listings read
        # Area folders the integration already has: a drawing is placed in them without reading the areas.
        self.known = {area_id: RemoteItem(FOLDER, area_id, None, name)
                      for area_id, (parent, name) in (getattr(integration, "known", None) or {}).items()
                      if parent is None and area_id in self.area_ids}

    def areas(self) -> _Areas:
        if self._areas is None:
            self._areas = _Areas(self.client, self.company_id, self.project_id)
        return self._areas

    def resolve(self, name: str, resource_id: int) -> list[RemoteItem]:
        if name == DRAWINGS:
            return self.drawing(resource_id)
        if name == UPLOADS:
            return [item for drawing_id in self.drawings_of_upload(resource_id) for item in self.drawing(drawing_id)]
        return self.drawing(self.drawing_of(resource_id))

    def drawings_of_upload(self, upload_id: int) -> list[int]:
        """The drawings an upload's imports went to. Imports waiting for review name none: nothing of
        theirs is published, so nothing changes in cBox (R15) until the events of their publication."""
        try:
            return self.client.drawing_upload_drawings(self.company_id, self.project_id, upload_id)
        except (ProcoreNotFound, ProcorePermissionError):
            raise FullRefreshNeeded(f"drawing upload {upload_id} cannot be read") from None

    def drawing_of(self, revision_id: int) -> int:
        """The drawing a revision belongs to (a deleted revision included); FullRefreshNeeded when
        Procore does not say. A revision listed with a drawing read in this call costs no request."""
        if revision_id in self.revision_drawing:
            return self.revision_drawing[revision_id]
        try:
            return self.client.drawing_revision(self.company_id, self.project_id, revision_id).drawing_id or \
                self._deleted_revision_drawing(revision_id)
        except ProcoreNotFound:
            return self._deleted_revision_drawing(revision_id)
        except ProcorePermissionError:
            raise FullRefreshNeeded(f"drawing revision {revision_id} cannot be read") from None

    def _deleted_revision_drawing(self, revision_id: int) -> int:
        found = [r for r in self.client.drawing_revisions(self.company_id, self.project_id, with_obsolete=True,
                                                          ids=[revision_id], deleted="with")
                 if r.id == revision_id and r.drawing_id is not None]
        if not found:
            raise FullRefreshNeeded(f"the drawing of revision {revision_id} cannot be found")
        return found[0].drawing_id

    def drawing(self, drawing_id: int) -> list[RemoteItem]:
        if drawing_id not in self.read:
            self.read[drawing_id] = self._drawing(drawing_id)
        return self.read[drawing_id]

    def _drawing(self, drawing_id: int) -> list[RemoteItem]:
        try:
            revisions = list(self.client.drawing_revisions(self.company_id, self.project_id, drawing_id=drawing_id,
                                                           with_obsolete=True))
        except ProcoreNotFound:
            return [marker(FILE, drawing_id, None, ABSENT)]
        except ProcorePermissionError:
            return [marker(FILE, drawing_id, None, HIDDEN)]
        revisions = [r for r in revisions if r.drawing_id == drawing_id]
        self.revision_drawing.update((r.id, drawing_id) for r in revisions)
        if not revisions:  # no live revision: deleted (its revisions are in the deleted listing) or unknown
            deleted = [r for r in self.client.drawing_revisions(self.company_id, self.project_id, drawing_id=drawing_id,
                                                                with_obsolete=True, deleted="only")
                       if r.drawing_id == drawing_id]
            return [marker(FILE, drawing_id, None, DELETED if deleted else ABSENT)]
        current = next((r for r in revisions if is_current(r)), None)
        area_id = next((r.drawing_area_id for r in revisions if r.drawing_area_id is not None), None)
        name = file_name(current or revisions[0])
        if current is None or any(r.obsolete for r in revisions):
            return [marker(FILE, drawing_id, None, OUTSIDE, name)]  # R15: unpublished only, or obsolete
        discipline = current.discipline
        if area_id not in self.area_ids or (self.disciplines and (discipline is None
                                                                  or discipline.id not in self.disciplines)):
            return [marker(FILE, drawing_id, None, OUTSIDE, name)]
        area = self.known.get(area_id)
        if area is None:
            areas = self.areas()
            if area_id not in areas.areas:
                return [marker(FILE, drawing_id, None, HIDDEN, name)]  # its area is not in the listing: no proof
            area = areas.folder(area_id)
        folder = discipline_item(area_id, current)
        return [area, *([folder] if folder else []), drawing_item(current, folder.id if folder else area_id)]
