"""Photos service layer: every album / image mutation lives here.

REST views (photos/routes.py), the control API and the sandbox web UI call these functions
so that every change goes through ``record_change`` ("Images", "Image Categories").
Signatures are ``(session, project, actor, ...)``; errors are raised as ``ApiError``
(UI callers may catch it and show ``.body``).  Permission checks are NOT done here
(the views check Photos tool levels; the UI acts as the given user).

Rules (fact sheet section 4 + support articles):
* every project has one "Unclassified" album; it cannot be deleted (403) nor renamed (403);
* deleting an album deletes it permanently and sends its photos to the Photos recycle
  bin (one "Image Categories/delete" event only, see README "Choices and deviations");
* a photo deleted without ``permanent`` goes to the recycle bin ("Images/delete");
  retrieving it returns it to its original album, or to Unclassified when that album is
  gone ("Images/update"); ``permanent=True`` removes it for good ("Images/delete").
"""
from __future__ import annotations

import os
import re

from sqlalchemy import func, select

from ..core import clock
from ..core.api import Actor, ApiError
from ..core.events import record_change
from ..core.models import Project
from .media import image_size, sniff_image
from .models import Image, ImageCategory
from ..core.storage import blob_path

RES_IMAGES, RES_CATEGORIES = "Images", "Image Categories"
UNCLASSIFIED = "Unclassified"
UNSET = object()  # "argument not given" (None is a valid value for some fields)

_CTRL = re.compile(r"[\x00-\x1f\x7f]")


def _event(project: Project, res: str, ev: str, rid: int, actor: Actor):
    record_change(project.id, project.company_id, res, ev, rid, actor.user_id, actor.application_id)


def _invalid(field: str, msg: str = "is invalid", status: int = 422):
    return ApiError(status, f"{field} {msg}", body={"errors": {field: [msg]}})


# --- lookups ------------------------------------------------------------------------

def ensure_unclassified(s, project: Project) -> ImageCategory:
    """The project's "Unclassified" album (created on first use, position 0)."""
    album = s.scalars(select(ImageCategory).where(ImageCategory.project_id == project.id,
                                                  ImageCategory.is_unclassified.is_(True))).first()
    if album is None:
        now = clock.now()
        album = ImageCategory(project_id=project.id, name=UNCLASSIFIED, position=0, private=False,
                              is_unclassified=True, created_at=now, updated_at=now)
        s.add(album)
        s.flush()
    return album


def get_album(s, project: Project, album_id) -> ImageCategory:
    a = s.get(ImageCategory, album_id) if album_id is not None else None
    if a is None or a.project_id != project.id:
        raise ApiError(404, "Image category not found")
    return a


def get_image(s, project: Project, image_id, include_recycled: bool = False) -> Image:
    img = s.get(Image, image_id) if image_id is not None else None
    if img is None or img.project_id != project.id or (img.deleted_at is not None and not include_recycled):
        raise ApiError(404, "Image not found")
    return img


def albums_of(s, project: Project) -> list[ImageCategory]:
    ensure_unclassified(s, project)
    return list(s.scalars(select(ImageCategory).where(ImageCategory.project_id == project.id)
                          .order_by(ImageCategory.position, ImageCategory.id)))


def _touch_album(s, album_id, now):
    a = s.get(ImageCategory, album_id)
    if a is not None:
        a.updated_at = now


def _clear_cover(s, image: Image):
    a = s.get(ImageCategory, image.category_id)
    if a is not None and a.album_cover_id == image.id:
        a.album_cover_id = None


# --- validation -----------------------------------------------------------------------

def clean_album_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise _invalid("name", "can't be blank")
    if _CTRL.search(name) or len(name) > 255:
        raise _invalid("name")
    return name.strip()


