"""cBox pages: projects, categorized folders, folders with item status, file actions (SPEC D1, R7, R32).

Reading: company users of the owning company, support read-only (404 for other companies' ids).
Editing: portal/cbox/permissions.can_edit (R32). Every change goes through portal/cbox/store.
Delete routes are registered last on purpose (tests/portal/test_access.py walks routes in order).
"""
from __future__ import annotations


from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from portal import audit
from portal.access import company_scope_id, roles_required
from portal.cbox import permissions, store, trash
from portal.views import cbox_web as web
from portal.cbox.errors import CboxError
from portal.extensions import db
from portal.models import CboxFile, CboxFolder, CboxProject, Company, Role
from portal.sync import exports, progress, states
from portal.sync.mapper import TOOLS

bp = Blueprint("cbox", __name__, url_prefix="/cbox")
READERS = dict(read_only=(Role.SUPPORT, Role.SUPERADMIN))


@bp.context_processor
def _endpoints():
    # The Procore menu entries link to the integrations blueprint (issue 6 part B) once it exists, and
    # only where they lead somewhere (templates/cbox/_macros.html procore_links).
    return {"has_endpoint": lambda name: name in current_app.view_functions, "procore_tools": TOOLS,
            "procore_covers": procore_covers, "procore_exportable": procore_exportable}


def procore_exportable(folder_id: int) -> bool:
    """May "Exportar a… › Procore" start here (a Documentos or Imágenes folder outside every import, R5)?
    Cached per request."""
    cache = g.setdefault("procore_exportable", {})
    if folder_id not in cache:
        folder = db.session.get(CboxFolder, folder_id)
        cache[folder_id] = (folder is not None and current_user.role in (Role.ADMIN, Role.MEMBER)
                            and exports.exportable(folder))
    return cache[folder_id]


def procore_covers(folder_id: int) -> bool:
    """Does an integration write into this folder ("Procore › Actualizar" applies)? Cached per request;
    pages ask for all their folders at once first (covers_ahead)."""
    covered = g.setdefault("procore_covered", {})
    if folder_id not in covered:
        covers_ahead([folder_id])
    return covered[folder_id]


def covers_ahead(folder_ids) -> None:
    covered = g.setdefault("procore_covered", {})
    wanted = [i for i in folder_ids if i not in covered]
    found = progress.covering(current_user.company_id, wanted)
    covered.update({folder_id: folder_id in found for folder_id in wanted})


@bp.route("/")
@roles_required(Role.ADMIN, Role.MEMBER, **READERS)
def index():
    query = select(CboxProject, Company.name).join(Company).order_by(Company.name, CboxProject.name)
    scope = company_scope_id(current_user)
    if scope is not None:
        query = query.where(CboxProject.company_id == scope)
    return render_template("cbox/index.html", projects=db.session.execute(query).all())


@bp.post("/projects")
@roles_required(Role.ADMIN)
def create_project():
    try:
        project = store.create_project(current_user.company_id, request.form.get("name", ""))
    except CboxError as error:
        flash(str(error), "error")
        return redirect(url_for("cbox.index"))
    db.session.commit()
    flash(_("cBox project %(name)s created.", name=project.name), "success")
    return redirect(url_for("cbox.project", project_id=project.id))


@bp.route("/projects/<int:project_id>")
@roles_required(Role.ADMIN, Role.MEMBER, **READERS)
def project(project_id: int):
    project = web.project_or_404(project_id)
    folders = [store.categorized_folder(project, kind) for kind in ("documents", "photos", "drawings")]
    editors = {folder.id: permissions.editor_ids(folder) for folder in folders}
    covers_ahead([folder.id for folder in folders])
    return render_template("cbox/project.html", project=project, folders=folders, editors=editors,
                           members=permissions.company_members(project.company_id),
                           states=states.categorized_states(folders), trash_count=len(trash.entries(project)))


@bp.post("/projects/<int:project_id>/editors")
@roles_required(Role.ADMIN)
def set_editors(project_id: int):
    """R32: the company admin ticks which members may edit each categorized folder."""
    project = web.project_or_404(project_id)
    try:
        for kind in ("documents", "photos", "drawings"):
            folder = store.categorized_folder(project, kind)
            permissions.set_editors(folder, web.int_set(request.form.getlist(f"editors-{folder.id}")))
        audit.record("permission.changed", target=project.name, target_id=project.id, company_id=project.company_id)
    except CboxError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("cbox.project", project_id=project.id))
    db.session.commit()
    flash(_("Edit permissions saved."), "success")
    return redirect(url_for("cbox.project", project_id=project.id))


