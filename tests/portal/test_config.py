"""Issue 16 (settings): every key the code reads is defined once in config.py with its default, and a bad
value is refused at start-up with the variable's name (never a bare ValueError deep in a worker)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r"""config(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)["']""")
FLASK_OWN = {"TESTING", "DEBUG", "SERVER_NAME", "SECRET_KEY", "MAX_CONTENT_LENGTH", "PREFERRED_URL_SCHEME"}
EXTENSIONS = {"LANGUAGES", "BABEL_DEFAULT_LOCALE", "BABEL_TRANSLATION_DIRECTORIES", "SQLALCHEMY_DATABASE_URI",
              "SQLALCHEMY_ENGINE_OPTIONS", "WTF_CSRF_ENABLED", "RATELIMIT_STORAGE_URI"}


def _keys_read() -> dict[str, str]:
    found = {}
    for path in [*ROOT.joinpath("portal").rglob("*.py"), ROOT / "worker.py", ROOT / "wsgi.py"]:
        for key in READ.findall(path.read_text(encoding="utf-8")):
            found.setdefault(key, str(path.relative_to(ROOT)))
    return found


def test_every_setting_the_code_reads_is_defined_in_config_py():
    defined = set(load_config("development"))
    missing = {key: where for key, where in _keys_read().items() if key not in defined | FLASK_OWN | EXTENSIONS}
    assert missing == {}


def test_no_call_site_carries_its_own_default():
    """A default lives in config.py only: `config.get("KEY", default)` would hide a missing definition."""
    pattern = re.compile(r"""config\.get\(\s*["'][A-Z][A-Z0-9_]+["']\s*,""")
    offenders = [str(path.relative_to(ROOT)) for path in ROOT.joinpath("portal").rglob("*.py")
                 if pattern.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


@pytest.mark.parametrize("name, value, says", [
    ("SYNC_DOWNLOAD_THREADS", "eight", "SYNC_DOWNLOAD_THREADS must be a whole number (got 'eight')"),
    ("SYNC_STALE_AFTER", "2 minutes", "SYNC_STALE_AFTER must be a number (got '2 minutes')"),
    ("CBOX_TRASH_DAYS", "-3", "CBOX_TRASH_DAYS must not be negative (got '-3')"),
    ("PROCORE_TOKEN_CACHE_SECONDS", "x", "PROCORE_TOKEN_CACHE_SECONDS must be a number"),
    ("WEBHOOK_JOB_TIMEOUT", "0", "WEBHOOK_JOB_TIMEOUT must be at least 1 (got '0')"),  # RQ: 0 = its default 180 s
    ("SYNC_DOWNLOAD_THREADS", "0", "SYNC_DOWNLOAD_THREADS must be at least 1 (got '0')"),
])
def test_a_bad_value_names_the_variable(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_config("development")
    assert says in str(error.value)


def test_the_redirect_uri_setting_is_read(monkeypatch):
    """README documents PROCORE_REDIRECT_URI; it used to be read by the OAuth flow but never from the environment."""
    monkeypatch.setenv("PROCORE_REDIRECT_URI", "https://portal.example/procore/callback")
    assert load_config("development")["PROCORE_REDIRECT_URI"] == "https://portal.example/procore/callback"


def test_a_stuck_webhook_claim_is_taken_back_only_after_its_job_timed_out(monkeypatch):
    """A killed worker's event waits WEBHOOK_STUCK_AFTER (5 min by default, was 30) before the sweep takes it
    back; that is safe only because RQ stops the event's job after WEBHOOK_JOB_TIMEOUT: a claim older than
    that has no job still running it. Settings that break the order are refused, naming both."""
    config = load_config("development")
    assert (config["WEBHOOK_JOB_TIMEOUT"], config["WEBHOOK_STUCK_AFTER"]) == (120, 300)
    monkeypatch.setenv("WEBHOOK_STUCK_AFTER", "60")
    with pytest.raises(ConfigError) as error:
        load_config("development")
    assert "WEBHOOK_STUCK_AFTER (60 s) must be longer than WEBHOOK_JOB_TIMEOUT (120 s)" in str(error.value)
    monkeypatch.setenv("WEBHOOK_JOB_TIMEOUT", "30")
    assert load_config("development")["WEBHOOK_STUCK_AFTER"] == 60
