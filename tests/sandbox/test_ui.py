"""Sandbox web UI (/ui/): real HTTP against the sandbox subprocess with requests.Session.

Every UI mutation must go through the service layer, so it is visible through the REST
API and records the same change events (with application_id None: a human in the UI).
"""
from __future__ import annotations

import html
import re
from urllib.parse import urljoin

import pytest
import requests

ADMIN = "admin@constructora.test"
STANDARD = "estandar@constructora.test"
READER = "lector@constructora.test"

_FLASH = re.compile(r'<div class="flash (success|error|info)">.*?<span>(.*?)</span></div>', re.S)


class Ui:
    """A browser stand-in: cookie session, CSRF token, POST/redirect/GET with flashes."""

    def __init__(self, sb):
        self.sb = sb
        self.http = requests.Session()
        self.csrf = None
        self.user_ids = {u["login"]: u["id"] for u in sb.state()["users"]}

    def url(self, path: str) -> str:
        return urljoin(self.sb.url, path)

    def login(self, login: str) -> "Ui":
        r = self.http.get(self.url("/ui/login"), timeout=30)
        assert r.status_code == 200
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
        r = self.http.post(self.url("/ui/login"), data={"csrf_token": self.csrf, "user_id": self.user_ids[login]},
                           allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text
        assert self.get(r.headers["Location"]).status_code == 200  # consumes the welcome flash
        return self

    def get(self, path: str, **kw) -> requests.Response:
        return self.http.get(self.url(path), timeout=30, **kw)

    def post(self, path: str, data=None, files=None) -> tuple[list[tuple[str, str]], str]:
        """POST a form; follow the redirect; return (flashes, page html)."""
        body = dict(data or {})
        body["csrf_token"] = self.csrf
        r = self.http.post(self.url(path), data=body, files=files, allow_redirects=False, timeout=30)
        assert r.status_code == 302, f"{r.status_code}: {r.text[:500]}"
        page = self.get(r.headers["Location"])
        assert page.status_code == 200, page.text[:500]
        return flashes(page.text), page.text


def flashes(text: str) -> list[tuple[str, str]]:
    return [(cat, html.unescape(msg)) for cat, msg in _FLASH.findall(text)]


def only_flash(fl, category: str) -> str:
    assert len(fl) == 1 and fl[0][0] == category, fl
    return fl[0][1]


# One reset for the whole module (seeding every tool takes seconds): the tests below do not
# depend on each other's changes (they only look at events recorded after their own start).

class World:
    def __init__(self, sb):
        st = sb.state()
        self.companies = {c["name"]: c["id"] for c in st["companies"]}
        self.projects = {p["name"]: p["id"] for c in st["companies"] for p in c["projects"]}
        self.users = {u["login"]: u["id"] for u in st["users"]}
        self.alamos = self.projects["Edificio Los Álamos"]
        self.rio_claro = self.projects["Puente Río Claro"]


class Rest:
    """The REST API as an OAuth client (Bearer + Procore-Company-Id), to check the UI's effects."""

    def __init__(self, sb, login, company_id):
        self.sb = sb
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {sb.token(login)['access_token']}",
                                  "Procore-Company-Id": str(company_id)})

    def get(self, path, **kw):
        return self.http.get(self.sb.url + path, timeout=30, allow_redirects=False, **kw)


@pytest.fixture(scope="module")
def ui_world(sandbox_server):
    sandbox_server.reset()
    return World(sandbox_server)


@pytest.fixture()
def sb(sandbox_server, ui_world):
    return sandbox_server


@pytest.fixture()
def world(ui_world):
    return ui_world


@pytest.fixture(scope="module")
def admin(sandbox_server, ui_world):
    return Rest(sandbox_server, ADMIN, ui_world.companies["Constructora Demo"])


@pytest.fixture()
def ui(sb):
    return Ui(sb)


def new_events(sb, since: int, project_id: int) -> list[dict]:
    return sb.events(after_id=since, project_id=project_id)


def last_event_id(sb) -> int:
    ev = sb.events()
    return ev[-1]["id"] if ev else 0


def root(admin, project_id) -> dict:
    r = admin.get("/rest/v1.0/folders", params={"project_id": project_id})
    assert r.status_code == 200
    return r.json()


