"""What the benches share: the portal app on a bench's own settings, and an admin with a Procore account."""
from __future__ import annotations

import os

ADMIN = "admin@constructora.test"


def make_app(settings: dict):
    """The portal app from `settings` (also put in the environment, which load_config and the worker read),
    migrated."""
    os.environ.update(settings)
    from flask_migrate import upgrade

    from portal.startup import start_app
    from portal.extensions import db

    app = start_app({"SQLALCHEMY_DATABASE_URI": settings["DATABASE_URL"]})
    with app.app_context():
        upgrade(revision="heads")
        db.session.remove()
    return app


def admin_with_account(sb, procore_company_id: int, label: str = ""):
    """A company "Bench" linked to the sandbox's, its admin, and that admin's Procore account holding a sandbox
    token of ADMIN (flushed; inside an app context). Returns (company, user, account)."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import select

    from portal.connections.credentials import store_pair
    from portal.extensions import db
    from portal.models import Company, ProcoreAccount, Role, User
    from portal.procore import TokenPair
    from portal.security import hash_password

    pair = sb.token(ADMIN)
    suffix = f"-{label.replace(' ', '-')}" if label else ""  # a user and account of their own per label
    company = db.session.scalar(select(Company).where(Company.procore_company_id == procore_company_id))
    if company is None:
        company = Company(name="Bench", procore_company_id=procore_company_id, procore_company_name="Constructora Demo")
        db.session.add(company)
        db.session.flush()
    user = User(email=f"bench{suffix}@demo.test", role=Role.ADMIN, company_id=company.id, can_integrate_procore=True,
                password_hash=hash_password("bench password 123"), name="Bench")
    db.session.add(user)
    db.session.flush()
    account = ProcoreAccount(company_id=company.id, user_id=user.id, procore_user_id=5_000_000_999,
                             procore_login=ADMIN, procore_company_id=procore_company_id)
    now = datetime.now(timezone.utc)
    store_pair(account, TokenPair(pair["access_token"], pair["refresh_token"], now + timedelta(hours=1), now))
    db.session.add(account)
    db.session.flush()
    return company, user, account
