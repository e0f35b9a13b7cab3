"""Issue 2 in a real browser: `make run`, sign in as the demo admin, switch language, users."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_make_run_prints_url_and_demo_logins(made_run):
    text = made_run.log_path.read_text()
    assert made_run.url.startswith("http://127.0.0.1:")
    assert "admin@demo.test / demo1234" in text and "support@demo.test / demo1234" in text


def test_demo_admin_signs_in_switches_language_and_sees_users(made_run, page, console_errors, screenshots):
    page.goto(made_run.url + "/")
    assert page.url.endswith("/login?next=%2F") or "/login" in page.url
    assert page.get_by_role("heading", name="Iniciar sesión").is_visible()
    page.screenshot(path=str(screenshots / "01-login.png"), full_page=True)

    page.get_by_label("Correo electrónico").fill("admin@demo.test")
    page.get_by_label("Contraseña").fill("demo1234")
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_url(made_run.url + "/")
    assert page.get_by_role("heading", name=re.compile("Hola")).is_visible()
    assert page.locator("main").get_by_text(re.compile("Constructora Demo")).first.is_visible()
    page.screenshot(path=str(screenshots / "02-dashboard-es.png"), full_page=True)

    page.get_by_role("button", name="EN").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=re.compile("Hello")).is_visible()
    assert page.get_by_role("link", name="Users", exact=True).is_visible()
    page.screenshot(path=str(screenshots / "03-dashboard-en.png"), full_page=True)

    page.get_by_role("button", name="ES").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=re.compile("Hola")).is_visible()

    page.get_by_role("link", name="Usuarios", exact=True).click()
    page.wait_for_url(made_run.url + "/users/")
    assert page.get_by_text("admin@demo.test").is_visible()
    page.screenshot(path=str(screenshots / "04-users.png"), full_page=True)
    assert console_errors == []


def test_ctrl_c_stops_everything(tmp_path):
    """Ctrl-C (SIGINT to the foreground process group) stops web, worker, sandbox and Redis."""
    import os
    import socket
    import time

    from tests.browser.conftest import MadeRun

    run = MadeRun(tmp_path)
    run.wait_for_banner()
    run.stop(force=False)
    assert "stopping" in run.log_path.read_text()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(run.process.pid, 0)  # anything of `make run` still alive?
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("processes of make run are still running after Ctrl-C")
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", run.port)) != 0, "the web port still answers"
