"""What a company's dashboard shows (issue 14, D1): its Procore connections and their state, webhook
health by kind, integrations with their last successful sync, failing runs and items pending or in
error, each with where it is fixed. All read from recorded rows: accounts, the newest hook check per
project, runs and item links."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import HookCheck, Integration, ProcoreAccount, SyncItem, SyncRun
from portal.models.integrations import PROBLEM_ITEM_STATUSES, IntegrationStatus, RunStatus
from portal.models.procore import AccountStatus


@dataclass
class Overview:
    accounts: dict = field(default_factory=dict)  # {AccountStatus value: [logins]} (revoked left out)
    hooks: dict = field(default_factory=dict)  # {hook state: number of projects}
    integrations: int = 0
    paused: int = 0
    last_success: object = None  # the newest "done" among the company's runs
    failing: list = field(default_factory=list)  # [(integration, its last run)] whose last run failed
    problems: list = field(default_factory=list)  # [(integration, {status: count})] with items not synced

    @property
    def healthy_hooks(self) -> int:
        return self.hooks.get("healthy", 0)

    @property
    def broken_hooks(self) -> dict:
        return {state: count for state, count in self.hooks.items() if state != "healthy"}


def company_overview(company_id: int) -> Overview:
    view = Overview()
    for login, status in db.session.execute(select(ProcoreAccount.procore_login, ProcoreAccount.status).where(
            ProcoreAccount.company_id == company_id, ProcoreAccount.status != AccountStatus.REVOKED)):
        view.accounts.setdefault(AccountStatus(status).value, []).append(login)
    newest = select(HookCheck.procore_project_id, func.max(HookCheck.id).label("id")).where(
        HookCheck.company_id == company_id).group_by(HookCheck.procore_project_id).subquery()
    for state, count in db.session.execute(select(HookCheck.state, func.count()).join(
            newest, HookCheck.id == newest.c.id).group_by(HookCheck.state)):
        view.hooks[state] = count
    integrations = db.session.scalars(select(Integration).where(Integration.company_id == company_id)
                                      .order_by(Integration.id)).all()
    view.integrations = len(integrations)
    view.paused = sum(1 for i in integrations if i.status == IntegrationStatus.PAUSED)
    ids = [integration.id for integration in integrations]
    if not ids:
        return view
    view.last_success = db.session.scalar(select(func.max(SyncRun.finished_at)).where(
        SyncRun.integration_id.in_(ids), SyncRun.status == RunStatus.DONE))
    last_ids = select(func.max(SyncRun.id)).where(SyncRun.integration_id.in_(ids)).group_by(SyncRun.integration_id)
    last = {run.integration_id: run for run in db.session.scalars(select(SyncRun).where(SyncRun.id.in_(last_ids)))}
    by_id = {integration.id: integration for integration in integrations}
    view.failing = [(by_id[iid], run) for iid, run in sorted(last.items()) if run.status == RunStatus.FAILED]
    counts: dict[int, dict[str, int]] = {}
    for iid, status, count in db.session.execute(select(SyncItem.integration_id, SyncItem.status, func.count()).where(
            SyncItem.integration_id.in_(ids), SyncItem.status.in_(PROBLEM_ITEM_STATUSES))
            .group_by(SyncItem.integration_id, SyncItem.status)):
        counts.setdefault(iid, {})[status] = count
    view.problems = [(by_id[iid], counts[iid]) for iid in sorted(counts)]
    return view
