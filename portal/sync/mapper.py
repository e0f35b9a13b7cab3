"""What a Procore tool must provide to the sync engine: a Mapper (documents.py, photos.py,
drawings.py).

The engine never looks at Procore payloads: a mapper turns them into RemoteItems, parents
before children, and says where each one lives in cBox. Items are planned by (kind, id),
never by name (ARCHITECTURE "portal/sync").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterator, Protocol

FOLDER, FILE = "folder", "file"
# What a listing says of an item (SPEC R7, R13, R34; "delete on proof only"):
LIVE = "live"        # in Procore, in the selection
DELETED = "deleted"  # seen in Procore's recycle bin: proof that Procore deleted it
HIDDEN = "hidden"    # the account cannot see it (403, or 404 while its parent lists it): no proof of anything
ABSENT = "absent"    # a direct read answered 404: proof only from an account that is Admin on the tool
OUTSIDE = "outside"  # it exists, but not (or no longer) inside the selection: leaves cBox, read by an Admin


class FullRefreshNeeded(Exception):
    """An event names a resource that cannot be applied item by item: refresh the whole integration."""


@dataclass(frozen=True)
class RemoteItem:
    kind: str  # "folder" | "file"
    id: int
    parent_id: int | None  # None: directly under the integration's "Procore" folder (R10)
    name: str
    version_id: int | None = None
    size: int | None = None
    updated_at: datetime | None = None
    download_url: str | None = None
    presence: str = LIVE


def marker(kind: str, item_id: int, parent_id: int | None, presence: str, name: str = "") -> RemoteItem:
    """An item a listing did not see live (DELETED, HIDDEN, ABSENT or OUTSIDE)."""
    return RemoteItem(kind, item_id, parent_id, name, presence=presence)


class Mapper(Protocol):
    """One Procore tool's view of an integration.

    `integration` is anything with procore_company_id, procore_project_id and selections: the
    engine passes a frozen `fetch.Target`, because listing and downloads run in other threads
    than the one owning the ORM rows.

    Ids: an item is (kind, id), unique within one integration. Ids are Procore's where Procore
    has one; a mapper may invent deterministic ids for folders Procore does not have as such
    (drawings: one discipline folder per area, a negative id; photos: the "Unclassified"
    pseudo-album, a reserved negative id). Procore ids are positive, so invented ones never clash.
    """

    tool: str
    category: str  # the cBox categorized folder kind ("documents", "photos", "drawings")

    def list_remote(self, client, integration) -> Iterator[RemoteItem]:
        """Every selected item, parents first. Raise PaginationIncomplete (or let it propagate)
        when the listing cannot be complete: the engine then deletes nothing. Items seen in the
        recycle bin come as DELETED, items the account cannot see as HIDDEN (never skipped
        silently: absence is not proof)."""

    def list_refs(self, client, integration, refs: list[tuple[str, int]]) -> Iterator[RemoteItem]:
        """The items webhook events named, re-read from Procore now (events carry no state, and
        arrive late, out of order or twice). Each ref is (resource_name, resource_id) as in the
        event, e.g. ("Project Files", 5000000123), ("Images", …), ("Drawing Revisions", …).

        Yields parents first, each (kind, id) at most once however often it is named:
        * an item inside the selection: its ancestors as LIVE folders, exactly as list_remote
          gives them (same ids, names, parents), then the item LIVE. A ref naming a version
          (file version, drawing revision) stands for its file (drawing). A folder or album ref
          yields the folder itself (Documents: and its contents when it has any, since a folder moved
          into the selection brings them without events of their own);
        * an item Procore shows in its recycle bin (or deleted, for drawings): a DELETED marker;
        * a read answering 404: an ABSENT marker; 403: a HIDDEN marker. ABSENT is also what an
          item readable by id but missing from the listing that would hold it gets (a recycled
          photo: Procore has no "in the bin" field for images) - the same proof an Admin's
          complete listing gives, and no proof from anyone else;
        * an item that exists but is not (or no longer) inside the selection: moved out of the
          synced folders or albums, a drawing whose current revision is not published, an
          obsolete drawing, an area or discipline not selected: an OUTSIDE marker. Read by an
          Admin on the tool, that is proof the item must leave cBox (R15, R19, R22).
        Markers carry kind and id (name and parent when known). A folder marker stands for what
        the links remember below it (an album deleted with its photos: one marker).

        Raises FullRefreshNeeded, before yielding anything, when a ref cannot be resolved to items
        one by one (an unknown resource, "Drawing Sets", "Drawing Uploads", "Drawing Areas", a
        version whose file cannot be found): the caller then refreshes the whole integration."""

    def verify(self, client, integration, kind: str, item_id: int) -> str:
        """Read one item directly: LIVE, DELETED, HIDDEN, ABSENT or OUTSIDE (see above). Only
        DELETED is proof for an account that is not Admin on the tool."""

    def refetch(self, client, integration, item: RemoteItem) -> RemoteItem | None:
        """The item again with a fresh download URL; None when Procore no longer has it."""

    def describe(self, client, integration) -> dict:
        """Labels for the UI (e.g. the names of the selected roots)."""


TOOLS = ("documents", "photos", "drawings")  # the Procore tools an integration may copy (R14, R35)


def mapper_for(tool: str) -> Mapper:
    from portal.sync.documents import DocumentsMapper
    from portal.sync.drawings import DrawingsMapper
    from portal.sync.photos import PhotosMapper

    mappers = {"documents": DocumentsMapper(), "photos": PhotosMapper(), "drawings": DrawingsMapper()}
    if tool not in mappers:
        raise ValueError(f"no sync mapper for the Procore tool {tool!r}")
    return mappers[tool]
