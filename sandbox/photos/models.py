"""ORM models of the Photos tool: albums (Image Categories) and images."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from ..core.db import Base, IdMixin


class ImageCategory(IdMixin, Base):
    """A photo album. Every project has exactly one ``is_unclassified`` album."""
    __tablename__ = "image_categories"
    __table_args__ = (Index("ix_image_categories_project", "project_id", "position"),)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    name_key: Mapped[str | None] = mapped_column(String(255), nullable=True)  # name.lower()
    position: Mapped[int] = mapped_column(Integer, default=0)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    is_unclassified: Mapped[bool] = mapped_column(Boolean, default=False)
    album_cover_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Image(IdMixin, Base):
    """A photo. ``category_id`` is its album, kept while the photo is in the recycle bin
    (``deleted_at`` set) even if that album has been deleted since (no FK on purpose)."""
    __tablename__ = "images"
    __table_args__ = (Index("ix_images_project_category", "project_id", "category_id"),)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    category_id: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(1000))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    taken_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    starred: Mapped[bool] = mapped_column(Boolean, default=False)
    uploader_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True)  # in the Photos recycle bin


@event.listens_for(ImageCategory.name, "set")
def _sync_name_key(target, value, _old, _initiator):
    target.name_key = value.lower() if isinstance(value, str) else None
