"""The company dashboard (issue 14, D1): Procore connections and their state, webhook health by kind,
integrations with their last successful sync, failing runs and items not synced, each linking to where
it is fixed; the queue's internals only on support's dashboard."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.conftest import save


def test_a_company_sees_its_sync_at_a_glance(app, db, client, login_as, make_company, make_user, make_account):
    from portal.models import HookCheck, Integration, SyncItem, SyncRun

    company, other = make_company("Empresa A"), make_company("Empresa B")
    admin = make_user("admin@a.test", "admin", company)
    make_user("lost@a.test", "member", company)
    make_account(company, "admin@a.test")
    make_account(company, "lost@a.test", procore_user_id=5_000_000_778, status="needs_reauth")
    for project, state in ((1, "healthy"), (2, "healthy"), (3, "wrong_endpoint")):
        save(app, db, HookCheck(company_id=company.id, procore_project_id=project, state="missing", checked_by="x"))
        save(app, db, HookCheck(company_id=company.id, procore_project_id=project, state=state, checked_by="x"))
    save(app, db, HookCheck(company_id=other.id, procore_project_id=9, state="other_app", checked_by="x"))

    def integration(name, status="active"):
        return save(app, db, Integration(company_id=company.id, cbox_folder_id=1, procore_company_id=7,
                                         procore_project_id=1, procore_project_name=name, selections={},
                                         status=status))

    ok, failing, partial = integration("Obra Sana"), integration("Obra Rota"), integration("Obra Parcial", "paused")
    finished = datetime(2026, 12, 1, 10, 30, tzinfo=timezone.utc)
    save(app, db, SyncRun(integration_id=ok.id, kind="import", status="done", finished_at=finished))
    save(app, db, SyncRun(integration_id=failing.id, kind="import", status="done", finished_at=finished))
    save(app, db, SyncRun(integration_id=failing.id, kind="refresh", status="failed",
                          error="Procore could not be listed: Procore unreachable (ConnectionError)"))
    for number, status in enumerate(("error", "error", "pending", "synced")):
        save(app, db, SyncItem(integration_id=partial.id, procore_kind="file", procore_id=number, name="x",
                               status=status))

    login_as(admin)
    page = client.get("/").get_data(as_text=True)
    for text in ("Conexiones con Procore", "1 debe volver a iniciar sesión", "lost@a.test",
                 "2 proyectos con un webhook saludable", "1 en pausa", "2026-12-01 10:30",
                 "Requiere su atención", "Obra Rota", "2 con errores", "1 pendiente", "Obra Parcial",
                 f"/integrations/{failing.id}", f"/integrations/{partial.id}/history"):
        assert text in page, text
    attention = page[page.index("Requiere su atención"):]
    assert "Obra Sana" not in attention  # its last run is done and every item synced
    assert "Procore unreachable" not in page  # the reason in Spanish, never the stored English
    assert "Procesos en segundo plano" not in page and "tareas en espera" not in page  # support's, not theirs
    assert "Propiedad de otra aplicación" not in page  # company B's hook is not company A's


def test_a_company_without_anything_yet(client, login_as, make_company, make_user):
    login_as(make_user("admin@a.test", "admin", make_company("Nueva")))
    page = client.get("/").get_data(as_text=True)
    assert "Ninguna conectada" in page and "Ningún proyecto revisado todavía" in page
    assert "ninguna sincronización correcta todavía" in page and "Requiere su atención" not in page
