"""Private Documents folders and files: only Documents Admins see them (the sandbox's stricter
reading). Everyone else gets them neither in listings nor in the flat index, and 404 (never 403)
on show, versions, downloads and writes, as for ids that do not exist."""
from __future__ import annotations

import pytest

STANDARD = "estandar@constructora.test"
READER = "lector@constructora.test"
DOCS_ADMIN = "sinadmin@constructora.test"  # Documents Admin without the project Admin tool

PRIVATE = "06 Confidencial"
SEEDED_PRIVATE_TREE = {
    "06 Confidencial": "folder",
    "06 Confidencial/Presupuesto reservado.csv": "file",
    "06 Confidencial/Acta directorio – confidencial.pdf": "file",
    "06 Confidencial/Recursos Humanos": "folder",
    "06 Confidencial/Recursos Humanos/Remuneraciones 2024.csv": "file",
    "06 Confidencial/Recursos Humanos/Evaluación de desempeño.txt": "file",
}


def _root(api, pid):
    r = api.get(f"/rest/v1.0/folders?project_id={pid}")
    assert r.status_code == 200, r.text
    return r.json()


def _names(folder: dict) -> set[str]:
    return {x["name"] for x in folder["folders"] + folder["files"]}


def _index(api, pid, query: str = "") -> list[dict]:
    r = api.get(f"/rest/v1.0/projects/{pid}/documents?per_page=1000{query}")
    assert r.status_code == 200, r.text
    assert int(r.headers["Total"]) == len(r.json())
    return r.json()


def _private_items(admin, pid) -> dict[str, dict]:
    """The seeded private subtree as the admin sees it in the index, by name_with_path."""
    items = {d["name_with_path"]: d for d in _index(admin, pid) if d["name_with_path"].startswith(PRIVATE)}
    assert {p: d["document_type"] for p, d in items.items()} == SEEDED_PRIVATE_TREE
    return items


def _hidden_urls(admin, pid, items) -> list[str]:
    """Every REST read of the private subtree: folders, files, versions and their download URLs."""
    urls = []
    for d in items.values():
        if d["document_type"] == "folder":
            urls.append(f"/rest/v1.0/folders/{d['id']}?project_id={pid}")
            continue
        urls.append(f"/rest/v1.0/files/{d['id']}?project_id={pid}")
        f = admin.get(f"/rest/v1.0/files/{d['id']}?project_id={pid}").json()
        for v in f["file_versions"]:
            urls += [f"/rest/v1.0/file_versions/{v['id']}?project_id={pid}", v["url"], v["prostore_file"]["url"]]
    return urls


def _assert_hidden(api, admin, pid, items):
    assert PRIVATE not in _names(_root(api, pid))
    ids = {d["id"] for d in items.values()}
    assert not ids & {d["id"] for d in _index(api, pid)}
    folder_id = items[PRIVATE]["id"]
    assert _index(api, pid, f"&filters[folder_id]={folder_id}") == []
    assert _index(api, pid, "&filters[search]=Remuneraciones") == []
    for url in _hidden_urls(admin, pid, items):
        r = api.get(url, company="/downloads/" not in url)
        assert r.status_code == 404, (url, r.status_code, r.text)


def test_seeded_private_folder_is_visible_to_documents_admins(admin, api_for, world):
    pid = world.alamos
    items = _private_items(admin, pid)
    top = next(f for f in _root(admin, pid)["folders"] if f["name"] == PRIVATE)
    assert top["private"] is True and top["has_children_folders"] and top["has_children_files"]
    folder = admin.get(f"/rest/v1.0/folders/{top['id']}?project_id={pid}").json()
    assert folder["private"] is True and _names(folder) == {
        "Recursos Humanos", "Presupuesto reservado.csv", "Acta directorio – confidencial.pdf"}
    # only the top folder is flagged; what is below it is hidden because of where it is
    assert [p for p, d in items.items() if d["private"]] == [PRIVATE]
    assert items[PRIVATE]["private_parent"] is None
    for path, d in items.items():
        if path != PRIVATE:
            assert d["private_parent"] == {"id": top["id"], "name": PRIVATE}, path
    assert [d["name"] for d in _index(admin, pid, "&filters[private]=true")] == [PRIVATE]
    assert PRIVATE not in {d["name"] for d in _index(admin, pid, "&filters[private]=false")}
    for url in _hidden_urls(admin, pid, items):
        assert admin.get(url, company="/downloads/" not in url).status_code in (200, 302), url
    # a Documents Admin who is not a project Admin sees it too
    docs_admin = api_for(DOCS_ADMIN)
    assert PRIVATE in _names(_root(docs_admin, pid))
    assert {d["id"] for d in items.values()} <= {d["id"] for d in _index(docs_admin, pid)}


