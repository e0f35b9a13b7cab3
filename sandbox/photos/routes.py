"""Photos tool REST views: albums (``/rest/v1.0/image_categories``), images
(``/rest/v1.0/images``), the recycle-bin retrieve link and authenticated downloads.

Permissions (Photos tool level; stricter readings where Procore is vague):
  read / download            >= Read Only
  create image, create album >= Standard
  edit image                 >= Standard, and non-Admins only their own photos
  edit album                 Admin
  delete image / album, retrieve from the bin, see the bin, see private albums: Admin
  private photos             visible to Admins and to their uploader
"""
from __future__ import annotations

from flask import Blueprint, g, request
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from . import service as svc
from ..core.api import (ADMIN, READ_ONLY, ApiError, actor, int_arg, json_response, paginate_list, project_for,
                  request_data, require_auth, tool_level)
from ..core.db import current_session
from ..documents.serial import users_map
from ..core.models import STANDARD, Project
from .models import Image, ImageCategory
from ..core.media_urls import authorize_download, check_media_url
from ..core.params import id_list, in_range, parse_bool, parse_range
from .serial import Viewer, albums_json, image_json
from ..core.storage import download_redirect, put_stream

bp = Blueprint("photos", __name__)
V = "/rest/v1.0"


def _project(level=READ_ONLY) -> Project:
    return project_for(int_arg("project_id"), tool="photos", level=level)


def _viewer(project) -> Viewer:
    return Viewer(g.user.id, tool_level(g.user.id, project, "photos") >= ADMIN)


def _sub(data: dict, key: str) -> dict:
    obj = data.get(key)
    if not isinstance(obj, dict) or not obj:
        raise ApiError(400, f"param is missing or the value is empty: {key}")
    return obj


def _opt_bool(obj: dict, key: str):
    return parse_bool(obj[key], key, 422) if key in obj and obj[key] is not None else None


def _visible_album(s, project, album_id, viewer: Viewer) -> ImageCategory:
    a = svc.get_album(s, project, album_id)
    if a.private and not viewer.admin:
        raise ApiError(404, "Image category not found")
    return a


def _images_json(s, images: list[Image]) -> list[dict]:
    albums = {a.id: a for a in s.scalars(select(ImageCategory).where(
        ImageCategory.id.in_({i.category_id for i in images})))} if images else {}
    users = users_map(s, [i.uploader_id for i in images])
    return [image_json(i, albums.get(i.category_id), users) for i in images]


# --- albums -------------------------------------------------------------------------

@bp.get(f"{V}/image_categories")
@require_auth()
def list_albums():
    project = _project()
    s, viewer = current_session(), _viewer(project)
    # Open question 9: "Unclassified" IS listed (position 0, a real id).
    albums = [a for a in svc.albums_of(s, project) if viewer.admin or not a.private]
    return json_response(albums_json(s, paginate_list(albums), viewer))


@bp.get(f"{V}/image_categories/ids_with_images")
@require_auth()
def album_ids_with_images():
    project = _project()
    s, viewer = current_session(), _viewer(project)
    rng = parse_range(request.args["filters[updated_at]"], "filters[updated_at]") \
        if "filters[updated_at]" in request.args else (None, None)
    albums = {a.id: a for a in svc.albums_of(s, project)}
    ids = set()
    for img in s.scalars(select(Image).where(Image.project_id == project.id, Image.deleted_at.is_(None))):
        if img.category_id in albums and viewer.sees(img, albums[img.category_id]) and (
                rng == (None, None) or in_range(img.updated_at, rng)):
            ids.add(img.category_id)
    return json_response(sorted(ids))


@bp.get(f"{V}/image_categories/<int:album_id>")
@require_auth()
def show_album(album_id):
    project = _project()
    s, viewer = current_session(), _viewer(project)
    return json_response(albums_json(s, [_visible_album(s, project, album_id, viewer)], viewer)[0])


