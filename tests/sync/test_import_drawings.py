"""Importing Procore Drawings into Planos/Procore against the sandbox (SPEC R10, R15, R16, R17), through the
real job function."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.sync.helpers import Procore, cbox_tree, make_world
from tests.sync.media import areas, drawing_tree, links_by_kind, revision, revisions, sha, start_tool
from tests.sync.test_import_documents import new_run, procore_folder, run_job, run_row

A101 = "A-101 Planta primer piso – sector oriente.pdf"
A201 = "A-201 Elevación norte.pdf"
E101 = "E-101 Fundaciones y zapatas.pdf"


def _world(app, db, sb, project):
    return make_world(app, db, sb, project=project, hook=False)


def _disciplines(procore) -> dict[str, int]:
    return {d["name"]: d["id"] for d in procore.get(
        f"/rest/v1.1/projects/{procore.world.project_id}/drawing_disciplines")}


@pytest.mark.keeps_sandbox
def test_areas_and_disciplines_layout_with_drawings_by_area(app, db, procore_sandbox):
    """R16: Planos/Procore/<Area>/<Discipline>/<number> <title>.pdf; the same discipline in two areas is two
    folders (synthetic ids), each drawing the current published revision, byte for byte."""
    world = _world(app, db, procore_sandbox, "Edificio Los Álamos")
    procore = Procore(procore_sandbox, world)
    by_name = areas(procore)
    assert set(by_name) == {"Torre A", "Torre B"}
    chosen = [area["id"] for area in by_name.values()]
    integration_id, run_id = start_tool(app, db, world, world.drawings_id, {"areas": chosen, "disciplines": []},
                                        "Edificio Los Álamos")
    assert run_job(app, run_id) == "done"
    got = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert got == drawing_tree(procore, chosen)
    assert {path for path, value in got.items() if value != "<folder>"} == {
        f"Procore/Torre A/Arquitectura/{A101}", f"Procore/Torre A/Arquitectura/{A201}",
        f"Procore/Torre A/Estructura/{E101}", f"Procore/Torre B/Arquitectura/{A101}",
        f"Procore/Torre B/Estructura/{E101}"}
    with app.app_context():
        from portal.models import CboxFolder, Integration

        integration = db.session.get(Integration, integration_id)
        assert db.session.get(CboxFolder, integration.procore_folder_id).parent.original_name == "Planos"
    folders = [key[1] for key in links_by_kind(app, db, integration_id) if key[0] == "folder"]
    disciplines = [folder_id for folder_id in folders if folder_id < 0]
    assert len(disciplines) == len(set(disciplines)) == 4, "Arquitectura and Estructura under each area"
    assert set(folders) - set(disciplines) == set(chosen)


@pytest.mark.keeps_sandbox
def test_a_project_without_drawings_by_area_uses_its_default_area_and_filters_disciplines(app, db, procore_sandbox):
    """R17: the default area (named after the project) is a folder like any other; R16: only the chosen
    discipline; R15: the obsolete E-102 is not imported."""
    world = _world(app, db, procore_sandbox, "Puente Río Claro")
    procore = Procore(procore_sandbox, world)
    (default,) = areas(procore).values()
    assert default["name"] == "Puente Río Claro"
    estructura = _disciplines(procore)["Estructura"]
    integration_id, run_id = start_tool(app, db, world, world.drawings_id,
                                        {"areas": [default["id"]], "disciplines": [estructura]}, "Puente Río Claro")
    assert run_job(app, run_id) == "done"
    got = cbox_tree(app, db, procore_folder(app, db, integration_id))
    assert got == drawing_tree(procore, [default["id"]], {"Estructura"})
    assert set(got) == {"Procore", "Procore/Puente Río Claro", "Procore/Puente Río Claro/Estructura",
                        f"Procore/Puente Río Claro/Estructura/{E101}"}


def _versions(app, db, file_id):
    from portal.models import CboxFileVersion

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CboxFileVersion).where(
            CboxFileVersion.file_id == file_id))


def test_only_current_published_revisions_new_versions_and_obsolete_drawings(app, db, procore_sandbox):
    """R15: revisions in review or unpublished are not imported; publishing one makes it a new version of the
    same cBox file; obsolete drawings are not imported, and a drawing made obsolete leaves on refresh."""
    world = _world(app, db, procore_sandbox, "Puente Río Claro")
    procore = Procore(procore_sandbox, world)
    (area,) = areas(procore).values()
    integration_id, run_id = start_tool(app, db, world, world.drawings_id, {"areas": [area["id"]], "disciplines": []},
                                        "Puente Río Claro")
    assert run_job(app, run_id) == "done"
    root = procore_folder(app, db, integration_id)
    base = "Procore/Puente Río Claro"
    files = {path for path, value in cbox_tree(app, db, root).items() if value != "<folder>"}
    assert files == {f"{base}/Arquitectura/{A101}", f"{base}/Arquitectura/{A201}", f"{base}/Estructura/{E101}"}
    # E-102 is obsolete, I-101 has only an unpublished revision, I-102 waits for review: none is here.
    rev1, rev2 = revision(procore, "A-101", "1", area["id"]), revision(procore, "A-101", "2", area["id"])
    assert (rev1["current"], rev2["status"]) == (True, "unpublished")
    a101 = links_by_kind(app, db, integration_id)[("file", rev1["drawing_id"])]
    assert (a101.procore_version_id, a101.sha256) == (rev1["id"], sha(procore.content(rev1["pdf_url"])))

    procore_sandbox._post("/_sandbox/drawings/publish", {"project_id": world.project_id, "revision_id": rev2["id"]})
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done"
    after = links_by_kind(app, db, integration_id)[("file", rev1["drawing_id"])]
    published = revision(procore, "A-101", "2", area["id"])
    assert after.cbox_file_id == a101.cbox_file_id, "the same cBox file"
    assert (after.procore_version_id, after.sha256) == (rev2["id"], sha(procore.content(published["pdf_url"])))
    assert _versions(app, db, after.cbox_file_id) == 2
    assert (run_row(app, db, refresh).updated, run_row(app, db, refresh).imported) == (1, 0)
    assert cbox_tree(app, db, root) == drawing_tree(procore, [area["id"]])

    a201 = revision(procore, "A-201", "0", area["id"])
    procore.send("PATCH", f"/rest/v1.1/drawing_areas/{area['id']}/drawings/{a201['drawing_id']}",
                 drawing={"obsolete": True})
    pending = next(r for r in revisions(procore, drawing_area_id=area["id"]) if r["status"] == "pending review")
    procore_sandbox._post("/_sandbox/drawings/review", {"project_id": world.project_id, "revision_id": pending["id"]})
    procore_sandbox._post("/_sandbox/drawings/publish", {"project_id": world.project_id, "revision_id": pending["id"]})
    refresh = new_run(app, db, integration_id)
    assert run_job(app, refresh) == "done"
    files = {path for path, value in cbox_tree(app, db, root).items() if value != "<folder>"}
    assert files == {f"{base}/Arquitectura/{A101}", f"{base}/Estructura/{E101}",
                     f"{base}/Instalaciones/I-102 Alcantarillado.pdf"}
    assert (run_row(app, db, refresh).deleted, run_row(app, db, refresh).imported) == (1, 1)
    assert cbox_tree(app, db, root) == drawing_tree(procore, [area["id"]])
