"""The Procore client's export calls over real HTTP against the sandbox: direct uploads (segmented,
retried with a fresh slot), CalidadCloud created once by racing workers (R24), a photo with its cBox
path as description (R30)."""
from __future__ import annotations

import hashlib
import io
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from portal.procore import InMemoryCredential, ProcoreClient, TokenPair
from portal.procore.transfer import CHUNK
from sandbox.photos.media import make_jpeg

MiB = 1024 * 1024


class ReadRecorder(io.BytesIO):
    """A seekable file that remembers the largest read it was asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.largest = max(self.largest, len(data))
        return data


@pytest.fixture()
def connect(sb):
    """A ProcoreClient on the sandbox for admin@ (one per thread, as the portal does)."""
    pair = sb.token("admin@constructora.test")
    now = datetime.now(timezone.utc)
    token = TokenPair(pair["access_token"], pair["refresh_token"], now + timedelta(hours=1), now)
    account = f"export-{uuid.uuid4().hex}"

    def make(**kw) -> ProcoreClient:
        options = {"allow_private_redirects": True, "requests_per_second": None,
                   "sleep": lambda seconds: None, **kw}
        return ProcoreClient(sb.url, sb.url, "demo-client", "demo-secret",
                             InMemoryCredential(account, token), **options)
    return make


@pytest.fixture()
def ids(world):
    return world.demo, world.rio_claro


def download(pc, company, project, file_id) -> bytes:
    version = pc.file(company, project, file_id).current_version
    out = io.BytesIO()
    pc.download(version.url, out, expected_size=version.size, company_id=company)
    return out.getvalue()


def test_12_mb_file_goes_through_the_segmented_flow_and_comes_back_identical(connect, ids):
    company, project = ids
    calls: list[str] = []
    pc = connect(before_call=calls.append)
    data = random.Random(12).randbytes(12_000_000)
    source = ReadRecorder(data)
    folder = pc.ensure_folder(company, project, "CalidadCloud")
    upload = pc.upload(company, project, source, filename="Plano 12 MB.bin", size=len(data))
    created = pc.create_file_from_upload(company, project, upload_uuid=upload, name="Plano 12 MB.bin",
                                         parent_id=folder.id)
    assert created.parent_id == folder.id and created.size == len(data)
    puts = [c for c in calls if c.startswith("PUT ")]
    assert len(puts) == 2 and all(c.endswith("(storage)") for c in puts)  # 8 MiB + the rest
    assert not any(c.startswith("POST /_storage/") for c in calls)
    assert source.largest <= CHUNK  # streamed: never the whole file, nor a whole part, in memory
    back = download(pc, company, project, created.id)
    assert hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("size", [2_000, 6 * MiB], ids=["one POST", "segmented"])
def test_storage_500_beyond_the_retries_starts_over_with_a_fresh_slot(connect, sb, ids, size):
    company, project = ids
    data = random.Random(size).randbytes(size)
    sb.control({"upload_storage_5xx_next": 1})
    pc = connect(max_retries=0)  # no per-request retry: the one 500 fails the slot
    upload = pc.upload(company, project, io.BytesIO(data), filename="a.bin", size=size)
    created = pc.create_file_from_upload(company, project, upload_uuid=upload, name="a.bin")
    stats = sb.stats()
    assert stats["injected_storage_5xx"] == 1
    assert stats["endpoints"]["/rest/v1.1/projects/<int:project_id>/uploads"] == 2  # two slots
    assert download(pc, company, project, created.id) == data
    # with the usual per-request retries the same 500 costs no new slot
    sb.control({"upload_storage_5xx_next": 1})
    connect(max_retries=2).upload(company, project, io.BytesIO(data), filename="b.bin", size=size)
    stats = sb.stats()
    assert stats["injected_storage_5xx"] == 2
    assert stats["endpoints"]["/rest/v1.1/projects/<int:project_id>/uploads"] == 3


@pytest.mark.parametrize("size", [2_000, 6 * MiB], ids=["one POST", "segmented"])
def test_an_expired_slot_is_replaced_by_a_fresh_one(connect, sb, ids, size):
    """The slot's storage upload starts after `upload_start_window`: 403, new slot, done."""
    company, project = ids
    data = random.Random(size + 1).randbytes(size)
    moved: list[str] = []

    def late(call: str) -> None:
        if call.endswith("(storage)") and not moved:
            moved.append(call)
            sb.advance_clock(3601)  # the sandbox's upload_start_window is 3600 s

    pc = connect(before_call=late)
    upload = pc.upload(company, project, io.BytesIO(data), filename="tarde.bin", size=size)
    created = pc.create_file_from_upload(company, project, upload_uuid=upload, name="tarde.bin")
    assert sb.stats()["endpoints"]["/rest/v1.1/projects/<int:project_id>/uploads"] == 2
    assert download(pc, company, project, created.id) == data


