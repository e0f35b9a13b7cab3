"""cBox, the portal's own document store: projects, folders, files, versions, blobs (SPEC D1, R7, R10).

Every folder and file carries its `origin`; the sync state shown beside it (R7) is read from
its sync link (portal/sync/states.py), never stored here. Names are always the sanitised form
(portal/cbox/names.py); `original_name` keeps what the uploader or Procore sent, `name_key`
(NFC + casefold) makes siblings unique case-insensitively. Blob content lives in the blob store,
addressed by sha256 only.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, CheckConstraint, ForeignKey, Integer, String, Text,
                        UniqueConstraint, func)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.tenancy import Company, User, utcnow
from portal.models.types import ID, UTCDateTime


KINDS = ("documents", "photos", "drawings")
# The categorized folders every cBox project starts with (SPEC "The data flow"). These are
# data, not UI strings: the product names them in Spanish whatever the interface language.
CATEGORIZED_NAMES = {"documents": "Documentos", "photos": "Imágenes", "drawings": "Planos"}
ORIGINS = ("local", "procore")

_ORIGIN_CHECK = "origin IN ('local', 'procore')"
_CATEGORY_CHECK = "category IN ('documents', 'photos', 'drawings')"


class CboxProject(db.Model):
    __tablename__ = "cbox_projects"
    __table_args__ = (UniqueConstraint("company_id", "name", name="uq_cbox_projects_company_name"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())

    company: Mapped[Company] = relationship()

    def __repr__(self) -> str:
        return f"<CboxProject {self.id} {self.name!r}>"


class _Item:
    """Columns shared by folders and files."""

    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str] = mapped_column(String(800))
    original_name: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))  # the categorized tree the item lives in
    origin: Mapped[str] = mapped_column(String(10), default="local")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow,
                                                 server_default=func.now())


class CboxFolder(_Item, db.Model):
    """A folder; `kind` is set only on the three categorized folders (parent_id NULL)."""

    __tablename__ = "cbox_folders"
    __table_args__ = (
        UniqueConstraint("parent_id", "name_key", name="uq_cbox_folders_parent_name"),
        UniqueConstraint("project_id", "kind", name="uq_cbox_folders_project_kind"),
        CheckConstraint(_ORIGIN_CHECK, name="origin"),
        CheckConstraint(_CATEGORY_CHECK, name="category"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("cbox_projects.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cbox_folders.id", ondelete="CASCADE"),
                                                  nullable=True, index=True)
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)

    project: Mapped[CboxProject] = relationship()
    parent: Mapped[CboxFolder | None] = relationship(remote_side="CboxFolder.id", back_populates="subfolders")
    subfolders: Mapped[list[CboxFolder]] = relationship(back_populates="parent", cascade="all, delete-orphan",
                                                        order_by="CboxFolder.name_key")
    files: Mapped[list[CboxFile]] = relationship(back_populates="folder", cascade="all, delete-orphan",
                                                 order_by="CboxFile.name_key")

    @property
    def is_categorized(self) -> bool:
        return self.kind is not None

    def __repr__(self) -> str:
        return f"<CboxFolder {self.id} {self.name!r}>"


class CboxFile(_Item, db.Model):
    __tablename__ = "cbox_files"
    __table_args__ = (
        UniqueConstraint("folder_id", "name_key", name="uq_cbox_files_folder_name"),
        CheckConstraint(_ORIGIN_CHECK, name="origin"),
        CheckConstraint(_CATEGORY_CHECK, name="category"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("cbox_projects.id", ondelete="CASCADE"), index=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("cbox_folders.id", ondelete="CASCADE"), index=True)

    project: Mapped[CboxProject] = relationship()
    folder: Mapped[CboxFolder] = relationship(back_populates="files")
    versions: Mapped[list[CboxFileVersion]] = relationship(back_populates="file", cascade="all, delete-orphan",
                                                           order_by="CboxFileVersion.number")

    @property
    def current_version(self) -> CboxFileVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def size(self) -> int:
        version = self.current_version
        return version.size if version else 0

    def __repr__(self) -> str:
        return f"<CboxFile {self.id} {self.name!r}>"


class CboxBlob(db.Model):
    """Content stored once per sha256 (the blob store's file name derives from it alone)."""

    __tablename__ = "cbox_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())
    # Refreshed each time the content is written again, so garbage collection leaves alone a
    # blob that an unfinished transaction is about to reference.
    last_written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow,
                                                      server_default=func.now(), index=True)

    def __repr__(self) -> str:
        return f"<CboxBlob {self.sha256[:12]} {self.size}>"


class CboxFileVersion(db.Model):
    __tablename__ = "cbox_file_versions"
    __table_args__ = (UniqueConstraint("file_id", "number", name="uq_cbox_file_versions_file_number"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("cbox_files.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("cbox_blobs.sha256"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=func.now())

    file: Mapped[CboxFile] = relationship(back_populates="versions")
    blob: Mapped[CboxBlob] = relationship()

    def __repr__(self) -> str:
        return f"<CboxFileVersion {self.file_id} v{self.number}>"


class CboxFolderEditor(db.Model):
    """A member allowed to edit one categorized folder (SPEC R32). Admins can always edit."""

    __tablename__ = "cbox_folder_editors"
    __table_args__ = (UniqueConstraint("folder_id", "user_id", name="uq_cbox_folder_editors_folder_user"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("cbox_folders.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    folder: Mapped[CboxFolder] = relationship()
    user: Mapped[User] = relationship()


class CboxTrashEntry(db.Model):
    """An item deleted in cBox, kept restorable for CBOX_TRASH_DAYS (issue 14).

    The deleted folder or file moves, with everything inside it, into its own hidden holder folder
    (parent NULL, kind NULL): its rows, versions and blobs stay as they were, and nothing that walks a
    categorized tree reaches them. Restoring moves the item back; purging deletes the holder, which takes
    the item and this entry with it (ON DELETE CASCADE)."""

    __tablename__ = "cbox_trash"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("cbox_projects.id", ondelete="CASCADE"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("cbox_folders.id", ondelete="CASCADE"), unique=True)
    category: Mapped[str] = mapped_column(String(16))
    is_folder: Mapped[bool] = mapped_column(db.Boolean, default=False)
    name: Mapped[str] = mapped_column(String(255))
    original_parent_id: Mapped[int | None] = mapped_column(ID, nullable=True)  # no FK: it may be gone since
    original_path: Mapped[str] = mapped_column(Text)  # "Documentos / Obra / Planos", as it read then
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    holder: Mapped[CboxFolder] = relationship()
    deleted_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CboxTrashEntry {self.id} {self.name!r}>"
