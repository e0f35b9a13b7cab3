"""Unit tests of the Photos and Drawings mappers' own rules, on fake Procore answers (no sandbox): the
"Unclassified" pseudo-album (open question 9), the synthetic discipline folder ids (R16), what counts as
the current published revision (R15), how a second import extends a selection (R3), and ref checking."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from portal.procore import DrawingDiscipline, DrawingRevision, Image, ImageCategory


def _image(image_id, album_id, name="a.jpg", size=10):
    return Image(id=image_id, filename=name, url=f"https://procore.test/i/{image_id}", size=size,
                 image_category_id=album_id, updated_at=datetime(2024, 5, 6, tzinfo=timezone.utc))


class FakePhotos:
    """Procore leaving "Unclassified" out of the album list, its photos with image_category_id null."""

    def __init__(self):
        self.albums = [ImageCategory(id=10, name="Avance", count=1)]
        self.all = [_image(1, 10, "avance.jpg"), _image(2, None, "suelta.jpg"), _image(3, None, "otra.png", 7)]

    def image_categories(self, company_id, project_id):
        return iter(self.albums)

    def images(self, company_id, project_id, category_id=None, **filters):
        found = [i for i in self.all if category_id is None or i.image_category_id == category_id]
        return iter([i for i in found if "id" not in filters or i.id == filters["id"]])

    def image(self, company_id, project_id, image_id):
        return next(i for i in self.all if i.id == image_id)


def _target(selections):
    return SimpleNamespace(procore_company_id=1, procore_project_id=2, selections=selections)


def test_unclassified_not_listed_becomes_a_pseudo_album_of_the_photos_without_album():
    from portal.sync.photos import UNCLASSIFIED, PhotosMapper, album_choices

    client = FakePhotos()
    choices = album_choices(client, 1, 2)
    assert [(c.id, c.name, c.count) for c in choices] == [(UNCLASSIFIED, "Unclassified", 2), (10, "Avance", 1)]
    assert UNCLASSIFIED < 0
    mapper = PhotosMapper()
    items = list(mapper.list_remote(client, _target({"albums": [UNCLASSIFIED]})))
    assert [(i.kind, i.id, i.parent_id, i.name, i.version_id, i.size) for i in items] == [
        ("folder", UNCLASSIFIED, None, "Unclassified", None, None), ("file", 2, UNCLASSIFIED, "suelta.jpg", None, 10),
        ("file", 3, UNCLASSIFIED, "otra.png", None, 7)]
    assert mapper.verify(client, _target({"albums": [UNCLASSIFIED]}), "file", 2) == "live"
    assert mapper.verify(client, _target({"albums": [10]}), "file", 2) == "outside"
    refs = list(mapper.list_refs(client, _target({"albums": [UNCLASSIFIED]}), [("Images", 3), ("Images", 1)]))
    assert [(i.kind, i.id, i.parent_id, i.presence) for i in refs] == [
        ("folder", UNCLASSIFIED, None, "live"), ("file", 3, UNCLASSIFIED, "live"), ("file", 1, 10, "outside")]


def test_a_listed_unclassified_album_is_an_ordinary_album():
    from portal.sync.photos import album_choices

    client = FakePhotos()
    client.albums.insert(0, ImageCategory(id=9, name="Unclassified", count=0))
    assert [c.id for c in album_choices(client, 1, 2)] == [9, 10]


def test_discipline_folder_ids_are_negative_deterministic_and_distinct_per_area():
    from portal.sync.drawings import discipline_folder_id

    ids = {(area, discipline): discipline_folder_id(area, discipline)
           for area in (5_000_000_101, 5_000_000_102) for discipline in (5_000_000_201, 5_000_000_202)}
    assert len(set(ids.values())) == 4
    assert all(-(2 ** 62) - 2 <= value <= -2 for value in ids.values())
    assert discipline_folder_id(5_000_000_101, 5_000_000_201) == ids[(5_000_000_101, 5_000_000_201)]
    assert discipline_folder_id(5_000_000_101, 5_000_000_201) != discipline_folder_id(5_000_000_201, 5_000_000_101)


def _revision(**overrides):
    values = dict(id=7, number="A-1", title="Planta", revision_number="1", current=True, obsolete=False,
                  status="published", drawing_id=3, drawing_area_id=4, drawing_set_id=None,
                  discipline=DrawingDiscipline(id=5, name="Arquitectura"), pdf_url="https://p/x.pdf", pdf_size=9,
                  updated_at=None)
    return DrawingRevision(**{**values, **overrides})


@pytest.mark.parametrize("overrides, current", [
    ({}, True), ({"status": None}, True), ({"status": "Published"}, True), ({"current": False}, False),
    ({"status": "unpublished"}, False), ({"status": "pending review"}, False), ({"obsolete": True}, False)])
def test_only_the_current_published_revision_counts(overrides, current):
    from portal.sync.drawings import drawing_item, is_current

    assert is_current(_revision(**overrides)) is current
    item = drawing_item(_revision(), -9)
    assert (item.id, item.version_id, item.name, item.parent_id) == (3, 7, "A-1 Planta.pdf", -9)


def test_importing_again_extends_the_selection():
    from portal.sync.service import merge_selection

    assert merge_selection("documents", {"folders": [1], "files": [2]}, {"folders": [3], "files": []}) == {
        "files": [2], "folders": [1, 3]}
    assert merge_selection("photos", {"albums": [5, -1]}, {"albums": [6]}) == {"albums": [-1, 5, 6]}
    assert merge_selection("drawings", None, {"areas": [2, 1], "disciplines": [7]}) == {"areas": [1, 2],
                                                                                       "disciplines": [7]}
    assert merge_selection("drawings", {"areas": [1], "disciplines": [7]}, {"areas": [2], "disciplines": [8]}) == {
        "areas": [1, 2], "disciplines": [7, 8]}
    assert merge_selection("drawings", {"areas": [1], "disciplines": []}, {"areas": [2], "disciplines": [8]}) == {
        "areas": [1, 2], "disciplines": []}, "all disciplines stays all"


def test_refs_are_checked_deduplicated_and_unknown_resources_need_a_full_refresh():
    from portal.sync.mapper import FullRefreshNeeded
    from portal.sync.refs import checked

    assert checked([("Images", "5"), ("Images", 5), ("Image Categories", 5)], ("Images", "Image Categories")) == [
        ("Images", 5), ("Image Categories", 5)]
    for bad in ([("Drawing Uploads", 1)], [("Images", "x")], [("Images",)]):
        with pytest.raises(FullRefreshNeeded):
            checked(bad, ("Images",))


class FakeDrawings:
    """An unnamed default area (Procore may leave its name empty: open question 8) and an area that vanishes
    between the area listing and its revisions."""

    def drawing_areas(self, company_id, project_id):
        from portal.procore import DrawingArea

        return iter([DrawingArea(id=1, name=""), DrawingArea(id=2, name="Gone")])

    def project(self, company_id, project_id):
        return SimpleNamespace(name="Obra Sur")

    def drawing_revisions(self, company_id, project_id, area_id=None, **kw):
        from portal.procore import ProcoreNotFound

        if area_id == 2:
            raise ProcoreNotFound("not found in Procore", status=404)
        return iter([_revision(id=7, drawing_id=3, number="A-2", drawing_area_id=1),
                     _revision(id=8, drawing_id=4, number="A-1", drawing_area_id=1),
                     _revision(id=9, drawing_id=5, current=False, status="unpublished", drawing_area_id=1),
                     _revision(id=10, drawing_id=6, discipline=None, number="X-1", title=None, drawing_area_id=1),
                     _revision(id=11, drawing_id=12, number="B-1", drawing_area_id=99)])  # another area's


def test_an_unnamed_default_area_is_named_after_the_project_and_a_vanished_area_is_a_marker():
    from portal.sync.drawings import DrawingsMapper, discipline_folder_id

    items = list(DrawingsMapper().list_remote(FakeDrawings(), _target({"areas": [1, 2], "disciplines": []})))
    folder = discipline_folder_id(1, 5)
    assert [(i.kind, i.id, i.parent_id, i.name, i.presence) for i in items] == [
        ("folder", 1, None, "Obra Sur", "live"), ("file", 6, 1, "X-1.pdf", "live"),
        ("folder", folder, 1, "Arquitectura", "live"), ("file", 4, folder, "A-1 Planta.pdf", "live"),
        ("file", 3, folder, "A-2 Planta.pdf", "live"), ("folder", 2, None, "", "absent")]
