"""Creating and changing portal users and companies: one place for views and the CLI.

These functions flush but never commit; the caller (a view or a CLI command) commits.
"""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Company, Role, User

COMPANY_ROLES = (Role.ADMIN, Role.MEMBER)
GLOBAL_ROLES = (Role.SUPPORT, Role.SUPERADMIN)


class AccountError(ValueError):
    """A request that cannot be carried out; the message is shown to the person."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def find_company(name_or_id: str | int) -> Company | None:
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        company = db.session.get(Company, int(name_or_id))
        if company:
            return company
    return db.session.scalar(select(Company).where(func.lower(Company.name) == str(name_or_id).strip().lower()))


def _check_role_company(role: Role, company: Company | None) -> None:
    if role in COMPANY_ROLES and company is None:
        raise AccountError(_l("A company user needs a company."), "company_id")
    if role in GLOBAL_ROLES and company is not None:
        raise AccountError(_l("Support and superadmin users do not belong to a company."), "company_id")


def create_user(
    email: str,
    role: Role,
    company: Company | None,
    password: str | None = None,
    name: str = "",
    can_integrate_procore: bool = False,
) -> tuple[User, str]:
    """Create a user; return it with the password actually set (generated if none given)."""
    email = normalize_email(email)
    if find_user_by_email(email):
        raise AccountError(_l("A user with this email already exists."), "email")
    _check_role_company(role, company)
    password = password or generate_password()
    user = User(
        email=email,
        name=(name or "").strip(),
        role=role,
        company=company,
        can_integrate_procore=can_integrate_procore,
        active=True,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user, password


def update_user(user: User, *, email: str, name: str, role: Role, company: Company | None,
                can_integrate_procore: bool, password: str | None = None) -> None:
    email = normalize_email(email)
    other = find_user_by_email(email)
    if other is not None and other.id != user.id:
        raise AccountError(_l("A user with this email already exists."), "email")
    _check_role_company(role, company)
    user.email, user.name, user.role, user.company = email, (name or "").strip(), role, company
    user.can_integrate_procore = can_integrate_procore
    if password:
        user.set_password(password)
        user.rotate_session_token()
    db.session.flush()


def set_user_active(user: User, active: bool, acting: User | None = None) -> None:
    if acting is not None and acting.id == user.id and not active:
        raise AccountError(_l("You cannot deactivate your own account."))
    user.active = active
    if not active:
        user.rotate_session_token()  # signs the user out everywhere
    db.session.flush()


def create_company(name: str) -> Company:
    name = " ".join((name or "").split())
    if not name:
        raise AccountError(_l("Enter a name."), "name")
    if find_company(name):
        raise AccountError(_l("A company with this name already exists."), "name")
    company = Company(name=name, active=True)
    db.session.add(company)
    db.session.flush()
    return company


def rename_company(company: Company, name: str) -> None:
    name = " ".join((name or "").split())
    other = find_company(name)
    if other is not None and other.id != company.id:
        raise AccountError(_l("A company with this name already exists."), "name")
    company.name = name
    db.session.flush()


DEMO_COMPANY = "Constructora Demo"
DEMO_USERS = (
    ("admin@demo.test", Role.ADMIN, "Ana Administradora", True),
    ("support@demo.test", Role.SUPPORT, "Sergio Soporte", False),
)


def seed_demo(password: str) -> bool:
    """Create the demo company and logins once; return True when something was created."""
    created = False
    company = find_company(DEMO_COMPANY)
    if company is None:
        company = create_company(DEMO_COMPANY)
        created = True
    for email, role, name, procore in DEMO_USERS:
        if find_user_by_email(email) is None:
            create_user(email, role, company if role in COMPANY_ROLES else None, password, name, procore)
            created = True
    return created
