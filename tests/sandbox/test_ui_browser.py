"""The sandbox web UI in headless Chromium: real clicks and file inputs, and screenshots of
every page in test-artifacts/sandbox-ui/ (look at them after UI changes)."""
from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.browser

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test-artifacts", "sandbox-ui")


@pytest.fixture
def page(browser, sandbox_server):
    """The suite's one Chromium (tests/conftest.py): a second sync Playwright in the same
    process is refused ("Sync API inside the asyncio loop")."""
    sandbox_server.reset()
    os.makedirs(OUT, exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def shot(pg, name: str, full: bool = True) -> None:
    pg.screenshot(path=os.path.join(OUT, f"{name}.png"), full_page=full)


def act_as(pg, sb, login: str) -> None:
    uid = next(u["id"] for u in sb.state()["users"] if u["login"] == login)
    pg.goto(sb.url + "/ui/login")
    pg.check(f"input[name=user_id][value='{uid}']")
    pg.click("button[type=submit]")


def flash(pg) -> str:
    return pg.locator(".flash").first.inner_text()


def test_ui_in_a_browser(page, sandbox_server, tmp_path):
    sb, pg = sandbox_server, page
    pid = sb.project_id("Edificio Los Álamos")
    pg.goto(sb.url + "/ui/")
    assert "/ui/login" in pg.url
    shot(pg, "01-login")
    act_as(pg, sb, "admin@constructora.test")
    assert "Edificio Los Álamos" in pg.content()
    shot(pg, "02-home")

    # documents: browse, create a folder, upload a file into it
    pg.click("a.pcard:has-text('Edificio Los Álamos')")
    assert pg.url.endswith(f"/ui/projects/{pid}/documents")
    shot(pg, "03-documents-root")
    pg.click("summary:has-text('Nueva carpeta')")
    pg.fill("details[open] input[name=name]", "Carpeta navegador")
    pg.click("details[open] button:has-text('Crear carpeta')")
    assert "Carpeta navegador" in flash(pg)
    pg.click("td.name a:has-text('Carpeta navegador')")
    sample = tmp_path / "Informe de prueba.txt"
    sample.write_text("hola desde Chromium\n", encoding="utf-8")
    pg.click("summary:has-text('Subir archivos')")
    shot(pg, "05-upload-popover", full=False)
    pg.set_input_files("details[open] input[type=file]", str(sample))
    pg.click("details[open] button[type=submit]")
    assert "Informe de prueba.txt" in flash(pg)
    shot(pg, "04-documents-folder")
    pg.locator("tr.row-file details.pop summary").first.click()
    shot(pg, "06-row-menu", full=False)
    pg.click("td.name a:has-text('Informe de prueba.txt')")
    shot(pg, "07-file")
    pg.click("aside button:has-text('Enviar a la Papelera')")
    assert "Papelera" in flash(pg)
    pg.goto(f"{sb.url}/ui/projects/{pid}/documents/recycle-bin")
    shot(pg, "08-bin")
    pg.locator("tr.row-bin:has-text('Informe de prueba.txt') button").click()
    assert "restaurado" in flash(pg)
    kinds = [(e["resource_name"], e["event_type"]) for e in sb.events(project_id=pid)]
    assert kinds[-4:] == [("Project Folders", "create"), ("Project Files", "create"),
                          ("Project Files", "delete"), ("Project Files", "update")]

    # the other tools (whatever modules this sandbox has)
    for path, name in (("photos", "09-photos"), ("drawings", "10-drawings"), ("webhooks", "11-webhooks")):
        resp = pg.goto(f"{sb.url}/ui/projects/{pid}/{path}")
        if resp.status == 404:
            continue
        assert resp.status == 200
        shot(pg, name)
        if path == "photos":
            pg.goto(f"{sb.url}/ui/projects/{pid}/photos/recycle-bin")
            shot(pg, "15-photos-bin")
            pg.goto(f"{sb.url}/ui/projects/{pid}/photos")
            pg.locator("nav a[data-album]").nth(1).click()
            pg.locator("figure.photo details summary").first.click()
            shot(pg, "16-photos-album-move", full=False)
        if path == "drawings":
            pg.click("summary:has-text('Subir planos')")
            shot(pg, "13-drawings-upload", full=False)
            pg.goto(f"{sb.url}/ui/projects/{pid}/drawings")
            pg.locator("tr.row-drawing a").first.click()
            shot(pg, "14-drawing-detail")

    # a Standard user is refused with a clear message; a non-member gets a 403 page
    act_as(pg, sb, "estandar@constructora.test")
    pg.goto(f"{sb.url}/ui/projects/{pid}/documents")
    pg.locator("tr.row-file details.pop summary").first.click()
    pg.locator("tr.row-file details[open] button.danger").click()
    assert "Permiso insuficiente" in flash(pg)
    shot(pg, "12-standard-refused")
    resp = pg.goto(f"{sb.url}/ui/projects/{sb.project_id('Puente Río Claro')}/documents")
    assert resp.status == 403
    shot(pg, "17-not-member")
    act_as(pg, sb, "lector@constructora.test")
    resp = pg.goto(f"{sb.url}/ui/projects/{pid}/photos")
    if resp.status != 404:
        assert resp.status == 403
        shot(pg, "18-reader-no-photos")
