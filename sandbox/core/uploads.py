"""Direct File Uploads (v1.1 project uploads) and their presigned storage endpoints.

Flow (fact sheet section 3 "Uploads"):
  POST /rest/v1.1/projects/{id}/uploads {response_filename, response_content_type}
      -> {uuid, url, fields}; then POST multipart to url with every field + "file", no token.
  POST ... {segments:[{size, sha256, md5?}]}
      -> {uuid, segments:[{url, headers, size, sha256, md5}], status:"ready"}; PUT each
         segment with exactly those headers + Content-Type: application/octet-stream, keep
         ETags; PATCH .../uploads/{uuid} {segments:[{etag}, ...]} -> status "complete".
  Attach with file[upload_uuid] / file_version[upload_uuid] (``consume_upload``).
Rules: storage upload must start within ``upload_start_window`` (403 after), only the
creating user may use it, attach within ``upload_attach_window``.  Stricter readings:
an upload can be attached once; every field returned must be posted back unchanged.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import uuid as uuidlib
from urllib.parse import urlencode

from flask import Blueprint, Response, g, request
from sqlalchemy import select

from . import clock
from .api import ApiError, json_response, project_for, request_data, require_auth, tool_level
from .db import current_session
from .models import STANDARD, Upload, UploadSegment, User
from .state import cfg, state
from .storage import check_presigned, put_parts, put_stream, s3_error, sign, storage_base

bp = Blueprint("uploads", __name__)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


def _parts_dir(uuid: str) -> str:
    return os.path.join(state().blob_dir, "uploads", uuid)


def _amz_date(ts: float) -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _post_fields(u: Upload) -> dict:
    deadline = u.created_at + cfg("upload_start_window")
    policy = base64.b64encode(json.dumps({"expiration": int(deadline), "key": u.key, "uuid": u.uuid},
                                         sort_keys=True).encode()).decode()
    fields = {"key": u.key, "Content-Type": u.content_type or "application/octet-stream"}
    if u.filename:
        fields["Content-Disposition"] = f'attachment; filename="{u.filename}"'
    credential = f"SANDBOX/{_amz_date(u.created_at)[:8]}/us-east-1/s3/aws4_request"
    fields.update({"policy": policy, "x-amz-credential": credential,
                   "x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-date": _amz_date(u.created_at)})
    fields["x-amz-signature"] = sign("upload-post", u.uuid, *[f"{k}={v}" for k, v in sorted(fields.items())])
    return fields


def _segment_url(u: Upload, seg: UploadSegment) -> str:
    expires = int(u.created_at + cfg("upload_start_window"))
    q = {"expires": expires, "sig": sign("segment", u.uuid, seg.index, expires)}
    return f"{storage_base()}/_storage/uploads/{u.uuid}/segments/{seg.index}?{urlencode(q)}"


def _segment_json(u: Upload, seg: UploadSegment) -> dict:
    headers = {"x-amz-content-sha256": seg.sha256, "content-length": str(seg.size)}
    if seg.md5:
        headers["content-md5"] = base64.b64encode(bytes.fromhex(seg.md5)).decode()
    return {"url": _segment_url(u, seg), "headers": headers, "size": seg.size, "sha256": seg.sha256,
            "md5": seg.md5, "etag": seg.etag}


def _segments(s, u: Upload) -> list[UploadSegment]:
    return list(s.scalars(select(UploadSegment).where(UploadSegment.upload_id == u.id).order_by(UploadSegment.index)))


def upload_json(s, u: Upload) -> dict:
    out = {"uuid": u.uuid, "status": u.status}
    if u.segmented:
        out["segments"] = [_segment_json(u, seg) for seg in _segments(s, u)]
    else:
        out["url"] = f"{storage_base()}/_storage/uploads/{u.uuid}"
        out["fields"] = _post_fields(u)
    return out


def _upload_project(project_id: int):
    project = project_for(project_id)
    if max(tool_level(g.user.id, project, t) for t in ("documents", "photos", "drawings")) < STANDARD:
        raise ApiError(403, "You do not have permission to upload files to this project")
    return project


@bp.post("/rest/v1.1/projects/<int:project_id>/uploads")
@bp.post("/rest/v1.0/projects/<int:project_id>/uploads")
@require_auth()
def create_upload(project_id):
    project = _upload_project(project_id)
    data = request_data()
    s, now = current_session(), clock.now()
    uid = str(uuidlib.uuid4()).upper()
    u = Upload(uuid=uid, project_id=project.id, company_id=project.company_id, user_id=g.user.id,
               client_id=g.client_id, created_at=now, key=f"uploads/{project.company_id}/{uid}",
               filename=data.get("response_filename"), content_type=data.get("response_content_type"))
    segs = data.get("segments")
    if segs is not None:
        if not isinstance(segs, list) or not segs:
            raise ApiError(422, "segments must be a non-empty list")
        lo, hi = cfg("upload_min_segment_size"), cfg("upload_max_segment_size")
        for i, seg in enumerate(segs):
            size, sha, md5 = seg.get("size"), str(seg.get("sha256", "")).lower(), seg.get("md5")
            if not isinstance(size, int) or size <= 0 or size > hi or (i < len(segs) - 1 and size < lo):
                raise ApiError(422, f"segment {i}: size must be {lo}..{hi} bytes (the last may be smaller)")
            if not _HEX64.match(sha) or (md5 is not None and not _HEX32.match(str(md5).lower())):
                raise ApiError(422, f"segment {i}: sha256 (and md5) must be hex digests")
        u.segmented = True
        s.add(u)
        s.flush()
        for i, seg in enumerate(segs):
            s.add(UploadSegment(upload_id=u.id, index=i, size=seg["size"], sha256=seg["sha256"].lower(),
                                md5=str(seg["md5"]).lower() if seg.get("md5") else None))
        s.flush()
    else:
        s.add(u)
        s.flush()
    return json_response(upload_json(s, u), 201)


def _own_upload(project_id: int, uuid: str) -> Upload:
    project = _upload_project(project_id)
    u = current_session().scalars(select(Upload).where(Upload.uuid == uuid)).first()
    if u is None or u.project_id != project.id:
        raise ApiError(404, "Upload not found")
    if u.user_id != g.user.id:
        raise ApiError(403, "Only the user who created the upload may use it")
    return u


@bp.get("/rest/v1.1/projects/<int:project_id>/uploads/<uuid>")
@bp.get("/rest/v1.0/projects/<int:project_id>/uploads/<uuid>")
@require_auth()
def show_upload(project_id, uuid):
    return json_response(upload_json(current_session(), _own_upload(project_id, uuid)))


@bp.patch("/rest/v1.1/projects/<int:project_id>/uploads/<uuid>")
@bp.patch("/rest/v1.0/projects/<int:project_id>/uploads/<uuid>")
@require_auth()
def complete_upload(project_id, uuid):
    u = _own_upload(project_id, uuid)
    s = current_session()
    if not u.segmented:
        raise ApiError(422, "Only segmented uploads are completed with PATCH")
    if u.status == "complete":
        return json_response(upload_json(s, u))
    given = request_data().get("segments")
    segs = _segments(s, u)
    if not isinstance(given, list) or len(given) != len(segs):
        raise ApiError(422, f"segments must list the {len(segs)} ETags in the original order")
    for seg, g_ in zip(segs, given, strict=True):
        etag = str((g_ or {}).get("etag", "")).strip('"') if isinstance(g_, dict) else ""
        if seg.etag is None:
            raise ApiError(422, f"segment {seg.index} has not been uploaded")
        if etag != seg.etag:
            raise ApiError(422, f"segment {seg.index}: ETag does not match")
    sha, size = put_parts([os.path.join(_parts_dir(u.uuid), str(seg.index)) for seg in segs])
    u.sha256, u.size, u.status, u.completed_at = sha, size, "complete", clock.now()
    return json_response(upload_json(s, u))


def consume_upload(s, uuid: str, project, user: User) -> dict:
    """Attach-time checks; marks the upload used and returns blob info."""
    u = s.scalars(select(Upload).where(Upload.uuid == uuid)).first()
    bad = {"errors": {"upload_uuid": ["is invalid"]}}
    if u is None or u.project_id != project.id:
        raise ApiError(422, "upload_uuid is invalid", body=bad)
    if u.user_id != user.id:
        raise ApiError(403, "Only the user who created the upload may use it")
    if u.status != "complete" or not u.sha256:
        raise ApiError(422, "upload is not complete", body={"errors": {"upload_uuid": ["is not complete"]}})
    if u.attached_at is not None:
        raise ApiError(422, "upload was already used", body={"errors": {"upload_uuid": ["has already been used"]}})
    if clock.now() > u.created_at + cfg("upload_attach_window"):
        raise ApiError(422, "upload has expired", body=bad)
    u.attached_at = clock.now()
    return {"sha256": u.sha256, "size": u.size, "content_type": u.content_type or "application/octet-stream",
            "filename": u.filename}


# --- storage side (no Procore token; presigned) -----------------------------------

def _count_down_storage_fault(config: dict) -> bool:
    """True (and one fewer to come) while ``upload_storage_5xx_next`` is above zero."""
    if config["upload_storage_5xx_next"] <= 0:
        return False
    config["upload_storage_5xx_next"] -= 1
    return True


def _injected_fault() -> Response | None:
    """Knobs ``upload_storage_5xx_next`` (the next N requests, counted down) and
    ``upload_storage_5xx_rate``: S3's "InternalError, please try again" on the storage side of
    uploads only (``error_5xx_rate`` covers /rest and /downloads). The body is read first, as
    S3 does, so the client sees a clean 500 rather than a reset connection."""
    config = state().config
    fail = config["upload_storage_5xx_next"] > 0 and state().update_config(_count_down_storage_fault)
    if not fail and not (config["upload_storage_5xx_rate"] and random.random() < config["upload_storage_5xx_rate"]):
        return None
    while request.stream.read(1024 * 1024):
        pass
    state().stats.incr("injected_storage_5xx")
    return s3_error(500, "InternalError", "We encountered an internal error. Please try again.")


@bp.post("/_storage/uploads/<uuid>")
def storage_post(uuid):
    fault = _injected_fault()
    if fault is not None:
        return fault
    if "Authorization" in request.headers:
        return s3_error(400, "InvalidArgument", "Only one auth mechanism allowed")
    fobj = request.files.get("file")
    s = current_session()
    u = s.scalars(select(Upload).where(Upload.uuid == uuid)).first()
    if u is None or u.segmented:
        return s3_error(404, "NoSuchUpload", "Unknown upload")
    expected = _post_fields(u)
    for k, v in expected.items():
        if request.form.get(k) != v:
            return s3_error(403, "AccessDenied", f"Invalid according to Policy: field {k!r} missing or modified")
    if clock.now() > u.created_at + cfg("upload_start_window"):
        return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    if fobj is None:
        return s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request (field 'file').")
    if u.status == "complete":
        return s3_error(403, "AccessDenied", "This upload has already been used")
    sha, size = put_stream(fobj.stream)
    state().stats.incr("bytes_uploaded", size)
    u.sha256, u.size, u.status, u.started_at, u.completed_at = sha, size, "complete", clock.now(), clock.now()
    resp = Response(status=204)
    resp.headers["ETag"] = f'"{sha[:32]}"'
    resp.headers["Location"] = f"{storage_base()}/_storage/{u.key}"
    return resp


@bp.put("/_storage/uploads/<uuid>/segments/<int:index>")
def storage_put_segment(uuid, index):
    fault = _injected_fault()
    if fault is not None:
        return fault
    err = check_presigned("segment", uuid, index)
    if err is not None:
        return err
    if request.headers.get("Content-Type", "").split(";")[0].strip() != "application/octet-stream":
        # Stricter reading: the docs say to send Content-Type: application/octet-stream.
        return s3_error(403, "SignatureDoesNotMatch", "Content-Type must be application/octet-stream")
    os.makedirs(_parts_dir(uuid), exist_ok=True)
    part = os.path.join(_parts_dir(uuid), str(index))
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0  # S3 Content-MD5, not security
    with open(part + ".tmp", "wb") as fh:  # read the body BEFORE touching the DB
        while True:
            buf = request.stream.read(1024 * 1024)
            if not buf:
                break
            sha.update(buf)
            md5.update(buf)
            size += len(buf)
            fh.write(buf)
    s = current_session()
    u = s.scalars(select(Upload).where(Upload.uuid == uuid)).first()
    seg = s.scalars(select(UploadSegment).where(UploadSegment.upload_id == u.id, UploadSegment.index == index)
                    ).first() if u else None
    if seg is None:
        return s3_error(404, "NoSuchUpload", "Unknown upload segment")
    if request.headers.get("x-amz-content-sha256", "").lower() != seg.sha256:
        return s3_error(400, "XAmzContentSHA256Mismatch", "x-amz-content-sha256 header missing or different")
    if size != seg.size or request.headers.get("Content-Length") != str(seg.size):
        return s3_error(400, "IncompleteBody", "Body size does not match the declared segment size")
    if sha.hexdigest() != seg.sha256:
        return s3_error(400, "XAmzContentSHA256Mismatch", "The provided sha256 does not match the body")
    if seg.md5:
        want = base64.b64encode(bytes.fromhex(seg.md5)).decode()
        if request.headers.get("Content-MD5") != want or md5.hexdigest() != seg.md5:
            return s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    os.replace(part + ".tmp", part)
    seg.etag, seg.received_at = md5.hexdigest(), clock.now()
    u.started_at = u.started_at or clock.now()
    state().stats.incr("bytes_uploaded", size)
    resp = Response(status=200)
    resp.headers["ETag"] = f'"{seg.etag}"'
    return resp
