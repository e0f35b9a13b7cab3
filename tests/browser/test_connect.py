"""Issue 4 in a real browser, from `make run`: connect the sandbox's admin user, choose the
company (R2), see projects and per-tool permissions (R9)."""
from __future__ import annotations

import pytest

from tests.browser.conftest import portal_errors
from tests.browser.helpers import connect_sandbox_admin, sign_in

pytestmark = pytest.mark.browser


def test_connect_sandbox_admin_and_see_projects(made_run, page, console_errors, screenshots):
    sign_in(page, made_run.url)
    connect_sandbox_admin(page, made_run.url, screenshots)
    assert page.get_by_text("Cuenta de Procore admin@constructora.test conectada.").is_visible()
    assert page.get_by_text("Válida").is_visible()
    page.screenshot(path=str(screenshots / "12-connections.png"), full_page=True)

    page.get_by_role("link", name="Proyectos", exact=True).click()
    row = page.locator("tr", has_text="Edificio Los Álamos")
    row.get_by_text("Puede configurar integraciones en este proyecto.").wait_for()
    assert page.locator("tr", has_text="Puente Río Claro").is_visible()
    page.screenshot(path=str(screenshots / "13-projects.png"), full_page=True)
    assert portal_errors(console_errors, made_run.url) == []
