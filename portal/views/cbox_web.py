"""Request helpers for the cBox pages (portal/views/cbox.py): tenant-scoped loading, edit checks, answers.
The store (portal/cbox/) knows no Flask request; these do (issue 16)."""
from __future__ import annotations

import mimetypes
from contextlib import contextmanager

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from htmx_flask import make_response as htmx_response
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from portal.access import company_scope_id
from portal.cbox import permissions, trash
from portal.cbox.blobstore import get_blob_store
from portal.cbox.errors import CboxError
from portal.extensions import db
from portal.models import CboxFile, CboxFolder, CboxProject, CboxTrashEntry


def _scoped(obj, company_id: int | None):
    """404 for a missing row or one of another company (ids cannot be probed, RELIABILITY 28)."""
    scope = company_scope_id(current_user)
    if obj is None or (scope is not None and company_id != scope):
        abort(404)
    return obj


def project_or_404(project_id: int) -> CboxProject:
    project = db.session.get(CboxProject, project_id)
    return _scoped(project, project and project.company_id)


def folder_or_404(folder_id: int) -> CboxFolder:
    """A folder of the user's scope; one in the trash (or a trash holder) is not found here."""
    folder = db.session.get(CboxFolder, folder_id)
    if folder is not None and trash.is_trashed(folder):
        folder = None
    return _scoped(folder, folder and folder.project.company_id)


def file_or_404(file_id: int) -> CboxFile:
    file = db.session.get(CboxFile, file_id)
    if file is not None and trash.is_trashed(file):
        file = None
    return _scoped(file, file and file.project.company_id)


def trash_entry_or_404(entry_id: int) -> CboxTrashEntry:
    entry = db.session.get(CboxTrashEntry, entry_id)
    return _scoped(entry, entry and db.session.get(CboxProject, entry.project_id).company_id)


def item_or_404(folder_id: int | None, file_id: int | None):
    return folder_or_404(folder_id) if folder_id is not None else file_or_404(file_id)


def editable(item):
    """The item, or a 403 page that names the missing permission (R32)."""
    if not permissions.can_edit(current_user, item):
        error = Forbidden()
        error.friendly = _("You can view %(folder)s but not change it: ask your company admin for edit "
                           "permission on this folder.", folder=permissions.categorized_root(item).name)
        raise error
    return item


@contextmanager
def flashing_errors():
    """Run a store change; on CboxError roll back and show its message (nothing half-done is kept)."""
    try:
        yield
    except CboxError as error:
        db.session.rollback()
        flash(str(error), "error")


def back_to(folder: CboxFolder):
    """Back to the folder page: a redirect, or HX-Redirect for htmx uploads (full reload shows flashes)."""
    url = url_for("cbox.folder", folder_id=folder.id)
    if request.htmx:
        return htmx_response("", 204, redirect=url)
    return redirect(url)


def parent_of(item) -> CboxFolder | None:
    return item.folder if isinstance(item, CboxFile) else item.parent


def ancestors(folder: CboxFolder) -> list[CboxFolder]:
    chain = []
    while folder is not None:
        chain.append(folder)
        folder = folder.parent
    return chain[::-1]


def client_name(upload) -> str:
    """The file name a browser sent, without any client-side directory (old browsers send paths)."""
    return upload.filename.replace("\\", "/").rsplit("/", 1)[-1] or upload.filename


def int_set(values) -> set[int]:
    return {int(value) for value in values if str(value).isdigit()}


def move_choices(item) -> list[tuple[CboxFolder, str]]:
    """Folders of the item's categorized tree it may move to, with their paths, in path order."""
    root = permissions.categorized_root(item)
    folders = db.session.scalars(select(CboxFolder).where(CboxFolder.project_id == item.project_id,
                                                          CboxFolder.category == item.category)).all()
    by_parent: dict[int | None, list[CboxFolder]] = {}
    for folder in folders:
        by_parent.setdefault(folder.parent_id, []).append(folder)
    choices, stack = [], [(root, root.name)]
    while stack:
        folder, path = stack.pop()
        if isinstance(item, CboxFolder) and folder.id == item.id:
            continue  # never into itself or below it
        choices.append((folder, path))
        children = sorted(by_parent.get(folder.id, []), key=lambda f: f.name_key, reverse=True)
        stack.extend((child, f"{path} / {child.name}") for child in children)
    return choices


def send_current_version(file: CboxFile):
    """Stream the current version as an attachment under the file's stored name: two NFC/NFD twins
    (one original name to Procore, two here) download as "a.pdf" and "a (2).pdf", as they are listed."""
    version = file.current_version
    if version is None:
        abort(404)
    name = file.name
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return send_file(get_blob_store().open(version.blob_sha256), mimetype=mimetype, as_attachment=True,
                     download_name=name, etag=version.blob_sha256, conditional=False, max_age=0)
