"""Sibling folders and files share one namespace (store.py), also when two requests race.

The database enforces unique names only within each kind (one index per table), so the store
serialises name changes under one parent: the first statement of every name-changing call
locks the parent folder's row (a row lock on PostgreSQL, the write lock on SQLite) before the
names are checked. Runs on SQLite and, in CI's second pass, on PostgreSQL.
"""
from __future__ import annotations

import io
import threading

from sqlalchemy import select

from portal.cbox import store
from portal.models import CboxBlob, CboxFile, CboxFolder


def test_a_folder_and_a_file_created_at_once_get_different_names(app, db, make_company):
    company = make_company("Constructora Carrera")
    with app.app_context():
        parent = store.categorized_folder(store.create_project(company.id, "Obra carrera"), "documents")
        # Stored beforehand: the file's request must start with the name check, not a blob write.
        sha256 = store.write_blob(io.BytesIO(b"acta firmada")).sha256
        db.session.commit()
        parent_id = parent.id
    folder_written, errors, names = threading.Event(), [], {}

    def make_folder():
        try:
            with app.app_context():
                folder = store.create_folder(db.session.get(CboxFolder, parent_id), "Actas")
                folder_written.set()
                threading.Event().wait(0.5)  # the file's request arrives meanwhile
                db.session.commit()
                names["folder"] = folder.name
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
            folder_written.set()

    def make_file():
        folder_written.wait(5)
        try:
            with app.app_context():
                blob = db.session.get(CboxBlob, sha256)
                file = store.add_file(db.session.get(CboxFolder, parent_id), "actas", blob)
                db.session.commit()
                names["file"] = file.name
        except Exception as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=make_folder), threading.Thread(target=make_file)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert not errors, errors
    assert names == {"folder": "Actas", "file": "actas (2)"}
    with app.app_context():
        keys = db.session.scalars(select(CboxFolder.name_key).where(CboxFolder.parent_id == parent_id)).all() + \
            db.session.scalars(select(CboxFile.name_key).where(CboxFile.folder_id == parent_id)).all()
        assert len(keys) == len(set(keys)) == 2
