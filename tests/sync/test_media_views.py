"""Starting a Photos or Drawings integration from Imágenes or Planos through the Flask test client, against the
sandbox (SPEC R3, R9, R14, R32, R35): the project chooser names the missing Procore permissions per tool, the
albums come with their photo counts ("Unclassified" included), areas and disciplines are checkboxes, Import
starts background work, importing again extends the selection, and the pages name the tool and destination."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from tests.sync.helpers import ADMIN, Procore, cbox_tree, make_world
from tests.sync.media import albums, areas, photo_tree
from tests.sync.test_integration_views import burst


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox)  # Hospital Regional Ñuñoa, our webhook repaired


def _integration(app, db):
    from portal.models import Integration

    with app.app_context():
        row = db.session.scalar(select(Integration))
        if row is not None:
            db.session.expunge(row)
        return row


@pytest.mark.keeps_sandbox  # the permissions are given back
@pytest.mark.parametrize("tool, label", [("photos", "Admin en la herramienta Fotos"),
                                         ("drawings", "Admin en la herramienta Planos")])
def test_the_chooser_names_the_missing_photos_or_drawings_admin(app, db, procore_sandbox, world, signed_in, tool,
                                                                label):
    """R32, R9: Admin on the project's Admin tool AND on the tool concerned; what is missing is named, and the
    form refuses to start."""
    folder_id = world.photos_id if tool == "photos" else world.drawings_id
    page = signed_in.get(f"/integrations/new?folder_id={folder_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f"project_id={world.project_id}" in html
    grant = {"login": ADMIN, "company_id": world.procore_company_id, "project_id": world.project_id}
    try:
        procore_sandbox._post("/_sandbox/permissions", {**grant, "tool": tool, "level": "Standard"})
        procore_sandbox._post("/_sandbox/permissions", {**grant, "tool": "admin", "level": "Standard"})
        html = signed_in.get(f"/integrations/new?folder_id={folder_id}").get_data(as_text=True)
        row = re.search(r"Hospital Regional Ñuñoa.*?</tr>", html, re.S).group(0)
        assert label in row and "Admin en la herramienta Admin del proyecto" in row
        assert f"project_id={world.project_id}" not in html
        procore_sandbox._post("/_sandbox/permissions", {**grant, "tool": "admin", "level": "Admin"})
        response = signed_in.post("/integrations/", data={"folder_id": folder_id, "project_id": world.project_id,
                                                          "album_ids": "1", "area_ids": "1",
                                                          "csrf_token": csrf_token(signed_in)})
        assert response.status_code == 302 and "integrations/new" in response.headers["Location"]
        page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
        assert label in page and "Admin en la herramienta Admin del proyecto" not in page
    finally:
        procore_sandbox._post("/_sandbox/permissions", {**grant, "tool": "admin", "level": "Admin"})
        procore_sandbox._post("/_sandbox/permissions", {**grant, "tool": tool, "level": "Admin"})
    assert _integration(app, db) is None


def test_albums_with_counts_import_and_import_again(app, db, procore_sandbox, world, signed_in):
    """R3: albums with their photo counts, Unclassified included; Import runs in the background into
    Imágenes/Procore; importing again from the same project adds to the same integration."""
    procore = Procore(procore_sandbox, world)
    by_name = albums(procore)
    html = signed_in.get(f"/integrations/new?folder_id={world.photos_id}&project_id={world.project_id}").get_data(
        as_text=True)
    assert "Fotos de Procore → Imágenes/Procore" in html and 'name="folder_ids"' not in html
    for name, count in (("Unclassified", "1 foto"), ("Avance de obra", "3 fotos"), ("Seguridad", "2 fotos"),
                        ("Fachada norte", "2 fotos")):
        row = re.search(r'name="album_ids" value="%d".*?</tr>' % by_name[name]["id"], html, re.S).group(0)
        assert name in row and count in row
    empty = signed_in.post("/integrations/", data={"folder_id": world.photos_id, "project_id": world.project_id,
                                                   "csrf_token": csrf_token(signed_in)})
    assert empty.status_code == 302 and "Elija al menos un álbum" in signed_in.get(
        empty.headers["Location"]).get_data(as_text=True)
    chosen = [by_name["Unclassified"]["id"], by_name["Avance de obra"]["id"]]
    response = signed_in.post("/integrations/", data={"folder_id": world.photos_id, "project_id": world.project_id,
                                                      "album_ids": chosen, "csrf_token": csrf_token(signed_in)})
    assert response.status_code == 302
    integration = _integration(app, db)
    assert (integration.tool, integration.selections) == ("photos", {"albums": sorted(chosen)})
    burst(app)
    show = signed_in.get(f"/integrations/{integration.id}").get_data(as_text=True)
    assert "Fotos de Procore → Imágenes/Procore" in show and "Documentos/Procore" not in show
    listing = signed_in.get("/integrations/").get_data(as_text=True)
    assert "Fotos de Procore" in listing and "Imágenes/Procore" in listing
    assert cbox_tree(app, db, _integration(app, db).procore_folder_id) == photo_tree(procore, chosen)

    again = signed_in.get(f"/integrations/new?folder_id={world.photos_id}&project_id={world.project_id}").get_data(
        as_text=True)
    assert re.search(r'value="%d" checked disabled' % by_name["Avance de obra"]["id"], again)
    signed_in.post("/integrations/", data={"folder_id": world.photos_id, "project_id": world.project_id,
                                           "album_ids": [by_name["Seguridad"]["id"]],
                                           "csrf_token": csrf_token(signed_in)})
    extended = _integration(app, db)
    assert extended.id == integration.id
    assert extended.selections == {"albums": sorted([*chosen, by_name["Seguridad"]["id"]])}
    burst(app)
    assert cbox_tree(app, db, extended.procore_folder_id) == photo_tree(procore, extended.selections["albums"])


@pytest.mark.keeps_sandbox
def test_areas_and_disciplines_are_checkboxes(app, db, procore_sandbox, world, signed_in):
    """R3, R16, R17: the default area (named after the project) and the disciplines are offered; the chosen
    ones become the integration's selection; no area chosen is refused."""
    procore = Procore(procore_sandbox, world)
    (area,) = areas(procore).values()
    html = signed_in.get(f"/integrations/new?folder_id={world.drawings_id}&project_id={world.project_id}").get_data(
        as_text=True)
    assert "Planos de Procore → Planos/Procore" in html
    assert re.search(r'name="area_ids" value="%d"' % area["id"], html) and "Hospital Regional Ñuñoa" in html
    disciplines = {d["name"]: d["id"] for d in procore.get(
        f"/rest/v1.1/projects/{world.project_id}/drawing_disciplines")}
    for name, discipline_id in disciplines.items():
        assert re.search(r'name="discipline_ids" value="%d"> %s' % (discipline_id, name), html)
    refused = signed_in.post("/integrations/", data={"folder_id": world.drawings_id, "project_id": world.project_id,
                                                     "discipline_ids": [disciplines["Arquitectura"]],
                                                     "csrf_token": csrf_token(signed_in)})
    assert "Elija al menos un área" in signed_in.get(refused.headers["Location"]).get_data(as_text=True)
    assert _integration(app, db) is None
    response = signed_in.post("/integrations/", data={
        "folder_id": world.drawings_id, "project_id": world.project_id, "area_ids": [area["id"]],
        "discipline_ids": [disciplines["Arquitectura"]], "csrf_token": csrf_token(signed_in)})
    assert response.status_code == 302
    integration = _integration(app, db)
    assert (integration.tool, integration.selections) == (
        "drawings", {"areas": [area["id"]], "disciplines": [disciplines["Arquitectura"]]})
    assert signed_in.get(f"/integrations/tree?folder_id={world.drawings_id}&project_id={world.project_id}"
                         f"&procore_folder_id=1").status_code == 404  # the Documents tree is not for Planos
