"""Whose Procore account a page uses, and who may connect one (SPEC R32). Shared by the views that
talk to Procore on the signed-in user's behalf, so no view imports another (issue 16)."""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import AccountStatus, ProcoreAccount, Role


def my_account(user) -> ProcoreAccount | None:
    """The user's usable Procore account for their company, newest first."""
    return db.session.scalar(
        select(ProcoreAccount)
        .where(ProcoreAccount.user_id == user.id, ProcoreAccount.company_id == user.company_id,
               ProcoreAccount.status == AccountStatus.VALID)
        .order_by(ProcoreAccount.connected_at.desc()))


def may_connect(user) -> bool:
    """Company admins, and members holding "Integraciones > Procore" (SPEC R32)."""
    return user.role == Role.ADMIN or (user.role == Role.MEMBER and user.can_integrate_procore)
