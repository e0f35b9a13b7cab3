"""Support sees the periodic jobs (issue 15; SPEC D1, D4; RELIABILITY 10): when each last ran and runs
next, in Spanish, and a job that has not run for twice its interval shown as a fault."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from portal import periodic


def _row_html(html: str, name: str) -> str:
    match = re.search(rf'<tr data-job="{name}">(.*?)</tr>', html, re.S)
    assert match, f"no row for {name}"
    return match.group(1)


def test_support_sees_last_and_next_runs_and_faults_in_spanish(app, db, client, login_as, make_user, make_company,
                                                                monkeypatch):
    from portal.models import Integration, PeriodicJobRun, SyncRun

    monkeypatch.setitem(app.config, "WEBHOOK_CHECK_EVERY", 0)
    now = datetime.now(timezone.utc)
    company = make_company()
    with app.app_context():
        db.session.add(PeriodicJobRun(name="webhooks-sweep", runs=9, last_started_at=now - timedelta(minutes=5),
                                      last_finished_at=now - timedelta(minutes=5), last_result=3))
        db.session.add(PeriodicJobRun(name="sync-sweep", runs=2, last_started_at=now - timedelta(seconds=20),
                                      last_finished_at=now - timedelta(seconds=19), last_result=1))
        db.session.add(PeriodicJobRun(name="sync-reconcile", runs=1, last_started_at=now - timedelta(minutes=10),
                                      last_finished_at=now - timedelta(minutes=10), last_result=1))
        integration = Integration(company_id=company.id, cbox_folder_id=1, procore_company_id=5_000_000_001,
                                  procore_project_id=5_000_000_100, tool="documents", selections={}, status="active")
        db.session.add(integration)
        db.session.flush()
        db.session.add(SyncRun(integration_id=integration.id, kind="refresh", origin="reconcile", status="done",
                               imported=1, updated=0, deleted=1, created_at=now - timedelta(minutes=9)))
        db.session.commit()
        armed = periodic.arm_all()
    login_as(make_user("soporte@cbox.example", role="support"))
    html = client.get("/support/").get_data(as_text=True)
    assert "Tareas periódicas" in html and "compruebe que haya al menos un worker en marcha" in html
    for header in ("Tarea", "Cada", "Última ejecución", "Resultado", "Próxima ejecución", "Estado"):
        assert f"<th>{header}</th>" in html

    stale = _row_html(html, "webhooks-sweep")  # every 60 s, last run 5 min ago: a fault
    assert "Barrido de la bandeja de webhooks" in stale and "1 min" in stale
    assert "Fallo" in stale and "lleva sin ejecutarse más del doble de su intervalo" in stale
    assert "3 eventos reencolados" in stale
    fresh = _row_html(html, "sync-sweep")
    assert "Correcta" in fresh and "Fallo" not in fresh and "1 ejecución reencolada" in fresh
    next_at = datetime.fromtimestamp(armed["sync-sweep"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert next_at in fresh
    off = _row_html(html, "webhooks-health")
    assert "Desactivada" in off and "Fallo" not in off
    reconcile = _row_html(html, "sync-reconcile")
    assert "Conciliación de las integraciones" in reconcile and "6 h" in reconcile
    assert "1 actualización iniciada" in reconcile and "1 de 1 terminadas; 2 elementos reparados" in reconcile


def test_a_job_that_never_ran_and_is_not_scheduled_is_a_fault(app, db, client, login_as, make_user):
    """After a Redis flush with no worker alive nothing is armed: support sees "Nunca", "Sin programar", "Fallo"."""
    login_as(make_user("soporte@cbox.example", role="support"))
    row = _row_html(client.get("/support/").get_data(as_text=True), "sync-sweep")
    assert "Nunca" in row and "Sin programar" in row and "Fallo" in row


def test_a_job_armed_but_not_run_yet_waits_for_its_first_run(app, db, client, login_as, make_user):
    """SPEC D4 (Spanish): a fresh install's armed job is not a fault before its first slot."""
    with app.app_context():
        periodic.arm_all()
    login_as(make_user("soporte@cbox.example", role="support"))
    row = _row_html(client.get("/support/").get_data(as_text=True), "sync-sweep")
    assert "Nunca" in row and "A la espera de su primera ejecución" in row and "Fallo" not in row


def test_a_failed_last_run_shows_its_error(app, db, client, login_as, make_user):
    """RELIABILITY 16 for periodic jobs: the last run's error is visible to support."""
    from portal.models import PeriodicJobRun

    now = datetime.now(timezone.utc)
    with app.app_context():
        db.session.add(PeriodicJobRun(name="sync-sweep", runs=1, last_started_at=now, last_finished_at=now,
                                      last_error="OperationalError: database is locked"))
        db.session.commit()
    login_as(make_user("soporte@cbox.example", role="support"))
    row = _row_html(client.get("/support/").get_data(as_text=True), "sync-sweep")
    assert "OperationalError: database is locked" in row and "Falló la última ejecución" in row
