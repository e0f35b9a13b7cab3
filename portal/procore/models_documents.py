"""Documents tool payloads: folders, files, file versions, the flat index."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from . import _parse as p


@dataclass(frozen=True)
class FileVersion:
    id: int
    number: int | None
    url: str | None
    size: int | None
    created_at: datetime | None
    file_id: int | None = None
    notes: str | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "FileVersion":
        d = p.as_mapping(d, "file version")
        # The download URL and size appear either on the version or on its
        # nested prostore_file depending on endpoint/version: accept both.
        store = d.get("prostore_file") if isinstance(d.get("prostore_file"), Mapping) else {}
        size = d.get("size") if d.get("size") is not None else (
            store.get("filesize") if store.get("filesize") is not None else store.get("size"))
        return cls(
            id=p.req_id(d, "id", "file version"),
            number=p.opt_int(d.get("number"), "file version.number"),
            url=p.opt_str(d.get("url") or store.get("url")),
            size=p.opt_int(size, "file version.size"),
            created_at=p.opt_dt(d.get("created_at"), "file version.created_at"),
            file_id=p.opt_id(d.get("file_id")), notes=p.opt_str(d.get("notes")))


@dataclass(frozen=True)
class File:
    id: int
    name: str
    parent_id: int | None
    size: int | None = None
    updated_at: datetime | None = None
    created_at: datetime | None = None
    is_deleted: bool = False
    private: bool = False
    name_with_path: str | None = None
    file_type: str | None = None
    versions: tuple[FileVersion, ...] = ()

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "File":
        d = p.as_mapping(d, "file")
        versions = tuple(FileVersion.from_api(v) for v in
                         p.mapping_list(d.get("file_versions"), "file.file_versions"))
        return cls(
            id=p.req_id(d, "id", "file"), name=p.req_str(d, "name", "file"),
            parent_id=p.opt_id(d.get("parent_id")), size=p.opt_int(d.get("size"), "file.size"),
            updated_at=p.opt_dt(d.get("updated_at"), "file.updated_at"),
            created_at=p.opt_dt(d.get("created_at"), "file.created_at"),
            is_deleted=p.flag(d.get("is_deleted")), private=p.flag(d.get("private")),
            name_with_path=p.opt_str(d.get("name_with_path")),
            file_type=p.opt_str(d.get("file_type")), versions=versions)

    @property
    def current_version(self) -> FileVersion | None:
        """The newest version: highest number, then newest created_at, then id."""
        if not self.versions:
            return None
        return max(self.versions, key=lambda v: (
            v.number if v.number is not None else -1,
            v.created_at.timestamp() if v.created_at else 0.0, v.id))


@dataclass(frozen=True)
class Folder:
    id: int
    name: str
    parent_id: int | None
    is_deleted: bool = False
    is_recycle_bin: bool = False
    has_children: bool = False
    private: bool = False
    updated_at: datetime | None = None
    name_with_path: str | None = None
    folders: tuple["Folder", ...] = ()
    files: tuple[File, ...] = ()

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Folder":
        d = p.as_mapping(d, "folder")
        folders = tuple(Folder.from_api(f) for f in
                        p.mapping_list(d.get("folders"), "folder.folders"))
        files = tuple(File.from_api(f) for f in p.mapping_list(d.get("files"), "folder.files"))
        # has_children is sometimes absent; Procore returns nested folders with
        # EMPTY child arrays, so "no children listed" never means "leaf".
        has_children = p.flag(d.get("has_children")) or bool(folders or files) or p.flag(
            d.get("has_children_files")) or p.flag(d.get("has_children_folders"))
        return cls(
            id=p.req_id(d, "id", "folder"),
            # The root folder may come without a name.
            name=p.opt_str(d.get("name")) or "",
            parent_id=p.opt_id(d.get("parent_id")),
            is_deleted=p.flag(d.get("is_deleted")),
            is_recycle_bin=p.flag(d.get("is_recycle_bin")),
            has_children=has_children, private=p.flag(d.get("private")),
            updated_at=p.opt_dt(d.get("updated_at"), "folder.updated_at"),
            name_with_path=p.opt_str(d.get("name_with_path")), folders=folders, files=files)


@dataclass(frozen=True)
class DocumentIndexItem:
    """One row of GET /rest/v1.0/projects/{id}/documents (folders and files)."""

    id: int
    name: str
    document_type: str  # "file" | "folder"
    parent_id: int | None
    updated_at: datetime | None = None
    created_at: datetime | None = None
    is_deleted: bool = False
    is_recycle_bin: bool = False
    private: bool = False
    name_with_path: str | None = None
    file_type: str | None = None
    has_children: bool = False

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "DocumentIndexItem":
        d = p.as_mapping(d, "document")
        kind = p.req_str(d, "document_type", "document").lower()
        file_info = d.get("file") if isinstance(d.get("file"), Mapping) else {}
        children = d.get("children") if isinstance(d.get("children"), Mapping) else {}
        return cls(
            id=p.req_id(d, "id", "document"), name=p.req_str(d, "name", "document"),
            document_type=kind, parent_id=p.opt_id(d.get("parent_id")),
            updated_at=p.opt_dt(d.get("updated_at"), "document.updated_at"),
            created_at=p.opt_dt(d.get("created_at"), "document.created_at"),
            is_deleted=p.flag(d.get("is_deleted")),
            is_recycle_bin=p.flag(d.get("is_recycle_bin")), private=p.flag(d.get("private")),
            name_with_path=p.opt_str(d.get("name_with_path")),
            file_type=p.opt_str(file_info.get("file_type") or d.get("file_type")),
            has_children=p.flag(children.get("has_children") or d.get("has_children")))

    @property
    def is_folder(self) -> bool:
        return self.document_type == "folder"
