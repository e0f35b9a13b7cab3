"""Downloads (token + 302 to signed storage) and direct uploads."""
from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests


def _a_file(api, pid):
    root = api.get(f"/rest/v1.0/folders?project_id={pid}").json()
    return root["files"][0]


def test_download_redirect_rules_and_bytes(admin, sb, world):
    f = _a_file(admin, world.alamos)
    url = f["file_versions"][0]["url"]
    assert url.startswith(sb.url)
    assert requests.get(url, allow_redirects=False).status_code == 401
    r = admin.get(url, company=False)
    assert r.status_code == 302
    loc = r.headers["Location"]
    assert "/_storage/" in loc and "sig=" in loc and "expires=" in loc
    with_auth = requests.get(loc, headers={"Authorization": f"Bearer {admin.token}"})
    assert with_auth.status_code in (400, 403)
    # requests keeps Authorization on a same-host redirect: naive clients fail (it drops it when storage is
    # another host, as with storage processes: test_sandbox_storage_processes.py)
    naive = requests.get(url, headers={"Authorization": f"Bearer {admin.token}"})
    if urlsplit(loc).netloc == urlsplit(url).netloc:
        assert naive.status_code in (400, 403)
    data = requests.get(loc).content
    assert len(data) == f["size"] and data.startswith("Edificio Los Álamos".encode())
    tampered = loc.replace("sig=", "sig=0")
    assert requests.get(tampered).status_code == 403
    sb.advance_clock(301)
    assert requests.get(loc).status_code == 403
    # a fresh redirect works again; prostore url too
    loc2 = admin.get(f["file_versions"][0]["prostore_file"]["url"], company=False).headers["Location"]
    assert requests.get(loc2).content == data
    st = sb.stats()
    assert st["storage_downloads"] >= 2 and st["bytes_served"] >= 2 * len(data)


def test_zero_byte_and_hostile_names(admin, world):
    idx = admin.get(f"/rest/v1.0/projects/{world.alamos}/documents?filters[document_type]=file&per_page=1000").json()
    by_name = {d["name"]: d for d in idx}
    empty = admin.get(f"/rest/v1.0/files/{by_name['vacío.txt']['id']}?project_id={world.alamos}").json()
    assert empty["size"] == 0
    loc = admin.get(empty["file_versions"][0]["url"], company=False).headers["Location"]
    assert requests.get(loc).content == b""
    hostile = admin.get(f"/rest/v1.0/files/{by_name['../informe?.pdf']['id']}?project_id={world.alamos}").json()
    loc = admin.get(hostile["file_versions"][0]["url"], company=False).headers["Location"]
    assert requests.get(loc).content.startswith(b"%PDF-")


def test_non_segmented_upload_then_attach(admin, api_for, world):
    pid = world.alamos
    r = admin.post(f"/rest/v1.1/projects/{pid}/uploads",
                   json={"response_filename": "acta ñ.pdf", "response_content_type": "application/pdf"})
    assert r.status_code == 201, r.text
    up = r.json()
    assert set(up) >= {"uuid", "url", "fields"} and "x-amz-signature" in up["fields"]
    content = b"%PDF-1.4 acta de reunion\n" * 100
    # with the Procore token -> rejected by storage
    bad = requests.post(up["url"], data=up["fields"], files={"file": ("acta.pdf", content)},
                        headers={"Authorization": f"Bearer {admin.token}"})
    assert bad.status_code == 400
    tampered = dict(up["fields"], key="otra/clave")
    assert requests.post(up["url"], data=tampered, files={"file": ("acta.pdf", content)}).status_code == 403
    ok = requests.post(up["url"], data=up["fields"], files={"file": ("acta.pdf", content)})
    assert ok.status_code == 204, ok.text
    # only the creating user may attach it
    other = api_for("sinadmin@constructora.test")
    assert other.post(f"/rest/v1.0/files?project_id={pid}",
                      json={"file": {"name": "x.pdf", "upload_uuid": up["uuid"]}}).status_code == 403
    r = admin.post(f"/rest/v1.0/files?project_id={pid}",
                   json={"file": {"name": "Acta ñ.pdf", "upload_uuid": up["uuid"]}})
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["size"] == len(content)
    loc = admin.get(f["file_versions"][0]["url"], company=False).headers["Location"]
    assert requests.get(loc).content == content
    again = admin.post(f"/rest/v1.0/files?project_id={pid}",
                       json={"file": {"name": "otra.pdf", "upload_uuid": up["uuid"]}})
    assert again.status_code == 422


