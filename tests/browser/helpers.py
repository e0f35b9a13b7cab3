"""Steps several browser tests share: signing in, connecting the sandbox's Procore admin."""
from __future__ import annotations

import re


def sign_in(page, url: str, email: str = "admin@demo.test", password: str = "demo1234") -> None:
    page.goto(url + "/login")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(url + "/")


def connect_sandbox_admin(page, url: str, screenshots=None) -> None:
    """Connect admin@constructora.test on the sandbox's consent page and pick Constructora Demo."""
    page.goto(url + "/connections")
    page.get_by_role("link", name="Conectar una cuenta de Procore").click()
    page.wait_for_url(re.compile(r".*/oauth/authorize.*"))
    page.get_by_label(re.compile(r"\badmin@constructora\.test")).check()
    if screenshots:
        page.screenshot(path=str(screenshots / "10-sandbox-consent.png"), full_page=True)
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(url + "/procore/company")
    if screenshots:
        page.screenshot(path=str(screenshots / "11-choose-company.png"), full_page=True)
    page.get_by_label(re.compile("Constructora Demo")).check()
    page.get_by_role("button", name="Conectar").click()
    page.wait_for_url(url + "/connections")


def repair_hook_and_create_project(page, url: str, project: str = "Hospital Regional Ñuñoa",
                                   cbox_project: str = "Hospital Ñuñoa") -> None:
    """R12: imports need our webhook; Ñuñoa's points at a wrong endpoint: repair it from /projects, then
    create the cBox project to import into."""
    page.goto(url + "/projects/")
    row = page.locator("tr", has_text=project)
    row.get_by_role("button", name="Reparar…").click()
    page.get_by_role("button", name="Aplicar cambios").click()
    page.locator("tr", has_text=project).get_by_text("Saludable").wait_for()
    page.goto(url + "/cbox/")
    page.get_by_label("Nuevo proyecto de cBox").fill(cbox_project)
    page.get_by_role("button", name="Crear proyecto").click()
