"""Spanish by default, English on the switch, and no untranslated Spanish string (SPEC D4)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[2]


def test_default_language_is_spanish_and_switch_to_english_and_back(client):
    assert "Iniciar sesión" in client.get("/login").get_data(as_text=True)
    response = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    html = client.get("/login").get_data(as_text=True)
    assert "Sign in" in html and '<html lang="en">' in html
    client.post("/language", data={"lang": "es", "next": "/login", "csrf_token": csrf_token(client)})
    assert "Iniciar sesión" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.post("/language", data={"lang": "xx", "csrf_token": csrf_token(client)})
    assert '<html lang="es">' in client.get("/login").get_data(as_text=True)


def test_every_string_in_the_code_has_a_spanish_translation(tmp_path):
    """Extract the messages now and compare with the Spanish catalog: nothing missing or empty."""
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "lazy_gettext", "-k", "N_", "-o", str(pot), "."], cwd=ROOT, check=True,
                   capture_output=True)
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot.open("rb")) if m.id}
    with (ROOT / "portal/translations/es/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, (tuple, list)) else m.string)
    }
    missing = sorted(wanted - translated)
    assert not missing, "run `make extract-messages` and translate in es/messages.po: " + repr(missing[:20])
