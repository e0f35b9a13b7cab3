"""Photos (albums, images) and Drawings (areas, disciplines, sets, revisions)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from . import _parse as p


@dataclass(frozen=True)
class ImageCategory:
    id: int
    name: str
    position: int | None = None
    private: bool = False
    count: int | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "ImageCategory":
        d = p.as_mapping(d, "image category")
        return cls(id=p.req_id(d, "id", "image category"),
                   name=p.req_str(d, "name", "image category"),
                   position=p.opt_int(d.get("position")), private=p.flag(d.get("private")),
                   count=p.opt_int(d.get("count")),
                   updated_at=p.opt_dt(d.get("updated_at"), "image category.updated_at"))


@dataclass(frozen=True)
class Image:
    id: int
    filename: str | None
    url: str | None
    size: int | None
    image_category_id: int | None
    description: str | None = None
    private: bool = False
    permanently_deleted: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    taken_at: datetime | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Image":
        d = p.as_mapping(d, "image")
        return cls(
            id=p.req_id(d, "id", "image"),
            filename=p.opt_str(d.get("filename") or d.get("name")),
            url=p.opt_str(d.get("url")), size=p.opt_int(d.get("size"), "image.size"),
            image_category_id=p.nested_id(d, "image_category", "image"),
            description=p.opt_str(d.get("description")), private=p.flag(d.get("private")),
            permanently_deleted=p.flag(d.get("permanently_deleted")),
            created_at=p.opt_dt(d.get("created_at"), "image.created_at"),
            updated_at=p.opt_dt(d.get("updated_at"), "image.updated_at"),
            taken_at=p.opt_dt(d.get("taken_at"), "image.taken_at"))


@dataclass(frozen=True)
class DrawingArea:
    id: int
    name: str
    drawings_count: int | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "DrawingArea":
        d = p.as_mapping(d, "drawing area")
        return cls(id=p.req_id(d, "id", "drawing area"),
                   # A project without "Drawings by Area" still has one area; its
                   # name is not documented and may be empty.
                   name=p.opt_str(d.get("name")) or "",
                   drawings_count=p.opt_int(d.get("drawings_count")),
                   updated_at=p.opt_dt(d.get("updated_at"), "drawing area.updated_at"))


@dataclass(frozen=True)
class DrawingDiscipline:
    id: int
    name: str
    position: int | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "DrawingDiscipline":
        d = p.as_mapping(d, "drawing discipline")
        return cls(id=p.req_id(d, "id", "drawing discipline"),
                   name=p.opt_str(d.get("name")) or "", position=p.opt_int(d.get("position")))


@dataclass(frozen=True)
class DrawingSet:
    id: int
    name: str
    date: date | None = None
    position: int | None = None
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "DrawingSet":
        d = p.as_mapping(d, "drawing set")
        return cls(id=p.req_id(d, "id", "drawing set"), name=p.opt_str(d.get("name")) or "",
                   date=p.opt_date(d.get("date"), "drawing set.date"),
                   position=p.opt_int(d.get("position")),
                   updated_at=p.opt_dt(d.get("updated_at"), "drawing set.updated_at"))


@dataclass(frozen=True)
class Drawing:
    id: int
    number: str | None
    title: str | None
    discipline: str | None
    drawing_discipline_id: int | None
    obsolete: bool = False
    current_revision_id: int | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Drawing":
        d = p.as_mapping(d, "drawing")
        current = d.get("current_revision") if isinstance(d.get("current_revision"),
                                                          Mapping) else {}
        discipline = d.get("discipline")
        if isinstance(discipline, Mapping):
            discipline = discipline.get("name")
        return cls(id=p.req_id(d, "id", "drawing"), number=p.opt_str(d.get("number")),
                   title=p.opt_str(d.get("title")), discipline=p.opt_str(discipline),
                   drawing_discipline_id=p.opt_id(d.get("drawing_discipline_id")),
                   obsolete=p.flag(d.get("obsolete")),
                   current_revision_id=p.opt_id(current.get("id")))


@dataclass(frozen=True)
class DrawingRevision:
    id: int
    number: str | None
    title: str | None
    revision_number: str | None
    current: bool
    obsolete: bool
    status: str | None          # enum not documented by Procore: keep the raw string
    drawing_id: int | None
    drawing_area_id: int | None
    drawing_set_id: int | None
    discipline: DrawingDiscipline | None
    pdf_url: str | None
    pdf_size: int | None
    updated_at: datetime | None
    drawing_date: date | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "DrawingRevision":
        d = p.as_mapping(d, "drawing revision")
        disc = d.get("discipline")
        discipline = (DrawingDiscipline.from_api(disc)
                      if isinstance(disc, Mapping) and disc.get("id") is not None else None)
        return cls(
            id=p.req_id(d, "id", "drawing revision"), number=p.opt_str(d.get("number")),
            title=p.opt_str(d.get("title")),
            revision_number=p.opt_str(d.get("revision_number")),
            current=p.flag(d.get("current")), obsolete=p.flag(d.get("obsolete")),
            status=p.opt_str(d.get("status")), drawing_id=p.opt_id(d.get("drawing_id")),
            drawing_area_id=p.nested_id(d, "drawing_area", "drawing revision"),
            drawing_set_id=p.nested_id(d, "drawing_set", "drawing revision"),
            discipline=discipline, pdf_url=p.opt_str(d.get("pdf_url")),
            pdf_size=p.opt_int(d.get("pdf_size"), "drawing revision.pdf_size"),
            updated_at=p.opt_dt(d.get("updated_at"), "drawing revision.updated_at"),
            drawing_date=p.opt_date(d.get("drawing_date"), "drawing revision.drawing_date"))