@bp.route("/folders/<int:folder_id>")
@roles_required(Role.ADMIN, Role.MEMBER, **READERS)
def folder(folder_id: int):
    folder = web.folder_or_404(folder_id)
    folders, files = store.children(folder)
    crumbs = web.ancestors(folder)
    covers_ahead([folder.id, *(sub.id for sub in folders)])
    return render_template("cbox/folder.html", folder=folder, folders=folders, files=files, crumbs=crumbs,
                           exported=exports.exported_files([file.id for file in files]),
                           states=states.FolderStates(folder, crumbs, folders, files),
                           editable=permissions.can_edit(current_user, folder))


@bp.post("/folders/<int:folder_id>/folders")
@roles_required(Role.ADMIN, Role.MEMBER)
def create_folder(folder_id: int):
    parent = web.editable(web.folder_or_404(folder_id))
    with web.flashing_errors():
        created = store.create_folder(parent, request.form.get("name", ""))
        db.session.commit()
        exports.touch(parent)
        flash(_("Folder %(name)s created.", name=created.name), "success")
    return web.back_to(parent)


@bp.post("/folders/<int:folder_id>/files")
@roles_required(Role.ADMIN, Role.MEMBER)
def upload(folder_id: int):
    """Several files at once; each streamed to the blob store (D2 allows local uploads in the request)."""
    folder = web.editable(web.folder_or_404(folder_id))
    uploads = [upload for upload in request.files.getlist("files") if upload.filename]
    if not uploads:
        flash(_("Choose at least one file to upload."), "error")
        return web.back_to(folder)
    with web.flashing_errors():
        names = [store.add_file(folder, web.client_name(up), store.write_blob(up.stream)).name for up in uploads]
        db.session.commit()
        exports.touch(folder)  # an exported folder sends its new files to Procore (R5)
        flash(ngettext("%(num)d file uploaded: %(names)s", "%(num)d files uploaded: %(names)s", len(names),
                       names=", ".join(names)), "success")
    return web.back_to(folder)


@bp.route("/files/<int:file_id>/versions", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.MEMBER)
def new_version(file_id: int):
    file = web.editable(web.file_or_404(file_id))
    if request.method == "GET":
        return _action_page("version", file)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the file with the new version."), "error")
        return web.back_to(file.folder)
    with web.flashing_errors():
        version = store.add_version(file, store.write_blob(upload.stream))
        db.session.commit()
        exports.queue(exports.covering_item(file))  # R31: re-created in Procore
        flash(_("%(name)s is now at version %(number)s.", name=file.name, number=version.number), "success")
    return web.back_to(file.folder)


@bp.route("/files/<int:file_id>/download")
@roles_required(Role.ADMIN, Role.MEMBER, **READERS)
def download(file_id: int):
    return web.send_current_version(web.file_or_404(file_id))


@bp.route("/folders/<int:folder_id>/rename", methods=["GET", "POST"], endpoint="rename")
@bp.route("/files/<int:file_id>/rename", methods=["GET", "POST"], endpoint="rename")
@roles_required(Role.ADMIN, Role.MEMBER)
def rename(folder_id: int | None = None, file_id: int | None = None):
    item = web.editable(web.item_or_404(folder_id, file_id))
    if request.method == "GET":
        return _action_page("rename", item)
    with web.flashing_errors():
        store.rename(item, request.form.get("name", ""))
        db.session.commit()
        exports.queue(exports.covering_item(item))  # R31: a renamed file is re-created in Procore
        flash(_("Renamed to %(name)s.", name=item.name), "success")
    return web.back_to(web.parent_of(item))


@bp.route("/folders/<int:folder_id>/move", methods=["GET", "POST"], endpoint="move")
@bp.route("/files/<int:file_id>/move", methods=["GET", "POST"], endpoint="move")
@roles_required(Role.ADMIN, Role.MEMBER)
def move(folder_id: int | None = None, file_id: int | None = None):
    item = web.editable(web.item_or_404(folder_id, file_id))
    if request.method == "POST":
        target = db.session.get(CboxFolder, request.form.get("destination", type=int) or 0)
        if target is None or target.project_id != item.project_id or trash.is_trashed(target):
            flash(_("Choose a destination folder from the list."), "error")
        else:
            with web.flashing_errors():
                before = exports.covering_item(item)
                store.move(item, web.editable(target))
                db.session.commit()
                exports.queue(before + exports.covering_item(item))
                flash(_("%(name)s moved to %(folder)s.", name=item.name, folder=target.name), "success")
                return web.back_to(target)
    return render_template("cbox/move.html", item=item, choices=web.move_choices(item),
                           crumbs=web.ancestors(web.parent_of(item))), (400 if request.method == "POST" else 200)


