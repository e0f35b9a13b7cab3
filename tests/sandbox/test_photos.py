"""Photos tool: albums (incl. Unclassified), image uploads in every body shape, downloads,
moves, recycle bin + retrieve, permissions and events."""
from __future__ import annotations

import requests

from sandbox.photos.media import make_jpeg, make_png

V = "/rest/v1.0"


def _albums(api, pid):
    r = api.get(f"{V}/image_categories?project_id={pid}")
    assert r.status_code == 200, r.text
    return {a["name"]: a for a in r.json()}


def _upload(api, pid, name, content, ctype="image/jpeg") -> str:
    r = api.post(f"/rest/v1.1/projects/{pid}/uploads", json={"response_filename": name, "response_content_type": ctype})
    assert r.status_code == 201, r.text
    up = r.json()
    assert requests.post(up["url"], data=up["fields"], files={"file": (name, content)}).status_code == 204
    return up["uuid"]


def _multipart(api, pid, name, content, **image):
    data = {f"image[{k}]": str(v) for k, v in image.items()}
    return api.post(f"{V}/images?project_id={pid}", files={"image[data]": (name, content, "image/png")}, data=data)


def _last_event_id(sb):
    ev = sb.events()
    return ev[-1]["id"] if ev else 0


def test_albums_list_includes_unclassified_which_cannot_be_deleted(admin, api_for, sb, world):
    pid = world.alamos
    albums = _albums(admin, pid)
    assert set(albums) == {"Unclassified", "Avance de obra", "Seguridad", "Fachada norte"}
    unc = albums["Unclassified"]
    assert unc["position"] == 0 and unc["id"] > 2**32 and unc["count"] == 1
    assert set(unc) >= {"id", "name", "position", "private", "count", "cover_photo", "album_cover_id",
                        "created_at", "updated_at", "links"}
    assert "delete" not in unc["links"] and "delete" in albums["Seguridad"]["links"]
    r = admin.delete(f"{V}/image_categories/{unc['id']}?project_id={pid}")
    assert r.status_code == 403 and "Unclassified" in r.json()["errors"]
    assert admin.patch(f"{V}/image_categories/{unc['id']}?project_id={pid}",
                       json={"image_category": {"name": "Otra"}}).status_code == 403
    assert admin.get(f"{V}/image_categories/{unc['id']}?project_id={pid}").json()["name"] == "Unclassified"
    last = _last_event_id(sb)
    r = admin.post(f"{V}/image_categories?project_id={pid}", json={"image_category": {"name": "Terminaciones ñ"}})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["count"] == 0 and new["cover_photo"] is None and new["position"] > albums["Fachada norte"]["position"]
    assert admin.post(f"{V}/image_categories?project_id={pid}",
                      json={"image_category": {"name": "TERMINACIONES Ñ"}}).status_code == 422
    assert admin.post(f"{V}/image_categories?project_id={pid}", json={}).status_code == 400
    r = admin.patch(f"{V}/image_categories/{new['id']}?project_id={pid}",
                    json={"image_category": {"name": "Terminaciones", "private": True}})
    assert r.status_code == 200 and r.json()["private"] is True
    std = api_for("estandar@constructora.test")
    assert "Terminaciones" not in _albums(std, pid)  # private album: Admins only
    assert std.patch(f"{V}/image_categories/{new['id']}?project_id={pid}",
                     json={"image_category": {"name": "x"}}).status_code == 403
    assert admin.delete(f"{V}/image_categories/{new['id']}?project_id={pid}").status_code == 200
    ev = [(e["resource_name"], e["event_type"], e["resource_id"]) for e in sb.events(after_id=last)]
    assert ev == [("Image Categories", "create", new["id"]), ("Image Categories", "update", new["id"]),
                  ("Image Categories", "delete", new["id"])]


