"""Documents tool REST views: folders, files, file versions and authenticated downloads.

Permission levels (Procore's exact rules per action are not documented; stricter
reading): reading needs Documents >= Read Only, creating folders/files/versions needs
>= Standard, rename/move/delete needs Admin, and recycle-bin items are visible only
to Documents Admins (fact sheet: "Recycle-bin contents are visible only to Admin").

Private folders and files (``private``; set with ``private`` or Procore's documented
``explicit_permissions`` on create and PATCH): Procore does not document who sees them,
so the sandbox takes the STRICTER reading (see ``documents.lookup``): Documents Admins
see everything; for everyone else a private item, and anything below a private folder,
does not exist: left out of every listing, 404 on show / version / download, 404 on
PATCH / DELETE / new version (the lookup happens before the level check, so a hidden
item never answers 403), and 422 "parent_id is invalid" as a parent (as an unknown id).
Only Documents Admins may make an item private (403 otherwise, stricter reading).
"""
from __future__ import annotations

from flask import Blueprint, g, request
from sqlalchemy import text
from werkzeug.datastructures import FileStorage

from . import service as svc
from ..core.api import (ADMIN, READ_ONLY, ApiError, actor, download_level, int_arg, json_response, project_for,
                        request_data, require_auth, tool_level)
from ..core.db import current_session
from .serial import folder_json, single_file_json, users_map, version_json
from ..core.models import STANDARD, File, FileVersion, Project
from ..core.storage import download_redirect, put_stream

bp = Blueprint("documents", __name__)
V = "/rest/v1.0"


def _truthy(v) -> bool:
    return v is True or str(v).lower() in ("true", "1", "yes", "on")


def _project(level=READ_ONLY) -> Project:
    return project_for(int_arg("project_id"), tool="documents", level=level)


def _is_admin(project) -> bool:
    return tool_level(g.user.id, project, "documents") >= ADMIN


def _read_only(project) -> bool:
    return tool_level(g.user.id, project, "documents") < STANDARD


def _need(project, level) -> None:
    """403 unless the user's Documents level reaches ``level`` (same message as ``project_for``)."""
    if tool_level(g.user.id, project, "documents") < level:
        raise ApiError(403, "You do not have the required permission on the documents tool")


