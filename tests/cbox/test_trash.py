"""The cBox trash (issue 14): a deletion asked for in cBox moves the item to its project's trash, where it
stays restorable for CBOX_TRASH_DAYS days; restoring puts it back (elsewhere when its folder is gone,
renamed when its name was taken); "delete for good" and the periodic clean-up end it, and only then can
its content be collected. Every step is in the audit log."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal.cbox import store, trash
from portal.models import AuditEntry, CboxBlob, CboxFile, CboxFolder, CboxTrashEntry
from tests.conftest import csrf_token


@pytest.fixture
def world(app, db, make_company, make_user):
    a = make_company("Empresa A")
    people = {"admin": make_user("admin@a.test", "admin", a), "member": make_user("member@a.test", "member", a),
              "support": make_user("support@x.test", "support")}
    with app.app_context():
        project = store.create_project(a.id, "Obra Norte")
        docs = store.categorized_folder(project, "documents")
        sub = store.create_folder(docs, "Contratos")
        inner = store.create_folder(sub, "Anexos")
        acta = store.add_file(sub, "acta.pdf", store.write_blob(io.BytesIO(b"%PDF acta v1")))
        store.add_version(acta, store.write_blob(io.BytesIO(b"%PDF acta v2")))
        store.add_file(inner, "plano.pdf", store.write_blob(io.BytesIO(b"%PDF plano")))
        db.session.commit()
        ids = {"project": project.id, "docs": docs.id, "sub": sub.id, "inner": inner.id, "acta": acta.id}
    return {**people, **ids}


def _post(client, url, data=None, **kw):
    return client.post(url, data={"csrf_token": csrf_token(client), **(data or {})}, **kw)


def _entries(app, db):
    with app.app_context():
        return [(e.id, e.name, e.original_path) for e in db.session.scalars(select(CboxTrashEntry)
                                                                            .order_by(CboxTrashEntry.id))]


def test_a_deleted_file_waits_in_the_trash_and_comes_back_with_its_versions(app, db, client, login_as, world):
    login_as(world["admin"])
    assert _post(client, f"/cbox/files/{world['acta']}/delete").status_code == 302
    assert client.get(f"/cbox/files/{world['acta']}/download").status_code == 404  # out of its folder
    assert "acta.pdf" not in client.get(f"/cbox/folders/{world['sub']}").get_data(as_text=True)
    [(entry_id, name, path)] = _entries(app, db)
    assert (name, path) == ("acta.pdf", "Documentos / Contratos")

    page = client.get(f"/cbox/projects/{world['project']}/trash").get_data(as_text=True)
    assert "Papelera" in page and "acta.pdf" in page and "Documentos / Contratos" in page
    assert "admin@a.test" in page and "Restaurar" in page and "Eliminar definitivamente" in page
    expiry = (datetime.now(timezone.utc) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert expiry in page  # when it goes for good, from the recorded deletion time
    assert "Papelera (1)" in client.get(f"/cbox/projects/{world['project']}").get_data(as_text=True)

    restored = _post(client, f"/cbox/trash/{entry_id}/restore", follow_redirects=True).get_data(as_text=True)
    assert "acta.pdf se restauró en Documentos / Contratos." in restored and "La papelera está vacía." in restored
    assert client.get(f"/cbox/files/{world['acta']}/download").data == b"%PDF acta v2"
    with app.app_context():
        file = db.session.get(CboxFile, world["acta"])
        assert file.folder_id == world["sub"] and [v.number for v in file.versions] == [1, 2]
        assert db.session.scalar(select(func.count()).select_from(CboxFolder).where(
            CboxFolder.parent_id.is_(None), CboxFolder.kind.is_(None))) == 0  # no holder left behind
        actions = list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["cbox.trashed", "cbox.restored"]


def test_a_folder_goes_with_everything_inside_and_its_old_place_is_taken_meanwhile(app, db, client, login_as,
                                                                                    world):
    """Restoring a file whose folder is in the trash too puts it in the categorized folder; a name taken
    meanwhile gets " (2)" (nothing is overwritten)."""
    login_as(world["admin"])
    plano = _file_id(app, db, world["inner"], "plano.pdf")
    assert _post(client, f"/cbox/files/{plano}/delete").status_code == 302
    assert _post(client, f"/cbox/folders/{world['sub']}/delete").status_code == 302
    assert client.get(f"/cbox/folders/{world['inner']}").status_code == 404  # below a trashed folder
    folder_entry, file_entry = (entry_id for entry_id, _name, _path in _entries(app, db)[::-1])
    page = client.get(f"/cbox/projects/{world['project']}/trash").get_data(as_text=True)
    assert page.index("Contratos") < page.index("plano.pdf")  # newest first

    _post(client, f"/cbox/folders/{world['docs']}/files", {"files": [(io.BytesIO(b"otro"), "plano.pdf")]},
          content_type="multipart/form-data")
    assert _post(client, f"/cbox/trash/{file_entry}/restore").status_code == 302
    with app.app_context():
        file = db.session.get(CboxFile, plano)
        assert file.folder_id == world["docs"] and file.name == "plano (2).pdf"

    assert _post(client, f"/cbox/trash/{folder_entry}/restore").status_code == 302
    with app.app_context():
        assert db.session.get(CboxFolder, world["sub"]).parent_id == world["docs"]
        assert db.session.get(CboxFile, world["acta"]).folder_id == world["sub"]  # its content came back too
        assert db.session.get(CboxFolder, world["inner"]).parent_id == world["sub"]


def test_nothing_moves_into_a_trashed_folder(app, db, client, login_as, world):
    login_as(world["admin"])
    _post(client, f"/cbox/folders/{world['inner']}/delete")
    moved = _post(client, f"/cbox/files/{world['acta']}/move", {"destination": world["inner"]})
    assert moved.status_code == 400 and "Elija una carpeta de destino de la lista." in moved.get_data(as_text=True)
    assert f'value="{world["inner"]}"' not in client.get(f"/cbox/files/{world['acta']}/move").get_data(as_text=True)


def test_delete_for_good_asks_first_then_the_content_can_be_collected(app, db, client, login_as, world):
    login_as(world["admin"])
    _post(client, f"/cbox/files/{world['acta']}/delete")
    [(entry_id, _name, _path)] = _entries(app, db)
    ask = client.get(f"/cbox/trash/{entry_id}/purge").get_data(as_text=True)
    assert "¿Eliminar acta.pdf definitivamente?" in ask and "No se puede deshacer" in ask
    assert _entries(app, db), "asking deletes nothing"
    with app.app_context():
        shas = {v.blob_sha256 for v in db.session.get(CboxFile, world["acta"]).versions}
        store.collect_garbage(grace=timedelta(0))
        db.session.commit()
        assert len(shas) == 2 and all(db.session.get(CboxBlob, sha) for sha in shas)  # trashed content is kept
    done = _post(client, f"/cbox/trash/{entry_id}/purge", follow_redirects=True).get_data(as_text=True)
    assert "acta.pdf se eliminó definitivamente." in done
    with app.app_context():
        assert db.session.get(CboxFile, world["acta"]) is None
        store.collect_garbage(grace=timedelta(0))
        db.session.commit()
        assert not any(db.session.get(CboxBlob, sha) for sha in shas)  # both versions' content went
        assert db.session.scalar(select(func.count()).select_from(CboxBlob)) == 1  # plano.pdf's stays
        assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == "cbox.purged"
    assert client.post(f"/cbox/trash/{entry_id}/restore", data={"csrf_token": csrf_token(client)}).status_code == 404


def test_the_periodic_clean_up_ends_only_what_is_older_than_the_setting(app, db, world, monkeypatch):
    monkeypatch.setitem(app.config, "CBOX_TRASH_DAYS", 7)
    with app.app_context():
        old = trash.trash(db.session.get(CboxFile, world["acta"]))
        recent = trash.trash(db.session.get(CboxFolder, world["inner"]))
        old.deleted_at = datetime.now(timezone.utc) - timedelta(days=7, minutes=1)
        recent.deleted_at = datetime.now(timezone.utc) - timedelta(days=6, hours=23)
        db.session.commit()
        assert trash.purge_expired() == 1
        assert db.session.get(CboxFile, world["acta"]) is None
        assert trash.is_trashed(db.session.get(CboxFolder, world["inner"]))
        assert trash.purge_expired(now=datetime.now(timezone.utc) + timedelta(hours=2)) == 1
        assert db.session.get(CboxFolder, world["inner"]) is None
        assert db.session.scalar(select(func.count()).select_from(CboxTrashEntry)) == 0
    from portal.periodic import BY_NAME

    assert BY_NAME["cbox-trash"].func == "portal.cbox.trash.purge_expired"


def test_who_may_see_and_who_may_act_on_the_trash(app, db, client, login_as, world):
    """R32: a member without edit rights on Documentos and support read the trash but cannot act on it."""
    with app.app_context():
        entry_id = trash.trash(db.session.get(CboxFile, world["acta"])).id
        db.session.commit()
    for persona in ("member", "support"):
        login_as(world[persona])
        page = client.get(f"/cbox/projects/{world['project']}/trash").get_data(as_text=True)
        assert "acta.pdf" in page and "Restaurar" not in page and "Eliminar definitivamente" not in page
        assert _post(client, f"/cbox/trash/{entry_id}/restore").status_code == 403
    assert _entries(app, db)


def _file_id(app, db, folder_id, name):
    with app.app_context():
        return db.session.scalar(select(CboxFile.id).where(CboxFile.folder_id == folder_id, CboxFile.name == name))
