"""JSON shapes of the Photos tool (fact sheet section 4, OAS Image / ImageCategory).

Media URLs (``url``, ``thumbnail_url``) are signed, time-limited ``/downloads/...`` URLs
(sandbox/core/media_urls.py); the query parsers live in sandbox/core/params.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..core import clock
from ..core.media_urls import media_url
from .models import Image, ImageCategory


@dataclass(frozen=True)
class Viewer:
    """Who looks at photos: Photos Admins see private photos/albums and the recycle bin;
    other users see their own private photos only (stricter reading of "private-photo access")."""
    user_id: int | None
    admin: bool

    def sees(self, img: Image, album: ImageCategory | None) -> bool:
        if img.deleted_at is not None and not self.admin:
            return False
        if album is not None and album.private and not self.admin:
            return False
        return not img.private or self.admin or img.uploader_id == self.user_id


def image_url(img: Image) -> str:
    return media_url(f"/downloads/images/{img.id}", "image-url", img.id, "photos_url_ttl")


def thumbnail_url(img: Image) -> str:
    return media_url(f"/downloads/images/{img.id}/thumbnail", "image-thumb", img.id, "photos_url_ttl")


# --- JSON -----------------------------------------------------------------------------

def _visible_images(s, album_ids, viewer: Viewer):
    q = select(Image).where(Image.category_id.in_(album_ids), Image.deleted_at.is_(None))
    if not viewer.admin:
        q = q.where((Image.private.is_(False)) | (Image.uploader_id == viewer.user_id))
    return q


def albums_json(s, albums: list[ImageCategory], viewer: Viewer) -> list[dict]:
    ids = [a.id for a in albums]
    if not ids:
        return []
    imgs: dict = {}
    for img in s.scalars(_visible_images(s, ids, viewer).order_by(Image.created_at, Image.id)):
        imgs.setdefault(img.category_id, {})[img.id] = img  # last one = newest
    return [album_json(a, viewer, len(imgs.get(a.id, {})), imgs.get(a.id, {})) for a in albums]


def album_json(a: ImageCategory, viewer: Viewer, count: int, images: dict) -> dict:
    # cover_photo: the cover image's thumbnail, or the newest visible photo's when no
    # cover was set (album_cover_id stays null then); null for an empty album.
    cover = images.get(a.album_cover_id) or (list(images.values())[-1] if images else None)
    links = {"show": f"/rest/v1.0/image_categories/{a.id}?project_id={a.project_id}"}
    if viewer.admin and not a.is_unclassified:
        # OAS: update/delete links only when the user may change it and it is not Unclassified.
        links["update"] = links["delete"] = links["show"]
    return {
        "id": a.id, "name": a.name, "position": a.position, "private": a.private, "count": count,
        "cover_photo": thumbnail_url(cover) if cover else None, "album_cover_id": a.album_cover_id,
        "created_at": clock.iso(a.created_at), "updated_at": clock.iso(a.updated_at), "links": links,
    }


def image_json(img: Image, album: ImageCategory | None, users: dict) -> dict:
    u = users.get(img.uploader_id)
    q = f"?image_category_id={img.category_id}&project_id={img.project_id}"
    # links are relative paths, as in Procore's examples (clients must resolve them).
    self_link = f"/rest/v1.0/images/{img.id}{q}"
    return {
        "id": img.id, "url": image_url(img), "size": img.size, "filename": img.filename,
        "description": img.description, "thumbnail_url": thumbnail_url(img),
        "taken_at": clock.iso(img.taken_at), "created_at": clock.iso(img.created_at),
        "updated_at": clock.iso(img.updated_at), "location": None,
        "image_category_name": album.name if album else None, "image_category_id": img.category_id,
        "image_category_private": bool(album.private) if album else False,
        "permanently_deleted": False, "private": img.private, "projection": "regular",
        "starred": img.starred, "width": img.width, "height": img.height, "origin_id": None,
        "daily_log_header_id": None, "daily_log_segment_id": None, "daily_log_segment": None,
        "gps_lat": None, "gps_long": None,
        "uploader": {"id": u.id, "login": u.login, "name": u.name} if u else None,
        "links": {"self": self_link, "update": self_link, "delete": self_link,
                  "permanentlyDelete": self_link + "&permanent=true",
                  "retrieve": f"/rest/v1.0/images/{img.id}/retrieve?project_id={img.project_id}"},
        "trades": [], "comments_count": 0,
    }