def child(folder_json: dict, name: str, kind: str = "folders") -> dict:
    return next(x for x in folder_json[kind] if x["name"] == name)


# --- access -----------------------------------------------------------------------------

def test_login_required_csrf_and_home(sb, ui, world):
    r = ui.get("/ui/", allow_redirects=False)
    assert r.status_code == 302 and "/ui/login" in r.headers["Location"]
    ui.login(ADMIN)
    home = ui.get("/ui/")
    assert "Constructora Demo" in home.text and "Edificio Los Álamos" in home.text
    assert "Condominio Vista Sur" in home.text  # admin is in both companies
    # the UI cookie must not clobber the portal's "session" cookie on the same host
    assert "procore_sandbox_ui" in ui.http.cookies and "session" not in ui.http.cookies
    # POST without the CSRF token is refused and changes nothing
    before = last_event_id(sb)
    r = ui.http.post(ui.url(f"/ui/projects/{world.alamos}/documents/folders"), data={"name": "X"},
                     allow_redirects=False)
    assert r.status_code == 400 and "CSRF" in r.text
    assert new_events(sb, before, world.alamos) == []


def test_non_member_and_no_company(sb, ui, world):
    ui.login(STANDARD)
    r = ui.get(f"/ui/projects/{world.rio_claro}/documents")  # Standard is not on Puente Río Claro
    assert r.status_code == 403 and "no es miembro" in html.unescape(r.text)
    r = ui.get(f"/ui/projects/{world.projects['Condominio Vista Sur']}/documents")
    assert r.status_code == 403
    home = ui.get("/ui/")
    assert "Puente Río Claro" not in home.text and "Edificio Los Álamos" in home.text


# --- documents --------------------------------------------------------------------------

def test_admin_creates_folder_and_uploads_file(sb, ui, world, admin):
    pid = world.alamos
    ui.login(ADMIN)
    since = last_event_id(sb)
    fl, page = ui.post(f"/ui/projects/{pid}/documents/folders", {"name": "Carpeta desde la UI ñ", "parent_id": ""})
    assert "creada" in only_flash(fl, "success")
    folder = child(root(admin, pid), "Carpeta desde la UI ñ")
    ev = new_events(sb, since, pid)
    assert [(e["resource_name"], e["event_type"], e["resource_id"]) for e in ev] == [
        ("Project Folders", "create", folder["id"])]
    assert ev[0]["user_id"] == world.users[ADMIN] and ev[0]["application_id"] is None

    since = ev[-1]["id"]
    data = b"contenido subido por la UI\n" * 10
    fl, page = ui.post(f"/ui/projects/{pid}/documents/files", {"parent_id": folder["id"], "description": "demo"},
                       files={"file": ("Acta reunión 01.txt", data, "text/plain")})
    assert "Acta reunión 01.txt" in only_flash(fl, "success")
    assert "Acta reunión 01.txt" in html.unescape(page)  # back in the folder, the file is listed
    r = admin.get(f"/rest/v1.0/folders/{folder['id']}", params={"project_id": pid})
    f = child(r.json(), "Acta reunión 01.txt", "files")
    assert f["size"] == len(data) and f["description"] == "demo" and len(f["file_versions"]) == 1
    ev = new_events(sb, since, pid)
    assert [(e["resource_name"], e["event_type"], e["resource_id"]) for e in ev] == [
        ("Project Files", "create", f["id"])]
    assert ev[0]["application_id"] is None

    # the UI download goes through the signed storage redirect, content intact
    page = ui.get(f"/ui/projects/{pid}/documents/files/{f['id']}")
    assert page.status_code == 200 and "Versiones" in page.text
    vid = f["file_versions"][0]["id"]
    r = ui.get(f"/ui/projects/{pid}/documents/versions/{vid}/download", allow_redirects=False)
    assert r.status_code == 302 and "/_storage/blobs/" in r.headers["Location"]
    assert requests.get(r.headers["Location"], timeout=30).content == data

    # a name clash is a clear error, unless "unique name" is ticked
    fl, _ = ui.post(f"/ui/projects/{pid}/documents/files", {"parent_id": folder["id"]},
                    files={"file": ("Acta reunión 01.txt", b"x", "text/plain")})
    assert "already been taken" in only_flash(fl, "error")
    fl, _ = ui.post(f"/ui/projects/{pid}/documents/files", {"parent_id": folder["id"], "unique_name": "1"},
                    files={"file": ("Acta reunión 01.txt", b"x", "text/plain")})
    assert "Acta reunión 01 (1).txt" in only_flash(fl, "success")


