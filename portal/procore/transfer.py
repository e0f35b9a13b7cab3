"""Downloads from Procore and uploads to Procore's storage.

Download: the first request goes to the Procore URL with the bearer token
(only if its host is allowed); redirects are followed by hand, WITHOUT the
token, at most MAX_HOPS times, and only to public addresses. The body is
streamed to the destination in chunks while sha256 and size are computed, so
a file is never held in memory. On any exception the destination holds a
partial file: the caller writes to a temp file and discards it.

Upload: presigned storage targets get no token either. A non-segmented
upload is one multipart POST; ``requests`` builds that body in memory, so
big files go through the segmented flow (each segment streamed with a
known Content-Length).
"""
from __future__ import annotations

import hashlib
from typing import Any, BinaryIO, Callable
from urllib.parse import urljoin

import requests

from . import _http
from .errors import (ProcoreBadResponse, ProcoreDownloadExpired, ProcoreDownloadTooLarge,
                     ProcoreError, ProcoreNotFound, ProcoreRateLimited, ProcoreSizeMismatch,
                     ProcoreUnavailable, ProcoreUploadExpired)
from .models import Upload, UploadSegment

MAX_HOPS = 5
CHUNK = 1024 * 1024
REDIRECTS = (301, 302, 303, 307, 308)


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Explicit no-op auth: stops requests from adding .netrc or session auth."""
    return request


# "Authorization": None removes any session-level default header.
_NO_TOKEN_HEADERS = {"Authorization": None, "Procore-Company-Id": None}


class TransferMixin:
    # -- download ----------------------------------------------------------

    def download(self, url: str, dest: BinaryIO, *, expected_size: int | None = None,
                 company_id: int | None = None, checksum: bool = True) -> tuple[str | None, int]:
        """Stream ``url`` into ``dest``; return (sha256 hex, size in bytes).

        ``checksum=False`` when ``dest`` hashes what it is given itself (a blob-store writer):
        the digest is then None, and the content is not hashed twice (~0.5 s of CPU per 200 MB)."""
        if expected_size is not None and expected_size > self.max_download_bytes:
            raise ProcoreDownloadTooLarge("file exceeds the download limit",
                                          method="GET", path=_http.url_path(url))
        if self.hosts.may_send_token(url):
            resp = self._send("GET", url, company_id=company_id, stream=True)
        else:
            resp = self._storage("GET", url, stream=True)
        hops = 0
        while resp.status_code in REDIRECTS:
            location = resp.headers.get("Location")
            resp.close()
            if not location:
                raise ProcoreBadResponse("redirect without Location", status=resp.status_code,
                                         method="GET", path=_http.url_path(resp.url))
            hops += 1
            if hops > MAX_HOPS:
                raise ProcoreBadResponse("too many redirects", method="GET",
                                         path=_http.url_path(resp.url))
            resp = self._storage("GET", urljoin(resp.url, location), stream=True)
        with resp:
            return self._stream_to(resp, dest, expected_size, checksum)

    def _stream_to(self, resp: requests.Response, dest: BinaryIO,
                   expected_size: int | None, checksum: bool = True) -> tuple[str | None, int]:
        path = _http.url_path(resp.url)
        announced = _http.header_int(resp.headers, "Content-Length")
        if announced is not None and announced > self.max_download_bytes:
            raise ProcoreDownloadTooLarge("file exceeds the download limit", method="GET",
                                          path=path, status=resp.status_code)
        digest, size = (hashlib.sha256() if checksum else None), 0
        try:
            for chunk in resp.iter_content(CHUNK):
                size += len(chunk)
                if size > self.max_download_bytes:
                    raise ProcoreDownloadTooLarge("file exceeds the download limit",
                                                  method="GET", path=path)
                if digest is not None:
                    digest.update(chunk)
                dest.write(chunk)
        except requests.RequestException as exc:
            raise ProcoreUnavailable(f"download interrupted ({type(exc).__name__})",
                                     method="GET", path=path) from None
        if expected_size is not None and size != expected_size:
            raise ProcoreSizeMismatch(f"downloaded {size} bytes, Procore announced "
                                      f"{expected_size}", method="GET", path=path)
        return (digest.hexdigest() if digest is not None else None), size

    # -- storage requests (no token, public targets only, retried) -----------

    def _storage(self, method: str, url: str, *, rewind: Callable[[], None] | None = None,
                 upload: bool = False, **kw: Any) -> requests.Response:
        """One call to presigned storage; 5xx/connection errors retried with backoff."""
        self.hosts.check_public_target(url, method)
        path = _http.url_path(url)
        headers = {**_NO_TOKEN_HEADERS, **kw.pop("headers", {})}
        attempt = 0
        while True:
            if self.before_call is not None:
                self.before_call(f"{method} {path} (storage)")
            if rewind:
                rewind()
            started = self.clock()
            try:
                if method == "GET" and set(kw) <= {"stream"}:  # a download: no body, no auth of any kind
                    resp = _http.get(self.session, url, headers=headers, timeout=self.timeout, **kw)
                else:
                    resp = self.session.request(method, url, headers=headers, auth=_no_auth,
                                                timeout=self.timeout, allow_redirects=False, **kw)
            except requests.RequestException as exc:
                _http.log_response(method, url, type(exc).__name__, started, self.clock())
                if attempt >= self.max_retries:
                    raise ProcoreUnavailable(f"storage unreachable ({type(exc).__name__})",
                                             method=method, path=path) from None
            else:
                _http.log_response(method, url, resp.status_code, started, self.clock())
                if resp.status_code < 500 or attempt >= self.max_retries:
                    return _check_storage(resp, method, path, upload)
                resp.close()
            self.sleep(self._backoff(attempt))
            attempt += 1

    # -- upload --------------------------------------------------------------

    def upload_file(self, upload: Upload, fileobj: BinaryIO, *, filename: str,
                    content_type: str = "application/octet-stream") -> None:
        """Non-segmented direct upload: multipart POST of Procore's fields + ``file``."""
        if not upload.url:
            raise ProcoreBadResponse("upload has no POST url (segmented upload?)")
        start = fileobj.tell() if hasattr(fileobj, "tell") else 0
        resp = self._storage("POST", upload.url, upload=True, data=list(upload.fields),
                             files={"file": (filename, fileobj, content_type)},
                             rewind=lambda: fileobj.seek(start))
        resp.close()

    def upload_segments(self, upload: Upload, fileobj: BinaryIO) -> list[str]:
        """PUT every segment (in order) and return their ETags."""
        etags, offset = [], fileobj.tell()
        for segment in upload.segments:
            size = segment.size if segment.size is not None else _header_size(segment)
            reader = _SegmentReader(fileobj, offset, size)
            # Exactly the headers Procore signed (they win over ours), plus the content type the
            # docs ask for.
            headers = {"Content-Type": "application/octet-stream", **dict(segment.headers)}
            resp = self._storage("PUT", segment.url, upload=True, data=reader,
                                 headers=headers, rewind=reader.rewind)
            with resp:
                etag = resp.headers.get("ETag")
            if not etag:
                raise ProcoreBadResponse("storage returned no ETag for a segment",
                                         method="PUT", path=_http.url_path(segment.url))
            etags.append(etag)
            offset += size
        return etags


