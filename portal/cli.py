"""Flask CLI commands: `flask users ...`, `flask companies ...`, `flask integrations ...`, `flask audit ...`,
`flask cbox gc`, `flask seed-demo` (`flask webhooks ...` lives with the receiver: portal/webhooks/cli.py)."""
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
audit_cli = AppGroup("audit", help="The audit log: who did what.")
integrations_cli = AppGroup("integrations", help="Sync integrations: list, status, refresh, retry failed items.")
cbox_cli = AppGroup("cbox", help="The cBox document store.")


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


def _integration(integration_id: int):
    from portal.models import Integration

    integration = db.session.get(Integration, integration_id)
    if integration is None:
        raise click.ClickException(f"No integration {integration_id}.")
    return integration


def _counts_text(counts: dict) -> str:
    return ", ".join(f"{status} {count}" for status, count in sorted(counts.items())) or "no items"


@integrations_cli.command("list")
@click.option("--company", "company_id", type=int, default=None, help="Only this company's integrations.")
def integrations_list(company_id):
    """One line per integration: id, company, state, Procore project and tool, last success, items."""
    from portal.models import Integration
    from portal.sync import history, progress

    query = select(Integration).order_by(Integration.id)
    if company_id is not None:
        query = query.where(Integration.company_id == company_id)
    integrations = db.session.scalars(query).all()
    counts = history.item_counts([i.id for i in integrations])
    click.echo("id\tcompany\tstatus\tdirection\ttool\tprocore_project\tlast_run\tlast_success\titems")
    for integration in integrations:
        run, success = progress.last_run(integration), history.last_success(integration)
        click.echo("\t".join(str(value) for value in (
            integration.id, integration.company_id, integration.status, integration.direction, integration.tool,
            f"{integration.procore_project_id} {integration.procore_project_name}",
            f"#{run.id} {run.kind} {run.status}" if run else "-",
            success.strftime("%Y-%m-%d %H:%M:%S") if success else "never", _counts_text(counts[integration.id]))))


@integrations_cli.command("status")
@click.argument("integration_id", type=int)
@click.option("--runs", "limit", type=int, default=5, show_default=True, help="How many recent runs to show.")
def integrations_status(integration_id, limit):
    """An integration's state, its recent runs and the items in error with their reasons."""
    from portal.sync import history

    integration = _integration(integration_id)
    success = history.last_success(integration)
    click.echo(f"integration {integration.id}: {integration.status}, {integration.direction} {integration.tool}, "
               f"Procore project {integration.procore_project_id} {integration.procore_project_name}")
    click.echo(f"last success: {success.strftime('%Y-%m-%d %H:%M:%S') if success else 'never'}; items: "
               f"{_counts_text(history.item_counts([integration.id])[integration.id])}")
    rows, total = history.runs(integration, 1, per_page=limit)
    click.echo(f"runs ({len(rows)} of {total}):")
    for row in rows:
        run = row.run
        took = f"{row.seconds:.1f}s" if row.seconds is not None else "-"
        click.echo(f"  #{run.id} {run.kind} {run.status} started {row.started:%Y-%m-%d %H:%M:%S} took {took}: "
                   f"imported {run.imported}, updated {run.updated}, skipped {run.skipped}, failed {run.failed}, "
                   f"deleted {run.deleted}" + (f"; {run.error}" if run.error else ""))
    failed = history.failed_links(integration)
    if failed:
        click.echo(f"items in error ({len(failed)}):")
        for link in failed[:50]:
            click.echo(f"  {link.procore_kind} {link.procore_id} {link.name}: {link.error or link.reason_code or '-'}")


@integrations_cli.command("refresh")
@click.argument("integration_id", type=int)
def integrations_refresh(integration_id):
    """Queue a full refresh (the same as "Procore › Actualizar"; a queued run is reused)."""
    from portal.sync import jobs

    run = jobs.start_run(_integration(integration_id), "refresh")
    click.echo(f"run {run.id} {run.kind} {run.status}")


@integrations_cli.command("retry-failed")
@click.argument("integration_id", type=int)
def integrations_retry_failed(integration_id):
    """Queue a run for the items in error only (a whole refresh when they cannot be named one by one)."""
    from portal.sync import history

    integration = _integration(integration_id)
    failed = len(history.failed_links(integration))
    run = history.retry_failed(integration)
    if run is None:
        click.echo("no item in error: nothing to retry")
        return
    click.echo(f"retrying {failed} item(s) in run {run.id} ({run.kind}, {run.status})")


@audit_cli.command("tail")
@click.option("-n", "count", type=int, default=20, show_default=True, help="How many entries, newest last.")
@click.option("--company", "company_id", type=int, default=None, help="Only this company's entries.")
@click.option("--action", default=None, help="Only this action (e.g. integration.removed).")
def audit_tail(count, company_id, action):
    """The latest audit entries: when, company, who, action, what it concerned."""
    from portal import audit

    if action is not None and action not in audit.ACTIONS:
        raise click.ClickException(f"unknown action {action!r}; one of: {', '.join(sorted(audit.ACTIONS))}")
    rows, _total = audit.entries(audit.Filters(company_id=company_id, action=action), per_page=max(count, 1))
    for entry in reversed(rows):
        click.echo("\t".join(str(value) for value in (
            entry.created_at.strftime("%Y-%m-%d %H:%M:%S"), entry.company_id or "-", entry.actor, entry.action,
            entry.target, entry.detail or "")))


@cbox_cli.command("gc")
@click.option("--grace-minutes", default=60, show_default=True, help="Leave content written more recently alone.")
def cbox_gc(grace_minutes: int):
    """Delete blobs no file version uses, and temp files crashed uploads left (`flask cbox gc`)."""
    from datetime import timedelta

    from portal.cbox import store
    from portal.cbox.blobstore import get_blob_store

    removed = store.collect_garbage(grace=timedelta(minutes=grace_minutes))
    db.session.commit()  # files of collected rows are deleted after this commit
    temps = get_blob_store().remove_stale_temps()
    click.echo(f"{removed} blob(s) and {temps} stale temp file(s) removed.")


def register(app) -> None:
    app.cli.add_command(audit_cli)
    app.cli.add_command(cbox_cli)
    app.cli.add_command(integrations_cli)
    app.cli.add_command(procore_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(companies_cli)
    app.cli.add_command(seed_demo)