def test_upload_image_by_uuid_both_shapes_and_download(admin, sb, world):
    pid = world.alamos
    seg = _albums(admin, pid)["Seguridad"]
    jpg = make_jpeg(40, 24, lambda bx, by: (200, 30 * bx, 10 * by), comment="prueba")
    last = _last_event_id(sb)
    uuid = _upload(admin, pid, "casco.jpg", jpg)
    # image_name is required with upload_uuid; an `image` attribute is required too
    assert admin.post(f"{V}/images?project_id={pid}",
                      json={"upload_uuid": uuid, "image": {"description": "x"}}).status_code == 422
    no_image = {"upload_uuid": uuid, "image_name": "a.jpg"}
    assert admin.post(f"{V}/images?project_id={pid}", json=no_image).status_code == 400
    r = admin.post(f"{V}/images?project_id={pid}", json={
        "upload_uuid": uuid, "image_name": "Casco de seguridad ñ.jpg",
        "image": {"image_category_id": seg["id"], "description": "Uso de casco"}})
    assert r.status_code == 201, r.text
    img = r.json()
    assert img["filename"] == "Casco de seguridad ñ.jpg" and img["size"] == len(jpg)
    assert (img["width"], img["height"]) == (40, 24) and img["image_category_name"] == "Seguridad"
    assert img["uploader"]["login"] == "admin@constructora.test" and img["taken_at"] is None
    assert img["links"]["retrieve"] == f"/rest/v1.0/images/{img['id']}/retrieve?project_id={pid}"
    # the upload can be attached only once
    assert admin.post(f"{V}/images?project_id={pid}", json={
        "upload_uuid": uuid, "image_name": "b.jpg", "image": {"description": "x"}}).status_code == 422
    # DOC /attachments shape: {"upload": {"uuid", "image_name"}, "image": {...}}
    png = make_png(10, 6, lambda x, y: (x * 20, y * 40, 90))
    uuid2 = _upload(admin, pid, "p.png", png, "image/png")
    r = admin.post(f"{V}/images?project_id={pid}", json={
        "upload": {"uuid": uuid2, "image_name": "Plano de evacuación.png", "source": "API"},
        "image": {"description": "Evacuación"}})
    assert r.status_code == 201, r.text
    assert r.json()["image_category_name"] == "Unclassified" and (r.json()["width"], r.json()["height"]) == (10, 6)
    # non-image content is rejected (magic bytes)
    uuid3 = _upload(admin, pid, "notas.jpg", b"no soy una imagen", "image/jpeg")
    assert admin.post(f"{V}/images?project_id={pid}", json={
        "upload_uuid": uuid3, "image_name": "notas.jpg", "image": {"description": "x"}}).status_code == 422
    # download: Bearer required, 302 to signed storage that refuses the token
    url = img["url"]
    assert requests.get(url, allow_redirects=False).status_code == 401
    r = admin.get(url, company=False)
    assert r.status_code == 302, r.text
    loc = r.headers["Location"]
    assert "/_storage/" in loc
    assert requests.get(loc, headers={"Authorization": f"Bearer {admin.token}"}).status_code == 400
    assert requests.get(loc).content == jpg
    thumb = admin.get(img["thumbnail_url"], company=False)
    assert thumb.status_code == 302 and requests.get(thumb.headers["Location"]).content == jpg
    assert admin.get(url.replace("sig=", "sig=0"), company=False).status_code == 403
    sb.advance_clock(3601)  # photos_url_ttl: the URL in the JSON expires, a fresh one works
    assert admin.get(url, company=False).status_code == 403
    fresh = admin.get(f"{V}/images/{img['id']}?project_id={pid}").json()["url"]
    assert admin.get(fresh, company=False).status_code == 302
    ev = [(e["resource_name"], e["event_type"]) for e in sb.events(after_id=last)]
    assert ev == [("Images", "create"), ("Images", "create")]


def test_move_between_albums_emits_update_event(admin, sb, world):
    pid = world.alamos
    albums = _albums(admin, pid)
    src, dst = albums["Avance de obra"], albums["Fachada norte"]
    imgs = admin.get(f"{V}/images?project_id={pid}&image_category_id={src['id']}").json()
    assert len(imgs) == src["count"] == 3
    last = _last_event_id(sb)
    r = admin.patch(f"{V}/images/{imgs[0]['id']}?project_id={pid}",
                    json={"image": {"image_category_id": dst["id"], "description": "Movida ✓"}})
    assert r.status_code == 200, r.text
    assert r.json()["image_category_id"] == dst["id"] and r.json()["image_category_name"] == "Fachada norte"
    after = _albums(admin, pid)
    assert after["Avance de obra"]["count"] == 2 and after["Fachada norte"]["count"] == 3
    ev = sb.events(after_id=last)
    assert [(e["resource_name"], e["event_type"], e["resource_id"]) for e in ev] == [
        ("Images", "update", imgs[0]["id"])]
    assert ev[0]["application_id"] == "demo-client" and ev[0]["user_id"] == world.users["admin@constructora.test"]
    assert admin.patch(f"{V}/images/{imgs[0]['id']}?project_id={pid}",
                       json={"image": {"image_category_id": 123}}).status_code == 422


