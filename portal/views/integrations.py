"""Integrations: start an import from Procore (R3, R32), watch it (D1), stop/resume, refresh (R7, R13).

The views take `folder_id`, a categorized cBox folder; its kind is the Procore tool (Documentos →
Documents, Imágenes → Photos, Planos → Drawings, R14, R35), which decides the permissions asked for
(R32), the chooser (folders and files, albums, or areas and disciplines) and the selection stored.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from portal import audit
from portal.views import procore_for
from portal.access import company_scope_id, get_scoped_or_404, roles_required
from portal.extensions import db
from portal.forms import EmptyForm
from portal.models import CboxProject, Integration, Role, SyncRun
from portal.models.integrations import ItemStatus, RunStatus
from portal.procore import ProcoreAuthError, ProcoreError
from portal.sync import drawings, gate, history, photos, progress, reasons, removal, service, states
from portal.sync.jobs import enqueue, start_run

bp = Blueprint("integrations", __name__, url_prefix="/integrations")
USERS = (Role.ADMIN, Role.MEMBER)


@bp.context_processor
def run_labels():
    """Runs and items as the pages name them (portal/sync/states.py): never a status code."""
    return states.page_helpers()


def _folder_or_404():
    folder = service.categorized_folder(current_user.company_id, request.values.get("folder_id", type=int))
    if folder is None:
        abort(404)
    return folder


@bp.route("/")
@roles_required(*USERS, read_only=(Role.SUPPORT,))
def index():
    query = select(Integration).order_by(Integration.created_at.desc())
    if company_scope_id(current_user) is not None:
        query = query.where(Integration.company_id == current_user.company_id)
    integrations = db.session.scalars(query).all()
    projects = db.session.scalars(select(CboxProject).where(CboxProject.company_id == current_user.company_id)
                                  .order_by(CboxProject.name)).all() if current_user.company_id else []
    counts = history.item_counts([i.id for i in integrations])
    rows = [(i, progress.last_run(i), history.last_success(i), counts[i.id]) for i in integrations]
    return render_template("integrations/index.html", rows=rows, form=EmptyForm(),
                           projects=[(p, progress.categorized_of(p)) for p in projects], labels=progress.TOOL_LABELS,
                           destination=progress.destination)


@bp.route("/new")
@roles_required(*USERS)
def new():
    """ "Importar desde… › Procore": pick the project, then what to import: folders and files
    (Documents), albums (Photos) or areas and disciplines (Drawings) (R3)."""
    folder = _folder_or_404()
    context, refusal = procore_for(folder)
    if refusal:
        return refusal
    account, client = context
    project_id = request.args.get("project_id", type=int)
    tool, offer, company_id = folder.kind, {}, account.procore_company_id
    try:
        if project_id is None:
            choices = gate.choices(client, current_user.company, folder)
            return render_template("integrations/new.html", folder=folder, choices=choices, project=None, tool=tool,
                                   label=progress.TOOL_LABELS[tool])
        db.session.commit()  # nothing open across a Procore call
        project = client.project(company_id, project_id)
        verdict = gate.judge(client, current_user.company, folder, project.id, project.name)
        if verdict.eligible:
            synced = _synced(folder, project_id)
            db.session.commit()
            offer = {**_offer(client, tool, company_id, project_id), "synced": synced}
    except ProcoreAuthError:
        return redirect(url_for("procore.connect", account=account.id, next=request.full_path))
    except ProcoreError as error:
        return render_template("integrations/refused.html", folder=folder, reason=reasons.procore_problem(error),
                               detail=str(error)[:300]), 502
    return render_template("integrations/new.html", folder=folder, project=verdict, block=verdict.reason,
                           form=EmptyForm(), tool=tool, label=progress.TOOL_LABELS[tool], **offer)


def _offer(client, tool: str, company_id: int, project_id: int) -> dict:
    """What the chooser lists for the tool (Procore calls; no transaction open)."""
    if tool == "photos":
        return {"albums": photos.album_choices(client, company_id, project_id)}
    if tool == "drawings":
        return {"areas": drawings.area_choices(client, company_id, project_id),
                "disciplines": drawings.discipline_choices(client, company_id, project_id)}
    return {"root": client.root_folder(company_id, project_id)}


def _synced(folder, project_id: int) -> dict:
    """The selection already synced from this project into the folder (shown ticked and disabled)."""
    linked = gate.linked_integration(folder)
    return dict(linked.selections or {}) if linked is not None and linked.procore_project_id == project_id else {}


@bp.route("/tree")
@roles_required(*USERS)
def tree():
    """One Procore folder's children, fetched when the user expands it (htmx; Documents only)."""
    folder = _folder_or_404()
    if folder.kind != "documents":
        abort(404)
    context, refusal = procore_for(folder)
    if refusal:
        return refusal
    account, client = context
    try:
        node = client.folder(account.procore_company_id, request.args.get("project_id", type=int) or abort(404),
                             request.args.get("procore_folder_id", type=int) or abort(404))
    except ProcoreError as error:
        return render_template("integrations/_tree_error.html", reason=reasons.procore_problem(error),
                               detail=str(error)[:300]), 502
    return render_template("integrations/_tree.html", node=node, folder=folder,
                           project_id=request.args.get("project_id", type=int))