def test_version_rename_move_delete_restore_record_events(sb, ui, world, admin):
    pid = world.alamos
    ui.login(ADMIN)
    top = root(admin, pid)
    informes = child(top, "04 Informes Técnicos")
    contratos = child(top, "02 Contratos")
    r = admin.get(f"/rest/v1.0/folders/{informes['id']}", params={"project_id": pid})
    csv = child(r.json(), "Informe mensual Enero.csv", "files")
    fid = csv["id"]

    def step(path, data=None, files=None):
        since = last_event_id(sb)
        fl, _page = ui.post(path, data, files)
        assert fl and fl[0][0] == "success", fl
        evs = new_events(sb, since, pid)
        assert evs and all(e["application_id"] is None and e["user_id"] == world.users[ADMIN] for e in evs)
        return [(e["resource_name"], e["event_type"], e["resource_id"]) for e in evs]

    base = f"/ui/projects/{pid}/documents"
    evs = step(f"{base}/files/{fid}/versions", {"notes": "corregido"},
               files={"file": ("x.csv", b"partida;cantidad\nA;1\n", "text/csv")})
    assert [e[:2] for e in evs] == [("Project File Versions", "create"), ("Project Files", "update")]
    r = admin.get(f"/rest/v1.0/files/{fid}", params={"project_id": pid}).json()
    assert len(r["file_versions"]) == 2 and r["file_versions"][0]["notes"] == "corregido"

    assert step(f"{base}/file/{fid}/rename", {"name": "Informe Enero (rev).csv"}) == [("Project Files", "update", fid)]
    assert step(f"{base}/file/{fid}/move", {"parent_id": contratos["id"]}) == [("Project Files", "update", fid)]
    r = admin.get(f"/rest/v1.0/files/{fid}", params={"project_id": pid}).json()
    assert r["name"] == "Informe Enero (rev).csv" and r["parent_id"] == contratos["id"]

    assert step(f"{base}/file/{fid}/delete") == [("Project Files", "delete", fid)]
    assert admin.get(f"/rest/v1.0/files/{fid}", params={"project_id": pid}).json()["is_deleted"] is True
    bin_page = ui.get(f"{base}/recycle-bin")
    assert bin_page.status_code == 200 and "Informe Enero (rev).csv" in html.unescape(bin_page.text)
    assert step(f"{base}/file/{fid}/restore") == [("Project Files", "update", fid)]
    r = admin.get(f"/rest/v1.0/files/{fid}", params={"project_id": pid}).json()
    assert r["is_deleted"] is False and r["parent_id"] == contratos["id"]

    # folders: rename, move into another folder, delete (subtree) and restore
    fold = informes["id"]
    assert step(f"{base}/folder/{fold}/rename", {"name": "04 Informes"}) == [("Project Folders", "update", fold)]
    assert step(f"{base}/folder/{fold}/move", {"parent_id": contratos["id"]}) == [("Project Folders", "update", fold)]
    assert step(f"{base}/folder/{fold}/delete") == [("Project Folders", "delete", fold)]
    assert step(f"{base}/folder/{fold}/restore") == [("Project Folders", "update", fold)]
    r = admin.get(f"/rest/v1.0/folders/{fold}", params={"project_id": pid}).json()
    assert r["name"] == "04 Informes" and r["parent_id"] == contratos["id"] and len(r["files"]) == 3

    # moving a folder into itself is refused with a message, nothing recorded
    since = last_event_id(sb)
    fl, _ = ui.post(f"{base}/folder/{contratos['id']}/move", {"parent_id": fold})
    assert "into itself" in only_flash(fl, "error")
    assert new_events(sb, since, pid) == []


