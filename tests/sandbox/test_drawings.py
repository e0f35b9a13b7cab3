"""Drawings tool: areas (default area), sets, drawings, revision filters, PDF upload +
publish (current revision), review flow, downloads, permissions and events."""
from __future__ import annotations

import requests

from sandbox.photos.media import make_png
from sandbox.documents.seed import tiny_pdf

V0, V1 = "/rest/v1.0", "/rest/v1.1"


def _upload(api, pid, name, content, ctype="application/pdf") -> str:
    r = api.post(f"{V1}/projects/{pid}/uploads", json={"response_filename": name, "response_content_type": ctype})
    assert r.status_code == 201, r.text
    up = r.json()
    assert requests.post(up["url"], data=up["fields"], files={"file": (name, content)}).status_code == 204
    return up["uuid"]


def _areas(api, pid):
    r = api.get(f"{V1}/projects/{pid}/drawing_areas")
    assert r.status_code == 200, r.text
    return r.json()


def _drawings(api, area_id):
    r = api.get(f"{V1}/drawing_areas/{area_id}/drawings")
    assert r.status_code == 200, r.text
    return {d["number"]: d for d in r.json()}


def _revisions(api, pid, query=""):
    r = api.get(f"{V0}/projects/{pid}/drawing_revisions?per_page=1000{query}")
    assert r.status_code == 200, r.text
    return r.json()


def _last_event_id(sb):
    ev = sb.events()
    return ev[-1]["id"] if ev else 0


def test_default_area_and_area_crud(admin, sb, world):
    rio = world.rio_claro
    areas = _areas(admin, rio)
    assert [a["name"] for a in areas] == ["Puente Río Claro"]  # the default area, named after the project
    assert areas[0]["deletable"] is False and areas[0]["drawings_count"] == 6
    assert set(areas[0]) == {"id", "name", "drawings_count", "description", "created_at", "updated_at", "deletable"}
    # a project without any drawings still has its default area
    bodega = world.projects["Bodega Antigua (cerrado)"]
    assert [a["name"] for a in _areas(admin, bodega)] == ["Bodega Antigua (cerrado)"]
    alamos = {a["name"]: a for a in _areas(admin, world.alamos)}
    assert set(alamos) == {"Torre A", "Torre B"}
    v10 = admin.get(f"{V0}/projects/{world.alamos}/drawing_areas").json()
    assert {"drawing_sets", "drawing_disciplines", "area_deletable"} <= set(v10[0])
    assert {d["name"] for d in v10[0]["drawing_disciplines"]} == {"Arquitectura", "Estructura", "Instalaciones"}
    discs = admin.get(f"{V1}/projects/{rio}/drawing_disciplines").json()
    assert [d["name"] for d in discs] == ["Arquitectura", "Estructura", "Instalaciones"] and discs[0]["abbreviations"]
    last = _last_event_id(sb)
    r = admin.post(f"{V1}/projects/{rio}/drawing_areas", json={"name": "Estribo sur", "description": "Lado sur"})
    assert r.status_code == 201 and set(r.json()) == {"id", "name", "description"}
    new = r.json()
    assert admin.post(f"{V1}/projects/{rio}/drawing_areas", json={"name": "ESTRIBO SUR"}).status_code == 422
    r = admin.patch(f"{V1}/projects/{rio}/drawing_areas/{new['id']}", json={"name": "Estribo norte"})
    assert r.status_code == 200 and r.json()["name"] == "Estribo norte"
    assert admin.delete(f"{V1}/projects/{rio}/drawing_areas/{areas[0]['id']}").status_code == 422  # has drawings
    r = admin.delete(f"{V1}/projects/{rio}/drawing_areas/{new['id']}")
    assert r.status_code == 200 and r.json() == {"id": new["id"], "success": True}
    ev = [(e["resource_name"], e["event_type"]) for e in sb.events(after_id=last)]
    assert ev == [("Drawing Areas", "create"), ("Drawing Areas", "update"), ("Drawing Areas", "delete")]