def _name_taken(s, project: Project, name: str, exclude_id=None) -> bool:
    # Case-insensitive clash check (stricter reading; Procore's rule is unknown).
    q = select(ImageCategory.id).where(ImageCategory.project_id == project.id,
                                       ImageCategory.name_key == name.lower())
    if exclude_id is not None:
        q = q.where(ImageCategory.id != exclude_id)
    return s.scalars(q.limit(1)).first() is not None


def _target_album(s, project: Project, category_id) -> ImageCategory:
    if category_id in (None, ""):
        return ensure_unclassified(s, project)
    try:
        cid = int(category_id)
    except (TypeError, ValueError):
        raise _invalid("image_category_id") from None
    a = s.get(ImageCategory, cid)
    if a is None or a.project_id != project.id:
        raise _invalid("image_category_id")
    return a


def inspect_blob(sha256: str) -> tuple[str, str, int | None, int | None]:
    """(content_type, ext, width, height) of a stored image; 422 if it is not an image."""
    try:
        with open(blob_path(sha256), "rb") as fh:
            head = fh.read(256 * 1024)
    except OSError:
        head = b""
    kind = sniff_image(head)
    if kind is None:
        # Stricter reading: the Photos tool only takes image files (checked by magic bytes).
        raise ApiError(422, "The file is not a supported image (JPEG, PNG, GIF, BMP, TIFF, WebP, HEIC)",
                       body={"errors": {"image": ["is not a supported image file"]}})
    w, h = image_size(head)
    return kind[0], kind[1], w, h


def clean_filename(name, ext: str) -> str:
    if not isinstance(name, str) or not name.strip():
        return f"image.{ext}"
    name = os.path.basename(name.replace("\\", "/")) or f"image.{ext}"
    if _CTRL.search(name) or len(name) > 255:
        raise _invalid("image_name")
    return name


# --- albums ---------------------------------------------------------------------------

def _check_cover(s, album: ImageCategory, cover_id):
    if cover_id in (None, ""):
        return None
    try:
        cid = int(cover_id)
    except (TypeError, ValueError):
        raise _invalid("album_cover_id") from None
    img = s.get(Image, cid)
    if img is None or img.category_id != album.id or img.deleted_at is not None:
        raise _invalid("album_cover_id")
    return cid


def create_album(s, project: Project, actor: Actor, name, private=False, album_cover_id=None) -> ImageCategory:
    name = clean_album_name(name)
    ensure_unclassified(s, project)
    if _name_taken(s, project, name):
        raise _invalid("name", "has already been taken")
    pos = s.scalar(select(func.max(ImageCategory.position)).where(ImageCategory.project_id == project.id)) or 0
    now = clock.now()
    a = ImageCategory(project_id=project.id, name=name, position=pos + 1, private=bool(private),
                      created_at=now, updated_at=now, created_by_id=actor.user_id)
    s.add(a)
    s.flush()
    if album_cover_id not in (None, ""):
        raise _invalid("album_cover_id")  # a new album has no image yet
    _event(project, RES_CATEGORIES, "create", a.id, actor)
    return a


def update_album(s, project: Project, album: ImageCategory, actor: Actor, *, name=None, private=None,
                 album_cover_id=UNSET) -> ImageCategory:
    if name is not None:
        name = clean_album_name(name)
        if album.is_unclassified and name != album.name:
            raise ApiError(403, "The Unclassified album cannot be renamed")
        if name.lower() != album.name.lower() and _name_taken(s, project, name, exclude_id=album.id):
            raise _invalid("name", "has already been taken")
        album.name = name
    if private is not None:
        album.private = bool(private)
    if album_cover_id is not UNSET:
        album.album_cover_id = _check_cover(s, album, album_cover_id)
    album.updated_at = clock.now()
    _event(project, RES_CATEGORIES, "update", album.id, actor)
    return album


