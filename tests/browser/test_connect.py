"""Issue 4 in a real browser, from `make run`: connect the sandbox's admin user, choose the
company (R2), see projects and per-tool permissions (R9)."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import portal_errors

pytestmark = pytest.mark.browser


def test_connect_sandbox_admin_and_see_projects(made_run, page, console_errors, screenshots):
    page.goto(made_run.url + "/login")
    page.get_by_label("Correo electrónico").fill("admin@demo.test")
    page.get_by_label("Contraseña").fill("demo1234")
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(made_run.url + "/")

    page.get_by_role("link", name="Procore", exact=True).click()
    page.get_by_role("link", name="Conectar una cuenta de Procore").click()
    # The sandbox's consent page plays Procore's login.
    page.wait_for_url(re.compile(r".*/oauth/authorize.*"))
    page.get_by_label(re.compile(r"\badmin@constructora\.test")).check()
    page.screenshot(path=str(screenshots / "10-sandbox-consent.png"), full_page=True)
    page.get_by_role("button", name="Approve").click()

    page.wait_for_url(made_run.url + "/procore/company")
    assert page.get_by_text("Inmobiliaria Sur").is_visible()
    page.screenshot(path=str(screenshots / "11-choose-company.png"), full_page=True)
    page.get_by_label(re.compile("Constructora Demo")).check()
    page.get_by_role("button", name="Conectar").click()

    page.wait_for_url(made_run.url + "/connections")
    assert page.get_by_text("Cuenta de Procore admin@constructora.test conectada.").is_visible()
    assert page.get_by_text("Válida").is_visible()
    page.screenshot(path=str(screenshots / "12-connections.png"), full_page=True)

    page.get_by_role("link", name="Proyectos", exact=True).click()
    row = page.locator("tr", has_text="Edificio Los Álamos")
    row.get_by_text("Puede configurar integraciones en este proyecto.").wait_for()
    assert page.locator("tr", has_text="Puente Río Claro").is_visible()
    page.screenshot(path=str(screenshots / "13-projects.png"), full_page=True)
    assert portal_errors(console_errors, made_run.url) == []