@bp.route("/", methods=["POST"])
@roles_required(*USERS)
def create():
    """Start the import; importing again from the project already linked extends its selection."""
    folder = _folder_or_404()
    context, refusal = procore_for(folder)
    if refusal or not EmptyForm().validate_on_submit():
        return refusal or abort(400)
    account, client = context
    company_id = account.procore_company_id
    try:
        selection = _selection(folder.kind)
        db.session.commit()  # nothing open across a Procore call
        project = client.project(company_id, request.form.get("project_id", type=int) or abort(400))
        verdict = gate.judge(client, current_user.company, folder, project.id, project.name)
    except (ProcoreError, ValueError):
        abort(400)
    chosen = selection.get("areas") if folder.kind == "drawings" else any(selection.values())
    if not verdict.eligible or not chosen:
        flash(verdict.reason or str(NOTHING_CHOSEN[folder.kind]), "error")
        return redirect(url_for(".new", folder_id=folder.id, project_id=project.id))
    integration, run = service.create_integration(current_user, account, folder, verdict, selection=selection)
    audit.record_integration("integration.started", integration)
    db.session.commit()
    enqueue(run)
    return redirect(url_for(".show", integration_id=integration.id))


NOTHING_CHOSEN = {"documents": _l("Choose at least one folder or file to import."),
                  "photos": _l("Choose at least one album to import."),
                  "drawings": _l("Choose at least one drawing area to import.")}


def _selection(tool: str) -> dict:
    """The form's choice in the tool's selection shape (ValueError on a malformed id)."""
    form = request.form
    if tool == "photos":
        return {"albums": service.parse_signed_ids(form.getlist("album_ids"))}
    if tool == "drawings":
        return {"areas": service.parse_ids(form.getlist("area_ids")),
                "disciplines": service.parse_ids(form.getlist("discipline_ids"))}
    return {"folders": service.parse_ids(form.getlist("folder_ids")),
            "files": service.parse_ids(form.getlist("file_ids"))}


@bp.route("/<int:integration_id>")
@roles_required(*USERS, read_only=(Role.SUPPORT,))
def show(integration_id: int):
    """The progress page; with HX-Request only the fragment, which polls itself until the run ends (D1)."""
    integration = get_scoped_or_404(Integration, integration_id)
    view = progress.RunView.latest(integration)
    template = "integrations/_progress.html" if request.htmx else "integrations/show.html"
    return render_template(template, integration=integration, view=view, form=EmptyForm(),
                           label=progress.TOOL_LABELS.get(integration.tool, integration.tool),
                           destination=progress.destination(integration),
                           failed_count=history.item_counts([integration.id])[integration.id].get(ItemStatus.ERROR, 0))


def _latest(integration, *statuses) -> SyncRun | None:
    return db.session.scalar(select(SyncRun).where(SyncRun.integration_id == integration.id,
                                                   SyncRun.status.in_(statuses)).order_by(SyncRun.id.desc()))


@bp.route("/<int:integration_id>/stop", methods=["POST"])
@roles_required(*USERS)
def stop(integration_id: int):
    integration = get_scoped_or_404(Integration, integration_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    history.stop_runs(integration)
    audit.record_integration("integration.stopped", integration)
    db.session.commit()
    flash(_("Stopping: files already copied stay; resume to continue."), "info")
    return redirect(url_for(".show", integration_id=integration.id))


@bp.route("/<int:integration_id>/sync", methods=["POST"])
@roles_required(*USERS)
def sync_now(integration_id: int):
    """Resume a stopped import, or refresh (the run plans by Procore id: nothing is copied twice)."""
    integration = get_scoped_or_404(Integration, integration_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if _latest(integration, RunStatus.RUNNING, RunStatus.STOPPING) is None:
        done_before = db.session.scalar(select(SyncRun.id).where(SyncRun.integration_id == integration.id,
                                                                 SyncRun.status == RunStatus.DONE).limit(1))
        audit.record_integration("integration.synced", integration)
        start_run(integration, "refresh" if done_before else "import")
    return redirect(url_for(".show", integration_id=integration.id))


@bp.route("/<int:integration_id>/confirm", methods=["POST"])
@roles_required(*USERS)
def confirm(integration_id: int):
    """The admin's answer to a previewed mass deletion (R7): "delete" (the same run re-lists, then
    deletes what Procore still lacks), "keep" (the copies stay in cBox, unlinked) or "cancel"."""
    integration = get_scoped_or_404(Integration, integration_id)
    run = _latest(integration, RunStatus.AWAITING)
    decision = request.form.get("decision", "delete")
    if run is None or not EmptyForm().validate_on_submit() or decision not in ("delete", "keep", "cancel"):
        abort(400 if run is not None else 404)
    audit.record_integration({"delete": "deletion.confirmed", "keep": "deletion.kept",
                              "cancel": "deletion.cancelled"}[decision], integration, run=run.id,
                             items=len(run.preview or []))
    if decision == "keep":
        kept = removal.keep_them(run)
        flash(ngettext("%(num)d item kept in cBox; it is no longer linked to Procore.",
                       "%(num)d items kept in cBox; they are no longer linked to Procore.", kept), "success")
    elif decision == "cancel":
        removal.cancel(run)
        flash(_("Nothing was deleted. The next refresh will ask again."), "info")
    else:
        run.status, run.confirmed_deletes, run.created_at = RunStatus.QUEUED, True, progress.now()
    db.session.commit()
    if decision == "delete":
        enqueue(run)
    return redirect(url_for(".show", integration_id=integration.id))


@bp.route("/refresh", methods=["POST"])
@roles_required(*USERS)
def refresh_folder():
    """ "Procore › Actualizar" on a cBox folder (R7, R13): refresh every integration that writes there."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    integrations = progress.integrations_for_folder(current_user.company_id, request.form.get("folder_id", type=int))
    if not integrations:
        abort(404)
    for integration in integrations:
        audit.record_integration("integration.synced", integration)
        start_run(integration, "refresh")
    flash(_("Refresh started: cBox will match Procore again."), "success")
    return redirect(url_for(".show", integration_id=integrations[0].id))
