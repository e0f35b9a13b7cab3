"""The audit log (issue 14): actions are recorded with who did them, in the same transaction (a refused
action leaves no entry); admins see their company's entries, support everyone's; filters; `flask audit tail`."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token


@pytest.fixture
def companies(app, db, make_company, make_user, make_account):
    from portal.models import Integration
    from tests.conftest import save

    a, b = make_company("Empresa A"), make_company("Empresa B")
    people = {"admin_a": make_user("admin@a.test", "admin", a), "member_a": make_user("member@a.test", "member", a),
              "admin_b": make_user("admin@b.test", "admin", b), "support": make_user("support@x.test", "support")}
    account = make_account(a, "admin@a.test")
    integration = save(app, db, Integration(company_id=a.id, cbox_folder_id=1, procore_company_id=5000000007,
                                            procore_project_id=5000000001, procore_project_name="Obra Central",
                                            selections={}))
    return {"a": a, "b": b, "account": account, "integration": integration, **people}


def actions(app, db, company_id=None) -> list[tuple[str, str, str]]:
    from portal.models import AuditEntry

    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if company_id is not None:
            query = query.where(AuditEntry.company_id == company_id)
        return [(entry.actor, entry.action, entry.target) for entry in db.session.scalars(query)]


def test_actions_are_recorded_with_who_did_them(app, db, client, login_as, companies):
    login_as(companies["admin_a"])
    integration, member = companies["integration"], companies["member_a"]
    token = csrf_token(client, "/users/")
    client.post(f"/users/{member.id}/active", data={"csrf_token": token, "active": "0"})
    client.post(f"/integrations/{integration.id}/pause", data={"csrf_token": token})
    client.post(f"/integrations/{integration.id}/resume", data={"csrf_token": token})
    client.post(f"/connections/{companies['account'].id}/disconnect", data={"csrf_token": token})
    assert actions(app, db) == [
        ("admin@a.test", "user.deactivated", "member@a.test"),
        ("admin@a.test", "integration.paused", "Obra Central"),
        ("admin@a.test", "integration.resumed", "Obra Central"),
        ("admin@a.test", "procore.disconnected", "admin@a.test"),
    ]
    page = client.get("/audit/").get_data(as_text=True)
    for text in ("Registro de auditoría", "Desactivó un usuario", "Pausó una integración", "Reanudó una integración",
                 "Desconectó una cuenta de Procore", "Obra Central", "member@a.test"):
        assert text in page, text
    table = page[page.index("<tbody>"):page.index("</tbody>")]
    assert "integration.paused" not in table and "procore.disconnected" not in table  # named, never coded


def test_a_refused_action_leaves_no_entry(app, db, client, login_as, companies):
    """The entry is written in the action's transaction: a removal refused while a run is running rolls
    back, entry included."""
    from portal.models import SyncRun
    from tests.conftest import save

    integration = companies["integration"]
    save(app, db, SyncRun(integration_id=integration.id, kind="import", status="running"))
    login_as(companies["admin_a"])
    token = csrf_token(client, f"/integrations/{integration.id}/remove")
    client.post(f"/integrations/{integration.id}/remove", data={"csrf_token": token})
    assert actions(app, db) == []
    with app.app_context():
        db.session.query(SyncRun).update({"status": "done"})
        db.session.commit()
    client.post(f"/integrations/{integration.id}/remove", data={"csrf_token": token})
    assert actions(app, db) == [("admin@a.test", "integration.removed", "Obra Central")]


def test_admins_see_their_company_support_sees_all_and_filters_work(app, db, client, login_as, companies):
    from portal import audit

    with app.app_context():
        audit.record("user.created", target="uno@a.test", company_id=companies["a"].id, actor="cli")
        audit.record("integration.removed", target="Obra A", company_id=companies["a"].id, actor="cli")
        audit.record("user.created", target="dos@b.test", company_id=companies["b"].id, actor="cli")
        db.session.commit()
        with pytest.raises(ValueError):
            audit.record("made.up", target="x")
    login_as(companies["admin_b"])
    page = client.get("/audit/").get_data(as_text=True)
    assert "dos@b.test" in page and "uno@a.test" not in page and "Obra A" not in page
    assert "dos@b.test" in client.get(f"/audit/?company={companies['a'].id}").get_data(as_text=True)  # no escape
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    login_as(companies["support"])
    page = client.get("/audit/").get_data(as_text=True)
    assert "uno@a.test" in page and "dos@b.test" in page and "Empresa A" in page
    only_a = client.get(f"/audit/?company={companies['a'].id}").get_data(as_text=True)
    assert "uno@a.test" in only_a and "dos@b.test" not in only_a
    removed = client.get("/audit/?action=integration.removed").get_data(as_text=True)
    assert "Obra A" in removed and "uno@a.test" not in removed
    assert "uno@a.test" in client.get("/audit/?action=bogus&days=7").get_data(as_text=True)
    assert "Nada registrado" in client.get("/audit/?actor=nadie").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    login_as(companies["member_a"])
    assert client.get("/audit/").status_code == 403


def test_cli_audit_tail(app, db, companies):
    from portal import audit

    with app.app_context():
        for number in range(3):
            audit.record("user.created", target=f"u{number}@a.test", company_id=companies["a"].id, actor="cli")
        audit.record("user.created", target="otra@b.test", company_id=companies["b"].id, actor="cli")
        db.session.commit()
    cli = app.test_cli_runner()
    out = cli.invoke(args=["audit", "tail", "-n", "2", "--company", str(companies["a"].id)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert len(lines) == 2 and "u1@a.test" in lines[0] and "u2@a.test" in lines[1]  # newest last
    assert "otra@b.test" in cli.invoke(args=["audit", "tail"]).output
    bad = cli.invoke(args=["audit", "tail", "--action", "nope"])
    assert bad.exit_code != 0 and "unknown action" in bad.output