@bp.route("/files/<int:file_id>/delete", methods=["GET", "POST"], endpoint="delete")
@bp.route("/folders/<int:folder_id>/delete", methods=["GET", "POST"], endpoint="delete")
@roles_required(Role.ADMIN, Role.MEMBER)
def delete(folder_id: int | None = None, file_id: int | None = None):
    """GET: what would go, asked first; POST: move it to the trash (issue 14), restorable for
    CBOX_TRASH_DAYS days."""
    item = web.editable(web.item_or_404(folder_id, file_id))
    if request.method == "GET":
        return _action_page("delete", item, contents=store.count_below(item) if folder_id is not None else None,
                            keep_days=trash.keep_days())
    parent, name = web.parent_of(item), item.name
    with web.flashing_errors():
        affected = exports.covering_item(item)  # an exported item leaves Procore too (R25 while offline)
        trash.trash(item, current_user)
        audit.record("cbox.trashed", target=name, target_id=item.id, company_id=item.project.company_id)
        db.session.commit()
        exports.queue(affected)
        flash(_("%(name)s was moved to the trash. It can be restored for %(days)s days.", name=name,
                days=trash.keep_days()), "success")
    return web.back_to(parent or item)


@bp.route("/projects/<int:project_id>/trash")
@roles_required(Role.ADMIN, Role.MEMBER, **READERS)
def trash_list(project_id: int):
    """What was deleted in the project, who deleted it, and until when it can be restored."""
    project = web.project_or_404(project_id)
    entries = trash.entries(project)
    roots = {kind: store.categorized_folder(project, kind) for kind in ("documents", "photos", "drawings")}
    return render_template("cbox/trash.html", project=project, entries=entries, expires_at=trash.expires_at,
                           keep_days=trash.keep_days(), restore_target=trash.restore_target,
                           editable={kind: permissions.can_edit(current_user, root) for kind, root in roots.items()})


def _editable_entry(entry_id: int):
    entry = web.trash_entry_or_404(entry_id)
    project = db.session.get(CboxProject, entry.project_id)
    web.editable(store.categorized_folder(project, entry.category))  # R32: who may edit that tree
    return entry, project


@bp.post("/trash/<int:entry_id>/restore")
@roles_required(Role.ADMIN, Role.MEMBER)
def restore_trash(entry_id: int):
    entry, project = _editable_entry(entry_id)
    with web.flashing_errors():
        item, target = trash.restore(entry)
        audit.record("cbox.restored", target=item.name, target_id=item.id, company_id=project.company_id)
        db.session.commit()
        exports.queue(exports.covering_item(item))  # an exported folder sends it to Procore again
        flash(_("%(name)s was restored to %(folder)s.", name=item.name, folder=" / ".join(store.path_of(target))),
              "success")
    return redirect(url_for("cbox.trash_list", project_id=project.id))


@bp.route("/trash/<int:entry_id>/purge", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.MEMBER)
def purge_trash(entry_id: int):
    """GET: asked first; POST: deleted for good."""
    entry, project = _editable_entry(entry_id)
    if request.method == "GET":
        return render_template("cbox/purge.html", project=project, entry=entry, expires_at=trash.expires_at(entry))
    name = entry.name
    trash.purge(entry)
    audit.record("cbox.purged", target=name, target_id=entry_id, company_id=project.company_id)
    db.session.commit()
    flash(_("%(name)s was deleted for good.", name=name), "success")
    return redirect(url_for("cbox.trash_list", project_id=project.id))


def _action_page(action: str, item, **extra):
    """The page behind a "⋯" menu entry: rename, upload a new version or confirm a deletion."""
    is_file = isinstance(item, CboxFile)
    return render_template("cbox/action.html", action=action, item=item, is_file=is_file,
                           crumbs=web.ancestors(web.parent_of(item)) if web.parent_of(item) else [],
                           exported=bool(exports.covering_item(item)), **extra)
