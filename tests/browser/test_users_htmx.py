"""htmx with CSRF in a real browser: deactivate a user in place, no console errors (issue 2)."""
from __future__ import annotations

import pytest

from tests.browser.helpers import sign_in
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser




def test_deactivate_user_in_place_with_htmx(live_server, page, console_errors, screenshots, make_company, make_user):
    company = make_company("Empresa Htmx")
    make_user("jefa@htmx.test", "admin", company)
    make_user("obrero@htmx.test", "member", company, procore=True)
    sign_in(page, live_server.url, "jefa@htmx.test", TEST_PASSWORD)
    page.goto(live_server.url + "/users/")
    row = page.locator("tr", has_text="obrero@htmx.test")
    with page.expect_response(lambda r: "/active" in r.url) as response_info:
        row.get_by_role("button", name="Desactivar").click()
    assert response_info.value.status == 200
    assert page.url == live_server.url + "/users/"  # swapped in place, no navigation
    row = page.locator("tr", has_text="obrero@htmx.test")
    row.get_by_text("Desactivado").wait_for()
    assert page.locator("#flash").get_by_text("obrero@htmx.test").is_visible()
    page.screenshot(path=str(screenshots / "05-users-deactivated.png"), full_page=True)
    row.get_by_role("button", name="Activar").click()
    page.locator("tr", has_text="obrero@htmx.test").get_by_text("Activo").wait_for()
    assert console_errors == []


def test_new_user_form_shows_errors_in_place(live_server, page, screenshots, make_company, make_user):
    make_user("jefa@htmx.test", "admin", make_company("Empresa Form"))
    sign_in(page, live_server.url, "jefa@htmx.test", TEST_PASSWORD)
    page.goto(live_server.url + "/users/new")
    page.get_by_label("Correo electrónico").fill("no-es-correo")
    page.get_by_label("Contraseña inicial").fill("corta")
    page.get_by_role("button", name="Crear usuario").click()
    assert page.get_by_text("Ingrese un correo electrónico válido.").is_visible()
    page.screenshot(path=str(screenshots / "06-user-form-errors.png"), full_page=True)
