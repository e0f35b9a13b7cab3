"""The Documents tool mapper: the selected folders (recursively) and files, in Procore's tree (R21).

Listing walks folders with GET /folders/{id}: Procore returns nested folders with EMPTY child
arrays, so every folder is fetched on its own. Selected items keep their Procore ancestors as
path folders, so cBox shows `Procore/<the same tree>` and two selected folders with the same
name never collide. Items in the Recycle Bin come as DELETED (proof of deletion); a folder the
account cannot read (403, or 404 although its parent lists it: a private folder, a permission
lowered) comes as HIDDEN, so the engine keeps what is below it instead of deleting it.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterator

from flask import current_app, has_app_context

from portal.procore import File, Folder, ProcoreError, ProcoreNotFound, ProcorePermissionError
from portal.sync import refs as refs_
from portal.sync.mapper import ABSENT, DELETED, FILE, FOLDER, HIDDEN, LIVE, OUTSIDE, FullRefreshNeeded, RemoteItem, \
    marker

MAX_ANCESTORS = 100  # Procore nests folders at most ~100 deep; a longer chain is a loop
MAX_PATH_READS = 50  # selected roots read to tell whether a folder an event names is on their path
# Webhook resource names of the Documents tool (fact sheet §6; "File Versions" is the bare variant seen).
FILES, FOLDERS, VERSIONS = "Project Files", "Project Folders", ("Project File Versions", "File Versions")
LIST_THREADS = 4  # folders fetched ahead in parallel: one GET per folder made the listing the bottleneck


def _file_item(file: File, parent_id: int | None) -> RemoteItem:
    version = file.current_version
    return RemoteItem(FILE, file.id, parent_id, file.name,
                      version_id=version.id if version else None,
                      # Procore reports the size on the file and on each version; the version is the content.
                      size=version.size if version and version.size is not None else file.size,
                      updated_at=file.updated_at, download_url=version.url if version else None)


class DocumentsMapper:
    tool = "documents"
    category = "documents"

    def list_remote(self, client, integration) -> Iterator[RemoteItem]:
        walk = _Walk(client, integration.procore_company_id, integration.procore_project_id)
        walk.walked.update(getattr(integration, "exclude", ()))  # CalidadCloud: exports write it, never imported
        selections = integration.selections or {}
        try:
            for folder_id in selections.get("folders", []):
                yield from walk.selected_folder(int(folder_id))
            for file_id in selections.get("files", []):
                yield from walk.selected_file(int(file_id))
        finally:
            walk.close()

    def refetch(self, client, integration, item: RemoteItem) -> RemoteItem | None:
        try:
            file = client.file(integration.procore_company_id, integration.procore_project_id, item.id)
        except ProcoreNotFound:
            return None
        return None if file.is_deleted else _file_item(file, item.parent_id)

    def verify(self, client, integration, kind: str, item_id: int) -> str:
        company_id, project_id = integration.procore_company_id, integration.procore_project_id
        read = client.folder if kind == FOLDER else client.file
        return _presence(lambda: read(company_id, project_id, item_id))[0]

    def list_refs(self, client, integration, refs: list[tuple[str, int]]) -> Iterator[RemoteItem]:
        """The files and folders webhook events named, read now (contract: mapper.Mapper.list_refs).
        A version ref stands for its file; a folder ref yields the folder, and its contents when it has any
        (a folder moved into the selection brings them without events of their own)."""
        wanted = refs_.checked(refs, (FILES, FOLDERS, *VERSIONS))
        yield from refs_.resolve_all(wanted, _Refs(client, integration).resolve)

    def describe(self, client, integration) -> dict:
        return {}


def _presence(read) -> tuple[str, object]:
    """(presence, payload) of one direct read: LIVE, DELETED (in the recycle bin), HIDDEN (403) or ABSENT (404)."""
    try:
        found = read()
    except ProcoreNotFound:
        return ABSENT, None
    except ProcorePermissionError:
        return HIDDEN, None
    return (DELETED if found.is_deleted else LIVE), found


class _Walk:
    """One listing: remembers what it yielded so overlapping selections list each item once."""

    def __init__(self, client, company_id: int, project_id: int):
        self.client, self.company_id, self.project_id = client, company_id, project_id
        self.seen: set[tuple[str, int]] = set()  # yielded
        self.walked: set[int] = set()  # folders whose contents were listed
        self.roots: set[int] = set()  # Procore's root folder id(s): its children sit under "Procore"
        self.app = current_app._get_current_object() if has_app_context() else None
        self.pool = ThreadPoolExecutor(max_workers=LIST_THREADS, thread_name_prefix="sync-list-ahead")
        self.root_read: Future | None = None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _ahead(self, folder_id: int, parent_id: int | None) -> Future:
        """Fetch a folder in a pool thread (its own app context: the credential reads the database).
        Items are still yielded in the same depth-first order; only the GETs overlap."""
        return self.pool.submit(self._in_context, lambda: (folder_id, parent_id, *self._folder(folder_id)))

    def _in_context(self, call):
        if self.app is None:
            return call()
        with self.app.app_context():
            return call()

    def _read_root_ahead(self) -> None:
        """Read the root folder's id while the first selection is read. A selected folder or file below the
        root otherwise waits for two reads in a row (itself, then its parent, to learn that the parent is
        the root) before its first file is listed. The walk reads the root once anyway (as the last
        ancestor); only a selection of the root itself, or a chain cut short, makes this read extra."""
        if not self.roots and self.root_read is None:
            self.root_read = self.pool.submit(self._in_context, lambda: self.client.root_folder_id(
                self.company_id, self.project_id))

    def _learn_root(self) -> None:
        if self.root_read is None:
            return
        read, self.root_read = self.root_read, None
        try:
            self.roots.add(read.result())
        except ProcoreError:  # unknown: the ancestors' own reads find the root, as without this read
            pass

    def _folder(self, folder_id: int) -> tuple[str, Folder | None]:
        presence, folder = _presence(lambda: self.client.folder(self.company_id, self.project_id, folder_id))
        if presence == LIVE and folder.is_recycle_bin:
            return ABSENT, None  # the bin itself is never synced
        if presence == LIVE and folder.parent_id is None:
            self.roots.add(folder.id)
        return presence, folder

    def _parent(self, parent_id: int | None) -> int | None:
        return None if parent_id is None or parent_id in self.roots else parent_id

    def ancestors(self, parent_id: int | None) -> list[RemoteItem]:
        chain: list[RemoteItem] = []
        while parent_id is not None and parent_id not in self.roots and len(chain) < MAX_ANCESTORS:
            presence, folder = self._folder(parent_id)
            if presence != LIVE or folder.parent_id is None:
                break
            chain.append(RemoteItem(FOLDER, folder.id, folder.parent_id, folder.name, updated_at=folder.updated_at))
            parent_id = folder.parent_id
        chain.reverse()
        return [self._mark(item) for item in chain if (FOLDER, item.id) not in self.seen]

    def _mark(self, item: RemoteItem) -> RemoteItem:
        self.seen.add((item.kind, item.id))
        return RemoteItem(item.kind, item.id, self._parent(item.parent_id), item.name, item.version_id,
                          item.size, item.updated_at, item.download_url)

    def selected_folder(self, folder_id: int) -> Iterator[RemoteItem]:
        if folder_id in self.walked:
            return
        self._read_root_ahead()
        presence, folder = self._folder(folder_id)
        if presence != LIVE:  # a selected root: gone (or unreadable) as a whole
            yield marker(FOLDER, folder_id, None, presence)
            return
        if folder.parent_id is not None:
            self._learn_root()
            yield from self.ancestors(folder.parent_id)
        stack: list = [folder]
        while stack:
            current = stack.pop()
            if isinstance(current, Future):
                child_id, parent_id, presence, current = current.result()  # raises its errors here
                if presence != LIVE:
                    # Its parent lists it, yet it cannot be read: the account's view shrank (a private
                    # folder, a lowered permission), which proves nothing about Procore (HIDDEN).
                    yield marker(FOLDER, child_id, self._parent(parent_id),
                                  DELETED if presence == DELETED else HIDDEN)
                    continue
            if current.id in self.walked:
                continue
            self.walked.add(current.id)
            # The root folder itself has no place in cBox; a folder already yielded as an ancestor is not repeated.
            if current.parent_id is not None and (FOLDER, current.id) not in self.seen:
                yield self._mark(RemoteItem(FOLDER, current.id, current.parent_id, current.name,
                                            updated_at=current.updated_at))
            yield from self._files(current)
            # Submitted in order (the pool is FIFO), stacked in reverse: the next folder popped is
            # the first one fetched.
            for child in current.folders:
                if child.is_deleted:
                    yield marker(FOLDER, child.id, self._parent(current.id), DELETED, child.name)
            ahead = [self._ahead(child.id, current.id) for child in current.folders
                     if child.id not in self.walked and not (child.is_deleted or child.is_recycle_bin)]
            stack.extend(reversed(ahead))

    def _files(self, folder: Folder) -> Iterator[RemoteItem]:
        for file in folder.files:
            if file.is_deleted:
                yield marker(FILE, file.id, self._parent(folder.id), DELETED, file.name)
            elif (FILE, file.id) not in self.seen:
                yield self._mark(_file_item(file, folder.id))

    def selected_file(self, file_id: int) -> Iterator[RemoteItem]:
        if (FILE, file_id) in self.seen:
            return
        self._read_root_ahead()
        presence, file = _presence(lambda: self.client.file(self.company_id, self.project_id, file_id))
        if presence != LIVE:
            yield marker(FILE, file_id, None, presence)
            return
        self._learn_root()
        yield from self.ancestors(file.parent_id)
        yield self._mark(_file_item(file, file.parent_id))


KNOWN_ROOT = -1  # stands for Procore's root folder above a known top-level folder


@dataclass(frozen=True)
class _Known:
    """A folder as the integration's links remember it (in place of a Procore read)."""

    id: int
    parent_id: int
    name: str
    updated_at: None = None


