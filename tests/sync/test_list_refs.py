"""The webhook path of the three mappers: list_refs re-reads what events name, against the sandbox
(contract in portal/sync/mapper.py; SPEC R4, R15, R19, R20, R22)."""
from __future__ import annotations

import pytest

from tests.sync.helpers import Procore, make_world
from tests.sync.media import album_images, albums, areas, mapper_call, revision

LIVE, DELETED, ABSENT, OUTSIDE, HIDDEN = "live", "deleted", "absent", "outside", "hidden"


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox, hook=False)


def _stable(item):
    """The item without its download URL: signed, time-limited URLs differ from one second to the next."""
    from dataclasses import replace

    return replace(item, download_url=bool(item.download_url))


def _shape(items):
    return [(item.kind, item.id, item.parent_id, item.presence) for item in items]


def _refs(app, world, mapper, selections, refs):
    with mapper_call(app, world, selections) as (client, target):
        return list(mapper.list_refs(client, target, refs))


def _listed(app, world, mapper, selections):
    with mapper_call(app, world, selections) as (client, target):
        return {(item.kind, item.id): item for item in mapper.list_remote(client, target)}


def _full_refresh(app, world, mapper, selections, refs):
    from portal.sync.mapper import FullRefreshNeeded

    with mapper_call(app, world, selections) as (client, target):
        items = mapper.list_refs(client, target, refs)
        with pytest.raises(FullRefreshNeeded):
            next(items)


def test_documents_refs(app, db, procore_sandbox, world):
    from portal.sync.documents import DocumentsMapper

    procore, mapper = Procore(procore_sandbox, world), DocumentsMapper()
    planos = procore.child("01 Planos y Especificaciones")
    estructuras = procore.child("Estructuras", procore.folder(planos["id"]))
    arquitectura = procore.child("Arquitectura", procore.folder(planos["id"]))
    detalles = procore.child("Detalles", procore.folder(estructuras["id"]))
    fundaciones = procore.child("Fundaciones", procore.folder(detalles["id"]))
    zapata = procore.child("Detalle zapata Z-1.pdf", procore.folder(fundaciones["id"]))
    memoria = procore.child("Memoria de Cálculo.pdf", procore.folder(estructuras["id"]))
    leame = procore.child("Léame.txt")
    contratos = procore.child("02 Contratos")
    contrato = procore.folder(contratos["id"])["files"][0]
    selections = {"folders": [estructuras["id"]], "files": [leame["id"]]}
    version = max(zapata["file_versions"], key=lambda v: v["number"])

    # A live file deep inside the selection, named twice and through its version: its ancestors (as the
    # full listing gives them), then the file, each once.
    items = _refs(app, world, mapper, selections, [("Project Files", zapata["id"]), ("Project File Versions",
                                                   version["id"]), ("Project Files", zapata["id"])])
    assert _shape(items) == [("folder", planos["id"], None, LIVE), ("folder", estructuras["id"], planos["id"], LIVE),
                             ("folder", detalles["id"], estructuras["id"], LIVE),
                             ("folder", fundaciones["id"], detalles["id"], LIVE),
                             ("file", zapata["id"], fundaciones["id"], LIVE)]
    listed = _listed(app, world, mapper, selections)
    assert all(_stable(listed[(item.kind, item.id)]) == _stable(item) for item in items), "as the full listing"
    assert items[-1].version_id == version["id"] and items[-1].download_url

    # A selected file at the root; a path folder (above a selected one) is live, a sibling outside is not.
    items = _refs(app, world, mapper, selections, [("Project Files", leame["id"]), ("Project Folders", planos["id"]),
                                                   ("Project Folders", arquitectura["id"]),
                                                   ("Project Files", contrato["id"])])
    assert _shape(items) == [("file", leame["id"], None, LIVE), ("folder", planos["id"], None, LIVE),
                             ("folder", arquitectura["id"], planos["id"], OUTSIDE),
                             ("file", contrato["id"], contratos["id"], OUTSIDE)]

    # R22: moved out of the synced folders → OUTSIDE; deleted → DELETED; never existed → ABSENT.
    procore.send("PATCH", f"/rest/v1.0/files/{memoria['id']}", file={"parent_id": contratos["id"]})
    procore.send("DELETE", f"/rest/v1.0/files/{zapata['id']}")
    items = _refs(app, world, mapper, selections, [("Project Files", memoria["id"]), ("Project Files", zapata["id"]),
                                                   ("Project Files", 4_999_999_999)])
    assert _shape(items) == [("file", memoria["id"], contratos["id"], OUTSIDE), ("file", zapata["id"], None, DELETED),
                             ("file", 4_999_999_999, None, ABSENT)]
    procore.send("DELETE", f"/rest/v1.0/folders/{detalles['id']}")
    assert _shape(_refs(app, world, mapper, selections, [("Project Folders", detalles["id"])])) == [
        ("folder", detalles["id"], None, DELETED)]

    _full_refresh(app, world, mapper, selections, [("Project Files", leame["id"]), ("Drawing Sets", 1)])
    _full_refresh(app, world, mapper, selections, [("Project File Versions", 4_999_999_999)])