def test_segmented_upload_then_new_version(admin, sb, world):
    pid = world.alamos
    sb.control({"upload_min_segment_size": 1024})
    parts = [b"a" * 1500, b"b" * 1024, b"c" * 10]
    segs = [{"size": len(p), "sha256": hashlib.sha256(p).hexdigest(), "md5": hashlib.md5(p).hexdigest()}
            for p in parts]
    small = admin.post(f"/rest/v1.1/projects/{pid}/uploads",
                       json={"segments": [{"size": 10, "sha256": segs[2]["sha256"]}, segs[0]]})
    assert small.status_code == 422  # non-last segment below the minimum
    r = admin.post(f"/rest/v1.1/projects/{pid}/uploads", json={"segments": segs})
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["status"] == "ready" and len(up["segments"]) == 3
    etags = []
    for seg, body in zip(up["segments"], parts, strict=True):
        h = dict(seg["headers"], **{"Content-Type": "application/octet-stream"})
        assert requests.put(seg["url"], data=body, headers={**h, "Authorization": "Bearer x"}).status_code == 400
        resp = requests.put(seg["url"], data=body, headers=h)
        assert resp.status_code == 200, resp.text
        assert h["content-md5"] == base64.b64encode(hashlib.md5(body).digest()).decode()
        etags.append(resp.headers["ETag"])
    f = _a_file(admin, pid)
    early = admin.post(f"/rest/v1.0/file_versions?project_id={pid}",
                       json={"file_id": f["id"], "file_version": {"upload_uuid": up["uuid"]}})
    assert early.status_code == 422  # not completed yet
    assert admin.patch(f"/rest/v1.1/projects/{pid}/uploads/{up['uuid']}",
                       json={"segments": [{"etag": e} for e in reversed(etags)]}).status_code == 422
    r = admin.patch(f"/rest/v1.1/projects/{pid}/uploads/{up['uuid']}", json={"segments": [{"etag": e} for e in etags]})
    assert r.status_code == 200 and r.json()["status"] == "complete"
    r = admin.post(f"/rest/v1.0/file_versions?project_id={pid}",
                   json={"file_id": f["id"], "file_version": {"upload_uuid": up["uuid"], "notes": "segmentado"}})
    assert r.status_code == 201, r.text
    assert r.json()["size"] == sum(map(len, parts)) and r.json()["number"] == 2
    loc = admin.get(r.json()["url"], company=False).headers["Location"]
    assert requests.get(loc).content == b"".join(parts)


def test_upload_must_start_within_window(admin, sb, world):
    up = admin.post(f"/rest/v1.1/projects/{world.alamos}/uploads",
                    json={"response_filename": "a.txt", "response_content_type": "text/plain"}).json()
    sb.advance_clock(3601)
    r = requests.post(up["url"], data=up["fields"], files={"file": ("a.txt", b"tarde")})
    assert r.status_code == 403


def test_injected_storage_5xx_on_uploads_only(admin, sb, world):
    """upload_storage_5xx_next: the next N storage upload requests answer 500; the slot stays usable."""
    pid = world.alamos
    sb.control({"upload_storage_5xx_next": 2, "upload_min_segment_size": 1024})
    up = admin.post(f"/rest/v1.1/projects/{pid}/uploads",
                    json={"response_filename": "a.txt", "response_content_type": "text/plain"}).json()
    body = b"contenido " * 50
    first = requests.post(up["url"], data=up["fields"], files={"file": ("a.txt", body)})
    assert first.status_code == 500 and "InternalError" in first.text
    parts = [b"x" * 1024, b"y" * 3]
    seg = admin.post(f"/rest/v1.1/projects/{pid}/uploads", json={"segments": [
        {"size": len(p), "sha256": hashlib.sha256(p).hexdigest()} for p in parts]}).json()
    put = seg["segments"][0]
    headers = {**put["headers"], "Content-Type": "application/octet-stream"}
    assert requests.put(put["url"], data=parts[0], headers=headers).status_code == 500
    # the count is spent: the same requests now succeed; API calls are never affected
    assert requests.put(put["url"], data=parts[0], headers=headers).status_code == 200
    assert requests.post(up["url"], data=up["fields"], files={"file": ("a.txt", body)}).status_code == 204
    assert admin.get(f"/rest/v1.0/folders?project_id={pid}").status_code == 200
    config = requests.get(sb.url + "/_sandbox/config").json()
    assert config["upload_storage_5xx_next"] == 0
    stats = sb.stats()
    assert stats["injected_storage_5xx"] == 2 and stats["injected_5xx"] == 0


# --- latency_ms and storage_url_ttl (see sandbox/README.md "Latency and signed URLs") ----------