def test_delete_album_sends_photos_to_bin_and_retrieve(admin, sb, world):
    pid = world.alamos
    albums = _albums(admin, pid)
    fach = albums["Fachada norte"]
    ids = [i["id"] for i in admin.get(f"{V}/images?project_id={pid}&image_category_id={fach['id']}").json()]
    assert len(ids) == 2
    last = _last_event_id(sb)
    assert admin.delete(f"{V}/image_categories/{fach['id']}?project_id={pid}").status_code == 200
    assert admin.get(f"{V}/image_categories/{fach['id']}?project_id={pid}").status_code == 404
    listed = [i["id"] for i in admin.get(f"{V}/images?project_id={pid}&per_page=100").json()]
    assert not set(ids) & set(listed)  # recycled photos are excluded from lists by default
    binned = admin.get(f"{V}/images?project_id={pid}&filters[is_in_recycle_bin]=true").json()
    assert set(ids) <= {i["id"] for i in binned} and len(binned) == 3  # + the seeded one
    r = admin.post(f"{V}/images/{ids[0]}/retrieve?project_id={pid}")
    assert r.status_code == 200, r.text
    assert r.json()["image_category_name"] == "Unclassified"  # its album is gone
    r = admin.patch(f"{V}/images/{ids[1]}/retrieve?project_id={pid}")  # PATCH is accepted too
    assert r.status_code == 200 and r.json()["image_category_id"] == albums["Unclassified"]["id"]
    assert admin.post(f"{V}/images/{ids[1]}/retrieve?project_id={pid}").status_code == 404  # not in the bin
    seeded = next(i for i in binned if i["id"] not in ids)
    r = admin.post(f"{V}/images/{seeded['id']}/retrieve?project_id={pid}")
    assert r.json()["image_category_name"] == "Avance de obra"  # back to its original album
    assert _albums(admin, pid)["Unclassified"]["count"] == 3
    ev = [(e["resource_name"], e["event_type"]) for e in sb.events(after_id=last)]
    assert ev == [("Image Categories", "delete"), ("Images", "update"), ("Images", "update"), ("Images", "update")]
    # plain delete -> bin ("Images/delete"); permanent delete from the bin -> gone
    assert admin.delete(f"{V}/images/{ids[0]}?project_id={pid}").status_code == 200
    assert admin.delete(f"{V}/images/{ids[0]}?project_id={pid}").status_code == 404
    assert admin.delete(f"{V}/images/{ids[0]}?project_id={pid}&permanent=true").status_code == 200
    assert admin.get(f"{V}/images/{ids[0]}?project_id={pid}").status_code == 404
    assert admin.post(f"{V}/images/{ids[0]}/retrieve?project_id={pid}").status_code == 404


def test_photo_permissions(admin, api_for, world):
    pid = world.alamos
    std = api_for("estandar@constructora.test")
    albums = _albums(std, pid)
    assert "delete" not in albums["Seguridad"]["links"]
    assert albums["Seguridad"]["count"] == 1  # the private photo is hidden from Standard users
    r = _multipart(std, pid, "mío.png", make_png(4, 4, lambda x, y: (1, 2, 3)), description="de estándar")
    assert r.status_code == 201, r.text
    mine = r.json()
    ok = std.patch(f"{V}/images/{mine['id']}?project_id={pid}", json={"image": {"description": "ok"}})
    assert ok.status_code == 200
    others = [i for i in std.get(f"{V}/images?project_id={pid}").json() if i["id"] != mine["id"]]
    assert std.patch(f"{V}/images/{others[0]['id']}?project_id={pid}",
                     json={"image": {"description": "no"}}).status_code == 403
    assert std.delete(f"{V}/images/{mine['id']}?project_id={pid}").status_code == 403
    assert std.delete(f"{V}/image_categories/{albums['Seguridad']['id']}?project_id={pid}").status_code == 403
    binned = admin.get(f"{V}/images?project_id={pid}&filters[is_in_recycle_bin]=true").json()
    assert std.post(f"{V}/images/{binned[0]['id']}/retrieve?project_id={pid}").status_code == 403
    assert std.get(f"{V}/images?project_id={pid}&filters[is_in_recycle_bin]=true").json() == []
    assert std.get(binned[0]["url"], company=False).status_code == 404
    lector = api_for("lector@constructora.test")  # Photos: None
    assert lector.get(f"{V}/image_categories?project_id={pid}").status_code == 403
    assert lector.get(f"{V}/images?project_id={pid}").status_code == 403
    assert lector.get(mine["url"], company=False).status_code == 403
    assert std.get(f"{V}/images?project_id={world.rio_claro}").status_code == 403  # not on the project
    sur = api_for("admin@constructora.test", "Inmobiliaria Sur")
    assert sur.get(f"{V}/images?project_id={pid}").status_code == 404


def test_image_list_filters_sort_and_pagination(admin, world):
    pid = world.alamos
    r = admin.get(f"{V}/images?project_id={pid}&per_page=3&sort=created_at")
    assert r.status_code == 200 and r.headers["Total"] == "8" and r.headers["Per-Page"] == "3"
    assert 'rel="next"' in r.headers["Link"] and len(r.json()) == 3
    all_ids = [i["id"] for i in admin.get(f"{V}/images?project_id={pid}&sort=created_at").json()]
    assert all_ids == sorted(all_ids)
    assert admin.get(f"{V}/images?project_id={pid}&sort=name").status_code == 400
    r = admin.get(f"{V}/images?project_id={pid}&filters[id][]={all_ids[0]}&filters[id][]={all_ids[2]}")
    assert sorted(i["id"] for i in r.json()) == [all_ids[0], all_ids[2]]
    assert len(admin.get(f"{V}/images?project_id={pid}&filters[private]=true").json()) == 1
    assert admin.get(f"{V}/images?project_id={pid}&filters[updated_at]=2001-01-01...2001-01-02").json() == []
    assert len(admin.get(f"{V}/images?project_id={pid}&filters[updated_at]=2001-01-01...").json()) == 8
    assert admin.get(f"{V}/images?project_id={pid}&serializer_view=ids_only&per_page=2").json()[0].keys() == {"id"}
    assert admin.get(f"{V}/images?project_id={pid}&filters[query]=FACHADA").json()
    ids = admin.get(f"{V}/image_categories/ids_with_images?project_id={pid}").json()
    assert len(ids) == 4 and all(isinstance(i, int) for i in ids)