def test_photos_refs(app, db, procore_sandbox, world):
    from portal.sync.photos import PhotosMapper

    procore, mapper = Procore(procore_sandbox, world), PhotosMapper()
    by_name = albums(procore)
    avance, seguridad, fachada = (by_name[name]["id"] for name in ("Avance de obra", "Seguridad", "Fachada norte"))
    unclassified = by_name["Unclassified"]["id"]
    selections = {"albums": [avance, seguridad]}
    photos = {image["filename"]: image["id"] for image in album_images(procore, avance)}
    losa, moldajes, excavacion = (photos[name] for name in ("Losa nivel 3 – hormigonado.jpg", "Moldajes muros.png",
                                                              "Excavación fundaciones.jpg"))

    items = _refs(app, world, mapper, selections, [("Images", losa), ("Image Categories", avance), ("Images", losa),
                                                   ("Image Categories", fachada)])
    assert _shape(items) == [("folder", avance, None, LIVE), ("file", losa, avance, LIVE),
                             ("folder", fachada, None, OUTSIDE)]
    listed = _listed(app, world, mapper, selections)
    assert _stable(listed[("folder", avance)]) == _stable(items[0])
    assert _stable(listed[("file", losa)]) == _stable(items[1]), "as the full listing"

    # R19: moved to a synced album → live there; to one that is not synced → OUTSIDE.
    procore.send("PATCH", f"/rest/v1.0/images/{losa}", image={"image_category_id": seguridad})
    procore.send("PATCH", f"/rest/v1.0/images/{moldajes}", image={"image_category_id": fachada})
    procore.send("DELETE", f"/rest/v1.0/images/{excavacion}")  # to the recycle bin
    items = _refs(app, world, mapper, selections, [("Images", losa), ("Images", moldajes), ("Images", excavacion),
                                                   ("Images", 4_999_999_999)])
    assert _shape(items) == [("folder", seguridad, None, LIVE), ("file", losa, seguridad, LIVE),
                             ("file", moldajes, fachada, OUTSIDE), ("file", excavacion, avance, ABSENT),
                             ("file", 4_999_999_999, None, ABSENT)]

    # R20: an album deleted with its photos; one recovered goes to Unclassified: live only if that is synced.
    procore.send("DELETE", f"/rest/v1.0/image_categories/{fachada}")
    assert _shape(_refs(app, world, mapper, {"albums": [fachada]}, [("Image Categories", fachada),
                                                                       ("Images", moldajes)])) == [
        ("folder", fachada, None, ABSENT), ("file", moldajes, fachada, ABSENT)]
    procore.send("POST", f"/rest/v1.0/images/{moldajes}/retrieve")
    assert _shape(_refs(app, world, mapper, selections, [("Images", moldajes)])) == [
        ("file", moldajes, unclassified, OUTSIDE)]
    assert _shape(_refs(app, world, mapper, {"albums": [unclassified]}, [("Images", moldajes)])) == [
        ("folder", unclassified, None, LIVE), ("file", moldajes, unclassified, LIVE)]

    _full_refresh(app, world, mapper, selections, [("Images", losa), ("Drawings", 1)])

    with mapper_call(app, world, {"albums": [seguridad, unclassified]}) as (client, target):
        # verify claims DELETED only on permanently_deleted: a photo in the bin reads like a live one.
        assert [mapper.verify(client, target, kind, item_id) for kind, item_id in (
            ("file", losa), ("file", moldajes), ("file", excavacion), ("folder", seguridad), ("folder", avance),
            ("folder", fachada))] == [LIVE, LIVE, OUTSIDE, LIVE, OUTSIDE, ABSENT]
        assert mapper.describe(client, target) == {"albums": ["Seguridad", "Unclassified"]}


