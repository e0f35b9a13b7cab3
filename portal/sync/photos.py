"""The Photos tool mapper: the selected albums and their photos, as Imágenes/Procore/<Album>/<image
name> (SPEC R10, R18, R19, R20).

Selection: {"albums": [album ids]}. An album is a FOLDER item (the album id, directly under
"Procore"); a photo is a FILE item (the image id, parent = its album id, name = the original file
name). The listing is complete per selected album (every page of GET /images?image_category_id=),
so the generic engine does the rest:

* R19: a photo moved to another synced album is listed under that album: the engine moves the same
  cBox file there. Moved to an album that is not synced, it is listed nowhere: absent from an
  Admin's complete listing, it leaves cBox.
* R20: deleting an album sends its photos to the recycle bin; they disappear from every listing, so
  they leave cBox with the album. A photo retrieved from the bin comes back into its album, or into
  "Unclassified" when its album is gone: it is listed again, hence copied again, only when
  "Unclassified" is synced.

"Unclassified" (open question 9): Procore may list it as an ordinary album (the sandbox does, with a
real id) - then it is one - or leave it out and return its photos with image_category_id null. For
that case the chooser offers a pseudo-album with the reserved id UNCLASSIFIED (negative: Procore ids
are positive) whenever no listed album is called "Unclassified"; selecting it syncs the photos whose
image_category_id is null, into a folder "Unclassified".

Recycled photos: the sandbox leaves them out of GET /images, and Procore documents no "in the
recycle bin" field on images (only `permanently_deleted`), so a photo readable by id but missing from
its album's listing is ABSENT - the proof an Admin's complete listing gives - and DELETED is claimed
only when Procore says `permanently_deleted`.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Iterator

from portal.procore import Image, ProcoreNotFound, ProcorePermissionError
from portal.sync import refs as refs_
from portal.sync.mapper import ABSENT, DELETED, FILE, FOLDER, HIDDEN, LIVE, OUTSIDE, RemoteItem, marker

UNCLASSIFIED = -1  # the pseudo-album of photos without an album (reserved: Procore ids are positive)
UNCLASSIFIED_NAME = "Unclassified"  # Procore's name for the default album (a data name, like "Procore")
IMAGES, ALBUMS = "Images", "Image Categories"  # webhook resource names (fact sheet §6)


def selected_albums(selections: dict | None, exclude=()) -> list[int]:
    """The chosen albums, never an export's CalidadCloud album (R24: exports write it; not imported back)."""
    return [int(i) for i in (selections or {}).get("albums", []) if int(i) not in exclude]


def is_unclassified(name: str | None) -> bool:
    return (name or "").strip().casefold() == UNCLASSIFIED_NAME.casefold()


def image_item(image: Image, album_id: int) -> RemoteItem:
    # Procore keeps no versions of a photo and offers no way to replace one's content, so there is no
    # version id: version_id stays None and a changed size is what marks new content (plan_file
    # compares both). Keying on updated_at instead would download again after every description edit
    # or album move, and R19 wants a move to be a move of the same cBox file, not new content.
    return RemoteItem(FILE, image.id, album_id, image.filename or f"{image.id}", version_id=None,
                      size=image.size, updated_at=image.updated_at, download_url=image.url)


@dataclass(frozen=True)
class AlbumChoice:
    id: int
    name: str
    count: int | None
    private: bool = False


def album_choices(client, company_id: int, project_id: int) -> list[AlbumChoice]:
    """The albums the chooser offers (R3), with their photo counts; "Unclassified" always among them
    (as Procore lists it, or as the pseudo-album when Procore does not)."""
    albums = [AlbumChoice(a.id, a.name, a.count, a.private) for a in client.image_categories(company_id, project_id)]
    if not any(is_unclassified(album.name) for album in albums):
        loose = sum(1 for image in client.images(company_id, project_id) if image.image_category_id is None)
        albums.insert(0, AlbumChoice(UNCLASSIFIED, UNCLASSIFIED_NAME, loose))
    return albums


