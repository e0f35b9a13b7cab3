"""`flask webhooks check|repair|sweep|schedule` (SPEC R8; RELIABILITY 10)."""
from __future__ import annotations

from datetime import datetime, timezone

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal import accounts
from portal.connections.credentials import NoValidCredentials
from portal.extensions import db
from portal.models import Company
from portal.procore import ProcoreError
from portal.webhooks import health, jobs, repair, states
from portal.webhooks.companies import check_company, company_client

webhooks_cli = AppGroup("webhooks", help="Procore webhook health, repair and the inbox sweeper.")


def _companies(name: str | None) -> list[Company]:
    if name:
        company = accounts.find_company(name)
        if company is None:
            raise click.ClickException(f"No company named {name!r}.")
        return [company]
    return db.session.scalars(select(Company).where(Company.procore_company_id.is_not(None))).all()


@webhooks_cli.command("check")
@click.option("--company", "company_name", default=None, help="Company name or id (default: every linked one).")
def check_cmd(company_name):
    """Check every Procore project's webhook and print its state."""
    for company in _companies(company_name):
        try:
            rows = check_company(company, company_client(company), "cli")
        except (NoValidCredentials, ProcoreError) as error:
            db.session.rollback()
            click.echo(f"{company.name}: cannot check ({error})", err=True)
            continue
        for row in rows:
            click.echo(f"{company.name}\t{row.procore_project_id}\t{row.procore_project_name}\t{row.state}"
                       f"\t{states.label(row.state)}")


@webhooks_cli.command("repair")
@click.option("--project", "project_id", required=True, type=int, help="Procore project id.")
@click.option("--company", "company_name", default=None, help="Company name or id (needed if ambiguous).")
@click.option("--yes", is_flag=True, help="Apply without asking.")
def repair_cmd(project_id, company_name, yes):
    """Show what would change on a project's webhook, then apply it."""
    companies = _companies(company_name)
    if len(companies) != 1:
        raise click.ClickException("Name the company with --company.")
    company = companies[0]
    try:
        client = company_client(company, project_id)
        row = health.check(company, project_id, client, "cli")
        db.session.commit()
        todo = repair.plan(row)
        click.echo(f"state: {row.state}; create={todo.create_hook} destination={todo.new_destination} "
                   f"rotate_secret={todo.rotate_secret} triggers={len(todo.triggers)}")
        if todo.empty or not (yes or click.confirm("Apply?")):
            return
        after, failed = repair.apply(client, company, project_id, row, "cli")
    except (NoValidCredentials, ProcoreError, repair.RepairRefused) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    click.echo(f"now: {after.state}" + (f"; failed triggers: {failed}" if failed else ""))


@webhooks_cli.command("sweep")
def sweep_cmd():
    """Re-enqueue inbox events that were committed but never processed."""
    click.echo(f"re-enqueued {jobs.sweep()} event(s)")


@webhooks_cli.command("schedule")
def schedule_cmd():
    """Arm the periodic jobs now (every worker arms them at start and keeps them armed)."""
    from portal import periodic

    armed = periodic.arm_all()
    click.echo("The workers schedule the periodic jobs themselves (portal/periodic.py); armed now:")
    for name, due in armed.items():
        when = "off" if due is None else datetime.fromtimestamp(due, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        click.echo(f"{name}\t{when}")


def register(app) -> None:
    app.cli.add_command(webhooks_cli)
