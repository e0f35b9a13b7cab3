"""Downloads (redirects without the token, private targets, caps, sizes) and uploads."""
from __future__ import annotations

import hashlib
import io
import json
from urllib.parse import parse_qs

import pytest
import requests
import responses

from portal.procore import (ProcoreDownloadExpired, ProcoreDownloadTooLarge, ProcoreRedirectRefused,
                            ProcoreSizeMismatch, ProcoreUploadExpired, Upload)

from .conftest import API

FILE_URL = f"{API}/rest/v1.0/files/1/versions/2/download"
STORAGE = "https://storage.example.com/bucket/obj?X-Amz-Signature=SIG&X-Amz-Expires=60"
BODY = b"%PDF-1.7 hello procore" * 100


def redirect(rsps, target: str, source: str = FILE_URL) -> None:
    rsps.get(source, status=302, headers={"Location": target})


def test_redirect_followed_without_authorization(pc, rsps):
    redirect(rsps, STORAGE)
    rsps.get(STORAGE.split("?")[0], body=BODY)
    dest = io.BytesIO()
    sha, size = pc.download(FILE_URL, dest, expected_size=len(BODY), company_id=3)
    assert (sha, size) == (hashlib.sha256(BODY).hexdigest(), len(BODY))
    assert dest.getvalue() == BODY
    first, second = (c.request for c in rsps.calls)
    assert first.headers["Authorization"] == "Bearer access-1"
    assert "Authorization" not in second.headers
    assert "Procore-Company-Id" not in second.headers
    assert "X-Amz-Signature=SIG" in second.url  # presigned query preserved


def test_checksum_can_be_left_to_a_hashing_destination(pc, rsps):
    """The sync engine streams into a blob writer that hashes as it writes: no second sha256."""
    redirect(rsps, STORAGE)
    rsps.get(STORAGE.split("?")[0], body=BODY)
    dest = io.BytesIO()
    assert pc.download(FILE_URL, dest, expected_size=len(BODY), checksum=False) == (None, len(BODY))
    assert dest.getvalue() == BODY


def test_session_level_authorization_is_stripped_for_storage(make_client, rsps):
    session = requests.Session()
    session.headers["Authorization"] = "Bearer LEAKY"
    pc = make_client(session=session)
    redirect(rsps, STORAGE)
    rsps.get(STORAGE.split("?")[0], body=b"x")
    pc.download(FILE_URL, io.BytesIO())
    assert "Authorization" not in rsps.calls[1].request.headers


def test_relative_and_chained_redirects(pc, rsps):
    redirect(rsps, "/hop1")
    rsps.get(f"{API}/hop1", status=307, headers={"Location": STORAGE})
    rsps.get(STORAGE.split("?")[0], body=b"abc")
    assert pc.download(FILE_URL, io.BytesIO())[1] == 3
    assert all("Authorization" not in c.request.headers for c in rsps.calls[1:])


def test_too_many_redirects(pc, rsps):
    redirect(rsps, "https://storage.example.com/r0")
    for i in range(6):
        rsps.get(f"https://storage.example.com/r{i}", status=302,
                 headers={"Location": f"https://storage.example.com/r{i + 1}"})
    with pytest.raises(Exception, match="too many redirects"):
        pc.download(FILE_URL, io.BytesIO())


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:6379/", "http://10.0.0.5/secret", "http://169.254.169.254/latest/",
    "http://[::1]/", "http://192.168.1.1/", "http://internal.example.com/x",
    "http://metadata.example.com/", "file:///etc/passwd", "http://[::ffff:127.0.0.1]/"])
def test_redirect_to_private_targets_refused(pc, rsps, target):
    redirect(rsps, target)
    with pytest.raises(ProcoreRedirectRefused):
        pc.download(FILE_URL, io.BytesIO())
    assert len(rsps.calls) == 1  # never requested


