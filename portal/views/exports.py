"""Exportar a… › Procore: pick the Procore project, then what to export; the copy starts at once (R5, R32).

`folder_id` is a Documentos or Imágenes folder outside every import (portal/sync/exports.exportable);
`file_id` preselects one of its files (the ⋯ menu of a file). Progress is the integration page.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.views import procore_for
from portal.access import roles_required
from portal.extensions import db
from portal.forms import EmptyForm
from portal.models import CboxFolder, Role
from portal.procore import ProcoreAuthError, ProcoreError
from portal.sync import exports, gate, reasons, service
from portal.sync.jobs import enqueue

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _source_or_404() -> CboxFolder:
    folder = db.session.get(CboxFolder, request.values.get("folder_id", type=int) or 0)
    if folder is None or folder.project.company_id != current_user.company_id or not exports.exportable(folder):
        abort(404)
    return folder


@bp.route("/new")
@roles_required(Role.ADMIN, Role.MEMBER)
def new():
    folder = _source_or_404()
    context, refusal = procore_for(folder)
    if refusal:
        return refusal
    account, client = context
    tool, project_id = exports.TOOLS[folder.category], request.args.get("project_id", type=int)
    try:
        if project_id is None:
            choices = gate.choices(client, current_user.company, folder, tool, export=True)
            return render_template("exports/new.html", folder=folder, choices=choices, project=None, tool=tool,
                                   file_id=request.args.get("file_id", type=int))
        project = client.project(account.procore_company_id, project_id)
        verdict = gate.judge(client, current_user.company, folder, project.id, project.name, tool, export=True)
    except ProcoreAuthError:
        return redirect(url_for("procore.connect", account=account.id, next=request.full_path))
    except ProcoreError as error:
        return render_template("integrations/refused.html", folder=folder, reason=reasons.procore_problem(error),
                               detail=str(error)[:300]), 502
    return render_template("exports/new.html", folder=folder, project=verdict, tool=tool, form=EmptyForm(),
                           file_id=request.args.get("file_id", type=int))


@bp.route("/", methods=["POST"])
@roles_required(Role.ADMIN, Role.MEMBER)
def create():
    """ "Continuar": the export of the chosen items starts at once as background work (R5)."""
    folder = _source_or_404()
    context, refusal = procore_for(folder)
    if refusal or not EmptyForm().validate_on_submit():
        return refusal or abort(400)
    account, client = context
    try:
        project = client.project(account.procore_company_id, request.form.get("project_id", type=int) or abort(400))
        verdict = gate.judge(client, current_user.company, folder, project.id, project.name,
                             exports.TOOLS[folder.category], export=True)
        folder_ids = service.parse_ids(request.form.getlist("folder_ids"))
        file_ids = service.parse_ids(request.form.getlist("file_ids"))
    except (ProcoreError, ValueError):
        abort(400)
    if not set(folder_ids) <= {folder.id, *(sub.id for sub in folder.subfolders)} \
            or not set(file_ids) <= {file.id for file in folder.files}:
        abort(400)  # only the folder itself and what it holds
    if not verdict.eligible or not (folder_ids or file_ids):
        flash(verdict.reason or _("Choose at least one folder or file to export."), "error")
        return redirect(url_for(".new", folder_id=folder.id, project_id=project.id))
    integration, run = exports.create(current_user, account, folder, project_id=project.id, project_name=project.name,
                                      folder_ids=folder_ids, file_ids=file_ids)
    audit.record_integration("export.started", integration)
    db.session.commit()
    enqueue(run)
    return redirect(url_for("integrations.show", integration_id=integration.id))