def test_revision_filters_current_obsolete_and_visibility(admin, api_for, world):
    rio = world.rio_claro
    area = _areas(admin, rio)[0]["id"]
    drawings = _drawings(admin, area)
    assert drawings["E-102"]["obsolete"] is True and drawings["I-101"]["current_revision"] is None
    revs = _revisions(admin, rio)
    assert all(not r["obsolete"] for r in revs)  # obsolete excluded by default
    assert drawings["E-102"]["id"] not in {r["drawing_id"] for r in revs}
    with_obs = _revisions(admin, rio, "&with_obsolete=true")
    assert any(r["obsolete"] and r["drawing_id"] == drawings["E-102"]["id"] for r in with_obs)
    a101 = [r for r in revs if r["drawing_id"] == drawings["A-101"]["id"]]
    assert [(r["revision_number"], r["status"], r["current"]) for r in a101] == [
        ("0", "published", False), ("1", "published", True), ("2", "unpublished", False)]
    assert drawings["A-101"]["current_revision"]["id"] == a101[1]["id"]
    current = _revisions(admin, rio, "&drawing_set_id=current_set")
    assert current and all(r["current"] and r["status"] == "published" for r in current)
    assert len({r["drawing_id"] for r in current}) == len(current)  # one current per drawing
    pending = [r for r in revs if r["status"] == "pending review"]
    assert len(pending) == 1 and pending[0]["number"] == "I-102"
    assert {r["id"] for r in _revisions(admin, rio, "&is_reviewed=false")} == {pending[0]["id"]}
    sets = admin.get(f"{V0}/projects/{rio}/drawing_sets").json()
    assert [s["name"] for s in sets] == ["Licitación", "Construcción", "Addendum Nº 1"]
    assert sets[0]["published_drawings_count"] is None  # needs drawing_area_id
    by_set = _revisions(admin, rio, f"&drawing_set_id={sets[0]['id']}")
    assert by_set and all(r["drawing_set"]["id"] == sets[0]["id"] for r in by_set)
    counted = admin.get(f"{V0}/projects/{rio}/drawing_sets?drawing_area_id={area}").json()
    assert counted[1]["published_drawings_count"] == 2 and counted[1]["unpublished_drawings_count"] == 1
    assert admin.get(f"{V0}/projects/{rio}/drawing_revisions?sort=bogus").status_code == 400
    ids = [r["id"] for r in _revisions(admin, rio, "&sort=-id")]
    assert ids == sorted(ids, reverse=True)
    # a Standard user sees published revisions only, and only drawings with a current revision
    std = api_for("estandar@constructora.test")
    nunoa = world.projects["Hospital Regional Ñuñoa"]
    std_revs = _revisions(std, nunoa)
    assert std_revs and all(r["status"] == "published" for r in std_revs)
    assert len(_revisions(admin, nunoa)) > len(std_revs)
    n_area = _areas(std, nunoa)[0]["id"]
    assert all(d["current_revision"] for d in _drawings(std, n_area).values())


