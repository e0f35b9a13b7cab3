"""Support pages name every webhook code (issue 14): inbox states, outcomes, reasons and errors, who checked
a hook, why a check failed, the resource and event of each row. English technical text (an exception, a
resource name Procore made up) is only a folded detail."""
from __future__ import annotations

import re

from tests.conftest import save


def _visible(html: str) -> str:
    return re.sub(r'<details class="technical">.*?</details>', "", html, flags=re.DOTALL)


def test_support_timeline_and_events_read_in_spanish(app, db, client, login_as, make_company, make_user):
    from portal.models import EventStatus, HookCheck, WebhookEvent
    from portal.webhooks import states

    company = make_company()  # no linked Procore company: the page reads no delivery log
    login_as(make_user("soporte@cbox.test", "support"))
    save(app, db, HookCheck(company_id=company.id, procore_project_id=77, procore_project_name="Obra Norte",
                            state=states.CHECK_FAILED, checked_by="import",
                            details={"error": "unavailable", "message": "503 Service Unavailable [GET /webhooks]"}))
    rows = [("e1", EventStatus.DONE, "Project Files", "create", None, "sync_queued", None),
            ("e2", EventStatus.IGNORED, "Submittals", "update", states.UNHANDLED.format(detail="Submittals"), None,
             None),
            ("e3", EventStatus.RETRYING, "Images", "delete", None, None, "RuntimeError: cBox store unavailable"),
            ("e4", EventStatus.QUARANTINED, "Project Folders", "create", states.FOREIGN, None, None),
            ("e5", EventStatus.SELF_ORIGINATED, "Drawings", "update", states.SELF_CAUSED, None, None),
            ("e6", EventStatus.RETRYING, "Project Files", "update", None, None, states.WORKER_STOPPED)]
    for key, status, resource, event_type, reason, outcome, error in rows:
        save(app, db, WebhookEvent(event_key=key, company_id=company.id, procore_project_id=77, status=status,
                                   resource_name=resource, event_type=event_type, reason=reason, outcome=outcome,
                                   error=error))

    page = client.get(f"/support/companies/{company.id}/projects/77").get_data(as_text=True)
    visible = _visible(page)
    for spanish in ("Comprobado el", "por una importación", "No se pudo contactar Procore o no respondió",
                    "Archivos del proyecto · creación", "Fotos · eliminación", "Carpetas del proyecto · creación",
                    "Planos · modificación", "Procesado", "sincronización en cola",
                    "Este portal no sincroniza este tipo de elemento de Procore.", "Reintentando",
                    "El procesamiento falló.", "En cuarentena",
                    "La empresa o el proyecto del evento no coinciden con el secreto del webhook.",
                    "Causado por un cambio que este portal hizo en Procore.",
                    "El proceso en segundo plano se detuvo mientras lo procesaba."):
        assert spanish in visible, spanish
    for code in ("sync_queued", "Project Files", "create", "RuntimeError", "not synchronised", "does not match",
                 "own write", "mid-processing", "503 Service", " import<", "por import ", "check_failed"):
        assert code not in visible, code
    assert "RuntimeError: cBox store unavailable" in page and "503 Service Unavailable" in page  # folded

    index = _visible(client.get("/support/").get_data(as_text=True))
    assert "una importación" in index and "Archivos del proyecto · creación" in index
    assert "sync_queued" not in index and "Project Files" not in index and "RuntimeError" not in index


def test_the_projects_sync_runs_show_in_the_timeline_beside_its_events(app, db, client, login_as, make_company,
                                                                       make_user):
    """Issue 14: a failed sync run shows in support's timeline among the project's events, with its state
    and reason in Spanish (the stored English folded) and a link to its details; another project's runs
    do not show."""
    from datetime import datetime, timedelta, timezone

    from portal.models import EventStatus, Integration, SyncRun, WebhookEvent

    company = make_company()
    login_as(make_user("soporte@cbox.test", "support"))
    at = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)
    save(app, db, WebhookEvent(event_key="ev1", company_id=company.id, procore_project_id=77, status=EventStatus.DONE,
                               resource_name="Project Files", event_type="update", outcome="sync_queued",
                               received_at=at))
    ours = save(app, db, Integration(company_id=company.id, cbox_folder_id=1, procore_company_id=7,
                                     procore_project_id=77, procore_project_name="Obra Norte", selections={}))
    other = save(app, db, Integration(company_id=company.id, cbox_folder_id=1, procore_company_id=7,
                                      procore_project_id=78, procore_project_name="Obra Sur", selections={}))
    failed = save(app, db, SyncRun(integration_id=ours.id, kind="event", status="failed",
                                   started_at=at + timedelta(seconds=2), finished_at=at + timedelta(seconds=3),
                                   error="Procore could not be listed: Procore unreachable (ConnectionError)"))
    save(app, db, SyncRun(integration_id=other.id, kind="import", status="done", started_at=at))
    page = client.get(f"/support/companies/{company.id}/projects/77").get_data(as_text=True)
    visible = _visible(page)
    assert "Ejecución de sincronización" in visible and f"#{failed.id}" in visible and "Fallida" in visible
    assert f"/integrations/{ours.id}/runs/{failed.id}" in page
    assert "Procore unreachable" not in visible and "Procore unreachable" in page  # folded, not hidden
    timeline = visible[visible.index('<table class="table timeline">'):]
    assert timeline.index(f"#{failed.id}") < timeline.index("Archivos del proyecto · modificación")  # newest first
    assert timeline.count("Ejecución de sincronización") == 1  # Obra Sur's run is not this project's
    assert client.get(f"/integrations/{ours.id}/runs/{failed.id}").status_code == 200  # the link leads somewhere