def test_standard_user_cannot_delete_but_can_upload(sb, ui, world, admin):
    pid = world.alamos
    ui.login(STANDARD)
    leame = child(root(admin, pid), "Léame.txt", "files")
    since = last_event_id(sb)
    fl, page = ui.post(f"/ui/projects/{pid}/documents/file/{leame['id']}/delete")
    msg = only_flash(fl, "error")
    assert "Permiso insuficiente" in msg and "Admin" in msg and "Standard" in msg
    fl, _ = ui.post(f"/ui/projects/{pid}/documents/file/{leame['id']}/rename", {"name": "otro.txt"})
    assert "Permiso insuficiente" in only_flash(fl, "error")
    assert new_events(sb, since, pid) == []
    assert admin.get(f"/rest/v1.0/files/{leame['id']}", params={"project_id": pid}).json()["is_deleted"] is False
    # the Recycle Bin is for Documents Admins only
    r = ui.get(f"/ui/projects/{pid}/documents/recycle-bin")
    assert r.status_code == 403 and "Permiso insuficiente" in html.unescape(r.text)
    # Standard may create
    fl, _ = ui.post(f"/ui/projects/{pid}/documents/files", {"parent_id": ""},
                    files={"file": ("nota estandar.txt", b"hola", "text/plain")})
    assert only_flash(fl, "success")
    ev = new_events(sb, since, pid)
    assert [(e["resource_name"], e["event_type"], e["user_id"]) for e in ev] == [
        ("Project Files", "create", world.users[STANDARD])]


def test_read_only_user_cannot_upload(sb, ui, world):
    pid = world.alamos
    ui.login(READER)
    assert ui.get(f"/ui/projects/{pid}/documents").status_code == 200
    since = last_event_id(sb)
    fl, _ = ui.post(f"/ui/projects/{pid}/documents/files", {"parent_id": ""},
                    files={"file": ("x.txt", b"x", "text/plain")})
    assert "Permiso insuficiente" in only_flash(fl, "error")
    assert new_events(sb, since, pid) == []


def _marked_private(page: str, item_id: int) -> bool:
    """The row of that folder/file carries the small "Privada"/"Privado" marker."""
    m = re.search(rf'<tr class="row-(?:folder|file)" data-id="{item_id}">(.*?)</tr>', page, re.S)
    assert m, f"no row for {item_id}"
    return re.search(r'<span class="pill gray"[^>]*>Privad[ao]</span>', m.group(1)) is not None


def test_private_folder_toggle_and_visibility(sb, ui, world, admin):
    pid = world.alamos
    base = f"/ui/projects/{pid}/documents"
    ui.login(ADMIN)
    # the seeded private folder carries the marker for an Admin
    seeded = child(root(admin, pid), "06 Confidencial")
    assert _marked_private(ui.get(base).text, seeded["id"])
    assert not _marked_private(ui.get(base).text, child(root(admin, pid), "02 Contratos")["id"])

    since = last_event_id(sb)
    fl, page = ui.post(f"{base}/folders", {"name": "Privada desde la UI", "parent_id": "", "private": "1"})
    assert "creada como privada" in only_flash(fl, "success")
    folder = child(root(admin, pid), "Privada desde la UI")
    assert folder["private"] is True and _marked_private(page, folder["id"])
    assert [(e["resource_name"], e["event_type"], e["resource_id"]) for e in new_events(sb, since, pid)] == [
        ("Project Folders", "create", folder["id"])]

    # toggle: not private, then private again; one "update" event each, as a human in the UI
    for flag, word in (("0", "ya no es privada"), ("1", "marcada como privada")):
        since = last_event_id(sb)
        fl, page = ui.post(f"{base}/folder/{folder['id']}/private", {"private": flag, "next": base})
        assert word in only_flash(fl, "success")
        assert child(root(admin, pid), "Privada desde la UI")["private"] is (flag == "1")
        assert _marked_private(page, folder["id"]) is (flag == "1")
        ev = new_events(sb, since, pid)
        assert [(e["resource_name"], e["event_type"], e["resource_id"], e["application_id"]) for e in ev] == [
            ("Project Folders", "update", folder["id"], None)]
    # a file can be made private too (from its page)
    leame = child(root(admin, pid), "Léame.txt", "files")
    fl, page = ui.post(f"{base}/file/{leame['id']}/private",
                       {"private": "1", "next": f"{base}/files/{leame['id']}"})
    assert "marcado como privado" in only_flash(fl, "success")
    assert "Privado" in html.unescape(page)

    # a Standard user sees none of it, and cannot reach it by id
    std = Ui(sb).login(STANDARD)
    page = html.unescape(std.get(base).text)
    assert "02 Contratos" in page
    assert "06 Confidencial" not in page and "Privada desde la UI" not in page and "Léame.txt" not in page
    assert std.get(f"{base}?folder={folder['id']}").status_code == 404
    assert std.get(f"{base}/files/{leame['id']}").status_code == 404
    vid = leame["file_versions"][0]["id"]
    assert std.get(f"{base}/versions/{vid}/download", allow_redirects=False).status_code == 404
    since = last_event_id(sb)
    fl, _ = std.post(f"{base}/folder/{folder['id']}/private", {"private": "0"})
    assert "not found" in only_flash(fl, "error")
    contratos = child(root(admin, pid), "02 Contratos")
    fl, _ = std.post(f"{base}/folder/{contratos['id']}/private", {"private": "1"})
    assert "Permiso insuficiente" in only_flash(fl, "error")
    fl, _ = std.post(f"{base}/folders", {"name": "Intento privado", "parent_id": "", "private": "1"})
    assert "Permiso insuficiente" in only_flash(fl, "error")
    assert new_events(sb, since, pid) == []
    # visible again: the Standard user sees the file at once
    ui.post(f"{base}/file/{leame['id']}/private", {"private": "0"})
    assert std.get(f"{base}/files/{leame['id']}").status_code == 200