def test_upload_pdf_revision_and_publish_makes_it_current(admin, sb, world):
    rio = world.rio_claro
    area = _areas(admin, rio)[0]["id"]
    a101 = _drawings(admin, area)["A-101"]
    old_current = a101["current_revision"]["id"]
    r = admin.post(f"{V0}/projects/{rio}/drawing_sets",
                   json={"name": "Emitido para construcción", "date": "2024-11-05"})
    assert r.status_code == 201, r.text
    dset = r.json()
    last = _last_event_id(sb)
    pdf = tiny_pdf("A-101 rev 3")
    uuid = _upload(admin, rio, "A-101 rev 3.pdf", pdf)
    body = {"drawing_upload": {"drawing_set_id": dset["id"], "drawing_log_imports": [
        {"upload_uuid": uuid, "drawing_date": "2024-11-04", "drawing_id": a101["id"]}]}}
    r = admin.post(f"{V1}/projects/{rio}/drawing_uploads", json=body)
    assert r.status_code == 422  # default_revision is required (OAS)
    body["drawing_upload"]["drawing_log_imports"][0]["default_revision"] = "3"
    r = admin.post(f"{V1}/projects/{rio}/drawing_uploads", json=body, headers={"Idempotency-Token": "tok-1"})
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["status"] == "reviewed" and up["drawing_area_id"] == area  # no area needed: default area
    again = admin.post(f"{V1}/projects/{rio}/drawing_uploads", json=body, headers={"Idempotency-Token": "tok-1"})
    assert again.status_code == 200 and again.json()["id"] == up["id"]
    new = [x for x in _revisions(admin, rio, f"&drawing_id={a101['id']}") if x["revision_number"] == "3"][0]
    assert new["status"] == "unpublished" and new["current"] is False and new["drawing_set"]["id"] == dset["id"]
    assert new["pdf_size"] == len(pdf) and new["drawing_date"] == "2024-11-04"
    r = admin.post(f"{V0}/projects/{rio}/drawing_revisions/publish", json={"drawing_set_id": dset["id"]})
    assert r.status_code == 200, r.text
    assert r.json() == {"drawing_revisions": [{"id": new["id"]}], "errors": []}
    revs = {x["id"]: x for x in _revisions(admin, rio, f"&drawing_id={a101['id']}")}
    assert revs[new["id"]]["current"] is True and revs[new["id"]]["status"] == "published"
    assert revs[old_current]["current"] is False
    assert sum(1 for x in revs.values() if x["current"]) == 1
    assert _drawings(admin, area)["A-101"]["current_revision"]["id"] == new["id"]
    ev = [(e["resource_name"], e["event_type"], e["resource_id"]) for e in sb.events(after_id=last)]
    assert ev[:2] == [("Drawing Uploads", "create", up["id"]), ("Drawing Revisions", "create", new["id"])]
    assert set(ev[2:]) == {("Drawing Revisions", "update", new["id"]), ("Drawings", "update", a101["id"]),
                           ("Drawing Revisions", "update", old_current)}
    # the reviewed upload cannot be deleted any more
    assert admin.delete(f"{V1}/projects/{rio}/drawing_uploads/{up['id']}").status_code == 422


def test_non_pdf_rejected_and_area_required_by_area(admin, world):
    rio = world.rio_claro
    sets = admin.get(f"{V0}/projects/{rio}/drawing_sets").json()
    png = make_png(4, 4, lambda x, y: (0, 0, 0))
    uuid = _upload(admin, rio, "plano.pdf", png)
    imp = {"upload_uuid": uuid, "drawing_date": "2024-01-01", "default_revision": "0"}
    r = admin.post(f"{V1}/projects/{rio}/drawing_uploads",
                   json={"drawing_set_id": sets[0]["id"], "drawing_log_imports": [imp]})
    assert r.status_code == 422 and "PDF" in r.text
    # Edificio Los Álamos has Drawings by Area on: drawing_area_id is required
    alamos = world.alamos
    aset = admin.get(f"{V0}/projects/{alamos}/drawing_sets").json()[0]
    uuid = _upload(admin, alamos, "X-1.pdf", tiny_pdf("X-1"))
    imp = {"upload_uuid": uuid, "drawing_date": "2024-01-01", "default_revision": "0"}
    r = admin.post(f"{V1}/projects/{alamos}/drawing_uploads",
                   json={"drawing_set_id": aset["id"], "drawing_log_imports": [imp]})
    assert r.status_code == 422 and "drawing_area_id" in r.text
    assert admin.post(f"{V0}/projects/{alamos}/drawing_revisions/publish",
                      json={"drawing_set_id": aset["id"]}).status_code == 422