@pytest.mark.parametrize("login", [STANDARD, READER])
def test_private_subtree_hidden_from_non_admins(admin, api_for, world, login):
    pid = world.alamos
    items = _private_items(admin, pid)
    api = api_for(login)
    _assert_hidden(api, admin, pid, items)
    # the rest of the tree is still there
    assert {"01 Planos y Especificaciones", "02 Contratos", "Léame.txt"} <= _names(_root(api, pid))


def test_children_counts_leave_private_children_out(admin, api_for, world):
    pid = world.alamos
    r = admin.post(f"/rest/v1.0/folders?project_id={pid}", json={"folder": {"name": "Solo privado"}})
    outer = r.json()
    r = admin.post(f"/rest/v1.0/folders?project_id={pid}",
                   json={"folder": {"name": "Oculta", "parent_id": outer["id"], "explicit_permissions": True}})
    assert r.status_code == 201 and r.json()["private"] is True
    std = api_for(STANDARD)
    listed = next(f for f in _root(std, pid)["folders"] if f["name"] == "Solo privado")
    assert listed["has_children"] is False and listed["has_children_folders"] is False
    shown = std.get(f"/rest/v1.0/folders/{outer['id']}?project_id={pid}").json()
    assert shown["folders"] == [] and shown["has_children"] is False
    entry = next(d for d in _index(std, pid) if d["id"] == outer["id"])
    assert entry["children"]["has_children"] is False
    assert next(d for d in _index(admin, pid) if d["id"] == outer["id"])["children"]["has_children_folders"]


def test_non_admin_writes_on_private_items_are_404(admin, api_for, world):
    pid = world.alamos
    items = _private_items(admin, pid)
    folder = items[PRIVATE]
    sub = items[f"{PRIVATE}/Recursos Humanos"]
    file = items[f"{PRIVATE}/Presupuesto reservado.csv"]
    std = api_for(STANDARD)
    base = f"?project_id={pid}"
    assert std.patch(f"/rest/v1.0/folders/{folder['id']}{base}", json={"folder": {"name": "x"}}).status_code == 404
    assert std.delete(f"/rest/v1.0/folders/{sub['id']}{base}").status_code == 404
    assert std.patch(f"/rest/v1.0/files/{file['id']}{base}", json={"file": {"name": "x.csv"}}).status_code == 404
    assert std.delete(f"/rest/v1.0/files/{file['id']}{base}").status_code == 404
    r = std.patch(f"/rest/v1.0/files/{file['id']}{base}",
                  files={"file[data]": ("v2.csv", b"a;b\n", "text/csv")})
    assert r.status_code == 404
    r = std.post(f"/rest/v1.0/file_versions{base}", files={"file_version[data]": ("v.csv", b"x", "text/csv")},
                 data={"file_id": str(file["id"])})
    assert r.status_code == 404
    # a hidden parent is answered exactly like a parent that does not exist
    unknown = std.post(f"/rest/v1.0/folders{base}", json={"folder": {"name": "n", "parent_id": 5_000_000_000}})
    for parent in (folder, sub):
        r = std.post(f"/rest/v1.0/folders{base}", json={"folder": {"name": "n", "parent_id": parent["id"]}})
        assert (r.status_code, r.json()) == (unknown.status_code, unknown.json()) == (
            422, {"errors": {"parent_id": ["is invalid"]}})
        r = std.post(f"/rest/v1.0/files{base}", files={"file[data]": ("n.txt", b"n", "text/plain")},
                     data={"file[parent_id]": str(parent["id"])})
        assert r.status_code == 422
    # a visible folder still answers 403 to the same non-admin (the level check is unchanged)
    contratos = next(f for f in _root(std, pid)["folders"] if f["name"] == "02 Contratos")
    assert std.patch(f"/rest/v1.0/folders/{contratos['id']}{base}", json={"folder": {"name": "x"}}).status_code == 403
    # nothing changed
    assert _private_items(admin, pid) == items


def test_lowering_documents_permission_hides_private_folder_at_once(sb, admin, world):
    """The portal's defect: import as Admin, lower the account to Standard, refresh."""
    pid = world.alamos
    items = _private_items(admin, pid)
    urls = _hidden_urls(admin, pid, items)  # read while still Admin
    body = {"login": "admin@constructora.test", "company_id": world.demo, "project_id": pid, "tool": "documents"}
    r = sb.http.post(sb.url + "/_sandbox/permissions", json={**body, "level": "Standard"})
    assert r.status_code == 200
    # same token, no new grant: the very next requests no longer see the subtree
    assert PRIVATE not in _names(_root(admin, pid))
    assert not {d["id"] for d in items.values()} & {d["id"] for d in _index(admin, pid)}
    for url in urls:
        r = admin.get(url, company="/downloads/" not in url)
        assert r.status_code == 404, (url, r.status_code)
    # the files are still in Procore: back to Admin, everything is there again
    r = sb.http.post(sb.url + "/_sandbox/permissions", json={**body, "level": "Admin"})
    assert r.status_code == 200
    assert _private_items(admin, pid) == items