@bp.post(f"{V}/image_categories")
@require_auth()
def create_album():
    project = _project(STANDARD)
    obj = _sub(request_data(), "image_category")
    s = current_session()
    a = svc.create_album(s, project, actor(), obj.get("name"), private=_opt_bool(obj, "private") or False,
                         album_cover_id=obj.get("album_cover_id"))
    return json_response(albums_json(s, [a], _viewer(project))[0], 201)


@bp.patch(f"{V}/image_categories/<int:album_id>")
@require_auth()
def update_album(album_id):
    project = _project(ADMIN)
    obj = _sub(request_data(), "image_category")
    s = current_session()
    a = svc.get_album(s, project, album_id)
    a = svc.update_album(s, project, a, actor(), name=obj.get("name"), private=_opt_bool(obj, "private"),
                         album_cover_id=obj["album_cover_id"] if "album_cover_id" in obj else svc.UNSET)
    return json_response(albums_json(s, [a], _viewer(project))[0])


@bp.delete(f"{V}/image_categories/<int:album_id>")
@require_auth()
def delete_album(album_id):
    project = _project(ADMIN)
    s = current_session()
    svc.delete_album(s, project, svc.get_album(s, project, album_id), actor())
    return "", 200  # OAS: "200 OK (no body)"


# --- images: list / show ---------------------------------------------------------------

IMAGE_SORTS = {"created_at", "taken_at", "exposure_date", "deleted_at", "most_recent"}
SERIALIZER_VIEWS = {"normal", "android", "mobile", "mobile_feed", "prostore_file", "ids_only"}
_NO_SUCH_DATA = ("filters[location_id]", "filters[location_id][]", "filters[trade_ids]", "filters[trade_ids][]",
                 "filters[daily_log_segment_id]", "filters[daily_log_segment_id][]", "filters[log_date]")


def _sort_key(key: str):
    if key in ("taken_at", "exposure_date"):
        return lambda i: (i.taken_at is None, i.taken_at or 0, i.id)
    if key == "deleted_at":
        return lambda i: (i.deleted_at is None, i.deleted_at or 0, i.id)
    if key == "most_recent":
        return lambda i: (i.taken_at or i.created_at, i.id)
    return lambda i: (i.created_at, i.id)


@bp.get(f"{V}/images")
@require_auth()
def list_images():
    project = _project()
    s, viewer, a = current_session(), _viewer(project), request.args
    view = a.get("serializer_view", "normal")
    if view not in SERIALIZER_VIEWS:
        raise ApiError(400, f"serializer_view must be one of {sorted(SERIALIZER_VIEWS)}")
    # Default order: newest first (-created_at). Unknown sort keys -> 400 (stricter).
    sort = a.get("sort", "-created_at")
    if sort.lstrip("-") not in IMAGE_SORTS:
        raise ApiError(400, f"sort must be one of {sorted(IMAGE_SORTS)} (optionally prefixed with -)")
    albums = {al.id: al for al in svc.albums_of(s, project)}
    # Recycled photos are EXCLUDED by default; sandbox extension filters[is_in_recycle_bin]=true
    # lists only the recycle bin (Photos Admins only; others get an empty list).
    in_bin = parse_bool(a["filters[is_in_recycle_bin]"], "filters[is_in_recycle_bin]") \
        if "filters[is_in_recycle_bin]" in a else False
    stmt = select(Image).where(Image.project_id == project.id,
                               Image.deleted_at.is_not(None) if in_bin else Image.deleted_at.is_(None))
    cat = int_arg("image_category_id", required=False)
    if cat is not None:
        if not in_bin:
            _visible_album(s, project, cat, viewer)
        stmt = stmt.where(Image.category_id == cat)
    images = [i for i in s.scalars(stmt) if viewer.sees(i, albums.get(i.category_id))
              and (in_bin or i.category_id in albums)]
    ids = id_list("filters[id]", "filters[id][]")
    if ids is not None:
        images = [i for i in images if i.id in ids]
    uploaders = id_list("filters[uploader_id]", "filters[uploader_id][]")
    if uploaders is not None:
        images = [i for i in images if i.uploader_id in uploaders]
    for key in ("private", "starred"):
        if f"filters[{key}]" in a and parse_bool(a[f"filters[{key}]"], f"filters[{key}]"):
            images = [i for i in images if getattr(i, key)]
    for key in ("created_at", "updated_at"):
        if f"filters[{key}]" in a:
            rng = parse_range(a[f"filters[{key}]"], f"filters[{key}]")
            images = [i for i in images if in_range(getattr(i, key), rng)]
    if a.get("filters[query]"):
        q = a["filters[query]"].lower()
        images = [i for i in images if q in (i.description or "").lower() or q in i.filename.lower()]
    if a.get("filters[projection]") not in (None, "", "regular"):
        images = []  # every sandbox photo is "regular" (no 360 panoramas)
    if any(k in a for k in _NO_SUCH_DATA):
        images = []  # sandbox photos have no locations, trades or daily-log links
    images.sort(key=_sort_key(sort.lstrip("-")), reverse=sort.startswith("-"))
    page = paginate_list(images)
    if view == "ids_only":
        return json_response([{"id": i.id} for i in page])
    return json_response(_images_json(s, page))


