"""Route declarations, CSRF coverage and tenant isolation (RELIABILITY 23, 28).

A new route fails these tests until it is declared (public / login / role) and added to
MATRIX with the answer each persona must get.
"""
from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from tests.conftest import csrf_token

# Routes that take no CSRF token (machine callers authenticated otherwise). RELIABILITY 23.
CSRF_EXEMPT: set[str] = {"webhook_receiver.receive"}  # Procore, authenticated by its per-hook secret

# endpoint -> {persona: expected status} for GET (and POST where listed).
# Personas: anon, admin_a (owner of the ids), admin_b (other company), support, member_a.
# "login" means a redirect to the login page.
OK, LOGIN, FORBID, MISSING = 200, "login", 403, 404
MATRIX: dict[tuple[str, str], dict[str, object]] = {
    ("dashboard.index", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": OK, "member_a": OK},
    ("auth.login", "GET"): {"anon": OK, "admin_a": 302, "admin_b": 302, "support": 302, "member_a": 302},
    ("auth.login", "POST"): {"anon": 400, "admin_a": 302, "admin_b": 302, "support": 302, "member_a": 302},
    ("auth.logout", "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": 302, "support": 302, "member_a": 302},
    ("auth.set_language", "POST"): {"anon": 302, "admin_a": 302, "admin_b": 302, "support": 302, "member_a": 302},
    ("users.index", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": OK, "member_a": FORBID},
    ("users.create", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": FORBID, "member_a": FORBID},
    ("users.create", "POST"): {"anon": LOGIN, "admin_a": 400, "admin_b": 400, "support": FORBID, "member_a": FORBID},
    ("users.edit", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": FORBID, "member_a": FORBID},
    ("users.edit", "POST"): {"anon": LOGIN, "admin_a": 400, "admin_b": MISSING, "support": FORBID, "member_a": FORBID},
    ("users.set_active", "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": MISSING, "support": FORBID,
                                   "member_a": FORBID},
    ("companies.index", "GET"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": OK,
                                 "member_a": FORBID},
    ("companies.create", "GET"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": FORBID,
                                  "member_a": FORBID},
    ("companies.create", "POST"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": FORBID,
                                   "member_a": FORBID},
    ("companies.edit", "GET"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": FORBID,
                                "member_a": FORBID},
    ("companies.edit", "POST"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": FORBID,
                                 "member_a": FORBID},
    ("companies.set_active", "POST"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": FORBID,
                                       "member_a": FORBID},
    ("procore.connections", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": OK, "member_a": OK},
    ("procore.connect", "GET"): {"anon": LOGIN, "admin_a": 302, "admin_b": 302, "support": FORBID, "member_a": FORBID},
    ("procore.callback", "GET"): {"anon": LOGIN, "admin_a": 400, "admin_b": 400, "support": FORBID,
                                  "member_a": 400},
    ("procore.choose_company", "GET"): {"anon": LOGIN, "admin_a": 400, "admin_b": 400, "support": FORBID,
                                        "member_a": 400},
    ("procore.choose_company", "POST"): {"anon": LOGIN, "admin_a": 400, "admin_b": 400, "support": FORBID,
                                         "member_a": 400},
    # member_a owns the account: people may disconnect their own.
    ("procore.disconnect", "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": MISSING, "support": FORBID,
                                     "member_a": 302},
    ("procore.disconnect", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": FORBID,
                                    "member_a": OK},  # asked first (issue 14)
    ("projects.index", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": FORBID, "member_a": OK},
    ("projects.access", "GET"): {"anon": LOGIN, "admin_a": MISSING, "admin_b": MISSING, "support": FORBID,
                                 "member_a": MISSING},
    # Webhooks (issue 5). The receiver is public and answers the test's form POST with 415 (JSON only).
    ("webhook_receiver.receive", "POST"): {"anon": 415, "admin_a": 415, "admin_b": 415, "support": 415,
                                           "member_a": 415},
    # Company A has not linked a Procore company in this world: its project pages are 404.
    ("webhooks.detail", "GET"): {"anon": LOGIN, "admin_a": MISSING, "admin_b": MISSING, "support": FORBID,
                                 "member_a": MISSING},
    ("webhooks.cell", "GET"): {"anon": LOGIN, "admin_a": MISSING, "admin_b": MISSING, "support": FORBID,
                               "member_a": MISSING},
    ("webhooks.check", "POST"): {"anon": LOGIN, "admin_a": MISSING, "admin_b": MISSING, "support": FORBID,
                                 "member_a": MISSING},
    ("webhooks.repair_hook", "GET"): {"anon": LOGIN, "admin_a": MISSING, "admin_b": MISSING, "support": FORBID,
                                      "member_a": MISSING},
    ("webhooks.repair_hook", "POST"): {"anon": LOGIN, "admin_a": MISSING, "admin_b": MISSING, "support": FORBID,
                                       "member_a": MISSING},
    # Support diagnostics: read-only across companies, plus two actions support may take.
    ("support.index", "GET"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": OK,
                               "member_a": FORBID},
    ("support.project", "GET"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": OK,
                                 "member_a": FORBID},
    ("support.recheck", "POST"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": 302,
                                  "member_a": FORBID},
    ("support.replay", "POST"): {"anon": LOGIN, "admin_a": FORBID, "admin_b": FORBID, "support": 302,
                                 "member_a": FORBID},
    # Alerts (issue 14): a company's people read them; admins choose their mails.
    ("alerts.index", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": FORBID, "member_a": OK},
    ("alerts.save_settings", "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": 302, "support": FORBID,
                                       "member_a": FORBID},
    # The audit log (issue 14): company admins see their company's, support everyone's; members none.
    ("audit.index", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": OK, "member_a": FORBID},
    # cBox (issue 6 part A). member_a has no edit grant (R32): edits 403. Bad form data → flash + 302.
    ("cbox.index", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": OK, "member_a": OK},
    ("cbox.create_project", "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": 302, "support": FORBID,
                                      "member_a": FORBID},
    ("cbox.project", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": OK, "member_a": OK},
    ("cbox.set_editors", "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": MISSING, "support": FORBID,
                                   "member_a": FORBID},
    ("cbox.folder", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": OK, "member_a": OK},
    ("cbox.download", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": OK, "member_a": OK},
    ("cbox.move", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": FORBID,
                           "member_a": FORBID},
    ("cbox.move", "POST"): {"anon": LOGIN, "admin_a": 400, "admin_b": MISSING, "support": FORBID,
                            "member_a": FORBID},
    **{("cbox." + name, "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": MISSING, "support": FORBID,
                                  "member_a": FORBID}
       for name in ("create_folder", "upload", "new_version", "rename", "delete")},
    # The cBox trash (issue 14): readers see it; restoring and purging need edit rights on that tree.
    ("cbox.trash_list", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": OK, "member_a": OK},
    ("cbox.restore_trash", "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": MISSING, "support": FORBID,
                                     "member_a": FORBID},
    ("cbox.purge_trash", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": FORBID,
                                  "member_a": FORBID},
    ("cbox.purge_trash", "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": MISSING, "support": FORBID,
                                   "member_a": FORBID},
    # The pages behind the ⋯ menu's entries (issue 14): a form, or what a deletion removes, asked first.
    **{("cbox." + name, "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": FORBID,
                                 "member_a": FORBID}
       for name in ("new_version", "rename", "delete")},
    # Integrations (issue 6 part B). new/tree/create/refresh take folder_id as a query/form value: without
    # one of the user's own Documentos folders they answer 404 (tests/sync/test_integration_views.py
    # covers the pages with a folder).
    ("integrations.index", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": OK, "support": OK, "member_a": OK},
    **{("integrations." + name, method): {"anon": LOGIN, "admin_a": MISSING, "admin_b": MISSING,
                                          "support": FORBID, "member_a": MISSING}
       for name, method in (("new", "GET"), ("tree", "GET"), ("create", "POST"), ("refresh_folder", "POST"),
                            ("confirm", "POST"))},
    # Exports (issue 12): folder_id is a query/form value; without one of the user's own folders: 404
    # (tests/sync/test_export.py covers the pages with a folder).
    **{("exports." + name, method): {"anon": LOGIN, "admin_a": MISSING, "admin_b": MISSING, "support": FORBID,
                                     "member_a": MISSING} for name, method in (("new", "GET"), ("create", "POST"))},
    ("integrations.show", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": OK,
                                   "member_a": OK},
    **{("integrations." + name, "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": MISSING, "support": FORBID,
                                          "member_a": 302}
       for name in ("stop", "sync_now")},
    # Run history and the integration's actions (issue 14): support reads, admins and members act.
    **{("runs." + name, "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": OK, "member_a": OK}
       for name in ("index", "run", "items_csv")},
    **{("runs." + name, "POST"): {"anon": LOGIN, "admin_a": 302, "admin_b": MISSING, "support": FORBID,
                                  "member_a": 302}
       for name in ("retry", "pause", "resume", "remove")},
    ("runs.remove", "GET"): {"anon": LOGIN, "admin_a": OK, "admin_b": MISSING, "support": FORBID, "member_a": OK},
}


def app_routes(app) -> list[tuple[Rule, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule, method))
    # Sign-out last: it ends the session the other requests rely on.
    return sorted(routes, key=lambda route: route[0].endpoint == "auth.logout")


def test_every_route_is_declared(app):
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "access", None) not in {"public", "login", "role"}:
            undeclared.append(rule.rule)
    assert not undeclared, f"routes without public/login_required/roles_required: {undeclared}"


def test_every_route_is_in_the_matrix(app):
    routes = {(rule.endpoint, method) for rule, method in app_routes(app)}
    missing = routes - set(MATRIX)
    stale = set(MATRIX) - routes
    assert not missing, f"add these routes to MATRIX with the expected answers: {sorted(missing)}"
    assert not stale, f"MATRIX names routes that no longer exist: {sorted(stale)}"


@pytest.fixture
def world(app, db, make_company, make_user, make_account):
    from portal.models import WebhookEvent
    from tests.conftest import save

    a, b = make_company("Empresa A"), make_company("Empresa B")
    with app.app_context():  # cBox ids of company A: a subfolder and a file beside it (not inside)
        import io

        from portal.cbox import store

        docs = store.categorized_folder(store.create_project(a.id, "Obra A"), "documents")
        cbox_ids = {"project_id": docs.project_id, "folder_id": store.create_folder(docs, "Contratos").id,
                    "file_id": store.add_file(docs, "acta.pdf", store.write_blob(io.BytesIO(b"%PDF-1.4"))).id}
        from portal.models import Integration  # an integration of company A (issue 6 part B)

        integration = Integration(company_id=a.id, cbox_folder_id=docs.id, procore_company_id=5000000007,
                                  procore_project_id=5000000001, procore_project_name="Obra A", selections={})
        db.session.add(integration)
        db.session.flush()
        cbox_ids["integration_id"] = integration.id
        from portal.models import SyncRun

        run = SyncRun(integration_id=integration.id, kind="import", status="done")
        db.session.add(run)
        db.session.flush()
        cbox_ids["run_id"] = run.id
        from portal.cbox import trash  # two items in company A's trash: one to restore, one to purge

        for key, name in (("entry_id", "viejo.pdf"), ("purge_entry_id", "borrador.pdf")):
            cbox_ids[key] = trash.trash(store.add_file(docs, name, store.write_blob(io.BytesIO(name.encode())))).id
        db.session.commit()
    return {
        "cbox": cbox_ids,
        "event_a": save(app, db, WebhookEvent(event_key="01WORLDEVENTA", company_id=a.id, status="done",
                                              procore_project_id=5000000001, attempts=1)),
        "company_a": a,
        "admin_a": make_user("admin@a.test", "admin", a),
        "member_a": make_user("member@a.test", "member", a),
        "admin_b": make_user("admin@b.test", "admin", b),
        "support": make_user("support@x.test", "support"),
        "superadmin": make_user("root@x.test", "superadmin"),
        "account_a": make_account(a, "member@a.test"),
    }


def _url(app, rule: Rule, world) -> str:
    values = {}
    for arg in rule.arguments:
        values[arg] = {"user_id": world["member_a"].id, "company_id": world["company_a"].id,
                       "account_id": world["account_a"].id, "procore_project_id": 5000000001,
                       "event_id": world["event_a"].id, **world["cbox"]}[arg]
    if rule.endpoint == "cbox.purge_trash":  # its own entry: restoring the other one must not consume it
        values["entry_id"] = world["cbox"]["purge_entry_id"]
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


@pytest.mark.parametrize("persona", ["anon", "admin_a", "admin_b", "support", "member_a"])
def test_tenant_matrix(app, client, login_as, world, persona):
    """RELIABILITY 28: every route x persona, using company A's ids."""
    if persona != "anon":
        login_as(world[persona])
    failures = []
    for rule, method in app_routes(app):
        expected = MATRIX[(rule.endpoint, method)][persona]
        url = _url(app, rule, world)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": csrf_token(client), "active": "1"})
        if expected == LOGIN:
            ok = response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            ok = response.status_code == expected
        if not ok:
            failures.append(f"{method} {url}: expected {expected}, got {response.status_code}")
    assert not failures, "\n".join(failures)


def test_admin_b_never_sees_company_a_users(client, login_as, world):
    login_as(world["admin_b"])
    html = client.get("/users/").get_data(as_text=True)
    assert "admin@b.test" in html
    assert "member@a.test" not in html and "admin@a.test" not in html


def test_state_changing_routes_require_csrf(app, client, login_as, world):
    """RELIABILITY 23: every POST without a token is refused with the 'session expired' answer."""
    login_as(world["superadmin"])
    checked = 0
    for rule, method in app_routes(app):
        if method == "GET" or rule.endpoint in CSRF_EXEMPT:
            continue
        response = client.post(_url(app, rule, world), data={"active": "0"})
        assert response.status_code == 400, f"{rule.rule} accepted a POST without a CSRF token"
        assert "expir" in response.get_data(as_text=True).lower()
        checked += 1
    assert checked >= 4
    # The superadmin is still signed in: nothing above logged them out.
    assert client.get("/").status_code == 200


def test_csrf_error_for_htmx_is_a_fragment(client, login_as, world):
    login_as(world["admin_a"])
    response = client.post(f"/users/{world['member_a'].id}/active", data={"active": "0"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<html" not in body and "flash-error" in body
