"""Shared set-up for the sync tests: a portal company linked to the sandbox's Procore company, an
account made from a sandbox token, a cBox project, a healthy webhook, and two independent views of
a tree (Procore's over plain HTTP, cBox's from the rows and the blob store) to compare by sha256."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

import requests
from sqlalchemy import select

ADMIN = "admin@constructora.test"


@dataclass
class World:
    company_id: int
    user_id: int
    account_id: int
    documents_id: int
    procore_company_id: int
    project_id: int
    token: str
    photos_id: int | None = None  # the Imágenes and Planos categorized folders of the same cBox project
    drawings_id: int | None = None


def add_account(db, user, procore_user_id: int, login: str, procore_company_id: int, pair: dict):
    """A ProcoreAccount of `user` holding a token pair the sandbox issued (encrypted, as connecting stores it)."""
    from portal.connections.credentials import store_pair
    from portal.models import ProcoreAccount
    from portal.procore import TokenPair

    account = ProcoreAccount(company_id=user.company_id, user_id=user.id, procore_user_id=procore_user_id,
                             procore_login=login, procore_company_id=procore_company_id)
    now = datetime.now(timezone.utc)
    store_pair(account, TokenPair(pair["access_token"], pair["refresh_token"], now + timedelta(hours=1), now))
    db.session.add(account)
    return account


def make_world(app, db, sb, project: str = "Hospital Regional Ñuñoa", login: str = ADMIN, hook: bool = True) -> World:
    from portal.cbox import store
    from portal.models import Company, Role, User
    from tests.conftest import password_hash

    pair = sb.token(login)
    with app.app_context():
        company = Company(name="Constructora Demo", procore_company_id=sb.company_id(),
                          procore_company_name="Constructora Demo")
        db.session.add(company)
        db.session.flush()
        user = User(email="admin@demo.test", role=Role.ADMIN, company_id=company.id, can_integrate_procore=True,
                    password_hash=password_hash(), name="Admin Demo")
        db.session.add(user)
        db.session.flush()
        account = add_account(db, user, 5_000_000_999, login, company.procore_company_id, pair)
        cbox_project = store.create_project(company.id, "Obra Álamos")
        documents = store.categorized_folder(cbox_project, "documents")
        photos, drawings = (store.categorized_folder(cbox_project, kind) for kind in ("photos", "drawings"))
        db.session.commit()
        world = World(company.id, user.id, account.id, documents.id, company.procore_company_id,
                      sb.project_id(project), pair["access_token"], photos.id, drawings.id)
    if hook:
        healthy_hook(app, db, world)
    return world


def healthy_hook(app, db, world: World) -> None:
    """Point the project's webhook at this portal with the webhook engineer's own repair (R11, R12)."""
    from portal.connections.credentials import client_for_account
    from portal.models import Company, ProcoreAccount
    from portal.webhooks import health, repair

    with app.app_context():
        company = db.session.get(Company, world.company_id)
        client = client_for_account(db.session.get(ProcoreAccount, world.account_id))
        row = health.check(company, world.project_id, client, "test")
        db.session.commit()  # as the repair view does: no write stays open across the next Procore call
        after, _failed = repair.apply(client, company, world.project_id, row, "test")
        assert health.block_reason(after) is None, after.state


class Procore:
    """A tiny independent Procore reader (plain requests): the oracle the sync is compared with."""

    def __init__(self, sb, world: World):
        self.sb, self.world = sb, world
        self.headers = {"Authorization": f"Bearer {world.token}", "Procore-Company-Id": str(world.procore_company_id)}

    def get(self, path: str, **params):
        response = requests.get(self.sb.url + path, headers=self.headers, timeout=30,
                                params={"project_id": self.world.project_id, **params})
        response.raise_for_status()
        return response.json()

    def send(self, method: str, path: str, **body):
        response = requests.request(method, self.sb.url + path, headers=self.headers, json=body or None,
                                    params={"project_id": self.world.project_id}, timeout=30)
        assert response.status_code < 300, response.text[:300]
        return response.json() if response.content else None

    def root(self) -> dict:
        return self.get("/rest/v1.0/folders")

    def child(self, name: str, parent: dict | None = None) -> dict:
        parent = parent or self.root()
        return next(f for f in parent["folders"] + parent["files"] if f["name"] == name)

    def folder(self, folder_id: int) -> dict:
        return self.get(f"/rest/v1.0/folders/{folder_id}")

    def content(self, url: str) -> bytes:
        first = requests.get(url, headers={"Authorization": self.headers["Authorization"]}, allow_redirects=False,
                             timeout=30)
        assert first.status_code == 302
        return requests.get(urljoin(url, first.headers["Location"]), timeout=60).content

    def tree(self, folder_id: int, prefix: str) -> dict[str, str]:
        """{path: sha256 or "<folder>"} below one folder, paths made of Procore's original names."""
        folder, out = self.folder(folder_id), {prefix: "<folder>"}
        for file in folder["files"]:
            if file.get("is_deleted"):
                continue
            version = max(file["file_versions"], key=lambda v: v["number"])
            out[f"{prefix}/{file['name']}"] = hashlib.sha256(self.content(version["url"])).hexdigest()
        for sub in folder["folders"]:
            if sub.get("is_recycle_bin") or sub.get("is_deleted"):
                continue
            out.update(self.tree(sub["id"], f"{prefix}/{sub['name']}"))
        return out


