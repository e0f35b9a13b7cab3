"""An integration over time (issue 14, D1): run history, one run's items, item states as CSV, retry
failed items, pause, resume and remove (portal/sync/history.py says what each does)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from portal import audit
from portal.access import get_scoped_or_404, roles_required
from portal.extensions import db
from portal.forms import EmptyForm
from portal.models import Integration, Role, SyncRun
from portal.sync import history, progress, states

bp = Blueprint("runs", __name__, url_prefix="/integrations")
bp.context_processor(states.page_helpers)
USERS = (Role.ADMIN, Role.MEMBER)


def _integration() -> Integration:
    return get_scoped_or_404(Integration, request.view_args["integration_id"])


def _posted() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


def _back(integration: Integration):
    """Where an action returns: the integrations list when it was pressed there, else the integration."""
    if request.form.get("back") == "index":
        return redirect(url_for("integrations.index"))
    return redirect(url_for("integrations.show", integration_id=integration.id))


def _labels(integration: Integration) -> dict:
    return {"label": progress.TOOL_LABELS.get(integration.tool, integration.tool),
            "destination": progress.destination(integration)}


@bp.route("/<int:integration_id>/history")
@roles_required(*USERS, read_only=(Role.SUPPORT,))
def index(integration_id: int):
    integration = _integration()
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = history.runs(integration, page)
    pages = max(1, -(-total // history.RUNS_PER_PAGE))
    if page > pages:
        abort(404)
    counts = history.item_counts([integration.id])[integration.id]
    return render_template("integrations/history.html", integration=integration, rows=rows, page=page, pages=pages,
                           total=total, counts=counts, last_success=history.last_success(integration),
                           form=EmptyForm(), **_labels(integration))


@bp.route("/<int:integration_id>/runs/<int:run_id>")
@roles_required(*USERS, read_only=(Role.SUPPORT,))
def run(integration_id: int, run_id: int):
    integration = _integration()
    row = db.session.get(SyncRun, run_id)
    if row is None or row.integration_id != integration.id:
        abort(404)
    return render_template("integrations/run.html", integration=integration, row=history.RunRow(row),
                           items=history.run_items(row), **_labels(integration))


@bp.route("/<int:integration_id>/items.csv")
@roles_required(*USERS, read_only=(Role.SUPPORT,))
def items_csv(integration_id: int):
    integration = _integration()
    body = "\ufeff" + history.items_csv(integration)  # the BOM: spreadsheets read the accents as UTF-8
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="integration-{integration.id}-items.csv"'})


@bp.route("/<int:integration_id>/retry", methods=["POST"])
@roles_required(*USERS)
def retry(integration_id: int):
    integration = _integration()
    _posted()
    failed = len(history.failed_links(integration))
    if failed:
        audit.record_integration("integration.retried", integration, items=failed)
    if history.retry_failed(integration) is None:
        flash(_("No item is in error: there is nothing to retry."), "info")
    else:
        flash(ngettext("Retrying %(num)d failed item.", "Retrying %(num)d failed items.", failed), "success")
    return redirect(url_for("integrations.show", integration_id=integration.id))


@bp.route("/<int:integration_id>/pause", methods=["POST"])
@roles_required(*USERS)
def pause(integration_id: int):
    integration = _integration()
    _posted()
    audit.record_integration("integration.paused", integration)
    history.pause(integration)
    flash(_("Integration paused: changes in Procore are not copied until you resume it."), "info")
    return _back(integration)


@bp.route("/<int:integration_id>/resume", methods=["POST"])
@roles_required(*USERS)
def resume(integration_id: int):
    integration = _integration()
    _posted()
    audit.record_integration("integration.resumed", integration)
    history.resume(integration)
    flash(_("Integration resumed: a refresh brings what changed in Procore meanwhile."), "success")
    return _back(integration)


# Last: test_access walks the routes in order, and this one deletes the integration the others use.
@bp.route("/<int:integration_id>/remove", methods=["GET", "POST"])
@roles_required(*USERS)
def remove(integration_id: int):
    integration = _integration()
    form = EmptyForm()
    counts = history.item_counts([integration.id])[integration.id]
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            audit.record_integration("integration.removed", integration, items=sum(counts.values()))
            history.remove(integration)
        except history.StillRunning:
            flash(_("A run of this integration is still running: stop it, wait until it ends, then remove the "
                    "integration."), "warning")
            return redirect(url_for(".remove", integration_id=integration_id))
        flash(_("Integration removed. The copies stay where they are, no longer linked to Procore."), "success")
        return redirect(url_for("integrations.index"))
    return render_template("integrations/remove.html", integration=integration, form=form, counts=counts,
                           running=history.is_running(integration), **_labels(integration))
