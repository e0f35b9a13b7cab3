"""Documents tool: folders, files, versions, the flat index, uploads."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any, BinaryIO, Iterable, Iterator, Protocol, TypeVar

from .errors import (ProcoreBadResponse, ProcoreNotFound, ProcoreUnavailable, ProcoreUploadExpired,
                     ProcoreValidationError)
from .models import DocumentIndexItem, File, FileVersion, Folder, Upload

log = logging.getLogger(__name__)

# Procore (fact sheet §3 "Uploads"): every segment but the last is 5 MB .. 5 GB. Files up to the
# minimum go through the one-POST upload (requests builds that multipart body in memory: at most
# 5 MiB); anything bigger is uploaded in segments of SEGMENT_SIZE, streamed from the file.
MIN_SEGMENT_SIZE = 5 * 1024 * 1024
SEGMENT_THRESHOLD = MIN_SEGMENT_SIZE
SEGMENT_SIZE = 8 * 1024 * 1024
MAX_SEGMENTS = 10_000  # S3's part limit: past 80 GB the segments grow instead
# A storage failure that outlived the per-request retries (5xx, unreachable) or an expired slot
# (403) starts over with a fresh upload slot, at most this many slots per file.
UPLOAD_ATTEMPTS = 3


class _Named(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def named(items: Iterable[N], name: str) -> N | None:
    """The item called ``name``: an exact match first, else a case-insensitive one (Procore
    refuses a name that clashes case-insensitively, so that item is the one that blocks a
    create); among equals the lowest id (the oldest, the same answer for every worker)."""
    items = list(items)
    matches = [i for i in items if i.name == name]
    if not matches:
        folded = name.casefold()
        matches = [i for i in items if (i.name or "").casefold() == folded]
    return min(matches, key=lambda i: i.id) if matches else None


def _iso_range(value: Any) -> Any:
    """(start, end) -> "start...end" (Procore's range syntax); datetimes -> ISO Z."""
    def fmt(v: Any) -> str:
        return v.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(v, datetime) else str(v)
    if isinstance(value, tuple) and len(value) == 2:
        return f"{fmt(value[0])}...{fmt(value[1])}"
    return fmt(value) if isinstance(value, datetime) else value


def _flag(value: bool) -> str:
    return "true" if value else "false"


class DocumentsAPI:
    # -- reading -------------------------------------------------------------

    def root_folder(self, company_id: int, project_id: int) -> Folder:
        """Root folder with its direct children (deeper levels come back empty)."""
        return Folder.from_api(self.request("GET", "/rest/v1.0/folders", company_id=company_id,
                                            params={"project_id": project_id}))

    def root_folder_id(self, company_id: int, project_id: int) -> int:
        """The id of the project's root folder: the root read without its children."""
        return Folder.from_api(self.request("GET", "/rest/v1.0/folders", company_id=company_id, params={
            "project_id": project_id, "exclude_folders": "true", "exclude_files": "true"})).id

    def folder(self, company_id: int, project_id: int, folder_id: int) -> Folder:
        return Folder.from_api(self.request(
            "GET", f"/rest/v1.0/folders/{int(folder_id)}", company_id=company_id,
            params={"project_id": project_id}))

    def file(self, company_id: int, project_id: int, file_id: int) -> File:
        return File.from_api(self.request(
            "GET", f"/rest/v1.0/files/{int(file_id)}", company_id=company_id,
            params={"project_id": project_id}))

    def file_version(self, company_id: int, project_id: int, version_id: int) -> FileVersion:
        """One file version (its ``file_id`` names the file: webhook "Project File Versions")."""
        return FileVersion.from_api(self.request(
            "GET", f"/rest/v1.0/file_versions/{int(version_id)}", company_id=company_id,
            params={"project_id": project_id}))

    def documents_index(self, company_id: int, project_id: int, *, sort: str | None = None,
                        view: str | None = None, per_page: int = 100,
                        **filters: Any) -> Iterator[DocumentIndexItem]:
        """Flat listing of folders and files. ``filters`` map to ``filters[name]``:
        updated_at=(start, end), document_type="file", is_in_recycle_bin=False,
        folder_id=..., etc."""
        params: dict[str, Any] = {}
        for key, value in filters.items():
            params[f"filters[{key}]"] = _flag(value) if isinstance(value, bool) else _iso_range(
                value)
        if sort:
            params["sort"] = sort
        if view:
            params["view"] = view
        return self.paginate(f"/rest/v1.0/projects/{int(project_id)}/documents",
                             company_id=company_id, params=params, per_page=per_page,
                             model=DocumentIndexItem)

    # -- folders and files -----------------------------------------------------

    def create_folder(self, company_id: int, project_id: int, name: str,
                      parent_id: int | None = None) -> Folder:
        folder: dict[str, Any] = {"name": name}
        if parent_id is not None:
            folder["parent_id"] = parent_id
        return Folder.from_api(self.request("POST", "/rest/v1.0/folders", company_id=company_id,
                                            params={"project_id": project_id},
                                            json={"folder": folder}))

    def child_folders(self, company_id: int, project_id: int,
                      parent_id: int | None = None) -> list[Folder]:
        """The live subfolders of ``parent_id`` (None = the project's root), files left out;
        the Recycle Bin and recycled folders are skipped."""
        path = "/rest/v1.0/folders" if parent_id is None else f"/rest/v1.0/folders/{int(parent_id)}"
        parent = Folder.from_api(self.request("GET", path, company_id=company_id, params={
            "project_id": project_id, "exclude_files": "true"}))
        return [f for f in parent.folders if not f.is_deleted and not f.is_recycle_bin]

    def ensure_folder(self, company_id: int, project_id: int, name: str,
                      parent_id: int | None = None) -> Folder:
        """The subfolder ``name`` of ``parent_id`` (None = root), created if missing (R24).

        Several workers may ask at once: Procore refuses the second folder of a name with 422
        "has already been taken", so a loser re-reads the parent and returns the winner's
        folder. One read when it exists; read, create (+ read on a lost race) when not."""
        found = named(self.child_folders(company_id, project_id, parent_id), name)
        if found is not None:
            return found
        try:
            return self.create_folder(company_id, project_id, name, parent_id)
        except ProcoreValidationError as exc:
            if exc.status != 422:
                raise
            found = named(self.child_folders(company_id, project_id, parent_id), name)
            if found is None:
                raise  # refused for another reason (a bad name, a parent gone)
            log.info("folder %r under %s was created by someone else meanwhile: using %s",
                     name, parent_id or "the root", found.id)
            return found

    def update_folder(self, company_id: int, project_id: int, folder_id: int, *,
                      name: str | None = None, parent_id: int | None = None) -> Folder:
        """Rename and/or move (``parent_id``) a folder."""
        body = {k: v for k, v in (("name", name), ("parent_id", parent_id)) if v is not None}
        return Folder.from_api(self.request(
            "PATCH", f"/rest/v1.0/folders/{int(folder_id)}", company_id=company_id,
            params={"project_id": project_id}, json={"folder": body}))

    def delete_folder(self, company_id: int, project_id: int, folder_id: int) -> bool:
        """Move to Procore's recycle bin. False if it was already gone (idempotent)."""
        return self._delete(f"/rest/v1.0/folders/{int(folder_id)}", company_id, project_id)

    def update_file(self, company_id: int, project_id: int, file_id: int, *,
                    name: str | None = None, parent_id: int | None = None,
                    description: str | None = None) -> File:
        """Rename and/or move (``parent_id``) a file."""
        body = {k: v for k, v in (("name", name), ("parent_id", parent_id),
                                  ("description", description)) if v is not None}
        return File.from_api(self.request(
            "PATCH", f"/rest/v1.0/files/{int(file_id)}", company_id=company_id,
            params={"project_id": project_id}, json={"file": body}))

    def delete_file(self, company_id: int, project_id: int, file_id: int) -> bool:
        return self._delete(f"/rest/v1.0/files/{int(file_id)}", company_id, project_id)

    def _delete(self, path: str, company_id: int, project_id: int) -> bool:
        try:
            self.request("DELETE", path, company_id=company_id,
                         params={"project_id": project_id}, expect_json=False).close()
        except ProcoreNotFound:
            return False
        return True

    # -- uploads -------------------------------------------------------------

    def _uploads_path(self, project_id: int | None, company_id: int) -> str:
        if project_id is None:
            return f"/rest/v1.1/companies/{int(company_id)}/uploads"
        return f"/rest/v1.1/projects/{int(project_id)}/uploads"

    def create_upload(self, company_id: int, project_id: int | None, *, filename: str,
                      content_type: str = "application/octet-stream") -> Upload:
        """Non-segmented upload slot: start the storage POST within one hour."""
        upload = Upload.from_api(self.request(
            "POST", self._uploads_path(project_id, company_id), company_id=company_id,
            json={"response_filename": filename, "response_content_type": content_type}))
        if not upload.url:
            raise ProcoreBadResponse("upload: no 'url' to POST the file to")
        return upload

    def create_segmented_upload(self, company_id: int, project_id: int | None,
                                segments: list[dict[str, Any]]) -> Upload:
        upload = Upload.from_api(self.request(
            "POST", self._uploads_path(project_id, company_id), company_id=company_id,
            json={"segments": segments}))
        if len(upload.segments) != len(segments) or not segments:
            raise ProcoreBadResponse("segmented upload: segment count differs")
        return upload

    def complete_upload(self, company_id: int, project_id: int | None, uuid: str,
                        etags: list[str]) -> str | None:
        """PATCH the ETags in order; return Procore's status ("complete")."""
        body = self.request("PATCH", f"{self._uploads_path(project_id, company_id)}/{uuid}",
                            company_id=company_id,
                            json={"segments": [{"etag": e} for e in etags]})
        data = body.get("data", body) if isinstance(body, dict) else {}
        status = data.get("status") if isinstance(data, dict) else None
        if status not in (None, "complete"):
            raise ProcoreBadResponse(f"upload completion returned status {status!r}")
        return status

    def upload(self, company_id: int, project_id: int | None, fileobj: BinaryIO, *,
               filename: str, size: int,
               content_type: str = "application/octet-stream") -> str:
        """Upload ``size`` bytes of a seekable file (from its current position) to Procore's
        storage; return the upload uuid to attach (files, file versions, images).

        Up to SEGMENT_THRESHOLD: one multipart POST of Procore's fields + ``file``. Bigger:
        segments of SEGMENT_SIZE (sha256 of each from a first pass over the file), each PUT
        with exactly the headers Procore signed, streamed from the file, then the PATCH with
        the ETags in order. Storage never sees the Procore token. A storage failure left after
        the per-request retries (5xx, unreachable) or an expired slot (403) starts over with a
        fresh slot, UPLOAD_ATTEMPTS slots at most; errors of the REST calls are raised as is."""
        start = fileobj.tell()
        specs = _segment_specs(fileobj, size) if size > SEGMENT_THRESHOLD else None
        attempt = 0
        while True:
            attempt += 1
            fileobj.seek(start)
            if specs is None:
                slot = self.create_upload(company_id, project_id, filename=filename,
                                          content_type=content_type)
            else:
                slot = self.create_segmented_upload(company_id, project_id, specs)
            try:
                if specs is None:
                    self.upload_file(slot, fileobj, filename=filename, content_type=content_type)
                else:
                    etags = self.upload_segments(slot, fileobj)
            except (ProcoreUploadExpired, ProcoreUnavailable) as exc:
                if attempt >= UPLOAD_ATTEMPTS:
                    raise
                log.warning("upload of %r: storage failed on slot %s (%s); starting over with a "
                            "fresh slot (%d/%d)", filename, slot.uuid, exc, attempt + 1,
                            UPLOAD_ATTEMPTS)
                continue
            if specs is not None:
                self.complete_upload(company_id, project_id, slot.uuid, etags)
            return slot.uuid

    def create_file_from_upload(self, company_id: int, project_id: int, *, upload_uuid: str,
                                name: str, parent_id: int | None = None,
                                description: str | None = None,
                                unique_name: bool = False) -> File:
        body: dict[str, Any] = {"name": name, "upload_uuid": upload_uuid,
                                "unique_name": unique_name}
        if parent_id is not None:
            body["parent_id"] = parent_id
        if description is not None:
            body["description"] = description
        return File.from_api(self.request("POST", "/rest/v1.0/files", company_id=company_id,
                                          params={"project_id": project_id},
                                          json={"file": body}))

    def create_file_version(self, company_id: int, project_id: int, file_id: int, *,
                            upload_uuid: str, notes: str | None = None) -> FileVersion:
        version: dict[str, Any] = {"upload_uuid": upload_uuid}
        if notes is not None:
            version["notes"] = notes
        return FileVersion.from_api(self.request(
            "POST", "/rest/v1.0/file_versions", company_id=company_id,
            params={"project_id": project_id},
            json={"file_id": file_id, "file_version": version}))


def segment_size(size: int) -> int:
    """SEGMENT_SIZE, or more (whole MiB) when the file would need more than MAX_SEGMENTS."""
    needed = -(-size // MAX_SEGMENTS)
    if needed <= SEGMENT_SIZE:
        return SEGMENT_SIZE
    return -(-needed // (1024 * 1024)) * 1024 * 1024


def _segment_specs(fileobj: BinaryIO, size: int) -> list[dict[str, Any]]:
    """sha256 + size per segment, read in 1 MiB chunks (first pass over the file).
    Every segment but the last has the same size (>= MIN_SEGMENT_SIZE)."""
    start, step = fileobj.tell(), segment_size(size)
    specs, left = [], size
    while left > 0:
        length = min(step, left)
        digest, todo = hashlib.sha256(), length
        while todo:
            chunk = fileobj.read(min(todo, 1024 * 1024))
            if not chunk:
                raise ValueError("file shorter than the announced size")
            digest.update(chunk)
            todo -= len(chunk)
        specs.append({"size": length, "sha256": digest.hexdigest()})
        left -= length
    fileobj.seek(start)
    return specs