def cbox_tree(app, db, folder_id: int, prefix: str | None = None) -> dict[str, str]:
    """The same shape read from cBox: original names, sha256 of the stored blob (read from disk)."""
    from portal.cbox.blobstore import get_blob_store
    from portal.models import CboxFile, CboxFolder

    with app.app_context():
        folder = db.session.get(CboxFolder, folder_id)
        prefix = prefix if prefix is not None else folder.original_name
        out = {prefix: "<folder>"}
        for file in db.session.scalars(select(CboxFile).where(CboxFile.folder_id == folder_id)):
            with get_blob_store().open(file.current_version.blob_sha256) as stream:
                out[f"{prefix}/{file.original_name}"] = hashlib.sha256(stream.read()).hexdigest()
        subs = db.session.scalars(select(CboxFolder).where(CboxFolder.parent_id == folder_id)).all()
    for sub in subs:
        out.update(cbox_tree(app, db, sub.id, f"{prefix}/{sub.original_name}"))
    return out


def counts(app, db) -> dict[str, int]:
    from sqlalchemy import func

    from portal.models import CboxFile, CboxFileVersion, CboxFolder

    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (CboxFolder, CboxFile, CboxFileVersion)}


def links(app, db, integration_id) -> dict[int, tuple]:
    """{procore file id: (status, error, attempts)} of the integration's file links."""
    from portal.models import SyncItem

    with app.app_context():
        rows = db.session.scalars(select(SyncItem).where(SyncItem.integration_id == integration_id,
                                                         SyncItem.procore_kind == "file")).all()
        return {row.procore_id: (row.status, row.error, row.attempts) for row in rows}


def file_ids(procore: Procore, folder_id: int) -> dict[int, dict]:
    """Every live file below a folder, by id, as Procore lists it."""
    folder, out = procore.folder(folder_id), {}
    for file in folder["files"]:
        if not file.get("is_deleted"):
            out[file["id"]] = file
    for sub in folder["folders"]:
        if not (sub.get("is_recycle_bin") or sub.get("is_deleted")):
            out.update(file_ids(procore, sub["id"]))
    return out


def after_first_file(monkeypatch, sb, action):
    """List Procore completely, then run `action` (a mid-run change in Procore) once the first file has
    been downloaded: later downloads meet the change, the listing itself is already complete."""
    from portal.sync.documents import DocumentsMapper

    original = DocumentsMapper.list_remote

    def listing(self, client, integration):
        items, done = list(original(self, client, integration)), False
        for item in items:
            yield item
            if item.kind == "file" and not done:
                deadline = time.time() + 20
                while sb.stats()["storage_downloads"] < 1 and time.time() < deadline:
                    time.sleep(0.02)
                action()
                done = True

    monkeypatch.setattr(DocumentsMapper, "list_remote", listing)


def second_account(app, db, sb, world, login="sinadmin@constructora.test"):
    """Another portal user whose Procore account completed an integration on the project (R33)."""

    from portal.connections.credentials import record_integration
    from portal.models import Role, User
    from tests.conftest import password_hash

    pair = sb.token(login)
    with app.app_context():
        user = User(email="sofia@demo.test", role=Role.MEMBER, company_id=world.company_id, name="Sofía",
                    can_integrate_procore=True, password_hash=password_hash())
        db.session.add(user)
        db.session.flush()
        account = add_account(db, user, 5_000_000_998, login, world.procore_company_id, pair)
        db.session.flush()
        record_integration(account, world.project_id)
        db.session.commit()