def test_private_on_create_and_patch_with_both_keys(sb, admin, api_for, world):
    pid = world.alamos
    base = f"?project_id={pid}"
    since = max((e["id"] for e in sb.events()), default=0)
    r = admin.post(f"/rest/v1.0/folders{base}", json={"folder": {"name": "P1", "private": True}})
    assert r.status_code == 201 and r.json()["private"] is True
    p1 = r.json()["id"]
    r = admin.post(f"/rest/v1.0/folders{base}", json={"folder": {"name": "P2", "explicit_permissions": "true"}})
    assert r.status_code == 201 and r.json()["private"] is True
    p2 = r.json()["id"]
    r = admin.post(f"/rest/v1.0/folders{base}", json={"folder": {"name": "P3"}})
    assert r.status_code == 201 and r.json()["private"] is False
    p3 = r.json()["id"]
    r = admin.post(f"/rest/v1.0/folders{base}",
                   json={"folder": {"name": "P4", "private": True, "explicit_permissions": False}})
    assert r.status_code == 422
    assert admin.post(f"/rest/v1.0/folders{base}",
                      json={"folder": {"name": "P4", "private": "maybe"}}).status_code == 422
    # PATCH either key, both ways; each change is one "update" event
    r = admin.patch(f"/rest/v1.0/folders/{p1}{base}", json={"folder": {"explicit_permissions": False}})
    assert r.status_code == 200 and r.json()["private"] is False
    r = admin.patch(f"/rest/v1.0/folders/{p3}{base}", json={"folder": {"private": True}})
    assert r.status_code == 200 and r.json()["private"] is True
    # files: multipart create with explicit_permissions, PATCH with private
    r = admin.post(f"/rest/v1.0/files{base}", files={"file[data]": ("secreto.txt", b"s", "text/plain")},
                   data={"file[explicit_permissions]": "true"})
    assert r.status_code == 201 and r.json()["private"] is True
    secret = r.json()
    r = admin.post(f"/rest/v1.0/files{base}", files={"file[data]": ("abierto.txt", b"a", "text/plain")},
                   data={"file[private]": "false"})
    assert r.status_code == 201 and r.json()["private"] is False
    opened = r.json()
    assert admin.get(f"/rest/v1.0/files/{secret['id']}{base}").json()["private"] is True
    ev = [(e["resource_name"], e["event_type"], e["resource_id"]) for e in sb.events(after_id=since)]
    assert ev == [("Project Folders", "create", p1), ("Project Folders", "create", p2),
                  ("Project Folders", "create", p3), ("Project Folders", "update", p1),
                  ("Project Folders", "update", p3), ("Project Files", "create", secret["id"]),
                  ("Project Files", "create", opened["id"])]

    std = api_for(STANDARD)
    root_names = _names(_root(std, pid))
    assert {"P1", "abierto.txt"} <= root_names and not {"P2", "P3", "secreto.txt"} & root_names
    assert std.get(f"/rest/v1.0/files/{secret['id']}{base}").status_code == 404
    # only Documents Admins make things private (stricter reading); private=false is fine
    assert std.post(f"/rest/v1.0/folders{base}", json={"folder": {"name": "S1", "private": True}}).status_code == 403
    assert std.post(f"/rest/v1.0/folders{base}",
                    json={"folder": {"name": "S1", "explicit_permissions": True}}).status_code == 403
    assert std.post(f"/rest/v1.0/folders{base}", json={"folder": {"name": "S1", "private": False}}).status_code == 201
    r = std.post(f"/rest/v1.0/files{base}", files={"file[data]": ("s.txt", b"s", "text/plain")},
                 data={"file[private]": "true"})
    assert r.status_code == 403
    assert std.patch(f"/rest/v1.0/files/{opened['id']}{base}", json={"file": {"private": True}}).status_code == 403
    # admin opens the private file again: Standard sees it at once
    r = admin.patch(f"/rest/v1.0/files/{secret['id']}{base}", json={"file": {"private": False}})
    assert r.status_code == 200 and r.json()["private"] is False
    assert std.get(f"/rest/v1.0/files/{secret['id']}{base}").status_code == 200
