"""JSON shapes of the Photos tool (fact sheet section 4, OAS Image / ImageCategory) and
small query-parsing helpers shared with the Drawings tool.

Media URLs (``url``, ``thumbnail_url``; drawings ``pdf_url``/``png_url``) point at
``/downloads/...`` on the sandbox, carry ``expires``+``sig`` (time-limited, knob
``photos_url_ttl`` / ``drawings_url_ttl``; 0 = no expiry) AND need the Bearer token;
they answer 302 to signed storage (stricter combination of open question 3).
"""
from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import request
from sqlalchemy import select

from ..core import clock
from ..core.api import ApiError, base_url
from .models import Image, ImageCategory
from ..core.state import cfg
from ..core.storage import sign


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


# --- query helpers (also used by drawings) --------------------------------------------

def parse_bool(value, name: str, status: int = 400) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise ApiError(status, f"{name} must be true or false")


def parse_range(value: str, name: str) -> tuple[float | None, float | None]:
    """ISO range "a...b" (either side may be empty). A date-only upper bound covers that
    whole day (sandbox reading of Procore's "YYYY-MM-DD...YYYY-MM-DD" filters)."""
    if "..." not in value:
        raise ApiError(400, f"{name} must be a range 'start...end'")
    a, b = (p.strip() for p in value.split("...", 1))
    try:
        lo = clock.parse_iso(a) if a else None
        hi = clock.parse_iso(b) if b else None
    except ValueError:
        raise ApiError(400, f"{name} must contain ISO-8601 dates") from None
    if hi is not None and len(b) == 10:
        hi += 86400 - 0.001
    return lo, hi


def in_range(ts, rng) -> bool:
    lo, hi = rng
    return ts is not None and (lo is None or ts >= lo) and (hi is None or ts <= hi)


def id_list(*names: str) -> list[int] | None:
    """Integer list from repeated params (``x[]=1&x[]=2``), "1,2" or "[1,2]"; None if absent."""
    raw = []
    for n in names:
        raw += request.args.getlist(n)
    if not raw:
        return None
    out = []
    for r in raw:
        r = r.strip()
        try:
            vals = json.loads(r) if r.startswith("[") else [p for p in r.split(",") if p.strip()]
            out += [int(v) for v in (vals if isinstance(vals, list) else [vals])]
        except (ValueError, TypeError):
            raise ApiError(400, f"{names[0]} must be a list of integers") from None
    return out


# --- signed media URLs ------------------------------------------------------------------

def media_url(path: str, kind: str, rid: int, ttl_key: str) -> str:
    ttl = cfg(ttl_key)
    if not ttl or ttl <= 0:
        return f"{base_url()}{path}"
    expires = int(clock.now() + ttl)
    return f"{base_url()}{path}?" + urlencode({"expires": expires, "sig": sign(kind, rid, expires)})


def check_media_url(kind: str, rid: int, ttl_key: str) -> None:
    """403 unless the URL's expires/sig are valid (when URLs are time-limited)."""
    ttl = cfg(ttl_key)
    if not ttl or ttl <= 0:
        return
    try:
        expires = int(request.args.get("expires", ""))
    except ValueError:
        raise ApiError(403, "This URL is missing its signature; fetch the resource again for a fresh URL") from None
    if not hmac.compare_digest(request.args.get("sig", ""), sign(kind, rid, expires)):
        raise ApiError(403, "Invalid URL signature")
    if clock.now() > expires:
        raise ApiError(403, "This URL has expired; fetch the resource again for a fresh URL")


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
