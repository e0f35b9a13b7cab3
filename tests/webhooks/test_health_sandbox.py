"""Hook health and repair against the sandbox's seeded projects (SPEC R8, R9, R11, R12).

Seeded by sandbox/seed_webhooks.py: Álamos has another application's hook (otra-app-sync),
Ñuñoa our namespace at a wrong endpoint, Río Claro our namespace at the right endpoint
(knob portal_url) with an unknown secret and one trigger only.
"""
from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import select

from portal.models import Company, EventStatus, HookCheck, WebhookEvent
from tests.portal.test_procore_connect import connect

ALAMOS, NUNOA, RIO = "Edificio Los Álamos", "Hospital Regional Ñuñoa", "Puente Río Claro"


@pytest.fixture
def linked(app, db, client, make_company, make_user, login_as, procore_sandbox, monkeypatch):
    """admin@demo.test connected to Constructora Demo through the real OAuth flow; our public
    URL is the sandbox's default knob portal_url, so Río Claro's seeded hook is "ours"."""
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", procore_sandbox.control({})["portal_url"])
    company = make_company("Constructora Demo")
    login_as(make_user("admin@demo.test", "admin", company, procore=True))
    assert connect(client, pick=procore_sandbox.company_id()).status_code == 302
    yield {"company_id": company.id, "sb": procore_sandbox, "client": client}


def states_on_projects_page(client, sb) -> dict:
    out = {}
    for name in (ALAMOS, NUNOA, RIO):
        html = client.get(f"/projects/{sb.project_id(name)}/webhook/cell", headers={"HX-Request": "true"})
        assert html.status_code == 200
        out[name] = html.get_data(as_text=True)
    return out


def latest_state(app, db, company_id, project_id) -> HookCheck:
    with app.app_context():
        row = db.session.scalar(select(HookCheck).where(HookCheck.company_id == company_id,
                                                        HookCheck.procore_project_id == project_id)
                                .order_by(HookCheck.id.desc()))
        db.session.expunge(row)
        return row


def test_seeded_projects_show_their_states(app, db, linked):
    sb, client = linked["sb"], linked["client"]
    cells = states_on_projects_page(client, sb)
    assert "Propiedad de otra aplicación" in cells[ALAMOS] and "otra-app.example.com" in cells[ALAMOS]
    assert "Endpoint incorrecto" in cells[NUNOA] and "cbox-antiguo.example.com" in cells[NUNOA]
    assert "Faltan disparadores" in cells[RIO]
    rio = latest_state(app, db, linked["company_id"], sb.project_id(RIO))
    assert rio.state == "triggers_missing" and "wrong_secret" in rio.details["problems"]
    assert ["Project Files", "create"] not in rio.details["missing_triggers"]
    assert ["Images", "delete"] in rio.details["missing_triggers"]
    alamos = latest_state(app, db, linked["company_id"], sb.project_id(ALAMOS))
    assert alamos.details["other_hooks"][0]["namespace"] == "otra-app-sync"


def test_import_block_reason_names_the_other_endpoint(app, db, linked):
    """R11/R12: the function the sync engine calls before an import."""
    from portal.webhooks.companies import company_client
    from portal.webhooks.health import import_block_reason

    sb = linked["sb"]
    with app.app_context():
        company = db.session.get(Company, linked["company_id"])
        client = company_client(company)
        reason = import_block_reason(company, sb.project_id(ALAMOS), client)
        db.session.commit()  # the caller commits the check before calling Procore again (db_boundary)
        assert "https://otra-app.example.com/procore/hooks" in reason
        assert "cbox-antiguo.example.com" in import_block_reason(company, sb.project_id(NUNOA), client)


def test_repairing_the_wrong_endpoint_makes_it_healthy_and_deliveries_arrive(app, db, linked, live_server,
                                                                            monkeypatch):
    sb, client = linked["sb"], linked["client"]
    # the sandbox delivers to the repaired hook's URL
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", live_server.url)
    nunoa = sb.project_id(NUNOA)
    preview = client.get(f"/projects/{nunoa}/webhook/repair", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "cbox-antiguo.example.com" in preview and app.config["PUBLIC_BASE_URL"] in preview
    before = requests.get(sb.url + "/_sandbox/webhooks/hooks", timeout=10).json()
    from tests.conftest import csrf_token

    response = client.post(f"/projects/{nunoa}/webhook/repair", data={"csrf_token": csrf_token(client)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Saludable" in response.get_data(as_text=True)
    after = requests.get(sb.url + "/_sandbox/webhooks/hooks", timeout=10).json()
    [ours] = [h for h in after if h["project_id"] == nunoa]
    assert ours["destination_url"] == app.config["PUBLIC_BASE_URL"] + app.config["WEBHOOK_PATH"]
    assert [h for h in before if h["project_id"] != nunoa] == [h for h in after if h["project_id"] != nunoa]
    # A real change in Procore now reaches the receiver through the sandbox's dispatcher.
    token = sb.token("admin@constructora.test", client_id="other-client")["access_token"]
    created = requests.post(f"{sb.url}/rest/v1.0/folders", params={"project_id": nunoa}, timeout=10,
                            json={"folder": {"name": "Carpeta webhook"}},
                            headers={"Authorization": f"Bearer {token}", "Procore-Company-Id": str(sb.company_id())})
    assert created.status_code == 201, created.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with app.app_context():
            row = db.session.scalar(select(WebhookEvent).where(WebhookEvent.resource_name == "Project Folders"))
            if row is not None:
                break
        time.sleep(0.2)
    assert row is not None, "no delivery reached the receiver"
    assert row.status == EventStatus.RECEIVED and row.procore_project_id == nunoa


def test_other_application_hook_is_never_touched(app, db, linked):
    """R11: repair offers our hook beside it; theirs is unchanged; imports stay refused."""
    from tests.conftest import csrf_token

    sb, client = linked["sb"], linked["client"]
    alamos = sb.project_id(ALAMOS)
    preview = client.get(f"/projects/{alamos}/webhook/repair").get_data(as_text=True)
    assert "otra-app.example.com" in preview and "se deja intacto" in preview
    client.post(f"/projects/{alamos}/webhook/repair", data={"csrf_token": csrf_token(client)})
    hooks = [h for h in requests.get(sb.url + "/_sandbox/webhooks/hooks", timeout=10).json()
             if h["project_id"] == alamos]
    assert {h["namespace"] for h in hooks} == {"otra-app-sync", "cbox-procore"}
    theirs = next(h for h in hooks if h["namespace"] == "otra-app-sync")
    assert theirs["destination_url"] == "https://otra-app.example.com/procore/hooks"
    assert latest_state(app, db, linked["company_id"], alamos).state == "other_app"


def test_repair_without_project_admin_names_the_permission(app, db, linked):
    """R9."""
    sb, client = linked["sb"], linked["client"]
    sb._post("/_sandbox/permissions", {"login": "admin@constructora.test", "company_id": sb.company_id(),
                                        "project_id": sb.project_id(RIO), "tool": "admin", "level": "Standard"})
    response = client.get(f"/projects/{sb.project_id(RIO)}/webhook/repair")
    html = response.get_data(as_text=True)
    assert "Admin" in html and ("Falta el permiso" in html or "No se pudo comprobar" in html)