def test_private_redirects_allowed_for_the_sandbox(make_client, rsps):
    pc = make_client(allow_private_redirects=True)
    redirect(rsps, "http://127.0.0.1:5001/storage/abc")
    rsps.get("http://127.0.0.1:5001/storage/abc", body=b"ok")
    assert pc.download(FILE_URL, io.BytesIO())[1] == 2
    assert "Authorization" not in rsps.calls[1].request.headers


def test_direct_storage_url_gets_no_token(pc, rsps):
    rsps.get("https://storage.example.com/obj", body=b"data")
    pc.download("https://storage.example.com/obj", io.BytesIO())
    assert "Authorization" not in rsps.calls[0].request.headers


def test_download_cap_by_content_length(make_client, rsps):
    pc = make_client(max_download_bytes=100)
    redirect(rsps, STORAGE)
    rsps.get(STORAGE.split("?")[0], body=b"x" * 101, auto_calculate_content_length=True)
    dest = io.BytesIO()
    with pytest.raises(ProcoreDownloadTooLarge):
        pc.download(FILE_URL, dest)
    assert rsps.calls[1].response.headers["Content-Length"] == "101"
    assert dest.getvalue() == b""  # refused before reading the body


def test_download_cap_while_streaming_without_length(make_client, rsps):
    pc = make_client(max_download_bytes=1000)

    rsps.get("https://storage.example.com/stream", body=b"y" * 10_000,
             auto_calculate_content_length=False)
    dest = io.BytesIO()
    with pytest.raises(ProcoreDownloadTooLarge):
        pc.download("https://storage.example.com/stream", dest)
    assert "Content-Length" not in rsps.calls[0].response.headers
    assert len(dest.getvalue()) <= 1000


def test_download_cap_by_expected_size_before_any_request(make_client, rsps):
    pc = make_client(max_download_bytes=10)
    with pytest.raises(ProcoreDownloadTooLarge):
        pc.download(FILE_URL, io.BytesIO(), expected_size=11)
    assert len(rsps.calls) == 0


def test_size_mismatch(pc, rsps):
    redirect(rsps, STORAGE)
    rsps.get(STORAGE.split("?")[0], body=b"12345")
    with pytest.raises(ProcoreSizeMismatch):
        pc.download(FILE_URL, io.BytesIO(), expected_size=6)


def test_expired_storage_url(pc, rsps):
    redirect(rsps, STORAGE)
    rsps.get(STORAGE.split("?")[0], status=403, body="<Error>AccessDenied</Error>")
    with pytest.raises(ProcoreDownloadExpired) as err:
        pc.download(FILE_URL, io.BytesIO())
    assert "SIG" not in str(err.value)


def test_storage_5xx_is_retried(pc, rsps, clock):
    redirect(rsps, STORAGE)
    rsps.get(STORAGE.split("?")[0], status=500)
    rsps.get(STORAGE.split("?")[0], body=b"ok")
    assert pc.download(FILE_URL, io.BytesIO())[1] == 2
    assert len(clock.sleeps) == 1


# -- uploads -------------------------------------------------------------------

UPLOAD_URL = "https://storage.example.com/upload-bucket"


def test_direct_upload_posts_fields_and_file_without_token(pc, rsps):
    rsps.post(f"{API}/rest/v1.1/projects/5/uploads",
              json={"uuid": "U1", "url": UPLOAD_URL,
                    "fields": {"key": "uploads/U1", "policy": "POL", "x-amz-signature": "S"}})
    rsps.post(UPLOAD_URL, status=204)
    slot = pc.create_upload(1, 5, filename="a.pdf", content_type="application/pdf")
    pc.upload_file(slot, io.BytesIO(b"PDFDATA"), filename="a.pdf",
                   content_type="application/pdf")
    create, post = (c.request for c in rsps.calls)
    assert create.headers["Authorization"] == "Bearer access-1"
    assert "Authorization" not in post.headers
    body = post.body
    assert b'name="key"' in body and b"uploads/U1" in body and b'name="policy"' in body
    assert b'name="file"; filename="a.pdf"' in body and b"PDFDATA" in body
    assert body.index(b'name="policy"') < body.index(b'name="file"')  # file goes last