# --- photos -----------------------------------------------------------------------------

def _png(seed: int = 1) -> bytes:
    from sandbox.photos.media import make_png
    return make_png(8, 6, lambda x, y: ((seed * 40 + x * 20) % 256, (y * 30) % 256, 120))


def _albums(admin, pid) -> dict:
    r = admin.get("/rest/v1.0/image_categories", params={"project_id": pid})
    assert r.status_code == 200, r.text
    return {a["name"]: a for a in r.json()}


def _image(admin, pid, image_id) -> dict:
    return admin.get(f"/rest/v1.0/images/{image_id}", params={"project_id": pid})


def test_photos_album_upload_move_delete_retrieve(sb, ui, world, admin):
    pid = world.alamos
    ui.login(ADMIN)
    page = ui.get(f"/ui/projects/{pid}/photos")
    assert page.status_code == 200 and "Avance de obra" in page.text

    def step(path, data=None, files=None, ok=True):
        since = last_event_id(sb)
        fl, _ = ui.post(path, data, files)
        assert fl and fl[0][0] == ("success" if ok else "error"), fl
        evs = new_events(sb, since, pid)
        assert all(e["application_id"] is None and e["user_id"] == world.users[ADMIN] for e in evs)
        return fl[0][1], [(e["resource_name"], e["event_type"], e["resource_id"]) for e in evs]

    base = f"/ui/projects/{pid}/photos"
    msg, evs = step(f"{base}/albums", {"name": "Instalaciones UI"})
    album = _albums(admin, pid)["Instalaciones UI"]
    assert evs == [("Image Categories", "create", album["id"])]

    png = _png()
    msg, evs = step(f"{base}/images", {"album_id": album["id"], "description": "tablero"},
                    files={"file": ("Tablero eléctrico.png", png, "image/png")})
    assert "Tablero eléctrico.png" in msg
    assert [e[:2] for e in evs] == [("Images", "create")]
    img_id = evs[0][2]
    img = _image(admin, pid, img_id).json()
    assert img["image_category_id"] == album["id"] and img["filename"] == "Tablero eléctrico.png"
    assert img["width"] == 8 and img["height"] == 6
    raw = ui.get(f"{base}/images/{img_id}/file")
    assert raw.status_code == 200 and raw.content == png and raw.headers["Content-Type"] == "image/png"

    unclassified = _albums(admin, pid)["Unclassified"]
    msg, evs = step(f"{base}/images/{img_id}/move", {"album_id": unclassified["id"]})
    assert evs == [("Images", "update", img_id)]
    assert _image(admin, pid, img_id).json()["image_category_id"] == unclassified["id"]

    msg, evs = step(f"{base}/images/{img_id}/delete")
    assert evs == [("Images", "delete", img_id)] and "Papelera" in msg
    assert str(img_id) in ui.get(f"{base}/recycle-bin").text
    msg, evs = step(f"{base}/images/{img_id}/retrieve")
    assert evs == [("Images", "update", img_id)] and "Unclassified" in msg

    # deleting an album: one album event, its photos go to the recycle bin
    msg, evs = step(f"{base}/images/{img_id}/move", {"album_id": album["id"]})
    msg, evs = step(f"{base}/albums/{album['id']}/delete")
    assert evs == [("Image Categories", "delete", album["id"])] and "1 foto enviada" in msg
    assert "Instalaciones UI" not in _albums(admin, pid)
    bin_page = ui.get(f"{base}/recycle-bin")
    assert "Tablero eléctrico.png" in html.unescape(bin_page.text) and "eliminado" in bin_page.text
    msg, evs = step(f"{base}/images/{img_id}/retrieve")  # album gone -> Unclassified
    assert "Unclassified" in msg

    # the Unclassified album cannot be deleted; a non-image is refused
    msg, evs = step(f"{base}/albums/{unclassified['id']}/delete", ok=False)
    assert "cannot be deleted" in msg and evs == []
    msg, evs = step(f"{base}/images", {"album_id": unclassified["id"]},
                    files={"file": ("nota.txt", b"no soy una foto", "text/plain")}, ok=False)
    assert "not a supported image" in msg and evs == []