def test_support_filters_and_pages_the_received_events_with_project_names(app, db, client, login_as,
                                                                          make_company, make_user):
    """Issue 14: the events list filters by company, project, state and period and pages 25 at a time;
    a project is named beside its id when a hook check knows its name."""
    from datetime import datetime, timedelta, timezone

    from portal.models import EventStatus, HookCheck, WebhookEvent

    a, b = make_company("Empresa A"), make_company("Empresa B")
    login_as(make_user("soporte@cbox.test", "support"))
    save(app, db, HookCheck(company_id=a.id, procore_project_id=77, procore_project_name="Obra Norte",
                            state="healthy", checked_by="x"))
    now = datetime.now(timezone.utc)
    with app.app_context():
        for number in range(30):
            db.session.add(WebhookEvent(event_key=f"a{number}", company_id=a.id, procore_project_id=77,
                                        status=EventStatus.DONE, resource_name="Project Files", event_type="update",
                                        received_at=now - timedelta(hours=number)))
        db.session.add(WebhookEvent(event_key="b-failed", company_id=b.id, procore_project_id=88,
                                    status=EventStatus.FAILED, resource_name="Images", event_type="create",
                                    received_at=now - timedelta(days=10)))
        db.session.commit()

    def rows(query=""):
        page = client.get(f"/support/{query}").get_data(as_text=True)
        body = page[page.index('id="events"'):]
        body = body[body.index("<tbody>"):body.index("</tbody>")]
        return body.count("<tr>"), body, page

    count, body, page = rows()
    assert count == 25 and "Obra Norte <small" in body and "Página 1 de 2" in page
    assert "Fotos · creación" in body  # newest received here first: company B's came in last
    assert rows("?page=2")[0] == 6
    count, body, _page = rows(f"?company={b.id}")
    assert count == 1 and "Fallido" in body and "Archivos del proyecto" not in body
    assert rows("?status=failed")[0] == 1
    assert rows("?project=77")[0] == 25 and rows("?project=77&page=2")[0] == 5
    assert rows("?days=7")[0] == 25 and rows("?days=7&page=2")[0] == 5  # company B's is 10 days old
    assert rows("?status=bogus&company=999")[0] == 25  # meaningless filters are dropped, not an error


