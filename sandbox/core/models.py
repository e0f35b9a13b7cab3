"""Core ORM models: companies, users, projects, permissions, OAuth, documents, uploads.

Timestamps are unix seconds (float) from ``sandbox.core.clock.now()``.
Feature modules (photos, drawings, webhooks) define their own models in their own
files on the same ``Base``.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from sqlalchemy import event

from .db import Base, IdMixin

# Access levels as exposed in settings/permissions user_access_level {id, name}.
NONE, READ_ONLY, STANDARD, ADMIN = 0, 1, 2, 3
LEVEL_NAMES = {NONE: "None", READ_ONLY: "Read Only", STANDARD: "Standard", ADMIN: "Admin"}
LEVEL_BY_NAME = {v.lower(): k for k, v in LEVEL_NAMES.items()}

# Tool name -> friendly name. Exact Procore strings unconfirmed (fact sheet open question 2).
PROJECT_TOOLS = {"admin": "Admin", "directory": "Directory", "documents": "Documents",
                 "photos": "Photos", "drawings": "Drawings"}
COMPANY_TOOLS = {"admin": "Admin", "directory": "Directory"}


class Company(IdMixin, Base):
    __tablename__ = "companies"
    name: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    logo_url: Mapped[str | None] = mapped_column(String(1000), nullable=True)


class User(IdMixin, Base):
    __tablename__ = "users"
    login: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Developer Managed Service Account (client_credentials) owned by this client id.
    service_client_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class CompanyUser(IdMixin, Base):
    __tablename__ = "company_users"
    __table_args__ = (UniqueConstraint("company_id", "user_id"),)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Project(IdMixin, Base):
    __tablename__ = "projects"
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    project_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str | None] = mapped_column(String(255), nullable=True)
    city: Mapped[str | None] = mapped_column(String(255), nullable=True)
    state_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    country_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    zip: Mapped[str | None] = mapped_column(String(32), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ProjectUser(IdMixin, Base):
    __tablename__ = "project_users"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class Permission(IdMixin, Base):
    """Tool access level of a user; project_id NULL means a company-level tool."""
    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("user_id", "company_id", "project_id", "tool"),)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"),
                                                   nullable=True)
    tool: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer, default=NONE)


class AuthCode(IdMixin, Base):
    __tablename__ = "oauth_codes"
    code: Mapped[str] = mapped_column(String(128), unique=True)
    client_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    token_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # grant issued with it


class Token(IdMixin, Base):
    """One grant: an access token plus (except client_credentials) its refresh token."""
    __tablename__ = "oauth_tokens"
    access_token: Mapped[str] = mapped_column(String(128), unique=True)
    refresh_token: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    client_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    grant_type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    refreshed_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # refresh token used
    previous_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class _DocumentItem:
    """Columns a Documents folder and file share: recycle bin, tracking, privacy, audit."""

    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_with_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    is_tracked: Mapped[bool] = mapped_column(Boolean, default=False)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Folder(_DocumentItem, IdMixin, Base):
    __tablename__ = "folders"
    __table_args__ = (Index("ix_folders_project_parent", "project_id", "parent_id", "name_key"),)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    name: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # root: None
    name_key: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # name.lower()
    is_root: Mapped[bool] = mapped_column(Boolean, default=False)
    is_recycle_bin: Mapped[bool] = mapped_column(Boolean, default=False)


class File(_DocumentItem, IdMixin, Base):
    __tablename__ = "files"
    __table_args__ = (Index("ix_files_project_parent", "project_id", "parent_id", "name_key"),)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    parent_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(1000))
    name_key: Mapped[str | None] = mapped_column(String(1000), nullable=True)  # name.lower()
    description: Mapped[str | None] = mapped_column(Text, nullable=True)


class FileVersion(IdMixin, Base):
    __tablename__ = "file_versions"
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(1000))
    prostore_file_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Upload(IdMixin, Base):
    """A direct (presigned) upload created by POST /rest/v1.1/projects/{id}/uploads."""
    __tablename__ = "uploads"
    uuid: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    company_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    client_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    segmented: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(32), default="ready")  # ready|complete
    filename: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # assembled blob
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    attached_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class UploadSegment(IdMixin, Base):
    __tablename__ = "upload_segments"
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    md5: Mapped[str | None] = mapped_column(String(64), nullable=True)
    etag: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[float | None] = mapped_column(Float, nullable=True)


@event.listens_for(Folder.name, "set")
@event.listens_for(File.name, "set")
def _sync_name_key(target, value, _old, _initiator):
    target.name_key = value.lower() if isinstance(value, str) else None
