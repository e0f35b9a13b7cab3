"""Blob store on disk + signed, expiring "storage" URLs (the sandbox's stand-in for S3).

* Blobs are content-addressed (sha256) under ``<blob_dir>/<aa>/<sha256>``.
* ``download_redirect(sha, filename, content_type)`` is what an authenticated
  Procore download URL answers: 302 to ``/_storage/blobs/<sha>?...&expires=..&sig=..``.
* The storage endpoint behaves like a presigned S3 URL: it REJECTS requests that
  carry an Authorization header (400, "only one auth mechanism"), rejects bad or
  expired signatures (403) and needs no Procore token.
Other modules (photos, drawings) reuse ``put_bytes``/``put_stream``/``download_redirect``.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request, send_file
from werkzeug.wsgi import FileWrapper

from . import clock
from .state import cfg, state

bp = Blueprint("storage", __name__)
STREAM_BLOCK = 1024 * 1024  # send_file's default block is 8 KiB: a 500 KB file took 62 writes of Python


def _big_blocks(file, _buffer_size=None):
    """``wsgi.file_wrapper`` for send_file: the same bytes, streamed in STREAM_BLOCK blocks."""
    return FileWrapper(file, STREAM_BLOCK)


# --- blob store ---------------------------------------------------------------

def blob_path(sha256: str) -> str:
    return os.path.join(state().blob_dir, sha256[:2], sha256)


def has_blob(sha256: str) -> bool:
    return os.path.exists(blob_path(sha256))


def _tmpfile():
    d = os.path.join(state().blob_dir, "tmp")
    os.makedirs(d, exist_ok=True)
    return tempfile.NamedTemporaryFile(dir=d, delete=False)


def _commit_tmp(tmp_path: str, sha: str) -> None:
    dest = blob_path(sha)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.exists(dest):
        os.unlink(tmp_path)
    else:
        os.replace(tmp_path, dest)


def put_bytes(data: bytes) -> tuple[str, int]:
    """Store bytes, return (sha256 hex, size)."""
    sha = hashlib.sha256(data).hexdigest()
    if not has_blob(sha):
        with _tmpfile() as fh:
            fh.write(data)
        _commit_tmp(fh.name, sha)
    return sha, len(data)


def put_stream(stream, chunk: int = 1024 * 1024) -> tuple[str, int]:
    """Store a readable stream; returns (sha256, size)."""
    h, size = hashlib.sha256(), 0
    with _tmpfile() as fh:
        while True:
            buf = stream.read(chunk)
            if not buf:
                break
            h.update(buf)
            size += len(buf)
            fh.write(buf)
    sha = h.hexdigest()
    _commit_tmp(fh.name, sha)
    return sha, size


def put_parts(paths: list[str]) -> tuple[str, int]:
    """Concatenate files (e.g. upload segments) into one blob."""
    h, size = hashlib.sha256(), 0
    with _tmpfile() as out:
        for p in paths:
            with open(p, "rb") as fh:
                while True:
                    buf = fh.read(1024 * 1024)
                    if not buf:
                        break
                    h.update(buf)
                    size += len(buf)
                    out.write(buf)
    sha = h.hexdigest()
    _commit_tmp(out.name, sha)
    return sha, size


def read_blob(sha256: str) -> bytes:
    with open(blob_path(sha256), "rb") as fh:
        return fh.read()


# --- signing ------------------------------------------------------------------

def sign(*parts) -> str:
    msg = "\n".join(str(p) for p in parts).encode()
    return hmac.new(state().secret, msg, hashlib.sha256).hexdigest()


def storage_base() -> str:
    from .api import base_url
    return (cfg("storage_base_url") or base_url()).rstrip("/")


def signed_blob_url(sha256: str, filename: str, content_type: str, ttl: int | None = None) -> str:
    # Whole seconds, truncated (like S3's X-Amz-Date + X-Amz-Expires): a URL lives between
    # ttl - 1 and ttl seconds from the moment it is signed (after the request's latency).
    expires = int(clock.now() + (cfg("storage_url_ttl") if ttl is None else ttl))
    ct = content_type or "application/octet-stream"
    q = {"fn": filename, "ct": ct, "expires": expires, "sig": sign("blob", sha256, filename, ct, expires)}
    return f"{storage_base()}/_storage/blobs/{sha256}?{urlencode(q)}"


def download_redirect(sha256: str, filename: str, content_type: str) -> Response:
    resp = redirect(signed_blob_url(sha256, filename, content_type), code=302)
    resp.autocorrect_location_header = False
    return resp


def s3_error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status=status, mimetype="application/xml")


def check_presigned(*sig_parts) -> Response | None:
    """Common checks of every storage request; returns an error response or None."""
    if "Authorization" in request.headers:
        return s3_error(400, "InvalidArgument",
                        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                        "Signature query string parameter or the Authorization header should be specified")
    try:
        expires = int(request.args.get("expires", ""))
    except ValueError:
        return s3_error(403, "AccessDenied", "Query-string authentication requires the expires parameter")
    if not hmac.compare_digest(request.args.get("sig", ""), sign(*sig_parts, expires)):
        return s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
    # Runs in the view, i.e. after the latency_ms sleep of this request (app._inject_latency).
    if clock.now() > expires:
        return s3_error(403, "AccessDenied", "Request has expired")
    return None


@bp.route("/_storage/blobs/<sha256>", methods=["GET", "HEAD"])
def serve_blob(sha256: str):
    fn, ct = request.args.get("fn", ""), request.args.get("ct", "")
    err = check_presigned("blob", sha256, fn, ct)
    if err is not None:
        return err
    path = blob_path(sha256)
    if not os.path.exists(path):
        return s3_error(404, "NoSuchKey", "The specified key does not exist.")
    request.environ.setdefault("wsgi.file_wrapper", _big_blocks)
    resp = send_file(path, mimetype=ct or "application/octet-stream", as_attachment=True,
                     download_name=fn or sha256, conditional=True, etag=sha256[:32], max_age=0)
    if request.method == "GET":
        st = state().stats
        st.incr("storage_downloads")
        st.incr("bytes_served", int(resp.content_length or 0))
    return resp