def test_one_projects_timeline_filters_by_source_state_and_period_and_pages(app, db, client, login_as,
                                                                             make_company, make_user):
    """Issue 14: support's timeline of one project filters by source (received here, Procore delivery,
    sync run), inbox state and period, and pages 25 entries at a time; other projects never show."""
    from datetime import datetime, timedelta, timezone

    from portal.models import EventStatus, Integration, SyncRun, WebhookEvent

    company = make_company()
    login_as(make_user("soporte@cbox.test", "support"))
    now = datetime.now(timezone.utc)
    with app.app_context():
        for number in range(30):
            db.session.add(WebhookEvent(event_key=f"e{number}", company_id=company.id, procore_project_id=77,
                                        status=EventStatus.DONE, resource_name="Project Files", event_type="update",
                                        received_at=now - timedelta(hours=number)))
        db.session.add(WebhookEvent(event_key="old-failed", company_id=company.id, procore_project_id=77,
                                    status=EventStatus.FAILED, resource_name="Images", event_type="create",
                                    received_at=now - timedelta(days=10)))
        db.session.add(WebhookEvent(event_key="elsewhere", company_id=company.id, procore_project_id=78,
                                    status=EventStatus.FAILED, resource_name="Images", event_type="create",
                                    received_at=now))
        db.session.commit()
    ours = save(app, db, Integration(company_id=company.id, cbox_folder_id=1, procore_company_id=7,
                                     procore_project_id=77, procore_project_name="Obra Norte", selections={}))
    save(app, db, SyncRun(integration_id=ours.id, kind="event", status="done", started_at=now, finished_at=now))

    def rows(query=""):
        page = client.get(f"/support/companies/{company.id}/projects/77{query}").get_data(as_text=True)
        body = page[page.index('<table class="table timeline">'):]
        body = body[body.index("<tbody>"):body.index("</tbody>")]
        return body.count('<tr class="timeline-'), body, page

    count, _body, page = rows()
    assert count == 25 and "32 entradas" in page and "Página 1 de 2" in page
    assert rows("?page=2")[0] == 7
    count, body, _page = rows("?source=run")
    assert count == 1 and "timeline-portal" not in body
    count, body, page = rows("?status=failed")
    assert count == 1 and "old-failed" in body and "elsewhere" not in body
    assert "Un filtro por estado muestra solo los eventos recibidos aquí." in page
    assert rows("?days=7")[0] == 25 and rows("?days=7&page=2")[0] == 6  # the 10-day-old event is left out
    count, _body, page = rows("?source=run&days=1&status=quarantined")
    assert count == 0 and "Nada coincide con estos filtros." in page
    assert rows("?source=bogus&days=5")[0] == 25  # meaningless filters are dropped, not an error


def test_an_event_whose_sync_run_failed_is_not_shown_as_a_green_processed(app, db, client, login_as,
                                                                          make_company, make_user, make_account):
    """Issue 14: the worker records which sync run an event queued or joined (apply_event on the inbox
    row); support's lists show "processed; its sync run failed" in red when that run failed."""
    from portal.models import EventStatus, Integration, SyncRun, WebhookEvent
    from portal.sync.events import apply_event

    company = make_company()
    make_user("admin@a.test", "admin", company)
    account = make_account(company, "admin@a.test")
    integration = save(app, db, Integration(company_id=company.id, cbox_folder_id=1,
                                            procore_company_id=account.procore_company_id, account_id=account.id,
                                            procore_project_id=77, procore_project_name="Obra Norte",
                                            selections={}))
    event = save(app, db, WebhookEvent(event_key="ev-run", company_id=company.id, procore_project_id=77,
                                       status=EventStatus.PROCESSING, resource_name="Project Files",
                                       resource_id=501, event_type="update"))
    with app.app_context():
        row = db.session.get(WebhookEvent, event.id)
        assert apply_event(row) == "sync_queued"
        row.status = EventStatus.DONE
        db.session.commit()
        run = db.session.get(SyncRun, row.sync_run_id)
        assert run.integration_id == integration.id and run.scope == [["Project Files", 501]]
        run.status, run.error = "failed", "Procore could not be listed: Procore unreachable (ConnectionError)"
        run_id = run.id
        db.session.commit()
    login_as(make_user("soporte@cbox.test", "support"))
    for url in ("/support/", f"/support/companies/{company.id}/projects/77"):
        visible = _visible(client.get(url).get_data(as_text=True))
        assert "Procesado; su ejecución de sincronización falló" in visible, url
        assert 'badge-ok">Procesado<' not in visible, url
    with app.app_context():  # the run still going: amber, neither green nor red
        db.session.get(SyncRun, run_id).status = "running"
        db.session.commit()
    visible = _visible(client.get("/support/").get_data(as_text=True))
    assert 'badge-warn">Procesado; su ejecución de sincronización aún no ha terminado<' in visible
    with app.app_context():  # done: the plain green "processed"
        db.session.get(SyncRun, run_id).status = "done"
        db.session.commit()
    assert 'badge-ok">Procesado<' in _visible(client.get("/support/").get_data(as_text=True))


def test_support_reads_advice_meant_for_support(app, db, client, login_as, make_company, make_user):
    """Issue 14: support cannot repair a hook; its page says what to look at and who presses what."""
    from portal.models import HookCheck
    from portal.webhooks import states

    company = make_company()
    save(app, db, HookCheck(company_id=company.id, procore_project_id=77, procore_project_name="Obra Norte",
                            state=states.WRONG_ENDPOINT, checked_by="x"))
    login_as(make_user("soporte@cbox.test", "support"))
    page = _visible(client.get(f"/support/companies/{company.id}/projects/77").get_data(as_text=True))
    assert "El administrador de la empresa lo corrige con «Reparar»" in page and "PUBLIC_BASE_URL" in page
    assert set(states.SUPPORT_ADVICE) == set(states.ADVICE)  # every state has support's advice
