"""Documents tool: tree listing, pagination, CRUD, recycle bin, permissions, events."""
from __future__ import annotations

import re


def _root(api, pid):
    r = api.get(f"/rest/v1.0/folders?project_id={pid}")
    assert r.status_code == 200, r.text
    return r.json()


def _child(folder, name):
    return next(f for f in folder["folders"] if f["name"] == name)


def test_root_listing_has_children_with_empty_grandchildren(admin, world):
    root = _root(admin, world.alamos)
    assert root["parent_id"] is None and root["id"] > 2**32
    names = [f["name"] for f in root["folders"]]
    assert "01 Planos y Especificaciones" in names and "Recycle Bin" in names
    assert [f["name"] for f in root["files"]] == ["Léame.txt"]
    planos = _child(root, "01 Planos y Especificaciones")
    assert planos["folders"] == [] and planos["files"] == []
    assert planos["has_children_folders"] is True
    deep = admin.get(f"/rest/v1.0/folders/{planos['id']}?project_id={world.alamos}").json()
    arq = _child(deep, "Arquitectura")
    assert arq["folders"] == [] and arq["name_with_path"] == "01 Planos y Especificaciones/Arquitectura"
    plantas = admin.get(f"/rest/v1.0/folders/{arq['id']}?project_id={world.alamos}").json()
    plantas = admin.get(f"/rest/v1.0/folders/{_child(plantas, 'Plantas')['id']}?project_id={world.alamos}").json()
    f = next(x for x in plantas["files"] if x["name"] == "Planta Nivel 1.pdf")
    assert [v["number"] for v in f["file_versions"]] == [3, 2, 1]
    v = f["file_versions"][0]
    assert set(v) >= {"id", "number", "size", "url", "created_at", "notes", "file_id", "prostore_file"}
    assert set(v["prostore_file"]) >= {"id", "name", "url"}
    assert f["size"] == v["size"] and f["name_with_path"].endswith("/Plantas/Planta Nivel 1.pdf")


def test_recycle_bin_hidden_from_non_admin(api_for, world):
    std = api_for("estandar@constructora.test")
    names = [f["name"] for f in _root(std, world.alamos)["folders"]]
    assert "Recycle Bin" not in names
    r = std.get(f"/rest/v1.0/projects/{world.alamos}/documents?filters[is_in_recycle_bin]=true")
    assert r.status_code == 200 and r.json() == []