def race(connect, method: str, path: str, work):
    """Four workers run ``work(client)``; each waits before its ``method path`` request until all
    four reach theirs, so every one has looked, found nothing, and creates at the same moment."""
    barrier = threading.Barrier(4, timeout=30)

    def hook(call: str) -> None:
        if call == f"{method} {path}":
            barrier.wait()

    clients = [connect(before_call=hook) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(work, clients))


def test_four_workers_ensure_calidadcloud_and_one_folder_exists(connect, sb, ids):
    company, project = ids
    folders = race(connect, "POST", "/rest/v1.0/folders",
                   lambda pc: pc.ensure_folder(company, project, "CalidadCloud"))
    assert len({f.id for f in folders}) == 1
    root = connect().child_folders(company, project)
    assert [f.name for f in root].count("CalidadCloud") == 1
    stats = sb.stats()
    assert stats["endpoints"]["/rest/v1.0/folders"] >= 4 + 4 + 3  # 4 reads, 4 creates, 3 re-reads
    assert stats["status_codes"]["422"] == 3  # three lost the race: they use the winner's
    created = [e for e in sb.events(project_id=project)
               if e["resource_name"] == "Project Folders" and e["event_type"] == "create"]
    assert len(created) == 1
    # below it, the same: a subfolder is made once too
    sub = race(connect, "POST", "/rest/v1.0/folders",
               lambda pc: pc.ensure_folder(company, project, "Obra Gruesa", parent_id=folders[0].id))
    assert len({f.id for f in sub}) == 1 and sub[0].parent_id == folders[0].id
    # and a later call just finds it
    assert connect().ensure_folder(company, project, "CalidadCloud").id == folders[0].id


def test_four_workers_ensure_the_album_and_one_album_exists(connect, sb, ids):
    company, project = ids
    albums = race(connect, "POST", "/rest/v1.0/image_categories",
                  lambda pc: pc.ensure_album(company, project, "CalidadCloud"))
    assert len({a.id for a in albums}) == 1
    names = [a.name for a in connect().image_categories(company, project)]
    assert names.count("CalidadCloud") == 1
    assert sb.stats()["status_codes"]["422"] == 3


def test_a_jpeg_image_lands_in_the_album_with_its_cbox_path(connect, ids):
    company, project = ids
    pc = connect()
    album = pc.ensure_album(company, project, "CalidadCloud")
    picture = make_jpeg(32, 24, lambda bx, by: (200, 40 * bx, 60 * by), comment="fachada")
    upload = pc.upload(company, project, io.BytesIO(picture), filename="Fachada.JPEG", size=len(picture),
                       content_type="image/jpeg")
    path = "Imágenes/Obra/Norte/Fachada.JPEG"
    image = pc.create_image_from_upload(company, project, upload_uuid=upload, image_name="Fachada.JPEG",
                                        category_id=album.id, description=path)
    assert (image.filename, image.description, image.image_category_id) == ("Fachada.JPEG", path, album.id)
    listed = {i.id: i for i in pc.images(company, project, album.id)}
    assert listed[image.id].description == path and listed[image.id].size == len(picture)
    moved = pc.update_image(company, project, image.id, description="Imágenes/Sur/Fachada.JPEG")
    assert moved.description == "Imágenes/Sur/Fachada.JPEG" and moved.image_category_id == album.id
    assert pc.delete_image(company, project, image.id) is True
    assert pc.delete_image(company, project, image.id) is False  # already in the recycle bin
    assert image.id not in {i.id for i in pc.images(company, project, album.id)}


def test_files_renamed_moved_and_deleted(connect, ids):
    """What R31/R26 need on the Documents side: a clash refused, rename + move, delete."""
    company, project = ids
    pc = connect()
    top = pc.ensure_folder(company, project, "CalidadCloud")
    sub = pc.ensure_folder(company, project, "A", parent_id=top.id)

    def create(name: str, parent: int):
        body = f"{name} contenido".encode()
        upload = pc.upload(company, project, io.BytesIO(body), filename=name, size=len(body))
        return pc.create_file_from_upload(company, project, upload_uuid=upload, name=name, parent_id=parent)

    first = create("b.pdf", top.id)
    with pytest.raises(Exception, match="already been taken"):
        create("b.pdf", top.id)
    renamed = pc.update_file(company, project, first.id, name="c.pdf", parent_id=sub.id)
    assert (renamed.name, renamed.parent_id) == ("c.pdf", sub.id)
    assert pc.delete_file(company, project, first.id) is True
    assert pc.delete_folder(company, project, sub.id) is True
    assert [f.name for f in pc.child_folders(company, project, top.id)] == []