class PhotosMapper:
    tool = "photos"
    category = "photos"

    def list_remote(self, client, integration) -> Iterator[RemoteItem]:
        company_id, project_id = integration.procore_company_id, integration.procore_project_id
        listed = {album.id: album for album in client.image_categories(company_id, project_id)}
        seen: set[int] = set()
        for album_id in dict.fromkeys(selected_albums(integration.selections, getattr(integration, "exclude", ()))):
            if album_id == UNCLASSIFIED:
                folder = RemoteItem(FOLDER, UNCLASSIFIED, None, UNCLASSIFIED_NAME)
                images = (i for i in client.images(company_id, project_id) if i.image_category_id is None)
            elif album_id in listed:
                album = listed[album_id]
                folder = RemoteItem(FOLDER, album.id, None, album.name, updated_at=album.updated_at)
                images = iter(client.images(company_id, project_id, album_id))
            else:  # not in the complete album listing: read it to say why (readable yet unlisted: no proof)
                presence = _album_presence(client, company_id, project_id, album_id)
                yield marker(FOLDER, album_id, None, HIDDEN if presence == LIVE else presence)
                continue
            try:
                first = next(images, None)  # the album may vanish between the two calls
            except (ProcoreNotFound, ProcorePermissionError) as error:
                yield marker(FOLDER, album_id, None, ABSENT if isinstance(error, ProcoreNotFound) else HIDDEN)
                continue
            yield folder
            for image in chain([first] if first is not None else [], images):
                if image.id not in seen:
                    seen.add(image.id)
                    yield image_item(image, album_id)

    def list_refs(self, client, integration, refs: list[tuple[str, int]]) -> Iterator[RemoteItem]:
        """Photos and albums webhook events named, read now (contract: mapper.Mapper.list_refs)."""
        wanted = refs_.checked(refs, (IMAGES, ALBUMS))
        yield from refs_.resolve_all(wanted, _Refs(client, integration).resolve)

    def verify(self, client, integration, kind: str, item_id: int) -> str:
        company_id, project_id = integration.procore_company_id, integration.procore_project_id
        albums = selected_albums(integration.selections)
        if kind == FOLDER:
            if item_id == UNCLASSIFIED:
                return LIVE if item_id in albums else OUTSIDE
            presence = _album_presence(client, company_id, project_id, item_id)
            return OUTSIDE if presence == LIVE and item_id not in albums else presence
        try:
            image = client.image(company_id, project_id, item_id)
        except ProcoreNotFound:
            return ABSENT
        except ProcorePermissionError:
            return HIDDEN
        if image.permanently_deleted:
            return DELETED
        # A recycled photo reads like a live one (no "in the bin" field): never claim DELETED for it.
        album_id = image.image_category_id if image.image_category_id is not None else UNCLASSIFIED
        return LIVE if album_id in albums else OUTSIDE

    def refetch(self, client, integration, item: RemoteItem) -> RemoteItem | None:
        """A fresh, time-limited URL (it also needs the Bearer token: the client sends it)."""
        try:
            image = client.image(integration.procore_company_id, integration.procore_project_id, item.id)
        except ProcoreNotFound:
            return None
        return None if image.permanently_deleted else image_item(image, item.parent_id)

    def describe(self, client, integration) -> dict:
        names = {a.id: a.name for a in client.image_categories(integration.procore_company_id,
                                                                integration.procore_project_id)}
        names[UNCLASSIFIED] = UNCLASSIFIED_NAME
        return {"albums": [names.get(i, str(i)) for i in selected_albums(integration.selections)]}


def _album_presence(client, company_id: int, project_id: int, album_id: int) -> str:
    """One album read directly: LIVE, ABSENT (404) or HIDDEN (403)."""
    try:
        client.image_category(company_id, project_id, album_id)
    except ProcoreNotFound:
        return ABSENT
    except ProcorePermissionError:
        return HIDDEN
    return LIVE