class _Refs:
    """Resolves the refs of one list_refs call; folder reads are cached for the call."""

    def __init__(self, client, integration):
        self.client = client
        self.company_id, self.project_id = integration.procore_company_id, integration.procore_project_id
        selections = integration.selections or {}
        self.folders = {int(i) for i in selections.get("folders", [])}
        self.files = {int(i) for i in selections.get("files", [])}
        self.cache: dict[int, tuple[str, Folder | None]] = {}
        self.roots: set[int] = {KNOWN_ROOT}
        self._paths: set[int] | None = None
        self.known = getattr(integration, "known", None) or {}
        self.exclude = frozenset(getattr(integration, "exclude", ()))

    def resolve(self, name: str, resource_id: int) -> list[RemoteItem]:
        if name == FILES:
            return self.file(resource_id)
        if name == FOLDERS:
            return self.folder_ref(resource_id)
        try:
            version = self.client.file_version(self.company_id, self.project_id, resource_id)
        except (ProcoreNotFound, ProcorePermissionError):
            version = None
        if version is None or version.file_id is None:
            raise FullRefreshNeeded(f"the file of version {resource_id} cannot be read")
        return self.file(version.file_id)

    # -- reading -----------------------------------------------------------------------------
    def read_folder(self, folder_id: int) -> tuple[str, Folder | None]:
        if folder_id not in self.cache:
            presence, folder = _presence(lambda: self.client.folder(self.company_id, self.project_id, folder_id))
            if presence == LIVE and folder.is_recycle_bin:
                presence, folder = ABSENT, None  # the bin itself is never synced
            if presence == LIVE and folder.parent_id is None:
                self.roots.add(folder.id)
            self.cache[folder_id] = presence, folder
        return self.cache[folder_id]

    def chain(self, parent_id: int | None) -> tuple[str, list[Folder]]:
        """(LIVE, the folders from Procore's root down to parent_id), or the presence of the first
        folder on the way up that cannot be read as live. Folders the integration already has are
        taken from its links instead of read again (their own events keep them current)."""
        chain: list[Folder] = []
        while parent_id is not None and len(chain) < MAX_ANCESTORS:
            if parent_id in self.known:
                known_parent, name = self.known[parent_id]
                chain.append(_Known(parent_id, KNOWN_ROOT if known_parent is None else known_parent, name))
                if known_parent is None:
                    break  # just below Procore's root
                parent_id = known_parent
                continue
            presence, folder = self.read_folder(parent_id)
            if presence != LIVE:
                return presence, chain
            chain.append(folder)
            parent_id = folder.parent_id
        chain.reverse()
        return LIVE, chain

    def parent(self, parent_id: int | None) -> int | None:
        return None if parent_id is None or parent_id in self.roots else parent_id

    def inside(self, chain: list[Folder]) -> bool:
        """Below a selected folder, and not in an export's CalidadCloud (never imported back). A chain
        taken from the links stops below Procore's root (KNOWN_ROOT), whose id it never holds: then the
        item is inside when the selection is the root itself (the whole project)."""
        if any(folder.id in self.exclude for folder in chain):
            return False
        if any(folder.id in self.folders for folder in chain):
            return True
        return bool(chain) and chain[0].parent_id == KNOWN_ROOT and self.selects_root()

    def selects_root(self) -> bool:
        """Whether one of the selected folders is Procore's root folder (each read once per call)."""
        if len(self.folders) > MAX_PATH_READS:
            raise FullRefreshNeeded("too many selected roots to place an event")
        for folder_id in self.folders:
            presence, folder = self.read_folder(folder_id)
            if presence == LIVE and folder.parent_id is None:
                return True
        return False

    def ancestors(self, chain: list[Folder]) -> list[RemoteItem]:
        """The path folders as list_remote yields them: Procore's root has no place in cBox."""
        return [RemoteItem(FOLDER, folder.id, self.parent(folder.parent_id), folder.name, updated_at=folder.updated_at)
                for folder in chain if folder.parent_id is not None]

    @staticmethod
    def unsure(presence: str) -> str:
        """What an item is when a folder above it cannot be read as live: deleted with it (DELETED),
        else unknown (HIDDEN: its tree cannot be seen, which proves nothing)."""
        return DELETED if presence == DELETED else HIDDEN

    # -- refs --------------------------------------------------------------------------------
    def file(self, file_id: int) -> list[RemoteItem]:
        presence, file = _presence(lambda: self.client.file(self.company_id, self.project_id, file_id))
        if presence != LIVE:
            return [marker(FILE, file_id, None, presence)]
        presence, chain = self.chain(file.parent_id)
        if presence != LIVE:
            return [marker(FILE, file_id, None, self.unsure(presence), file.name)]
        if file_id in self.files or self.inside(chain):
            return [*self.ancestors(chain), _file_item(file, self.parent(file.parent_id))]
        return [marker(FILE, file_id, self.parent(file.parent_id), OUTSIDE, file.name)]  # R22

    def folder_ref(self, folder_id: int) -> list[RemoteItem]:
        presence, folder = self.read_folder(folder_id)
        if presence != LIVE:
            return [marker(FOLDER, folder_id, None, presence)]
        if folder.parent_id is None:
            return []  # Procore's root folder: not an item in cBox
        presence, chain = self.chain(folder.parent_id)
        if presence != LIVE:
            return [marker(FOLDER, folder_id, None, self.unsure(presence), folder.name)]
        item = RemoteItem(FOLDER, folder.id, self.parent(folder.parent_id), folder.name, updated_at=folder.updated_at)
        if folder_id not in self.exclude and (folder_id in self.folders or self.inside(chain)):
            # Inside the selection: a folder moved in from outside brings its contents, which get no
            # events of their own, so a folder that has any is listed below too (each item then
            # plans by id + version: what cBox has already is skipped).
            return [*self.ancestors(chain), item, *(self.subtree(folder_id) if folder.folders or folder.files else [])]
        if folder_id in self.paths():  # a folder on the path to a selected item (list_remote yields those too)
            return [*self.ancestors(chain), item]
        return [marker(FOLDER, folder_id, item.parent_id, OUTSIDE, folder.name)]

    def subtree(self, folder_id: int) -> list[RemoteItem]:
        walk = _Walk(self.client, self.company_id, self.project_id)
        walk.roots = set(self.roots)
        try:
            return list(walk.selected_folder(folder_id))
        finally:
            walk.close()

    def paths(self) -> set[int]:
        """Ids of the folders above the selected folders and files (read once per call)."""
        if self._paths is None:
            if len(self.folders) + len(self.files) > MAX_PATH_READS:
                raise FullRefreshNeeded("too many selected roots to place a folder event")
            paths: set[int] = set()
            for folder_id in self.folders:
                presence, folder = self.read_folder(folder_id)
                if presence == LIVE:
                    paths.update(f.id for f in self.chain(folder.parent_id)[1])
            for file_id in self.files:
                presence, file = _presence(lambda file_id=file_id: self.client.file(
                    self.company_id, self.project_id, file_id))
                if presence == LIVE:
                    paths.update(f.id for f in self.chain(file.parent_id)[1])
            self._paths = paths
        return self._paths
