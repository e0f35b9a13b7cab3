"""ORM models of the Drawings tool: settings, areas, disciplines, sets, drawings,
drawing uploads (with their drawing-log imports) and drawing revisions."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, IdMixin

# Revision status enum (Procore's is undocumented: open question 8; sandbox choice):
PENDING_REVIEW = "pending review"  # uploaded without drawing_id (or needing a review): review in the UI
UNPUBLISHED = "unpublished"        # reviewed / auto-assigned, waiting to be published
PUBLISHED = "published"            # in the drawing log; the newest published one is current
STATUSES = (PENDING_REVIEW, UNPUBLISHED, PUBLISHED)


class DrawingSettings(IdMixin, Base):
    """Per-project Drawings settings (Procore: "Enable Drawings by Area")."""
    __tablename__ = "drawing_settings"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), unique=True)
    drawings_by_area: Mapped[bool] = mapped_column(Boolean, default=False)


class DrawingArea(IdMixin, Base):
    __tablename__ = "drawing_areas"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DrawingDiscipline(IdMixin, Base):
    __tablename__ = "drawing_disciplines"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    abbreviations: Mapped[str] = mapped_column(Text, default="[]")  # JSON list
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class DrawingSet(IdMixin, Base):
    __tablename__ = "drawing_sets"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    date: Mapped[str | None] = mapped_column(String(10), nullable=True)  # YYYY-MM-DD
    position: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class Drawing(IdMixin, Base):
    __tablename__ = "drawings"
    __table_args__ = (Index("ix_drawings_area_number", "area_id", "number_key"),)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(255))
    number_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sheet_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    title: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    discipline_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    obsolete: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    upload_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # created by this upload
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DrawingUpload(IdMixin, Base):
    __tablename__ = "drawing_uploads"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = mapped_column(BigInteger)
    area_id: Mapped[int] = mapped_column(BigInteger)
    set_id: Mapped[int] = mapped_column(BigInteger)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    idempotency_token: Mapped[str | None] = mapped_column(String(255), nullable=True)
    get_info_from_filename: Mapped[bool] = mapped_column(Boolean, default=False)
    drawing_number_contains_revision: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    ready_at: Mapped[float] = mapped_column(Float)  # "processing" until then (knob)


class DrawingLogImport(IdMixin, Base):
    __tablename__ = "drawing_log_imports"
    upload_id: Mapped[int] = mapped_column(ForeignKey("drawing_uploads.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    set_id: Mapped[int] = mapped_column(BigInteger)
    drawing_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    received_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    default_revision: Mapped[str | None] = mapped_column(String(64), nullable=True)
    drawing_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class DrawingRevision(IdMixin, Base):
    __tablename__ = "drawing_revisions"
    __table_args__ = (Index("ix_drawing_revisions_project", "project_id", "drawing_id"),)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    drawing_id: Mapped[int] = mapped_column(BigInteger, index=True)
    area_id: Mapped[int] = mapped_column(BigInteger)
    set_id: Mapped[int] = mapped_column(BigInteger)
    upload_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    import_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revision_number: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(32), default=UNPUBLISHED)
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    drawing_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    received_date: Mapped[str | None] = mapped_column(String(10), nullable=True)
    filename: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf_size: Mapped[int] = mapped_column(BigInteger)
    png_sha256: Mapped[str] = mapped_column(String(64))
    png_size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    published_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    available_at: Mapped[float] = mapped_column(Float, default=0.0)  # hidden while "processing"
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


@event.listens_for(DrawingArea.name, "set")
@event.listens_for(DrawingDiscipline.name, "set")
def _sync_name_key(target, value, _old, _initiator):
    target.name_key = value.lower() if isinstance(value, str) else None


@event.listens_for(Drawing.number, "set")
def _sync_number_key(target, value, _old, _initiator):
    target.number_key = value.lower() if isinstance(value, str) else None
