"""The webhook path of the three mappers: list_refs re-reads what events name, against the sandbox
(contract in portal/sync/mapper.py; SPEC R4, R15, R19, R20, R22)."""
from __future__ import annotations

import pytest

from tests.sync.helpers import Procore, make_world
from tests.sync.media import mapper_call

LIVE, DELETED, ABSENT, OUTSIDE, HIDDEN = "live", "deleted", "absent", "outside", "hidden"


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox, hook=False)


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
    assert all(listed[(item.kind, item.id)] == item for item in items), "the same items as the full listing"
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
