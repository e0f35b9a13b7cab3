"""The calls the export engine makes besides uploads: the CalidadCloud folder and album, created
once even when workers race (R24), files and images created from uploads (R30: the image's
description), renames/moves, and photos updated or sent to the recycle bin."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.procore import ProcoreValidationError
from portal.procore.api_documents import named
from portal.procore.models import Folder

from .conftest import API

FOLDERS = f"{API}/rest/v1.0/folders"
ALBUMS = f"{API}/rest/v1.0/image_categories"
TAKEN = {"errors": {"name": ["has already been taken"]}}


def query(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def body(call) -> dict:
    return json.loads(call.request.body)


def folder(id_, name, **kw):
    return {"id": id_, "name": name, "parent_id": kw.pop("parent_id", 1), **kw}


def test_named_prefers_the_exact_name_then_a_case_insensitive_one_then_the_oldest():
    items = [Folder(9, "calidadcloud", 1), Folder(7, "CalidadCloud", 1), Folder(3, "CalidadCloud", 1)]
    assert named(items, "CalidadCloud").id == 3
    assert named(items[:1], "CalidadCloud").id == 9  # Procore's clash check ignores case
    assert named(items, "Otra") is None


def test_ensure_folder_finds_it_with_one_read(pc, rsps):
    rsps.get(FOLDERS, json={"id": 1, "name": None, "folders": [
        folder(4, "CalidadCloud", is_deleted=True), folder(5, "Recycle Bin", is_recycle_bin=True),
        folder(6, "CalidadCloud")]})
    assert pc.ensure_folder(1, 5, "CalidadCloud").id == 6
    assert len(rsps.calls) == 1
    assert query(rsps.calls[0]) == {"project_id": "5", "exclude_files": "true"}


def test_ensure_folder_creates_it_under_its_parent(pc, rsps):
    rsps.get(f"{FOLDERS}/6", json=folder(6, "CalidadCloud", folders=[folder(7, "Otra", parent_id=6)]))
    rsps.post(FOLDERS, status=201, json=folder(8, "A", parent_id=6))
    assert pc.ensure_folder(1, 5, "A", parent_id=6).id == 8
    assert [c.request.method for c in rsps.calls] == ["GET", "POST"]
    assert body(rsps.calls[1]) == {"folder": {"name": "A", "parent_id": 6}}


def test_ensure_folder_race_lost_returns_the_winners_folder(pc, rsps):
    """Another worker created it between our read and our create: 422, re-read, use theirs."""
    rsps.get(FOLDERS, json={"id": 1, "folders": []})
    rsps.get(FOLDERS, json={"id": 1, "folders": [folder(9, "CalidadCloud")]})
    rsps.post(FOLDERS, status=422, json=TAKEN)
    assert pc.ensure_folder(1, 5, "CalidadCloud").id == 9
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "GET"]
    assert body(rsps.calls[1]) == {"folder": {"name": "CalidadCloud"}}  # the root: no parent_id


def test_ensure_folder_other_refusals_are_raised(pc, rsps):
    rsps.get(f"{FOLDERS}/6", json=folder(6, "X"))
    rsps.post(FOLDERS, status=422, json={"errors": {"name": ["is invalid"]}})
    with pytest.raises(ProcoreValidationError, match="is invalid"):
        pc.ensure_folder(1, 5, "bad\x01name", parent_id=6)
    rsps.post(FOLDERS, status=400, json={"errors": "param is missing"})
    with pytest.raises(ProcoreValidationError):
        pc.ensure_folder(1, 5, "A", parent_id=6)
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "GET", "GET", "POST"]


def test_ensure_album_finds_creates_and_settles_races(pc, rsps):
    albums = [{"id": 2, "name": "Unclassified"}, {"id": 3, "name": "Avance"}]
    rsps.get(ALBUMS, json=albums + [{"id": 7, "name": "CalidadCloud"}])
    assert pc.ensure_album(1, 5, "CalidadCloud").id == 7
    assert query(rsps.calls[0])["project_id"] == "5"
    rsps.reset()
    # missing: created, then one re-list (the oldest of that name wins, here ours)
    rsps.get(ALBUMS, json=albums)
    rsps.get(ALBUMS, json=albums + [{"id": 8, "name": "CalidadCloud"}])
    rsps.post(ALBUMS, status=201, json={"id": 8, "name": "CalidadCloud"})
    assert pc.ensure_album(1, 5, "CalidadCloud").id == 8
    assert body(rsps.calls[1]) == {"image_category": {"name": "CalidadCloud", "private": False}}
    rsps.reset()
    # lost race: 422, the re-list gives the winner's
    rsps.get(ALBUMS, json=albums)
    rsps.get(ALBUMS, json=albums + [{"id": 9, "name": "CalidadCloud"}])
    rsps.post(ALBUMS, status=422, json=TAKEN)
    assert pc.ensure_album(1, 5, "CalidadCloud").id == 9
    rsps.reset()
    # a Procore that let both creations through: both workers settle on the older one
    rsps.get(ALBUMS, json=albums)
    rsps.get(ALBUMS, json=albums + [{"id": 10, "name": "CalidadCloud"}, {"id": 11, "name": "CalidadCloud"}])
    rsps.post(ALBUMS, status=201, json={"id": 11, "name": "CalidadCloud"})
    assert pc.ensure_album(1, 5, "CalidadCloud").id == 10


def test_create_image_from_upload_keeps_the_description_and_album(pc, rsps):
    rsps.post(f"{API}/rest/v1.0/images", status=201, json={
        "id": 2 ** 40, "filename": "Foto.JPEG", "image_category_id": 7,
        "description": "Imágenes/Obra/Foto.JPEG"})
    image = pc.create_image_from_upload(1, 5, upload_uuid="U1", image_name="Foto.JPEG", category_id=7,
                                        description="Imágenes/Obra/Foto.JPEG")
    assert (image.id, image.image_category_id, image.description) == (2 ** 40, 7, "Imágenes/Obra/Foto.JPEG")
    assert query(rsps.calls[0]) == {"project_id": "5"}
    assert body(rsps.calls[0]) == {"upload_uuid": "U1", "image_name": "Foto.JPEG", "image": {
        "image_category_id": 7, "description": "Imágenes/Obra/Foto.JPEG"}}


def test_update_image_and_delete_image(pc, rsps):
    rsps.patch(f"{API}/rest/v1.0/images/4", json={"id": 4, "image_category_id": 8, "description": "d"})
    assert pc.update_image(1, 5, 4, description="d", category_id=8).image_category_id == 8
    assert body(rsps.calls[0]) == {"image": {"description": "d", "image_category_id": 8}}
    pc.update_image(1, 5, 4, description="")
    assert body(rsps.calls[1]) == {"image": {"description": ""}}  # "" clears it; None keeps it
    with pytest.raises(ValueError):
        pc.update_image(1, 5, 4)
    rsps.delete(f"{API}/rest/v1.0/images/4", status=200, body="")
    rsps.delete(f"{API}/rest/v1.0/images/6", status=404, json={"errors": "Image not found"})
    assert pc.delete_image(1, 5, 4) is True
    assert pc.delete_image(1, 5, 6) is False  # already gone or in the bin
    assert query(rsps.calls[-1]) == {"project_id": "5"}


def test_file_rename_move_and_description(pc, rsps):
    rsps.patch(f"{API}/rest/v1.0/files/4", json={"id": 4, "name": "b.pdf", "parent_id": 9})
    assert pc.update_file(1, 5, 4, name="b.pdf", parent_id=9, description="x").parent_id == 9
    assert body(rsps.calls[0]) == {"file": {"name": "b.pdf", "parent_id": 9, "description": "x"}}