def test_drawings_refs(app, db, procore_sandbox):
    from portal.sync.drawings import DrawingsMapper, discipline_folder_id

    world = make_world(app, db, procore_sandbox, project="Edificio Los Álamos", hook=False)
    procore, mapper = Procore(procore_sandbox, world), DrawingsMapper()
    by_name = areas(procore)
    torre_a, torre_b = by_name["Torre A"]["id"], by_name["Torre B"]["id"]
    disciplines = {d["name"]: d["id"] for d in procore.get(
        f"/rest/v1.1/projects/{world.project_id}/drawing_disciplines")}
    arq = disciplines["Arquitectura"]
    selections = {"areas": [torre_a], "disciplines": [arq, disciplines["Estructura"]]}
    a101_1, a101_2 = revision(procore, "A-101", "1", torre_a), revision(procore, "A-101", "2", torre_a)
    a101 = a101_1["drawing_id"]
    e102 = revision(procore, "E-102", "0", torre_a)  # obsolete: only listed with_obsolete
    folder = discipline_folder_id(torre_a, arq)

    # The drawing, named directly and through its unpublished revision 2: area, discipline, then the drawing
    # at its CURRENT revision (1), once.
    items = _refs(app, world, mapper, selections, [("Drawings", a101), ("Drawing Revisions", a101_2["id"]),
                                                   ("Drawing Revisions", a101_1["id"])])
    assert _shape(items) == [("folder", torre_a, None, LIVE), ("folder", folder, torre_a, LIVE),
                             ("file", a101, folder, LIVE)]
    assert items[-1].version_id == a101_1["id"] and items[-1].name == "A-101 Planta primer piso – sector oriente.pdf"
    listed = _listed(app, world, mapper, selections)
    assert [_stable(listed[(item.kind, item.id)]) for item in items[1:]] == [_stable(item) for item in items[1:]]
    assert listed[("folder", torre_a)].name == items[0].name == "Torre A"

    # R15: published → the new revision is the version; obsolete, never published, area or discipline not
    # selected → OUTSIDE; unknown → ABSENT.
    procore_sandbox._post("/_sandbox/drawings/publish", {"project_id": world.project_id, "revision_id": a101_2["id"]})
    i101 = next(r for r in procore.get(f"/rest/v1.0/projects/{world.project_id}/drawing_revisions",
                                       drawing_area_id=torre_a) if r["number"] == "I-101")
    b101 = revision(procore, "A-101", "1", torre_b)
    items = _refs(app, world, mapper, selections, [("Drawings", a101), ("Drawings", e102["drawing_id"]),
                                                   ("Drawings", i101["drawing_id"]), ("Drawings", b101["drawing_id"]),
                                                   ("Drawings", 4_999_999_999)])
    assert _shape(items)[2:] == [("file", a101, folder, LIVE), ("file", e102["drawing_id"], None, OUTSIDE),
                                 ("file", i101["drawing_id"], None, OUTSIDE),
                                 ("file", b101["drawing_id"], None, OUTSIDE), ("file", 4_999_999_999, None, ABSENT)]
    assert items[2].version_id == a101_2["id"]
    a201 = revision(procore, "A-201", "0", torre_a)
    procore.send("PATCH", f"/rest/v1.1/drawing_areas/{torre_a}/drawings/{a201['drawing_id']}",
                 drawing={"obsolete": True})
    assert _shape(_refs(app, world, mapper, selections, [("Drawing Revisions", a201["id"])])) == [
        ("file", a201["drawing_id"], None, OUTSIDE)]
    assert _shape(_refs(app, world, mapper, {"areas": [torre_a], "disciplines": [disciplines["Estructura"]]},
                        [("Drawings", a101)])) == [("file", a101, None, OUTSIDE)]

    for resource in ("Drawing Sets", "Drawing Uploads", "Drawing Areas", "Project Files"):
        _full_refresh(app, world, mapper, selections, [("Drawings", a101), (resource, 1)])

    with mapper_call(app, world, selections) as (client, target):  # verify: one item read directly
        assert [mapper.verify(client, target, kind, item_id) for kind, item_id in (
            ("file", a101), ("file", e102["drawing_id"]), ("file", 4_999_999_999), ("folder", torre_a),
            ("folder", torre_b), ("folder", folder), ("folder", discipline_folder_id(torre_b, arq)))] == [
            LIVE, OUTSIDE, ABSENT, LIVE, OUTSIDE, LIVE, OUTSIDE]
        assert mapper.describe(client, target) == {"areas": ["Torre A"], "disciplines": sorted(
            ["Arquitectura", "Estructura"], key=lambda name: disciplines[name])}