def _visible_image(s, project, image_id, viewer: Viewer) -> Image:
    img = svc.get_image(s, project, image_id, include_recycled=viewer.admin)
    if not viewer.sees(img, s.get(ImageCategory, img.category_id)):
        raise ApiError(404, "Image not found")
    return img


@bp.get(f"{V}/images/<int:image_id>")
@require_auth()
def show_image(image_id):
    project = _project()
    s = current_session()
    return json_response(_images_json(s, [_visible_image(s, project, image_id, _viewer(project))])[0])


# --- images: create / update / delete / retrieve --------------------------------------------

def _bad(field: str) -> ApiError:
    return ApiError(422, f"{field} is invalid", body={"errors": {field: ["is invalid"]}})


def _image_attrs(image: dict) -> dict:
    out = {}
    if "description" in image:
        out["description"] = image["description"]
    for key in ("private", "starred"):
        if key in image and image[key] not in (None, ""):
            out[key] = parse_bool(image[key], key, 422)
    if image.get("image_category_id") not in (None, ""):
        out["category_id"] = image["image_category_id"]
    return out


@bp.post(f"{V}/images")
@require_auth()
def create_image():
    """Three body shapes: JSON ``{upload_uuid, image_name, image:{...}}`` (OAS), JSON
    ``{upload:{uuid, image_name, source?}, image:{...}}`` (DOC /attachments example), and the
    deprecated multipart ``image[data]``; plus ``source_image_id`` (copy)."""
    project = _project(STANDARD)
    data = request_data()
    image = data.get("image")
    if not isinstance(image, dict) or not image:
        # OAS: "At least one attribute is required even when an 'upload_uuid' ... is provided".
        raise ApiError(400, "param is missing or the value is empty: image")
    upload = data.get("upload") if isinstance(data.get("upload"), dict) else {}
    uuid = upload.get("uuid") or data.get("upload_uuid")
    name = upload.get("image_name") or data.get("image_name")
    raw, source_id = image.get("data"), data.get("source_image_id")
    given = [k for k, v in (("upload_uuid", uuid), ("data", raw), ("source_image_id", source_id))
             if v not in (None, "")]
    if len(given) > 1:
        raise ApiError(422, "Use only one of data, upload_uuid and source_image_id",
                       body={"errors": {"base": ["You should not use both data and upload_uuid"]}})
    if not given:
        raise ApiError(422, "data or upload_uuid is required",
                       body={"errors": {"data": ["can't be blank"], "upload_uuid": ["can't be blank"]}})
    s = current_session()
    attrs = _image_attrs(image)
    if attrs.get("category_id") is not None:
        try:
            _visible_album(s, project, int(attrs["category_id"]), _viewer(project))
        except (ApiError, ValueError, TypeError):
            raise _bad("image_category_id") from None
    if source_id not in (None, ""):
        try:
            src = _visible_image(s, project, int(source_id), _viewer(project))
        except (ApiError, ValueError, TypeError):
            raise _bad("source_image_id") from None
        img = svc.copy_image(s, project, actor(), src, **({"filename": name} if name else {}), **attrs)
        return json_response(_images_json(s, [img])[0], 201)
    if uuid:
        if not name:
            raise ApiError(422, "image_name is required with upload_uuid",
                           body={"errors": {"image_name": ["can't be blank"]}})
        from ..core.uploads import consume_upload
        blob = consume_upload(s, str(uuid), project, g.user)
    elif isinstance(raw, FileStorage):
        sha, size = put_stream(raw.stream)
        blob = {"sha256": sha, "size": size}
        name = name or raw.filename
    else:
        raise ApiError(422, "data must be sent as multipart/form-data",
                       body={"errors": {"data": ["must be a file (multipart/form-data)"]}})
    img = svc.create_image(s, project, actor(), sha256=blob["sha256"], size=blob["size"], filename=name, **attrs)
    return json_response(_images_json(s, [img])[0], 201)


