"""Browser-test helpers: `make run` as a newcomer starts it, and console-error capture."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port


class MadeRun:
    """`make run` in a subprocess on free ports with its own instance folder."""

    def __init__(self, instance: Path, **settings: str):
        self.port, self.sandbox_port = free_port(), free_port()
        env = dict(os.environ, PORT=str(self.port), INSTANCE_DIR=str(instance), SANDBOX_PORT=str(self.sandbox_port),
                   **settings)
        for name in ("DATABASE_URL", "REDIS_URL", "PROCORE_API_URL", "PROCORE_LOGIN_URL"):
            env.pop(name, None)
        self.log_path = instance / "make-run.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.url = ""

    def wait_for_banner(self, seconds: float = 120) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.log_path.read_text()
            match = re.search(r"URL:\s+(http://\S+)", text)
            if match:
                self.url = match.group(1)
                return text
            if self.process.poll() is not None:
                raise AssertionError("make run exited early:\n" + text[-3000:])
            time.sleep(0.3)
        raise AssertionError("make run printed no URL in time:\n" + self.log_path.read_text()[-3000:])

    def stop(self, force: bool = True) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # what Ctrl-C does
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        if not force:
            return self.process.returncode
        # Wait for the rest of the group (make's children shut down after make itself).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.killpg(self.process.pid, signal.SIGKILL)
        return self.process.returncode


def _running(instance: Path, **settings: str):
    run = MadeRun(instance, **settings)
    try:
        run.wait_for_banner()
        yield run
    finally:
        run.stop()


@pytest.fixture(scope="module")
def made_run(tmp_path_factory):
    """One `make run` shared by a module's tests (they only read the demo data)."""
    yield from _running(tmp_path_factory.mktemp("make-run"))


@pytest.fixture
def fresh_run(tmp_path):
    """A `make run` of its own, for a test that changes the demo data."""
    yield from _running(tmp_path)


@pytest.fixture
def console_errors(page):
    """Collect console errors (CSP violations show up here) for the test to assert on."""
    errors: list[str] = []

    def on_console(message):
        if message.type == "error":
            errors.append(f"{message.text} at {message.location.get('url', '?')} on {page.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def portal_errors(errors: list[str], portal_url: str) -> list[str]:
    """Console errors raised on the portal's own pages (not the sandbox playing Procore)."""
    return [error for error in errors if portal_url in error or " at " not in error]