def test_upload_to_private_target_is_refused(pc):
    slot = Upload(uuid="U", url="http://10.0.0.1/bucket", fields=())
    with pytest.raises(ProcoreRedirectRefused):
        pc.upload_file(slot, io.BytesIO(b"x"), filename="x")


def test_expired_upload_slot(pc, rsps):
    rsps.post(UPLOAD_URL, status=403)
    with pytest.raises(ProcoreUploadExpired):
        pc.upload_file(Upload(uuid="U", url=UPLOAD_URL), io.BytesIO(b"x"), filename="x")


def test_segmented_upload_flow(pc, rsps, monkeypatch):
    from portal.procore import api_documents
    monkeypatch.setattr(api_documents, "SEGMENT_THRESHOLD", 10)
    monkeypatch.setattr(api_documents, "SEGMENT_SIZE", 10)
    data = bytes(range(25))
    seg_urls = [f"https://storage.example.com/part{i}" for i in range(3)]
    received: list[bytes] = []

    def create(request):
        specs = json.loads(request.body)["segments"]
        assert [s["size"] for s in specs] == [10, 10, 5]
        assert specs[0]["sha256"] == hashlib.sha256(data[:10]).hexdigest()
        segs = [{"url": u, "size": s["size"], "sha256": s["sha256"],
                 "headers": {"x-amz-content-sha256": s["sha256"],
                             "content-length": str(s["size"])}}
                for u, s in zip(seg_urls, specs, strict=True)]
        return 201, {}, json.dumps({"uuid": "SEG", "segments": segs, "status": "ready"})

    def put(request):
        assert "Authorization" not in request.headers
        assert request.headers["Content-Type"] == "application/octet-stream"
        body = request.body if isinstance(request.body, bytes) else b"".join(request.body)
        received.append(body)
        return 200, {"ETag": f'"etag{len(received)}"'}, ""

    rsps.add_callback(responses.POST, f"{API}/rest/v1.1/projects/5/uploads", callback=create)
    for u in seg_urls:
        rsps.add_callback(responses.PUT, u, callback=put)
    rsps.patch(f"{API}/rest/v1.1/projects/5/uploads/SEG",
               json={"uuid": "SEG", "segments": [], "url": None, "status": "complete"})
    uuid = pc.upload(1, 5, io.BytesIO(data), filename="big.bin", size=len(data))
    assert uuid == "SEG" and b"".join(received) == data
    assert json.loads(rsps.calls[-1].request.body) == {
        "segments": [{"etag": '"etag1"'}, {"etag": '"etag2"'}, {"etag": '"etag3"'}]}


def test_create_file_from_upload_and_version(pc, rsps):
    rsps.post(f"{API}/rest/v1.0/files", json={"id": 2 ** 40, "name": "a.pdf", "parent_id": 3})
    rsps.post(f"{API}/rest/v1.0/file_versions", json={"id": 8, "number": 2, "file_id": 2 ** 40})
    f = pc.create_file_from_upload(1, 5, upload_uuid="U1", name="a.pdf", parent_id=3)
    v = pc.create_file_version(1, 5, f.id, upload_uuid="U2", notes="sync")
    assert f.id == 2 ** 40 and v.number == 2
    assert parse_qs(rsps.calls[0].request.url.split("?")[1]) == {"project_id": ["5"]}
    assert json.loads(rsps.calls[0].request.body) == {"file": {
        "name": "a.pdf", "upload_uuid": "U1", "unique_name": False, "parent_id": 3}}
    assert json.loads(rsps.calls[1].request.body) == {
        "file_id": 2 ** 40, "file_version": {"upload_uuid": "U2", "notes": "sync"}}