def test_processing_delay_and_deleting_an_unreviewed_upload(admin, sb, world):
    rio = world.rio_claro
    sets = admin.get(f"{V0}/projects/{rio}/drawing_sets").json()
    pending = [r for r in _revisions(admin, rio) if r["status"] == "pending review"][0]
    up = admin.get(f"{V1}/projects/{rio}/drawing_uploads").json()[0]
    assert up["status"] == "ready_for_review"
    last = _last_event_id(sb)
    assert admin.delete(f"{V1}/projects/{rio}/drawing_uploads/{up['id']}").status_code == 200
    assert pending["id"] not in {r["id"] for r in _revisions(admin, rio)}
    assert pending["id"] in {r["id"] for r in _revisions(admin, rio, "&filters[deleted]=only")}
    ev = [(e["resource_name"], e["event_type"]) for e in sb.events(after_id=last)]
    assert ev == [("Drawing Revisions", "delete"), ("Drawings", "delete"), ("Drawing Uploads", "delete")]
    # knob: uploads stay "in_progress" (revisions hidden) for a while
    sb.control({"drawing_upload_processing_seconds": 60})
    uuid = _upload(admin, rio, "S-900 Señalética.pdf", tiny_pdf("S-900"))
    r = admin.post(f"{V1}/projects/{rio}/drawing_uploads", json={
        "drawing_set_id": sets[0]["id"],
        "drawing_log_imports": [{"upload_uuid": uuid, "drawing_date": "2024-01-01", "default_revision": "0"}]})
    assert r.status_code == 201 and r.json()["status"] == "in_progress"
    assert not [x for x in _revisions(admin, rio) if x["number"] == "S-900"]
    sb.advance_clock(61)
    assert admin.get(f"{V1}/projects/{rio}/drawing_uploads/{r.json()['id']}").json()["status"] == "ready_for_review"
    rev = [x for x in _revisions(admin, rio) if x["number"] == "S-900"][0]
    r = admin.patch(f"{V0}/projects/{rio}/drawing_revisions/{rev['id']}",
                    json={"drawing_revision": {"received_date": "2024-01-03", "revision_number": "1"}})
    assert r.status_code == 200, r.text
    assert r.json()["received_date"] == "2024-01-03" and r.json()["revision_number"] == "1"


def test_upload_without_drawing_id_needs_review(admin, sb, world):
    alamos = world.alamos
    torre_b = {a["name"]: a for a in _areas(admin, alamos)}["Torre B"]["id"]
    dset = admin.get(f"{V0}/projects/{alamos}/drawing_sets").json()[1]
    uuid = _upload(admin, alamos, "A-301 Planta techumbre.pdf", tiny_pdf("A-301"))
    r = admin.post(f"{V1}/projects/{alamos}/drawing_uploads", json={"drawing_upload": {
        "drawing_area_id": torre_b, "drawing_set_id": dset["id"], "drawing_log_imports": [
            {"upload_uuid": uuid, "drawing_date": "2024-12-01T10:00:00Z", "default_revision": "0"}]}})
    assert r.status_code == 201 and r.json()["status"] == "ready_for_review"
    up = r.json()
    d = _drawings(admin, torre_b)["A-301"]
    assert d["title"] == "Planta techumbre" and d["discipline"] == "Arquitectura" and d["current_revision"] is None
    rev = _revisions(admin, alamos, f"&drawing_id={d['id']}")[0]
    assert rev["status"] == "pending review"
    r = admin.post(f"{V0}/projects/{alamos}/drawing_revisions/publish",
                   json={"drawing_set_id": dset["id"], "drawing_area_id": torre_b})
    assert r.status_code == 200 and rev["id"] not in [x["id"] for x in r.json()["drawing_revisions"]]
    assert any(str(rev["id"]) in e for e in r.json()["errors"])
    # the review happens in Procore's web app: sandbox control endpoint
    r = sb.http.post(sb.url + "/_sandbox/drawings/review",
                     json={"project_id": alamos, "revision_id": rev["id"], "title": "Planta de techumbre"})
    assert r.status_code == 200 and r.json()["status"] == "unpublished"
    r = admin.post(f"{V0}/projects/{alamos}/drawing_revisions/publish",
                   json={"drawing_set_id": dset["id"], "drawing_area_id": torre_b})
    assert rev["id"] in [x["id"] for x in r.json()["drawing_revisions"]]
    assert _drawings(admin, torre_b)["A-301"]["current_revision"]["id"] == rev["id"]
    assert admin.get(f"{V1}/projects/{alamos}/drawing_uploads/{up['id']}").json()["status"] == "reviewed"