class _Refs:
    def __init__(self, client, integration):
        self.client = client
        self.company_id, self.project_id = integration.procore_company_id, integration.procore_project_id
        self.albums = set(selected_albums(integration.selections, getattr(integration, "exclude", ())))
        self.read: dict[int, tuple[str, RemoteItem | None]] = {}
        # Albums the integration already has: a photo is placed in them without reading them again (an
        # album an event names is always read: album_ref).
        self.known = {album_id: RemoteItem(FOLDER, album_id, None, name)
                      for album_id, (_parent, name) in (getattr(integration, "known", None) or {}).items()}

    def resolve(self, name: str, resource_id: int) -> list[RemoteItem]:
        return self.image(resource_id) if name == IMAGES else self.album_ref(resource_id)

    def album(self, album_id: int, fresh: bool = False) -> tuple[str, RemoteItem | None]:
        """(presence, the album's folder item) read now, cached for the call (a known album is not read
        unless `fresh`)."""
        if not fresh and album_id not in self.read and album_id in self.known and album_id in self.albums:
            return LIVE, self.known[album_id]
        if album_id not in self.read:
            if album_id == UNCLASSIFIED:
                self.read[album_id] = LIVE, RemoteItem(FOLDER, UNCLASSIFIED, None, UNCLASSIFIED_NAME)
            else:
                try:
                    album = self.client.image_category(self.company_id, self.project_id, album_id)
                    self.read[album_id] = LIVE, RemoteItem(FOLDER, album.id, None, album.name,
                                                           updated_at=album.updated_at)
                except ProcoreNotFound:
                    self.read[album_id] = ABSENT, None
                except ProcorePermissionError:
                    self.read[album_id] = HIDDEN, None
        return self.read[album_id]

    def album_ref(self, album_id: int) -> list[RemoteItem]:
        presence, folder = self.album(album_id, fresh=True)
        if presence != LIVE:
            return [marker(FOLDER, album_id, None, presence)]
        if album_id not in self.albums:
            return [marker(FOLDER, album_id, None, OUTSIDE, folder.name)]
        return [folder]

    def image(self, image_id: int) -> list[RemoteItem]:
        # The listing list_remote uses, across albums, first: a live photo in one call (a recycled one
        # reads fine by id but is not listed, so only a photo missing there is read by id).
        listed = next((i for i in self.client.images(self.company_id, self.project_id, None, id=image_id)
                       if i.id == image_id), None)
        if listed is not None:
            album_id = listed.image_category_id if listed.image_category_id is not None else UNCLASSIFIED
            if album_id not in self.albums:
                return [marker(FILE, image_id, album_id, OUTSIDE, listed.filename or "")]  # R19
            presence, folder = self.album(album_id)
            if presence == LIVE:
                return [folder, image_item(listed, album_id)]
        try:
            image = self.client.image(self.company_id, self.project_id, image_id)
        except ProcoreNotFound:
            return [marker(FILE, image_id, None, ABSENT)]
        except ProcorePermissionError:
            return [marker(FILE, image_id, None, HIDDEN)]
        if image.permanently_deleted:
            return [marker(FILE, image_id, None, DELETED, image.filename or "")]
        album_id = image.image_category_id if image.image_category_id is not None else UNCLASSIFIED
        name = image.filename or ""
        if album_id not in self.albums:
            return [marker(FILE, image_id, album_id, OUTSIDE, name)]  # R19: moved to an album not synced
        presence, folder = self.album(album_id)
        if presence != LIVE:  # its album is gone (deleted: the photo went to the bin with it) or unreadable
            return [marker(FOLDER, album_id, None, presence), marker(FILE, image_id, album_id, presence, name)]
        # Confirm with the listing list_remote uses: a recycled photo reads fine by id but is not listed.
        listing = self.client.images(self.company_id, self.project_id,
                                     None if album_id == UNCLASSIFIED else album_id, id=image_id)
        listed = next((i for i in listing if i.id == image_id and (
            album_id != UNCLASSIFIED or i.image_category_id is None)), None)
        if listed is None:
            return [marker(FILE, image_id, album_id, ABSENT, name)]
        return [folder, image_item(listed, album_id)]
