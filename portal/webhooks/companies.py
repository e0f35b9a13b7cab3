"""Which Procore credential reads a company's hooks, and checking every project of a company.

Background checks and support have no Procore login of their own: they use an account
that completed an integration on the project (R33/R34, `account_for_project`), else any
valid account of the company.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from portal.connections.credentials import NoValidCredentials, account_for_project, client_for_account
from portal.extensions import db
from portal.models import AccountStatus, Company, HookCheck, ProcoreAccount
from portal.procore import ProcoreError
from portal.webhooks import health

log = logging.getLogger(__name__)


def company_account(company: Company, procore_project_id: int | None = None) -> ProcoreAccount:
    if procore_project_id is not None:
        try:
            return account_for_project(company.id, procore_project_id)
        except NoValidCredentials:
            pass
    account = db.session.scalar(
        select(ProcoreAccount)
        .where(ProcoreAccount.company_id == company.id, ProcoreAccount.status == AccountStatus.VALID,
               ProcoreAccount.access_token_enc.is_not(None))
        .order_by(ProcoreAccount.connected_at.desc()))
    if account is None:
        raise NoValidCredentials()
    return account


def company_client(company: Company, procore_project_id: int | None = None):
    return client_for_account(company_account(company, procore_project_id))


def check_company(company: Company, client, checked_by: str) -> list[HookCheck]:
    """Check every active Procore project of the company; commits after each project."""
    rows = []
    for project in client.projects(company.procore_company_id):
        rows.append(health.check(company, project.id, client, checked_by, project_name=project.name))
        db.session.commit()
    return rows


def check_all_companies(checked_by: str = "periodic") -> int:
    """The periodic job's body: every linked company with a usable account. Returns projects checked."""
    done = 0
    companies = db.session.scalars(select(Company).where(Company.procore_company_id.is_not(None),
                                                         Company.active.is_(True))).all()
    for company in companies:
        try:
            done += len(check_company(company, company_client(company), checked_by))
        except (NoValidCredentials, ProcoreError) as error:
            db.session.rollback()
            log.warning("webhook check of company %s skipped: %s", company.id, error)
    return done