def _bool(value, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
        return value.strip().lower() in ("true", "1")
    raise ApiError(422, f"{key} must be true or false", body={"errors": {key: ["is not a boolean"]}})


def private_arg(obj: dict) -> bool | None:
    """``private`` or ``explicit_permissions`` (Procore's documented name: "Set folder to
    private"); both are accepted, and must agree when both are sent (else 422)."""
    values = {_bool(obj[k], k) for k in ("private", "explicit_permissions") if k in obj}
    if len(values) > 1:
        raise ApiError(422, "private and explicit_permissions disagree",
                       body={"errors": {"explicit_permissions": ["does not match private"]}})
    return values.pop() if values else None


def _check_may_set_private(project, private: bool | None) -> None:
    # Stricter reading (undocumented in Procore): only Documents Admins make items private;
    # anyone allowed to create may still send private=false.
    if private and not _is_admin(project):
        raise ApiError(403, "Only Documents Admins can make documents private")


def _sub(data: dict, key: str) -> dict:
    obj = data.get(key)
    if not isinstance(obj, dict):
        raise ApiError(400, f"param is missing or the value is empty: {key}")
    return obj


def content_from(s, project, obj: dict) -> dict:
    """Resolve ``upload_uuid`` or multipart ``data`` into blob info."""
    uuid, data = obj.get("upload_uuid"), obj.get("data")
    if uuid and data is not None:
        raise ApiError(422, "Use either data or upload_uuid, not both",
                       body={"errors": {"base": ["You should not use both data and upload_uuid"]}})
    if uuid:
        from ..core.uploads import consume_upload
        return consume_upload(s, str(uuid), project, g.user)
    if isinstance(data, FileStorage):
        sha, size = put_stream(data.stream)
        return {"sha256": sha, "size": size, "content_type": data.mimetype or "application/octet-stream",
                "filename": data.filename}
    if data is not None:
        raise ApiError(422, "data must be sent as multipart/form-data",
                       body={"errors": {"data": ["must be a file (multipart/form-data)"]}})
    raise ApiError(422, "data or upload_uuid is required",
                   body={"errors": {"data": ["can't be blank"], "upload_uuid": ["can't be blank"]}})


# --- folders ------------------------------------------------------------------

def _folder_opts():
    a = request.args
    return dict(exclude_folders=_truthy(a.get("exclude_folders")), exclude_files=_truthy(a.get("exclude_files")),
                latest_only=_truthy(a.get("show_latest_file_version_only")))


@bp.get(f"{V}/folders")
@require_auth()
def list_root_folder():
    project = _project()
    s = current_session()
    root, _bin = svc.ensure_roots(s, project)
    admin = _is_admin(project)
    return json_response(folder_json(s, root, read_only=_read_only(project), include_bin=admin,
                                     see_private=admin, **_folder_opts()))


@bp.get(f"{V}/folders/<int:folder_id>")
@require_auth()
def show_folder(folder_id):
    project = _project()
    s = current_session()
    admin = _is_admin(project)
    folder = svc.get_folder(s, project, folder_id, include_deleted=admin, see_private=admin)
    if folder.is_recycle_bin and not admin:
        raise ApiError(404, "Folder not found")
    return json_response(folder_json(s, folder, read_only=_read_only(project), include_bin=admin,
                                     see_private=admin, **_folder_opts()))


@bp.post(f"{V}/folders")
@require_auth()
def create_folder():
    project = _project(STANDARD)
    obj = _sub(request_data(), "folder")
    private = private_arg(obj)
    _check_may_set_private(project, private)
    s = current_session()
    admin = _is_admin(project)
    f = svc.create_folder(s, project, actor(), obj.get("name"), obj.get("parent_id"),
                          _truthy(obj.get("is_tracked")), private=bool(private), see_private=admin)
    return json_response(folder_json(s, f, read_only=False, include_bin=False, see_private=admin), 201)


@bp.patch(f"{V}/folders/<int:folder_id>")
@require_auth()
def update_folder(folder_id):
    project = _project()
    s = current_session()
    admin = _is_admin(project)
    # Look up first (hidden or deleted → 404 for non-admins), then the level (403).
    folder = svc.get_folder(s, project, folder_id, include_deleted=admin, see_private=admin)
    _need(project, ADMIN)
    obj = _sub(request_data(), "folder")
    tracked = _truthy(obj["is_tracked"]) if "is_tracked" in obj else None
    folder = svc.update_folder(s, project, folder, actor(), name=obj.get("name"),
                               parent_id=obj.get("parent_id"), is_tracked=tracked, private=private_arg(obj))
    return json_response(folder_json(s, folder, read_only=False, include_bin=True))


@bp.delete(f"{V}/folders/<int:folder_id>")
@require_auth()
def delete_folder(folder_id):
    project = _project()
    s = current_session()
    folder = svc.get_folder(s, project, folder_id, see_private=_is_admin(project))
    _need(project, ADMIN)
    svc.delete_folder(s, project, folder, actor())
    return "", 204


# --- files --------------------------------------------------------------------

@bp.get(f"{V}/files/<int:file_id>")
@require_auth()
def show_file(file_id):
    project = _project()
    s = current_session()
    admin = _is_admin(project)
    f = svc.get_file(s, project, file_id, include_deleted=admin, see_private=admin)
    return json_response(single_file_json(s, f, _truthy(request.args.get("show_latest_version_only"))))


@bp.post(f"{V}/files")
@require_auth()
def create_file():
    project = _project(STANDARD)
    obj = _sub(request_data(), "file")
    private = private_arg(obj)
    _check_may_set_private(project, private)
    s = current_session()
    blob = content_from(s, project, obj)
    name = obj.get("name") or blob.get("filename")
    f = svc.create_file(s, project, actor(), name=name, sha256=blob["sha256"], size=blob["size"],
                        content_type=blob["content_type"], parent_id=obj.get("parent_id"),
                        description=obj.get("description"), unique_name=_truthy(obj.get("unique_name")),
                        private=bool(private), see_private=_is_admin(project))
    return json_response(single_file_json(s, f), 201)


@bp.patch(f"{V}/files/<int:file_id>")
@require_auth()
def update_file(file_id):
    project = _project()
    s = current_session()
    admin = _is_admin(project)
    # Look up first (hidden or deleted → 404 for non-admins), then the level (403).
    f = svc.get_file(s, project, file_id, include_deleted=admin, see_private=admin)
    obj = _sub(request_data(), "file")
    changes_meta = any(k in obj for k in ("name", "parent_id", "description", "private", "explicit_permissions"))
    _need(project, ADMIN if changes_meta else STANDARD)
    if changes_meta:
        f = svc.update_file(s, project, f, actor(), name=obj.get("name"), parent_id=obj.get("parent_id"),
                            description=obj.get("description"), private=private_arg(obj))
    if obj.get("upload_uuid") or obj.get("data") is not None:
        blob = content_from(s, project, obj)
        svc.add_file_version(s, project, f, actor(), sha256=blob["sha256"], size=blob["size"],
                             content_type=blob["content_type"])
    return json_response(single_file_json(s, f))


@bp.delete(f"{V}/files/<int:file_id>")
@require_auth()
def delete_file(file_id):
    project = _project()
    s = current_session()
    f = svc.get_file(s, project, file_id, see_private=_is_admin(project))
    _need(project, ADMIN)
    svc.delete_file(s, project, f, actor())
    return "", 204


# --- file versions ------------------------------------------------------------

@bp.post(f"{V}/file_versions")
@require_auth()
def create_file_version():
    project = _project(STANDARD)
    data = request_data()
    obj = _sub(data, "file_version")
    file_id = int_arg("file_id", source=data) if "file_id" in data else int_arg("file_id", source=obj)
    s = current_session()
    f = svc.get_file(s, project, file_id, see_private=_is_admin(project))
    blob = content_from(s, project, obj)
    v = svc.add_file_version(s, project, f, actor(), sha256=blob["sha256"], size=blob["size"],
                             content_type=blob["content_type"], notes=obj.get("notes"),
                             filename=obj.get("name"))
    return json_response(version_json(v, users_map(s, [v.created_by_id])), 201)


@bp.get(f"{V}/file_versions/<int:version_id>")
@require_auth()
def show_file_version(version_id):
    project = _project()
    s = current_session()
    v = s.get(FileVersion, version_id)
    f = s.get(File, v.file_id) if v else None
    admin = _is_admin(project)
    if v is None or f is None or f.project_id != project.id or (
            not admin and (f.is_deleted or svc.file_is_hidden(s, f))):
        raise ApiError(404, "File version not found")
    return json_response(version_json(v, users_map(s, [v.created_by_id])))


# --- downloads (Bearer token required, then 302 to signed storage) --------------

_VERSION_TO_DOWNLOAD = """
SELECT v.sha256, v.filename, v.content_type, f.id AS file_id, f.is_deleted, p.id AS project_id, p.company_id
FROM file_versions v JOIN files f ON f.id = v.file_id JOIN projects p ON p.id = f.project_id
WHERE {} LIMIT 1"""
_BY_VERSION = text(_VERSION_TO_DOWNLOAD.format("v.id = :id"))
_BY_PROSTORE = text(_VERSION_TO_DOWNLOAD.format("v.prostore_file_id = :id"))


def _download(query, key: int):
    """302 to signed storage: one query for the version, its file and project, one for the user's access
    (the checks of project_for; the download's hot path, see README "Sandbox CPU")."""
    s = current_session()
    row = s.execute(query, {"id": key}).first()
    if row is None:
        raise ApiError(404, "Not found")
    level = download_level(row.project_id, row.company_id, "documents")
    if level < ADMIN and (row.is_deleted or svc.file_is_hidden(s, s.get(File, row.file_id))):
        raise ApiError(404, "Not found")
    return download_redirect(row.sha256, row.filename, row.content_type)


@bp.get("/downloads/file_versions/<int:version_id>")
@require_auth(company=False)
def download_version(version_id):
    return _download(_BY_VERSION, version_id)


@bp.get("/downloads/prostore_files/<int:prostore_id>")
@require_auth(company=False)
def download_prostore(prostore_id):
    return _download(_BY_PROSTORE, prostore_id)