@bp.patch(f"{V}/images/<int:image_id>")
@require_auth()
def update_image(image_id):
    project = _project(STANDARD)
    obj = _sub(request_data(), "image")
    s, viewer = current_session(), _viewer(project)
    img = _visible_image(s, project, image_id, viewer)
    if img.deleted_at is not None:
        raise ApiError(404, "Image not found")
    if not viewer.admin and img.uploader_id != g.user.id:
        raise ApiError(403, "Only Photos Admins may edit photos uploaded by others")
    attrs = _image_attrs(obj)
    if attrs.get("category_id") is not None:
        try:
            _visible_album(s, project, int(attrs["category_id"]), viewer)
        except (ApiError, ValueError, TypeError):
            raise _bad("image_category_id") from None
    img = svc.update_image(s, project, img, actor(), **attrs)
    return json_response(_images_json(s, [img])[0])


@bp.delete(f"{V}/images/<int:image_id>")
@require_auth()
def delete_image(image_id):
    project = _project(ADMIN)
    permanent = parse_bool(request.args["permanent"], "permanent") if "permanent" in request.args else False
    s = current_session()
    img = svc.get_image(s, project, image_id, include_recycled=permanent)
    svc.delete_image(s, project, img, actor(), permanent=permanent)
    return "", 200  # OAS: "200 OK (no body)"


# Procore shows links.retrieve but documents no method: the sandbox accepts POST and PATCH.
@bp.route(f"{V}/images/<int:image_id>/retrieve", methods=["POST", "PATCH"])
@require_auth()
def retrieve_image(image_id):
    project = _project(ADMIN)
    s = current_session()
    img = svc.retrieve_image(s, project, svc.get_image(s, project, image_id, include_recycled=True), actor())
    return json_response(_images_json(s, [img])[0])


# --- downloads (Bearer token + signed, expiring URL; 302 to storage) -----------------------

def _download(image_id: int, kind: str, thumb: bool):
    s = current_session()
    img = s.get(Image, image_id)
    project = authorize_download(img.project_id if img else None, "photos")
    check_media_url(kind, image_id, "photos_url_ttl")
    img = _visible_image(s, project, image_id, _viewer(project))
    # The sandbox has no thumbnailer: the thumbnail is the original picture.
    name = f"thumb_{img.filename}" if thumb else img.filename
    return download_redirect(img.sha256, name, img.content_type)


@bp.get("/downloads/images/<int:image_id>")
@require_auth(company=False)
def download_image(image_id):
    return _download(image_id, "image-url", False)


@bp.get("/downloads/images/<int:image_id>/thumbnail")
@require_auth(company=False)
def download_thumbnail(image_id):
    return _download(image_id, "image-thumb", True)