def _expires(location: str) -> int:
    return int(parse_qs(urlsplit(location).query)["expires"][0])


def test_latency_is_added_to_storage_requests(admin, sb, world):
    f = _a_file(admin, world.alamos)
    loc = admin.get(f["file_versions"][0]["url"], company=False).headers["Location"]
    sb.control({"latency_ms": 300})
    t0 = time.monotonic()
    r = requests.get(loc, timeout=30)
    assert r.status_code == 200 and len(r.content) == f["size"]
    assert time.monotonic() - t0 >= 0.3


@pytest.mark.slow
def test_storage_url_signed_after_the_download_latency_and_checked_after_the_storage_latency(admin, sb, world):
    f = _a_file(admin, world.alamos)
    url = f["file_versions"][0]["url"]
    # signed at the END of the /downloads request's latency: expires counts from then
    sb.control({"storage_url_ttl": 2, "latency_ms": 1000})
    t0 = time.time()
    r = admin.get(url, company=False)
    assert r.status_code == 302
    assert _expires(r.headers["Location"]) >= int(t0 + 1.0 + 2)
    # a storage latency at least as long as the lifetime: the expiry is checked after the
    # sleep, so the link is always refused (checked before it, the link would still work)
    sb.control({"latency_ms": 2100})
    t1 = time.monotonic()
    late = requests.get(r.headers["Location"], timeout=30)
    assert time.monotonic() - t1 >= 2.1
    assert late.status_code == 403 and "Request has expired" in late.text


def test_download_access_rules_answer_as_project_for(sb, world, admin, api_for):
    """The download's access check (one query, issue 13) answers what project_for answers: company member,
    project member or company Admin, Documents >= Read Only; deleted files only for Documents Admins."""
    alamos = _a_file(admin, world.alamos)
    rio = _a_file(admin, world.rio_claro)
    url, prostore = alamos["file_versions"][0]["url"], alamos["file_versions"][0]["prostore_file"]["url"]
    lector = api_for("lector@constructora.test")
    assert lector.get(url, company=False).status_code == 302
    assert lector.get(prostore, company=False).status_code == 302
    outsider = api_for("sinempresa@otra.test", company=None).get(url, company=False)
    assert (outsider.status_code, outsider.json()["errors"]) == (403, "You do not have access to this file")
    estandar = api_for("estandar@constructora.test")
    r = estandar.get(rio["file_versions"][0]["url"], company=False)
    assert (r.status_code, r.json()["errors"]) == (403, "You do not have access to this project")
    sb._post("/_sandbox/permissions", {"login": "lector@constructora.test", "company_id": world.demo,
                                       "project_id": world.alamos, "tool": "documents", "level": "None"})
    r = lector.get(url, company=False)
    assert (r.status_code, r.json()["errors"]) == (403, "You do not have the required permission on the "
                                                     "documents tool")
    assert admin.delete(f"/rest/v1.0/files/{alamos['id']}?project_id={world.alamos}").status_code in (200, 204)
    assert estandar.get(url, company=False).status_code == 404
    assert admin.get(url, company=False).status_code == 302
    assert admin.get(url.rsplit("/", 1)[0] + "/1", company=False).status_code == 404
    assert admin.get(prostore.rsplit("/", 1)[0] + "/1", company=False).status_code == 404


def _on_one_connection(url: str, headers: dict, times: int) -> list[tuple[int, bytes, str | None]]:
    """GET `url` `times` times over one TCP connection: (status, body, Connection header) each."""
    import http.client

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        answers = []
        for _ in range(times):
            conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""), headers=headers)
            resp = conn.getresponse()
            answers.append((resp.status, resp.read(), resp.getheader("Connection")))
        return answers
    finally:
        conn.close()


def test_connections_are_kept_alive_like_procore(admin, world):
    """Procore's front end keeps HTTP/1.1 connections open; so does the sandbox (sandbox/__main__.py:
    waitress, not werkzeug's development server, which closes every connection). A client that pools
    connections is measured as it would be against Procore."""
    f = _a_file(admin, world.alamos)
    api = _on_one_connection(f["file_versions"][0]["url"], admin.headers(company=False), 3)
    assert [status for status, _body, _conn in api] == [302, 302, 302]
    assert all(conn != "close" for _status, _body, conn in api)
    location = admin.get(f["file_versions"][0]["url"], company=False).headers["Location"]
    storage = _on_one_connection(location, {}, 3)
    assert [(status, len(body)) for status, body, _conn in storage] == [(200, f["size"])] * 3
    assert all(conn != "close" for _status, _body, conn in storage)