def test_documents_index_pagination_headers_and_cap(admin, sb, world):
    r = admin.get(f"/rest/v1.0/projects/{world.alamos}/documents?per_page=5&page=1&sort=name")
    assert r.status_code == 200
    total = int(r.headers["Total"])
    assert total > 10 and r.headers["Per-Page"] == "5" and len(r.json()) == 5
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers["Link"]))
    assert set(links) == {"first", "next", "last"}
    assert links["next"].startswith(sb.url) and "page=2" in links["next"] and "sort=name" in links["next"]
    last_page = -(-total // 5)
    r = admin.get(links["last"])
    rels = re.findall(r'rel="(\w+)"', r.headers["Link"])
    assert "next" not in rels and "prev" in rels and len(r.json()) == total - 5 * (last_page - 1)
    seen = []
    url = f"/rest/v1.0/projects/{world.alamos}/documents?per_page=7"
    while url:
        r = admin.get(url)
        seen += [d["id"] for d in r.json()]
        m = re.search(r'<([^>]+)>; rel="next"', r.headers["Link"])
        url = m.group(1) if m else None
    assert len(seen) == len(set(seen)) == total
    sb.control({"per_page_max": 3})
    r = admin.get(f"/rest/v1.0/projects/{world.alamos}/documents?per_page=50")
    assert r.headers["Per-Page"] == "3" and len(r.json()) == 3
    assert admin.get(f"/rest/v1.0/projects/{world.alamos}/documents?per_page=abc").status_code == 400


def test_documents_index_filters(admin, world):
    base = f"/rest/v1.0/projects/{world.alamos}/documents?per_page=1000"
    files = admin.get(base + "&filters[document_type]=file").json()
    assert files and all(d["document_type"] == "file" for d in files)
    assert any(d["name"] == "../informe?.pdf" for d in files)
    root = _root(admin, world.alamos)
    contratos = _child(root, "02 Contratos")
    sub = admin.get(base + f"&filters[folder_id]={contratos['id']}").json()
    assert {d["name"] for d in sub} == {"Contrato Principal – firmado.pdf", "Anexos", "Anexo Nº 1 año 2024.txt"}
    binned = admin.get(base + "&filters[is_in_recycle_bin]=true").json()
    assert {d["name"] for d in binned} == {"Borradores antiguos", "borrador.txt"}
    assert admin.get(base + "&filters[updated_at]=2000-01-01T00:00:00Z...2001-01-01T00:00:00Z").json() == []
    assert len(admin.get(base + "&filters[updated_at]=2000-01-01T00:00:00Z...").json()) > 10
    assert admin.get(base + "&sort=bogus").status_code == 400


def test_folder_and_file_crud_with_events(admin, sb, world):
    pid = world.alamos
    start = sb.events()
    last = start[-1]["id"] if start else 0
    r = admin.post(f"/rest/v1.0/folders?project_id={pid}", json={"folder": {"name": "Nueva carpeta ñ"}})
    assert r.status_code == 201, r.text
    folder = r.json()
    assert admin.post(f"/rest/v1.0/folders?project_id={pid}",
                      json={"folder": {"name": "NUEVA CARPETA Ñ"}}).status_code == 422
    r = admin.post(f"/rest/v1.0/files?project_id={pid}",
                   files={"file[data]": ("informe.txt", b"hola mundo", "text/plain")},
                   data={"file[parent_id]": str(folder["id"]), "file[name]": "informe.txt"})
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["size"] == 10 and f["parent_id"] == folder["id"] and f["name_with_path"] == "Nueva carpeta ñ/informe.txt"
    dup = admin.post(f"/rest/v1.0/files?project_id={pid}",
                     files={"file[data]": ("informe.txt", b"x", "text/plain")},
                     data={"file[parent_id]": str(folder["id"]), "file[unique_name]": "true"})
    assert dup.status_code == 201 and dup.json()["name"] == "informe (1).txt"
    r = admin.patch(f"/rest/v1.0/files/{f['id']}?project_id={pid}", json={"file": {"name": "informe final.txt"}})
    assert r.status_code == 200 and r.json()["name"] == "informe final.txt"
    r = admin.post(f"/rest/v1.0/file_versions?project_id={pid}",
                   files={"file_version[data]": ("v2.txt", b"segunda version", "text/plain")},
                   data={"file_id": str(f["id"]), "file_version[notes]": "v2"})
    assert r.status_code == 201 and r.json()["number"] == 2
    vid = r.json()["id"]
    assert admin.get(f"/rest/v1.0/file_versions/{vid}?project_id={pid}").json()["notes"] == "v2"
    root_id = _root(admin, pid)["id"]
    contratos = _child(_root(admin, pid), "02 Contratos")["id"]
    r = admin.patch(f"/rest/v1.0/folders/{folder['id']}?project_id={pid}",
                    json={"folder": {"name": "Renombrada", "parent_id": contratos}})
    assert r.status_code == 200 and r.json()["name_with_path"] == "02 Contratos/Renombrada"
    assert admin.delete(f"/rest/v1.0/folders/{folder['id']}?project_id={pid}").status_code == 204
    assert admin.get(f"/rest/v1.0/files/{f['id']}?project_id={pid}").json()["is_deleted"] is True
    assert admin.get(f"/rest/v1.0/folders/{root_id}?project_id={pid}").status_code == 200
    ev = [(e["resource_name"], e["event_type"]) for e in sb.events(after_id=last)]
    assert ev == [("Project Folders", "create"), ("Project Files", "create"), ("Project Files", "create"),
                  ("Project Files", "update"), ("Project File Versions", "create"), ("Project Files", "update"),
                  ("Project Folders", "update"), ("Project Folders", "delete")]
    e = sb.events(after_id=last)[0]
    assert e["application_id"] == "demo-client" and e["user_id"] == world.users["admin@constructora.test"]
    assert e["project_id"] == pid and e["company_id"] == world.demo
    # restore through the control API (no Procore API exists)
    r = sb.http.post(sb.url + "/_sandbox/documents/restore",
                     json={"project_id": pid, "type": "folder", "id": folder["id"]})
    assert r.status_code == 200
    assert admin.get(f"/rest/v1.0/files/{f['id']}?project_id={pid}").json()["is_deleted"] is False
    assert sb.events(after_id=last)[-1]["event_type"] == "update"
    assert sb.events(after_id=last)[-1]["application_id"] is None


def test_patch_parent_id_moves_out_of_recycle_bin(admin, world):
    pid = world.alamos
    binned = admin.get(f"/rest/v1.0/projects/{pid}/documents?filters[is_in_recycle_bin]=true"
                       "&filters[document_type]=folder").json()[0]
    root = _root(admin, pid)
    r = admin.patch(f"/rest/v1.0/folders/{binned['id']}?project_id={pid}", json={"folder": {"parent_id": root["id"]}})
    assert r.status_code == 200 and r.json()["is_deleted"] is False


def test_permissions_enforced(api_for, world):
    std = api_for("estandar@constructora.test")
    root = _root(std, world.alamos)
    planos = _child(root, "01 Planos y Especificaciones")
    assert std.delete(f"/rest/v1.0/folders/{planos['id']}?project_id={world.alamos}").status_code == 403
    assert std.patch(f"/rest/v1.0/folders/{planos['id']}?project_id={world.alamos}",
                     json={"folder": {"name": "x"}}).status_code == 403
    assert std.post(f"/rest/v1.0/folders?project_id={world.alamos}",
                    json={"folder": {"name": "De estándar"}}).status_code == 201
    lector = api_for("lector@constructora.test")
    assert _root(lector, world.alamos)["read_only"] is True
    assert lector.post(f"/rest/v1.0/folders?project_id={world.alamos}",
                       json={"folder": {"name": "no"}}).status_code == 403
    assert lector.get(f"/rest/v1.0/folders?project_id={world.projects['Hospital Regional Ñuñoa']}").status_code == 403
    assert lector.post(f"/rest/v1.1/projects/{world.alamos}/uploads",
                       json={"response_filename": "a.txt", "response_content_type": "text/plain"}).status_code == 403
    # wrong company for the project -> 404
    sur_admin = api_for("admin@constructora.test", "Inmobiliaria Sur")
    assert sur_admin.get(f"/rest/v1.0/folders?project_id={world.alamos}").status_code == 404
    # a file id is not a folder id
    f = root["files"][0]
    assert std.get(f"/rest/v1.0/folders/{f['id']}?project_id={world.alamos}").status_code == 404