def delete_album(s, project: Project, album: ImageCategory, actor: Actor) -> list[int]:
    """Delete an album permanently; its photos go to the recycle bin. Returns their ids."""
    if album.is_unclassified:
        # Open question 9: the sandbox answers 403 (like the Documents root folder).
        raise ApiError(403, "The Unclassified album cannot be deleted")
    now = clock.now()
    moved = []
    for img in s.scalars(select(Image).where(Image.category_id == album.id, Image.deleted_at.is_(None))):
        img.deleted_at, img.updated_at = now, now
        moved.append(img.id)
    s.delete(album)
    s.flush()
    _event(project, RES_CATEGORIES, "delete", album.id, actor)
    return moved


# --- images ---------------------------------------------------------------------------

def create_image(s, project: Project, actor: Actor, *, sha256: str, size: int, filename=None,
                 category_id=None, description=None, private=False, starred=False,
                 taken_at: float | None = None) -> Image:
    """New photo from stored content (``storage.put_bytes`` / ``uploads.consume_upload``).

    The content must be an image (magic bytes); width/height are read from it.
    ``taken_at`` stands in for EXIF data (API uploads: None).
    """
    ctype, ext, w, h = inspect_blob(sha256)
    album = _target_album(s, project, category_id)
    now = clock.now()
    img = Image(project_id=project.id, category_id=album.id, filename=clean_filename(filename, ext),
                description=description, sha256=sha256, size=size, content_type=ctype, width=w, height=h,
                taken_at=taken_at, private=bool(private), starred=bool(starred), uploader_id=actor.user_id,
                created_at=now, updated_at=now)
    s.add(img)
    s.flush()
    album.updated_at = now
    _event(project, RES_IMAGES, "create", img.id, actor)
    return img


def copy_image(s, project: Project, actor: Actor, source: Image, **kw) -> Image:
    """``source_image_id``: a new independent photo with the same content."""
    kw.setdefault("filename", source.filename)
    kw.setdefault("description", source.description)
    return create_image(s, project, actor, sha256=source.sha256, size=source.size, taken_at=source.taken_at, **kw)


def update_image(s, project: Project, image: Image, actor: Actor, *, description=UNSET, private=None,
                 starred=None, category_id=None) -> Image:
    """Edit a photo; ``category_id`` moves it to another album (one "Images/update" event)."""
    if image.deleted_at is not None:
        raise ApiError(404, "Image not found")
    now = clock.now()
    if category_id not in (None, ""):
        target = _target_album(s, project, category_id)
        if target.id != image.category_id:
            _clear_cover(s, image)
            _touch_album(s, image.category_id, now)
            target.updated_at = now
            image.category_id = target.id
    if description is not UNSET:
        image.description = description
    if private is not None:
        image.private = bool(private)
    if starred is not None:
        image.starred = bool(starred)
    image.updated_at = now
    _event(project, RES_IMAGES, "update", image.id, actor)
    return image


def delete_image(s, project: Project, image: Image, actor: Actor, permanent: bool = False) -> None:
    """To the recycle bin, or (``permanent``) gone for good, also from the bin."""
    now = clock.now()
    _clear_cover(s, image)
    _touch_album(s, image.category_id, now)
    if permanent:
        s.delete(image)
        s.flush()
    else:
        if image.deleted_at is not None:
            raise ApiError(404, "Image not found")
        image.deleted_at, image.updated_at = now, now
    _event(project, RES_IMAGES, "delete", image.id, actor)


def retrieve_image(s, project: Project, image: Image, actor: Actor) -> Image:
    """Back from the recycle bin to its album, or to Unclassified if that album is gone."""
    if image.deleted_at is None:
        raise ApiError(404, "Image is not in the recycle bin")
    album = s.get(ImageCategory, image.category_id)
    if album is None or album.project_id != project.id:
        album = ensure_unclassified(s, project)
    now = clock.now()
    image.category_id, image.deleted_at, image.updated_at = album.id, None, now
    album.updated_at = now
    _event(project, RES_IMAGES, "update", image.id, actor)
    return image
