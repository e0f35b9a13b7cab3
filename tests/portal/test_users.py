"""User and company management pages, and the CLI (issue 2)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import Company, Role, User


@pytest.fixture
def company_a(make_company):
    return make_company("Empresa A")


@pytest.fixture
def admin_a(make_user, company_a):
    return make_user("admin@a.test", "admin", company_a)


def _user(app, db, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def test_admin_creates_a_member_with_procore_permission(app, db, client, login_as, post_form, admin_a, company_a):
    login_as(admin_a)
    response = post_form("/users/new", {"email": " Nuevo@A.test ", "name": "Nuevo", "role": "member",
                                        "company_id": str(company_a.id), "can_integrate_procore": "y",
                                        "password": "una clave larga"}, token_page="/users/new")
    assert response.status_code == 302
    user = _user(app, db, "nuevo@a.test")
    assert user.role == Role.MEMBER and user.company_id == company_a.id and user.can_integrate_procore
    assert user.password_hash.startswith("$argon2id$")


def test_generated_password_is_shown_once(app, db, client, login_as, post_form, admin_a, company_a):
    login_as(admin_a)
    post_form("/users/new", {"email": "gen@a.test", "role": "member", "company_id": str(company_a.id)},
              token_page="/users/new")
    html = client.get("/users/").get_data(as_text=True)
    assert "solo se muestra ahora" in html
    assert "solo se muestra ahora" not in client.get("/users/").get_data(as_text=True)


def test_form_errors_are_shown_next_to_the_fields(client, login_as, post_form, admin_a, company_a):
    login_as(admin_a)
    response = post_form("/users/new", {"email": "nope", "role": "member", "company_id": str(company_a.id),
                                        "password": "short"}, token_page="/users/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="email-error"' in html and 'id="password-error"' in html
    assert 'value="nope"' in html  # what was typed is kept


def test_duplicate_email_is_refused(client, login_as, post_form, admin_a, company_a):
    login_as(admin_a)
    response = post_form("/users/new", {"email": "ADMIN@a.test", "role": "member", "company_id": str(company_a.id)},
                         token_page="/users/new")
    assert response.status_code == 400
    assert "Ya existe un usuario con este correo." in response.get_data(as_text=True)


def test_company_admin_cannot_create_support_or_superadmin(app, db, client, login_as, post_form, admin_a, company_a):
    login_as(admin_a)
    response = post_form("/users/new", {"email": "x@a.test", "role": "superadmin", "company_id": str(company_a.id)},
                         token_page="/users/new")
    assert response.status_code == 400 and _user(app, db, "x@a.test") is None


def test_company_admin_cannot_place_a_user_in_another_company(app, db, login_as, post_form, admin_a, make_company):
    other = make_company("Empresa B")
    login_as(admin_a)
    post_form("/users/new", {"email": "x@a.test", "role": "member", "company_id": str(other.id)},
              token_page="/users/new")
    assert _user(app, db, "x@a.test").company_id == admin_a.company_id


def test_edit_changes_role_and_permission(app, db, login_as, post_form, admin_a, company_a, make_user):
    member = make_user("m@a.test", "member", company_a)
    login_as(admin_a)
    response = post_form(f"/users/{member.id}/edit", {"email": "m@a.test", "name": "Marta", "role": "admin",
                                                      "company_id": str(company_a.id),
                                                      "can_integrate_procore": "y"},
                         token_page=f"/users/{member.id}/edit")
    assert response.status_code == 302
    changed = _user(app, db, "m@a.test")
    assert changed.role == Role.ADMIN and changed.can_integrate_procore and changed.name == "Marta"


def test_admin_cannot_deactivate_themselves(app, db, client, login_as, post_form, admin_a):
    login_as(admin_a)
    post_form(f"/users/{admin_a.id}/active", {"active": "0"})
    assert _user(app, db, "admin@a.test").active


def test_deactivate_with_htmx_returns_the_row(app, db, client, login_as, admin_a, company_a, make_user):
    from tests.conftest import csrf_token

    member = make_user("m@a.test", "member", company_a)
    login_as(admin_a)
    response = client.post(f"/users/{member.id}/active", data={"active": "0"},
                           headers={"HX-Request": "true", "X-CSRFToken": csrf_token(client)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith(f'<tr id="user-{member.id}">')
    assert "Desactivado" in html and 'hx-swap-oob="true"' in html
    assert not _user(app, db, "m@a.test").active


def test_support_sees_all_users_but_cannot_change_them(client, login_as, post_form, admin_a, make_user):
    support = make_user("s@x.test", "support")
    login_as(support)
    assert "admin@a.test" in client.get("/users/").get_data(as_text=True)
    assert post_form(f"/users/{admin_a.id}/active", {"active": "0"}).status_code == 403


def test_superadmin_creates_and_renames_companies(app, db, login_as, post_form, make_user):
    login_as(make_user("root@x.test", "superadmin"))
    assert post_form("/companies/new", {"name": "  Nueva   Empresa "}, token_page="/companies/new").status_code == 302
    with app.app_context():
        company = db.session.scalar(select(Company).where(Company.name == "Nueva Empresa"))
        assert company is not None
        company_id = company.id
    duplicate = post_form("/companies/new", {"name": "nueva empresa"}, token_page="/companies/new")
    assert duplicate.status_code == 400 and "Ya existe una empresa" in duplicate.get_data(as_text=True)
    assert post_form(f"/companies/{company_id}/edit", {"name": "Renombrada"},
                     token_page=f"/companies/{company_id}/edit").status_code == 302
    with app.app_context():
        assert db.session.get(Company, company_id).name == "Renombrada"


def test_cli_creates_users_and_companies(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["companies", "create", "--name", "CLI Empresa"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "--email", "cli@e.test", "--role", "admin",
                                 "--company", "CLI Empresa", "--procore"])
    assert result.exit_code == 0 and "Initial password:" in result.output
    user = _user(app, db, "cli@e.test")
    assert user.role == Role.ADMIN and user.can_integrate_procore
    bad = runner.invoke(args=["users", "create", "--email", "x@e.test", "--role", "admin"])
    assert bad.exit_code != 0 and "needs a company" in bad.output
    dup = runner.invoke(args=["users", "create", "--email", "cli@e.test", "--role", "support"])
    assert dup.exit_code != 0 and "already exists" in dup.output
    off = runner.invoke(args=["users", "set-active", "--email", "cli@e.test", "--inactive"])
    assert off.exit_code == 0 and not _user(app, db, "cli@e.test").active


def test_seed_demo_is_idempotent(app, db):
    runner = app.test_cli_runner()
    assert "created" in runner.invoke(args=["seed-demo"]).output
    assert "already present" in runner.invoke(args=["seed-demo"]).output
    admin = _user(app, db, "admin@demo.test")
    assert admin.role == Role.ADMIN and admin.check_password("demo1234")
    assert _user(app, db, "support@demo.test").role == Role.SUPPORT