def test_photos_standard_user(sb, ui, world, admin):
    pid = world.alamos
    ui.login(STANDARD)
    albums = _albums(admin, pid)
    seguridad, avance = albums["Seguridad"], albums["Avance de obra"]
    since = last_event_id(sb)
    fl, _ = ui.post(f"/ui/projects/{pid}/photos/images", {"album_id": seguridad["id"]},
                    files={"file": ("mi foto.png", _png(3), "image/png")})
    assert only_flash(fl, "success")
    evs = new_events(sb, since, pid)
    assert [(e["resource_name"], e["event_type"], e["user_id"]) for e in evs] == [
        ("Images", "create", world.users[STANDARD])]
    mine = evs[0]["resource_id"]
    # Standard may move their own photo ...
    fl, _ = ui.post(f"/ui/projects/{pid}/photos/images/{mine}/move", {"album_id": avance["id"]})
    assert only_flash(fl, "success")
    # ... but not delete it, nor move photos uploaded by others
    since = last_event_id(sb)
    fl, _ = ui.post(f"/ui/projects/{pid}/photos/images/{mine}/delete")
    assert "Permiso insuficiente" in only_flash(fl, "error")
    others = admin.get("/rest/v1.0/images", params={"project_id": pid, "image_category_id": avance["id"]}).json()
    other = next(i for i in others if i["id"] != mine)
    fl, _ = ui.post(f"/ui/projects/{pid}/photos/images/{other['id']}/move", {"album_id": seguridad["id"]})
    assert "Permiso insuficiente" in only_flash(fl, "error")
    assert new_events(sb, since, pid) == []
    assert ui.get(f"/ui/projects/{pid}/photos/recycle-bin").status_code == 403


# --- drawings ---------------------------------------------------------------------------