def test_pdf_url_redirect_rejects_authorization_at_storage(admin, api_for, sb, world):
    rio = world.rio_claro
    area = _areas(admin, rio)[0]["id"]
    rev = _drawings(admin, area)["A-101"]["current_revision"]
    url = rev["pdf_url"]
    assert requests.get(url, allow_redirects=False).status_code == 401
    r = admin.get(url, company=False)
    assert r.status_code == 302, r.text
    loc = r.headers["Location"]
    assert requests.get(loc, headers={"Authorization": f"Bearer {admin.token}"}).status_code == 400
    naive = requests.get(url, headers={"Authorization": f"Bearer {admin.token}"})  # follows with the token
    assert naive.status_code == 400
    data = requests.get(loc).content
    assert data.startswith(b"%PDF") and len(data) == rev["pdf_size"]
    png = admin.get(rev["png_url"], company=False)
    assert requests.get(png.headers["Location"]).content.startswith(b"\x89PNG")
    sb.advance_clock(3601)
    assert admin.get(url, company=False).status_code == 403  # time-limited URL
    # unpublished revisions are Admin-only, also for downloads
    std = api_for("estandar@constructora.test")
    nunoa = world.projects["Hospital Regional Ñuñoa"]
    unpub = [r for r in _revisions(admin, nunoa) if r["status"] != "published"][0]
    assert std.get(unpub["pdf_url"], company=False).status_code == 404
    assert admin.get(unpub["pdf_url"], company=False).status_code == 302


def test_drawings_permissions_and_crud_events(admin, api_for, sb, world):
    rio, alamos = world.rio_claro, world.alamos
    lector = api_for("lector@constructora.test")  # Drawings: None
    assert lector.get(f"{V1}/projects/{alamos}/drawing_areas").status_code == 403
    assert lector.get(f"{V0}/projects/{alamos}/drawing_revisions").status_code == 403
    std = api_for("estandar@constructora.test")
    assert std.get(f"{V1}/projects/{rio}/drawing_areas").status_code == 403  # not on the project
    nunoa = world.projects["Hospital Regional Ñuñoa"]
    n_area = _areas(std, nunoa)[0]["id"]
    assert std.post(f"{V1}/projects/{nunoa}/drawing_areas", json={"name": "x"}).status_code == 403
    z1 = {"drawing": {"number": "Z-1", "drawing_discipline": {"name": "Arquitectura"}}}
    assert std.post(f"{V1}/drawing_areas/{n_area}/drawings", json=z1).status_code == 403
    sets = std.get(f"{V0}/projects/{nunoa}/drawing_sets").json()
    assert std.post(f"{V0}/projects/{nunoa}/drawing_revisions/publish",
                    json={"drawing_set_id": sets[0]["id"]}).status_code == 403
    assert std.get(f"{V1}/projects/{nunoa}/drawing_uploads").status_code == 403
    last = _last_event_id(sb)
    mec = {"name": "Mecánica"}
    r = admin.post(f"{V1}/drawing_areas/{n_area}/drawings",
                   json={"drawing": {"number": "M-001", "title": "Climatización", "drawing_discipline": mec}})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["discipline"] == "Mecánica" and d["obsolete"] is False
    assert admin.post(f"{V1}/drawing_areas/{n_area}/drawings",
                      json={"drawing": {"number": "m-001", "drawing_discipline": mec}}).status_code == 422
    assert admin.post(f"{V1}/drawing_areas/{n_area}/drawings", json={"drawing": {"number": "M-2"}}).status_code == 422
    r = admin.patch(f"{V1}/drawing_areas/{n_area}/drawings/{d['id']}", json={"drawing": {"obsolete": True}})
    assert r.status_code == 200 and r.json()["obsolete"] is True
    r = admin.patch(f"{V0}/projects/{nunoa}/drawing_sets/{sets[0]['id']}",
                    json={"drawing_set": {"name": "Licitación v2"}})
    assert r.status_code == 200 and r.json()["name"] == "Licitación v2"
    assert admin.delete(f"{V0}/projects/{nunoa}/drawing_sets/{sets[0]['id']}").status_code == 422  # has revisions
    ev = [(e["resource_name"], e["event_type"]) for e in sb.events(after_id=last)]
    assert ev == [("Drawings", "create"), ("Drawings", "update"), ("Drawing Sets", "update")]
