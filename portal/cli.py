"""Flask CLI commands: `flask users ...`, `flask companies ...`, `flask seed-demo`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from portal import accounts
from portal.extensions import db
from portal.models import Role, User

users_cli = AppGroup("users", help="Manage portal users.")
companies_cli = AppGroup("companies", help="Manage companies (portal tenants).")
procore_cli = AppGroup("procore", help="Procore accounts and token keys.")


def _fail(error: Exception) -> None:
    db.session.rollback()
    raise click.ClickException(str(error))


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--company", "company_name", default=None, help="Company name or id (member/admin only).")
@click.option("--name", default="")
@click.option("--password", default=None, help="Omit to generate one (printed once).")
@click.option("--procore/--no-procore", default=False, help='cBox permission "Integraciones > Procore".')
def create_user(email, role, company_name, name, password, procore):
    """Create a user."""
    company = None
    if company_name:
        company = accounts.find_company(company_name)
        if company is None:
            raise click.ClickException(f"No company named {company_name!r}.")
    try:
        user, actual = accounts.create_user(email, Role(role), company, password, name, procore)
    except accounts.AccountError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role.value}{', ' + company.name if company else ''}).")
    if not password:
        click.echo(f"Initial password: {actual}")


@users_cli.command("list")
def list_users():
    """List users."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        company = user.company.name if user.company else "-"
        state = "active" if user.active else "inactive"
        click.echo(f"{user.id}\t{user.email}\t{user.role.value}\t{company}\t{state}")


@users_cli.command("set-active")
@click.option("--email", required=True)
@click.option("--active/--inactive", default=True)
def set_active(email, active):
    """Activate or deactivate a user."""
    user = accounts.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user {email!r}.")
    accounts.set_user_active(user, active)
    db.session.commit()
    click.echo(f"{user.email} is now {'active' if active else 'inactive'}.")


@companies_cli.command("create")
@click.option("--name", required=True)
def create_company(name):
    """Create a company."""
    try:
        company = accounts.create_company(name)
    except accounts.AccountError as error:
        _fail(error)
    db.session.commit()
    click.echo(f"Created company {company.id}: {company.name}")


@click.command("seed-demo")
@with_appcontext
def seed_demo():
    """Create the demo company and logins if they are missing (development only)."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("seed-demo is refused in production.")
    created = accounts.seed_demo(current_app.config["DEMO_PASSWORD"])
    db.session.commit()
    click.echo("Demo data created." if created else "Demo data already present.")


@procore_cli.command("rotate-keys")
def rotate_keys():
    """Re-encrypt every stored Procore token with the first key of TOKEN_ENCRYPTION_KEY."""
    from portal.connections import service

    count = service.rotate_keys()
    db.session.commit()
    click.echo(f"Re-encrypted the tokens of {count} Procore account(s) with the newest key.")


@procore_cli.command("generate-key")
def generate_key():
    """Print a new Fernet key to put first in TOKEN_ENCRYPTION_KEY."""
    from portal.connections import crypto

    click.echo(crypto.generate_key())


def register(app) -> None:
    app.cli.add_command(procore_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(companies_cli)
    app.cli.add_command(seed_demo)
