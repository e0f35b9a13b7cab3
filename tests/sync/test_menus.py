"""The "⋯" menus of cBox pages never lead to a 404 (SPEC R3, R7): "Importar desde… › Procore" only on the
categorized folders of a synced tool, "Procore › Actualizar" only where an integration writes (the categorized
folder holding it, its "Procore" folder and everything below, local folders there included), never on plain
local folders. The test follows every menu link and posts every Procore menu form of several pages."""
from __future__ import annotations

import html as htmllib
import re
from types import SimpleNamespace

import pytest

from tests.conftest import csrf_token
from tests.sync.helpers import Procore, make_world
from tests.sync.test_import_documents import procore_folder, run_job, start

MENU = re.compile(r'<details class="cbox-menu">.*?<summary aria-label="([^"]*)".*?</details>', re.S)
LINK = re.compile(r'<a role="menuitem" href="([^"]+)">([^<]*)')
FORM = re.compile(r'<form method="post" action="([^"]+)" class="cbox-menu-form">(.*?)</form>', re.S)
FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
IMPORT, REFRESH = "Importar desde…", "Procore › Actualizar"


@pytest.fixture
def world(app, db, procore_sandbox):
    return make_world(app, db, procore_sandbox)


def _menus(page: str) -> dict[str, tuple[list, list]]:
    """{menu label: ([(href, text)], [(action, {field: value}, button text)])} of one page."""
    out = {}
    for match in MENU.finditer(page):
        block = match.group(0)
        links = [(htmllib.unescape(href), text.strip()) for href, text in LINK.findall(block)]
        forms = [(htmllib.unescape(action), dict(FIELD.findall(body)), re.sub(r"<[^>]+>", "", body).strip())
                 for action, body in FORM.findall(block)]
        out[htmllib.unescape(match.group(1))] = (links, forms)
    return out


def _offers(menu) -> set[str]:
    links, forms = menu
    return {IMPORT for _, text in links if text.startswith(IMPORT)} | {
        REFRESH for *_, text in forms if REFRESH in text}


@pytest.mark.keeps_sandbox
def test_every_menu_link_on_cbox_pages_leads_somewhere(app, db, procore_sandbox, world, client, login_as):
    from portal.cbox import store
    from portal.models import CboxFolder

    procore = Procore(procore_sandbox, world)
    contratos = procore.child("02 Contratos")
    integration_id, run_id = start(app, db, world, folders=[contratos["id"]])
    assert run_job(app, run_id) == "done"
    root = procore_folder(app, db, integration_id)
    with app.app_context():
        documents = db.session.get(CboxFolder, world.documents_id)
        synced = store.find_child(db.session.get(CboxFolder, root), "02 Contratos")
        local = store.create_folder(documents, "Notas locales")
        inside = store.create_folder(synced, "Borrador local")
        db.session.commit()
        pages = {"project": f"/cbox/projects/{documents.project_id}", "Documentos": f"/cbox/folders/{documents.id}",
                 "Imágenes": f"/cbox/folders/{world.photos_id}", "Planos": f"/cbox/folders/{world.drawings_id}",
                 "Procore": f"/cbox/folders/{root}", "02 Contratos": f"/cbox/folders/{synced.id}",
                 "Notas locales": f"/cbox/folders/{local.id}", "Borrador local": f"/cbox/folders/{inside.id}"}
    login_as(SimpleNamespace(email="admin@demo.test"))

    offered, followed, posted = {}, set(), set()
    for page_name, path in pages.items():
        page = client.get(path)
        assert page.status_code == 200, path
        for label, menu in _menus(page.get_data(as_text=True)).items():
            offered[(page_name, label)] = _offers(menu)
            links, forms = menu
            for href, text in links:
                if href in followed:
                    continue
                followed.add(href)
                response = client.get(href)
                assert response.status_code not in (404, 405) and response.status_code < 500, (page_name, text, href)
            for action, fields, text in forms:
                key = (action, tuple(sorted(fields.items())))
                if key in posted:
                    continue
                posted.add(key)
                response = client.post(action, data={**fields, "csrf_token": csrf_token(client, path)})
                assert response.status_code == 302, (page_name, text, fields, response.status_code)

    def on(page_name, item):
        return offered[(page_name, f"Acciones para {item}")]

    # Import: on the categorized folders (all three tools are synced), nowhere else.
    assert on("project", "Documentos") == {IMPORT, REFRESH}
    assert on("project", "Imágenes") == on("project", "Planos") == {IMPORT}
    assert on("Documentos", "Documentos") == {IMPORT, REFRESH}
    assert on("Documentos", "Notas locales") == set(), "a plain local folder: neither entry"
    assert on("Notas locales", "Notas locales") == set()
    # Refresh: the "Procore" folder, everything below it (a local folder created there too) and its files.
    assert on("Documentos", "Procore") == on("Procore", "02 Contratos") == {REFRESH}
    assert on("02 Contratos", "Borrador local") == on("Borrador local", "Borrador local") == {REFRESH}
    files = [label for (page_name, label) in offered if page_name == "02 Contratos" and label.endswith(".pdf")]
    assert files and all(on("02 Contratos", label[len("Acciones para "):]) == {REFRESH} for label in files)
    assert any("integrations/new" in href for href in followed) and len(posted) >= 5


def test_covering_finds_the_integrations_above_a_folder(app, db, procore_sandbox, world):
    """Unit of the lookup behind the menus and "Procore › Actualizar": one query for many folders."""
    from portal.cbox import store
    from portal.models import CboxFolder
    from portal.sync import progress

    procore = Procore(procore_sandbox, world)
    integration_id, run_id = start(app, db, world, folders=[procore.child("02 Contratos")["id"]])
    assert run_job(app, run_id) == "done"
    root = procore_folder(app, db, integration_id)
    with app.app_context():
        documents = db.session.get(CboxFolder, world.documents_id)
        synced = store.find_child(db.session.get(CboxFolder, root), "02 Contratos")
        deep = store.create_folder(store.create_folder(synced, "a"), "b")
        local = store.create_folder(documents, "local")
        db.session.commit()
        found = progress.covering(world.company_id, [documents.id, root, synced.id, deep.id, local.id,
                                                     world.photos_id])
        assert found == {documents.id: {integration_id}, root: {integration_id}, synced.id: {integration_id},
                         deep.id: {integration_id}}
        assert progress.covering(world.company_id + 1, [deep.id]) == {}, "another company's integrations"
        assert [i.id for i in progress.integrations_for_folder(world.company_id, deep.id)] == [integration_id]
        assert progress.integrations_for_folder(world.company_id, local.id) == []
