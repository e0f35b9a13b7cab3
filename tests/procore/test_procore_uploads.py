"""Direct uploads as the export uses them (fact sheet §3): which flow by size, the segments'
signed headers, streaming, and a fresh upload slot when storage fails or the slot expired."""
from __future__ import annotations

import hashlib
import io
import json
import random

import pytest
import responses

from portal.procore import ProcoreUnavailable, ProcoreUploadExpired, ProcoreValidationError
from portal.procore.api_documents import (MAX_SEGMENTS, MIN_SEGMENT_SIZE, SEGMENT_SIZE,
                                          UPLOAD_ATTEMPTS, segment_size)

from .conftest import API

MiB = 1024 * 1024
UPLOADS = f"{API}/rest/v1.1/projects/5/uploads"
STORAGE = "https://storage.example.com"


class ReadRecorder(io.BytesIO):
    """A seekable file that remembers the largest read it was asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.largest = max(self.largest, len(data))
        return data


class FakeProcoreUploads:
    """Procore's upload endpoints and its storage, on `responses`: every slot gets its own
    storage URLs; ``storage_status(slot_number)`` decides what storage answers for a slot."""

    def __init__(self, rsps, storage_status=lambda slot: 200, md5: bool = False) -> None:
        self.rsps, self.storage_status, self.md5 = rsps, storage_status, md5
        self.slots: list[dict] = []       # the create bodies, in order
        self.puts: list[tuple[int, int, dict, bytes]] = []  # (slot, segment, headers, body)
        self.posts: list[tuple[int, bytes]] = []
        self.completed: list[tuple[str, list]] = []
        rsps.add_callback(responses.POST, UPLOADS, callback=self._create)

    def _create(self, request):
        body = json.loads(request.body)
        self.slots.append(body)
        n = len(self.slots)
        uuid = f"UP{n}"
        if "segments" not in body:
            self.rsps.add_callback(responses.POST, f"{STORAGE}/post/{n}",
                                   callback=lambda req, n=n: self._post(n, req))
            return 201, {}, json.dumps({"uuid": uuid, "url": f"{STORAGE}/post/{n}",
                                        "fields": {"key": f"k{n}", "policy": "P", "x-amz-signature": "S"}})
        segments = []
        for i, spec in enumerate(body["segments"]):
            url = f"{STORAGE}/put/{n}/{i}"
            headers = {"x-amz-content-sha256": spec["sha256"], "content-length": str(spec["size"])}
            if self.md5:
                headers["content-md5"] = f"MD5-{n}-{i}"
            segments.append({"url": url, "size": spec["size"], "sha256": spec["sha256"], "headers": headers})
            self.rsps.add_callback(responses.PUT, url, callback=lambda req, n=n, i=i: self._put(n, i, req))
        self.rsps.add_callback(responses.PATCH, f"{UPLOADS}/{uuid}", callback=self._complete)
        return 201, {}, json.dumps({"uuid": uuid, "segments": segments, "status": "ready"})

    def _post(self, n, request):
        status = self.storage_status(n)
        if status < 300:
            self.posts.append((n, request.body))
        return status, {}, ""

    def _put(self, n, i, request):
        status = self.storage_status(n)
        body = request.body if isinstance(request.body, bytes) else b"".join(request.body)
        self.puts.append((n, i, dict(request.headers), body))
        return status, ({"ETag": f'"e{n}-{i}"'} if status < 300 else {}), ""

    def _complete(self, request):
        uuid = request.url.split("?")[0].rsplit("/", 1)[1]
        self.completed.append((uuid, json.loads(request.body)["segments"]))
        return 200, {}, json.dumps({"uuid": uuid, "status": "complete"})

    def uploaded(self, slot: int) -> bytes:
        parts = sorted((i, body) for n, i, _h, body in self.puts if n == slot)
        return b"".join(body for _i, body in parts)


def test_segment_sizes():
    assert MIN_SEGMENT_SIZE == 5 * MiB and SEGMENT_SIZE == 8 * MiB
    assert segment_size(12_000_000) == 8 * MiB
    # past MAX_SEGMENTS parts of 8 MiB the parts grow (whole MiB), never beyond 10,000 parts
    huge = 100 * 1024 ** 3
    assert segment_size(huge) > 8 * MiB and segment_size(huge) % MiB == 0
    assert -(-huge // segment_size(huge)) <= MAX_SEGMENTS


def test_small_file_is_one_post_and_5_mib_is_still_small(pc, rsps):
    fake = FakeProcoreUploads(rsps)
    data = b"x" * MIN_SEGMENT_SIZE
    assert pc.upload(1, 5, io.BytesIO(data), filename="a.pdf", size=len(data),
                     content_type="application/pdf") == "UP1"
    assert fake.slots == [{"response_filename": "a.pdf", "response_content_type": "application/pdf"}]
    assert len(fake.posts) == 1 and data in fake.posts[0][1] and not fake.puts


def test_12_mb_file_goes_segmented_streamed_with_the_signed_headers(pc, rsps):
    data = random.Random(12).randbytes(12_000_000)
    fake = FakeProcoreUploads(rsps, md5=True)
    source = ReadRecorder(data)
    assert pc.upload(1, 5, source, filename="plano.pdf", size=len(data)) == "UP1"
    sizes = [s["size"] for s in fake.slots[0]["segments"]]
    assert sizes == [8 * MiB, 12_000_000 - 8 * MiB]  # every part but the last >= 5 MiB
    assert [s["sha256"] for s in fake.slots[0]["segments"]] == [
        hashlib.sha256(data[:8 * MiB]).hexdigest(), hashlib.sha256(data[8 * MiB:]).hexdigest()]
    assert fake.uploaded(1) == data
    for _n, i, headers, body in fake.puts:
        assert "Authorization" not in headers and "Procore-Company-Id" not in headers
        assert headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
        assert headers["content-md5"] == f"MD5-1-{i}"  # sent exactly as Procore signed them
        assert headers["Content-Length"] == str(len(body))
        assert headers["Content-Type"] == "application/octet-stream"
    assert fake.completed == [("UP1", [{"etag": '"e1-0"'}, {"etag": '"e1-1"'}])]
    # never the whole file; `responses` reads a file-like body in one go, so a part at most here
    # (over real HTTP the parts are read in small blocks: tests/procore/test_procore_sandbox_export.py)
    assert source.largest <= 8 * MiB


def test_signed_content_type_wins_over_ours(pc, rsps):
    from portal.procore import Upload, UploadSegment
    rsps.put(f"{STORAGE}/p", headers={"ETag": '"e"'})
    slot = Upload(uuid="U", url=None, segments=(UploadSegment(
        url=f"{STORAGE}/p", headers=(("content-type", "binary/signed"), ("content-length", "3")),
        size=3, sha256=None),))
    assert pc.upload_segments(slot, io.BytesIO(b"abc")) == ['"e"']
    assert rsps.calls[0].request.headers["Content-Type"] == "binary/signed"


def test_storage_5xx_after_the_retries_starts_over_with_a_fresh_slot(pc, rsps, clock):
    data = random.Random(1).randbytes(6 * MiB)
    fake = FakeProcoreUploads(rsps, storage_status=lambda slot: 500 if slot == 1 else 200)
    assert pc.upload(1, 5, io.BytesIO(data), filename="a.bin", size=len(data)) == "UP2"
    assert len(fake.slots) == 2 and fake.slots[0] == fake.slots[1]  # same segments, hashed once
    assert [n for n, *_ in fake.puts].count(1) == 1 + pc.max_retries  # the per-request retries first
    assert fake.uploaded(2) == data
    assert [uuid for uuid, _ in fake.completed] == ["UP2"]


def test_expired_slot_starts_over_with_a_fresh_slot(pc, rsps):
    fake = FakeProcoreUploads(rsps, storage_status=lambda slot: 403 if slot == 1 else 204)
    assert pc.upload(1, 5, io.BytesIO(b"contenido"), filename="a.txt", size=9) == "UP2"
    assert len(fake.slots) == 2 and fake.posts[0][0] == 2 and b"contenido" in fake.posts[0][1]


def test_a_bounded_number_of_slots(pc, rsps):
    fake = FakeProcoreUploads(rsps, storage_status=lambda slot: 403)
    with pytest.raises(ProcoreUploadExpired):
        pc.upload(1, 5, io.BytesIO(b"x"), filename="a.txt", size=1)
    assert len(fake.slots) == UPLOAD_ATTEMPTS
    fake = FakeProcoreUploads(rsps, storage_status=lambda slot: 503)
    with pytest.raises(ProcoreUnavailable):
        pc.upload(1, 5, io.BytesIO(b"x"), filename="a.txt", size=1)


def test_a_refused_slot_request_is_not_retried_with_new_slots(pc, rsps):
    rsps.post(UPLOADS, status=422, json={"errors": "segments: size must be 5242880.."})
    with pytest.raises(ProcoreValidationError):
        pc.upload(1, 5, io.BytesIO(b"x" * (6 * MiB)), filename="a.bin", size=6 * MiB)
    assert len(rsps.calls) == 1


def test_upload_starts_where_the_file_is(pc, rsps):
    fake = FakeProcoreUploads(rsps, storage_status=lambda slot: 403 if slot == 1 else 204)
    source = io.BytesIO(b"HEADERcontenido")
    source.seek(6)
    pc.upload(1, 5, source, filename="a.txt", size=9)
    assert b"contenido" in fake.posts[0][1] and b"HEADER" not in fake.posts[0][1]
