"""May this cBox folder import from this Procore project? One verdict for the project chooser, the
import page and the form that starts the import (SPEC R9, R11, R12, R32; issue 10).

A project qualifies when the user is Admin on the project's Admin tool and on the tool concerned
(R9, R32), the project's webhook is ours and healthy (R11, R12: the latest recorded diagnosis,
run afresh when older than HOOK_CHECK_MAX_AGE), and the cBox folder is not already linked to
another Procore project (a categorized folder mirrors one project; importing again from the same
project extends its integration).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.extensions import db
from portal.models import CboxFolder, Integration
from portal.models.integrations import KEPT
from portal.models.tenancy import utcnow
from portal.procore import ProcoreError, ProcorePermissionError
from portal.webhooks import health

# The Procore permissions R32 needs per tool, with the label the page names when missing (R9).
_PROJECT_ADMIN = ("admin", _l("Admin on the project's Admin tool"))
NEEDED = {"documents": (_PROJECT_ADMIN, ("documents", _l("Admin on the Documents tool"))),
          "photos": (_PROJECT_ADMIN, ("photos", _l("Admin on the Photos tool"))),
          "drawings": (_PROJECT_ADMIN, ("drawings", _l("Admin on the Drawings tool")))}


@dataclass
class Verdict:
    id: int
    name: str
    missing: list = field(default_factory=list)  # labels of missing Procore permissions (R9)
    problem: str | None = None  # Procore could not say, or the user is not on the project
    block: str | None = None  # why imports are refused (webhook, existing link)
    hook_blocked: bool = False  # the refusal is the webhook's: its repair page helps

    @property
    def eligible(self) -> bool:
        return not self.missing and self.problem is None and self.block is None

    @property
    def reason(self) -> str | None:
        if self.missing:
            return _("You lack %(missing)s in this Procore project; a Procore project Admin can grant it.",
                     missing=", ".join(str(label) for label in self.missing))
        return self.problem or self.block


def linked_integration(folder: CboxFolder, tool: str | None = None) -> Integration | None:
    """The integration that mirrors a Procore project into this categorized folder, if any (the tool
    is the folder's kind unless given)."""
    return db.session.scalar(select(Integration).where(Integration.cbox_folder_id == folder.id,
                                                       Integration.tool == (tool or folder.kind),
                                                       Integration.direction == "import",
                                                       Integration.status.in_(KEPT))
                             .order_by(Integration.id).limit(1))


def judge(client, company, folder: CboxFolder, project_id: int, name: str, tool: str | None = None,
          export: bool = False) -> Verdict:
    """The verdict on one project for the folder's tool (its kind unless given). Procore calls happen
    outside any transaction; the hook diagnosis it may record is committed at once. An export (R5)
    needs the same Procore permissions (R32) but neither our webhook nor a folder-to-project link."""
    tool = tool or folder.kind
    verdict = Verdict(project_id, name)
    linked = None if export else linked_integration(folder, tool)
    if linked is not None and linked.procore_project_id != project_id:
        verdict.block = _("%(folder)s is already linked to the Procore project %(project)s: a cBox folder mirrors "
                          "one Procore project. Import into another cBox project instead.",
                          folder=folder.name, project=linked.procore_project_name or linked.procore_project_id)
        return verdict
    db.session.commit()
    try:
        manifest = client.permissions(company.procore_company_id, project_id)
    except ProcorePermissionError:
        verdict.problem = _("You are not a member of this project in Procore.")
        return verdict
    except ProcoreError:
        verdict.problem = _("Procore did not answer for this project; try again.")
        return verdict
    verdict.missing = [label for tool_name, label in NEEDED[tool] if not manifest.is_admin(tool_name)]
    if not verdict.missing and not export:
        verdict.block = hook_block(client, company, project_id)
        verdict.hook_blocked = verdict.block is not None
    return verdict


def hook_block(client, company, project_id: int) -> str | None:
    """Why the project's webhook refuses imports (None: ours and healthy), from a recent diagnosis."""
    row = health.latest(company.id, project_id)
    max_age = timedelta(seconds=current_app.config["HOOK_CHECK_MAX_AGE"])
    if row is None or row.checked_at < utcnow() - max_age:
        row = health.check(company, project_id, client, checked_by="import")
        db.session.commit()  # the diagnosis is kept; nothing stays open across the next Procore call
    return health.block_reason(row)


def choices(client, company, folder: CboxFolder, tool: str | None = None, export: bool = False) -> list[Verdict]:
    """Every active project of the company, each with its verdict (the chooser's list)."""
    db.session.commit()
    projects = sorted(client.projects(company.procore_company_id), key=lambda p: p.name.lower())
    return [judge(client, company, folder, project.id, project.name, tool, export) for project in projects]
