"""Unit tests of the Photos mapper's own rules, on fake Procore answers (no sandbox): the "Unclassified"
pseudo-album (open question 9), how a second import extends a selection (R3), and ref checking."""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from portal.procore import Image, ImageCategory


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
