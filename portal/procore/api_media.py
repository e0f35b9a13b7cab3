"""Photos (image categories = albums, images) and Drawings."""
from __future__ import annotations

import logging
from typing import Any, Iterator

from .api_documents import named
from .errors import ProcoreValidationError
from .models import (Drawing, DrawingArea, DrawingDiscipline, DrawingRevision, DrawingSet,
                     Image, ImageCategory)

log = logging.getLogger(__name__)


def _filters(filters: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in filters.items():
        if isinstance(value, tuple) and len(value) == 2:
            value = f"{value[0]}...{value[1]}"
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[f"filters[{key}]"] = value
    return out


class MediaAPI:
    # -- photos --------------------------------------------------------------

    def image_categories(self, company_id: int, project_id: int) -> Iterator[ImageCategory]:
        # Whether the "Unclassified" album is listed here is not confirmed by
        # Procore (open question 9): callers must not assume it is.
        return self.paginate("/rest/v1.0/image_categories", company_id=company_id,
                             params={"project_id": project_id}, model=ImageCategory)

    def image_category(self, company_id: int, project_id: int, category_id: int) -> ImageCategory:
        return ImageCategory.from_api(self.request(
            "GET", f"/rest/v1.0/image_categories/{int(category_id)}", company_id=company_id,
            params={"project_id": project_id}))

    def create_image_category(self, company_id: int, project_id: int, name: str,
                              private: bool = False) -> ImageCategory:
        return ImageCategory.from_api(self.request(
            "POST", "/rest/v1.0/image_categories", company_id=company_id,
            params={"project_id": project_id},
            json={"image_category": {"name": name, "private": private}}))

    def ensure_album(self, company_id: int, project_id: int, name: str) -> ImageCategory:
        """The Photos album ``name``, created if missing (R24).

        Several workers may ask at once. A second album of a name is refused with 422 "has
        already been taken" (the sandbox's rule): the loser re-lists and returns the winner's
        album. Procore does not document that uniqueness, so a creator also re-lists after
        creating and returns the oldest album of that name: were two created, every worker
        still settles on the same one (the other stays empty). Private albums are listed to
        Photos Admins only: for anyone else a private namesake makes this raise the 422."""
        found = named(self.image_categories(company_id, project_id), name)
        if found is not None:
            return found
        try:
            created = self.create_image_category(company_id, project_id, name)
        except ProcoreValidationError as exc:
            if exc.status != 422:
                raise
            found = named(self.image_categories(company_id, project_id), name)
            if found is None:
                raise
            log.info("album %r was created by someone else meanwhile: using %s", name, found.id)
            return found
        oldest = named(self.image_categories(company_id, project_id), name)
        return oldest if oldest is not None and oldest.id < created.id else created

    def images(self, company_id: int, project_id: int, category_id: int | None = None, *,
               sort: str | None = None, **filters: Any) -> Iterator[Image]:
        params: dict[str, Any] = {"project_id": project_id, **_filters(filters)}
        if category_id is not None:
            params["image_category_id"] = category_id
        if sort:
            params["sort"] = sort
        return self.paginate("/rest/v1.0/images", company_id=company_id, params=params,
                             model=Image)

    def image(self, company_id: int, project_id: int, image_id: int) -> Image:
        return Image.from_api(self.request("GET", f"/rest/v1.0/images/{int(image_id)}",
                                           company_id=company_id,
                                           params={"project_id": project_id}))

    def create_image_from_upload(self, company_id: int, project_id: int, *, upload_uuid: str,
                                 image_name: str, category_id: int,
                                 description: str | None = None) -> Image:
        # The OAS shape (top-level upload_uuid + image_name) and the docs'
        # {"upload": {...}} shape differ; we send the OAS one, which Procore
        # labels "recommended". Verify against the live API.
        image: dict[str, Any] = {"image_category_id": category_id}
        if description is not None:
            image["description"] = description
        return Image.from_api(self.request(
            "POST", "/rest/v1.0/images", company_id=company_id,
            params={"project_id": project_id},
            json={"upload_uuid": upload_uuid, "image_name": image_name, "image": image}))

    def update_image(self, company_id: int, project_id: int, image_id: int, *,
                     description: str | None = None, category_id: int | None = None) -> Image:
        """Change a photo's description and/or move it to album ``category_id`` (None = keep)."""
        image: dict[str, Any] = {}
        if description is not None:
            image["description"] = description
        if category_id is not None:
            image["image_category_id"] = category_id
        if not image:
            raise ValueError("update_image: nothing to change")
        return Image.from_api(self.request(
            "PATCH", f"/rest/v1.0/images/{int(image_id)}", company_id=company_id,
            params={"project_id": project_id}, json={"image": image}))

    def delete_image(self, company_id: int, project_id: int, image_id: int) -> bool:
        """Move a photo to the Photos recycle bin. False if it was already gone (idempotent)."""
        return self._delete(f"/rest/v1.0/images/{int(image_id)}", company_id, project_id)

    # -- drawings ------------------------------------------------------------

    def drawing_areas(self, company_id: int, project_id: int) -> Iterator[DrawingArea]:
        return self.paginate(f"/rest/v1.1/projects/{int(project_id)}/drawing_areas",
                             company_id=company_id, model=DrawingArea)

    def drawing_disciplines(self, company_id: int,
                            project_id: int) -> Iterator[DrawingDiscipline]:
        return self.paginate(f"/rest/v1.1/projects/{int(project_id)}/drawing_disciplines",
                             company_id=company_id, model=DrawingDiscipline)

    def drawing_sets(self, company_id: int, project_id: int) -> Iterator[DrawingSet]:
        return self.paginate(f"/rest/v1.0/projects/{int(project_id)}/drawing_sets",
                             company_id=company_id, model=DrawingSet)

    def drawings(self, company_id: int, project_id: int, area_id: int) -> Iterator[Drawing]:
        return self.paginate(f"/rest/v1.0/drawing_areas/{int(area_id)}/drawings",
                             company_id=company_id, params={"project_id": project_id},
                             model=Drawing)

    def drawing_revisions(self, company_id: int, project_id: int, area_id: int | None = None,
                          *, discipline_id: int | None = None, drawing_id: int | None = None,
                          current_set: bool = False, with_obsolete: bool = False,
                          **filters: Any) -> Iterator[DrawingRevision]:
        """Revisions (deleted and obsolete excluded by Procore by default).

        There is no server-side "current" filter: callers keep ``rev.current``
        (SPEC R15), or pass ``current_set=True`` for drawing_set_id=current_set.
        """
        params: dict[str, Any] = _filters(filters)
        for key, value in (("drawing_area_id", area_id), ("drawing_discipline_id", discipline_id),
                           ("drawing_id", drawing_id)):
            if value is not None:
                params[key] = value
        if current_set:
            params["drawing_set_id"] = "current_set"
        if with_obsolete:
            params["with_obsolete"] = "true"
        return self.paginate(f"/rest/v1.0/projects/{int(project_id)}/drawing_revisions",
                             company_id=company_id, params=params, model=DrawingRevision)

    def drawing_upload_drawings(self, company_id: int, project_id: int, upload_id: int) -> list[int]:
        """Ids of the drawings an upload's imports were assigned to (direct imports name theirs;
        imports waiting for review name none yet)."""
        upload = self.request("GET", f"/rest/v1.1/projects/{int(project_id)}/drawing_uploads/{int(upload_id)}",
                              company_id=company_id, params={"view": "with_drawing_log_imports"})
        imports = upload.get("drawing_log_imports") if isinstance(upload, dict) else None
        return [int(i["drawing_id"]) for i in imports or [] if isinstance(i, dict) and i.get("drawing_id")]

    def drawing_revision(self, company_id: int, project_id: int,
                         revision_id: int) -> DrawingRevision:
        return DrawingRevision.from_api(self.request(
            "GET", f"/rest/v1.0/projects/{int(project_id)}/drawing_revisions/{int(revision_id)}",
            company_id=company_id))