def _header_size(segment: UploadSegment) -> int:
    for key, value in segment.headers:
        if key.lower() == "content-length":
            return int(value)
    raise ProcoreBadResponse("upload segment has no size")


def _check_storage(resp: requests.Response, method: str, path: str,
                   upload: bool) -> requests.Response:
    status = resp.status_code
    if status < 400:
        return resp
    resp.close()
    where = {"status": status, "method": method, "path": path}
    if status == 403 and upload:
        raise ProcoreUploadExpired("storage refused the upload (expired slot)", **where)
    if status == 403:
        raise ProcoreDownloadExpired("storage URL expired; fetch fresh metadata", **where)
    if status == 404:
        raise ProcoreNotFound("file not found in storage", **where)
    if status == 429:
        raise ProcoreRateLimited("storage rate limited", **where)
    if status >= 500:
        raise ProcoreUnavailable("storage error", **where)
    raise ProcoreError("storage rejected the request", **where)


class _SegmentReader:
    """File-like view of ``length`` bytes at ``offset``: streamed by requests
    with an exact Content-Length, never loaded whole."""

    def __init__(self, fileobj: BinaryIO, offset: int, length: int) -> None:
        self.fileobj, self.offset, self.length = fileobj, offset, length
        self.left = length
        self.rewind()

    def rewind(self) -> None:
        self.fileobj.seek(self.offset)
        self.left = self.length

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size is None or size < 0 else min(size, self.left)
        data = self.fileobj.read(size)
        self.left -= len(data)
        return data

    def __iter__(self):
        while chunk := self.read(CHUNK):
            yield chunk