def _revisions(admin, pid, **params) -> list[dict]:
    r = admin.get(f"/rest/v1.0/projects/{pid}/drawing_revisions", params={"per_page": 1000, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_drawings_revision_upload_and_publish(sb, ui, world, admin):
    from sandbox.documents.seed import tiny_pdf
    pid = world.alamos
    ui.login(ADMIN)
    page = ui.get(f"/ui/projects/{pid}/drawings")
    assert page.status_code == 200
    area_id = int(re.search(r'name="area_id" value="(\d+)"', page.text).group(1))
    a101 = next(r for r in _revisions(admin, pid) if r["number"] == "A-101" and r["current"])
    did, old_current = a101["drawing_id"], a101["id"]
    sets = admin.get(f"/rest/v1.0/projects/{pid}/drawing_sets").json()

    # 1. upload a new revision (not published yet)
    since = last_event_id(sb)
    fl, _ = ui.post(f"/ui/projects/{pid}/drawings/uploads",
                    {"drawing_id": did, "area_id": area_id, "set_id": sets[-1]["id"], "revision_number": "C",
                     "drawing_date": "2024-10-01", "publish": "0"},
                    files={"file": ("A-101 rev C.pdf", tiny_pdf("A-101 rev C"), "application/pdf")})
    assert "A-101 rev C" in only_flash(fl, "success")
    evs = new_events(sb, since, pid)
    assert [(e["resource_name"], e["event_type"]) for e in evs] == [("Drawing Uploads", "create"),
                                                                    ("Drawing Revisions", "create")]
    assert all(e["application_id"] is None and e["user_id"] == world.users[ADMIN] for e in evs)
    new_rev = evs[-1]["resource_id"]
    revs = {r["id"]: r for r in _revisions(admin, pid, drawing_id=did)}
    assert revs[new_rev]["status"] != "published" and revs[new_rev]["current"] is False
    assert revs[old_current]["current"] is True

    # 2. publish it: it becomes current, the previous one is no longer current
    since = last_event_id(sb)
    fl, _ = ui.post(f"/ui/projects/{pid}/drawings/revisions/{new_rev}/publish")
    assert "publicada" in only_flash(fl, "success")
    evs = {(e["resource_name"], e["event_type"], e["resource_id"]) for e in new_events(sb, since, pid)}
    assert {("Drawing Revisions", "update", new_rev), ("Drawing Revisions", "update", old_current),
            ("Drawings", "update", did)} <= evs
    revs = {r["id"]: r for r in _revisions(admin, pid, drawing_id=did)}
    assert revs[new_rev]["current"] is True and revs[new_rev]["status"] == "published"
    assert revs[old_current]["current"] is False
    detail = ui.get(f"/ui/projects/{pid}/drawings/{did}")
    assert detail.status_code == 200 and "Actual" in detail.text and "Reemplazada" in detail.text
    r = ui.get(f"/ui/projects/{pid}/drawings/revisions/{new_rev}/pdf", allow_redirects=False)
    assert r.status_code == 302 and requests.get(r.headers["Location"], timeout=30).content.startswith(b"%PDF")

    # 3. a brand-new drawing in a new set, uploaded and published at once
    since = last_event_id(sb)
    fl, _ = ui.post(f"/ui/projects/{pid}/drawings/uploads",
                    {"area_id": area_id, "new_set": "Addendum UI", "revision_number": "0", "publish": "1"},
                    files={"file": ("A-900 Detalle escalera.pdf", tiny_pdf("A-900"), "application/pdf")})
    assert "publicado" in only_flash(fl, "success")
    kinds = [(e["resource_name"], e["event_type"]) for e in new_events(sb, since, pid)]
    assert ("Drawing Sets", "create") in kinds and ("Drawings", "create") in kinds
    a900 = [r for r in _revisions(admin, pid) if r["number"] == "A-900"]
    assert len(a900) == 1 and a900[0]["current"] is True and a900[0]["title"] == "Detalle escalera"

    # 4. a non-PDF is refused; a Standard user may not upload nor publish
    fl, _ = ui.post(f"/ui/projects/{pid}/drawings/uploads",
                    {"drawing_id": did, "area_id": area_id, "set_id": sets[-1]["id"], "publish": "0"},
                    files={"file": ("plano.pdf", b"not a pdf", "application/pdf")})
    assert "PDF" in only_flash(fl, "error")
    ui.login(STANDARD)
    since = last_event_id(sb)
    fl, _ = ui.post(f"/ui/projects/{pid}/drawings/uploads",
                    {"drawing_id": did, "area_id": area_id, "set_id": sets[-1]["id"], "publish": "1"},
                    files={"file": ("x.pdf", tiny_pdf("x"), "application/pdf")})
    assert "Permiso insuficiente" in only_flash(fl, "error")
    assert new_events(sb, since, pid) == []
    assert "Subir planos" in ui.get(f"/ui/projects/{pid}/drawings").text


def test_webhooks_tab_shows_hooks_and_events(sb, ui, world):
    pid = world.alamos
    ui.login(ADMIN)
    page = ui.get(f"/ui/projects/{pid}/webhooks")
    assert page.status_code == 200 and "otra-app-sync" in page.text
    ui.post(f"/ui/projects/{pid}/documents/folders", {"name": "Para el webhook", "parent_id": ""})
    page = ui.get(f"/ui/projects/{pid}/webhooks")
    assert "Project Folders" in page.text and 'class="row-event"' in page.text
    ui.login(STANDARD)  # Standard on the project's Admin tool: same rule as the hooks API
    r = ui.get(f"/ui/projects/{pid}/webhooks")
    assert r.status_code == 403 and "Admin" in r.text
