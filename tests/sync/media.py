"""Helpers for the Photos and Drawings sync tests: start an integration of any tool, read Procore's
photos and drawings over plain HTTP (the oracle), call a mapper directly."""
from __future__ import annotations

import hashlib
from contextlib import contextmanager

from sqlalchemy import select

from tests.sync.helpers import Procore


def start_tool(app, db, world, folder_id: int, selection: dict, project_name: str = "Hospital Regional Ñuñoa"):
    """An integration of the folder's tool with `selection`, and its first run (committed, not enqueued)."""
    from portal.models import CboxFolder, ProcoreAccount, User
    from portal.sync import gate, service

    with app.app_context():
        user, account = db.session.get(User, world.user_id), db.session.get(ProcoreAccount, world.account_id)
        integration, run = service.create_integration(user, account, db.session.get(CboxFolder, folder_id),
                                                      gate.Verdict(world.project_id, project_name),
                                                      selection=selection)
        db.session.commit()
        return integration.id, run.id


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def albums(procore: Procore) -> dict[str, dict]:
    return {album["name"]: album for album in procore.get("/rest/v1.0/image_categories")}


def album_images(procore: Procore, album_id: int) -> list[dict]:
    return procore.get("/rest/v1.0/images", image_category_id=album_id, per_page=1000)


def photo_tree(procore: Procore, album_ids) -> dict[str, str]:
    """{path: sha256 or "<folder>"} of Procore/<Album>/<file name> for the given albums (R18)."""
    out = {"Procore": "<folder>"}
    for album in procore.get("/rest/v1.0/image_categories"):
        if album["id"] not in album_ids:
            continue
        out[f"Procore/{album['name']}"] = "<folder>"
        for image in album_images(procore, album["id"]):
            out[f"Procore/{album['name']}/{image['filename']}"] = sha(procore.content(image["url"]))
    return out


def areas(procore: Procore) -> dict[str, dict]:
    return {area["name"]: area for area in procore.get(
        f"/rest/v1.1/projects/{procore.world.project_id}/drawing_areas")}


def revisions(procore: Procore, **params) -> list[dict]:
    return procore.get(f"/rest/v1.0/projects/{procore.world.project_id}/drawing_revisions", per_page=1000, **params)


def revision(procore: Procore, number: str, revision_number: str, area_id: int) -> dict:
    return next(r for r in revisions(procore, drawing_area_id=area_id, with_obsolete="true")
                if r["number"] == number and r["revision_number"] == revision_number)


def drawing_tree(procore: Procore, area_ids, discipline_names=None) -> dict[str, str]:
    """{path: sha256 or "<folder>"} of Procore/<Area>/<Discipline>/<number> <title>.pdf: the current,
    published revision of every drawing that is not obsolete (R15, R16)."""
    out = {"Procore": "<folder>"}
    for area in procore.get(f"/rest/v1.1/projects/{procore.world.project_id}/drawing_areas"):
        if area["id"] not in area_ids:
            continue
        out[f"Procore/{area['name']}"] = "<folder>"
        for rev in revisions(procore, drawing_area_id=area["id"]):
            discipline = rev["discipline"]["name"]
            if not rev["current"] or rev["status"] != "published" or rev["obsolete"] or (
                    discipline_names is not None and discipline not in discipline_names):
                continue
            out[f"Procore/{area['name']}/{discipline}"] = "<folder>"
            out[f"Procore/{area['name']}/{discipline}/{rev['number']} {rev['title']}.pdf"] = sha(
                procore.content(rev["pdf_url"]))
    return out


def links_by_kind(app, db, integration_id) -> dict[tuple[str, int], object]:
    from portal.models import SyncItem

    with app.app_context():
        rows = db.session.scalars(select(SyncItem).where(SyncItem.integration_id == integration_id)).all()
        for row in rows:
            db.session.expunge(row)
        return {(row.procore_kind, row.procore_id): row for row in rows}


@contextmanager
def mapper_call(app, world, selections: dict):
    """(client, target) for calling a mapper directly, as the engine's listing thread does."""
    from portal.connections.credentials import DbCredential, client_for
    from portal.sync.fetch import Target

    with app.app_context():
        yield client_for(DbCredential(world.account_id)), Target(world.procore_company_id, world.project_id,
                                                                   selections)
