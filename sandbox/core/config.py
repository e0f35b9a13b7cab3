"""Configuration defaults and parsing for the Procore sandbox.

Every key can be set three ways (later wins):
  1. DEFAULTS below,
  2. environment variables ``SANDBOX_<KEY_IN_UPPERCASE>`` (also ``SANDBOX_CONFIG_JSON``
     holding a JSON object with several keys),
  3. the ``config`` dict passed to ``create_app``.
Most knobs can also be changed at runtime with ``POST /_sandbox/config``.
See sandbox/README.md for the meaning of each key.
"""
from __future__ import annotations

import json
import os

DEMO_REDIRECT = "http://127.0.0.1:5000/procore/callback"

DEFAULTS: dict = {
    # storage
    "db_path": "var/sandbox/sandbox.sqlite3",
    "blob_dir": None,                 # default: <db_path without suffix>_blobs/ beside the DB
    "seed_on_empty": True,
    # URLs. None -> derived from the incoming request's host URL.
    "public_base_url": None,
    "storage_base_url": None,         # None -> same as public_base_url (stricter, see README)
    # OAuth
    "token_lifetime": 5400,           # seconds, Procore: 90 min
    "auth_code_lifetime": 600,        # seconds, Procore: 10 min, single use
    "oauth_clients": [
        {"client_id": "demo-client", "client_secret": "demo-secret", "name": "cBox Demo",
         "redirect_uris": [DEMO_REDIRECT], "service_account": "dmsa@constructora.test"},
        {"client_id": "other-client", "client_secret": "other-secret", "name": "Otra Integración",
         "redirect_uris": [], "service_account": None},
    ],
    "oauth_extra_redirect_uris": [],  # added to every client's allow-list
    # Sandbox convenience (NOT Procore behaviour): accept any loopback redirect URI
    # http://127.0.0.1:<port>/procore/callback or http://localhost:<port>/procore/callback.
    "oauth_allow_loopback_redirects": True,
    # rate limits (per application+user, see api.py)
    "rate_limit_hourly": 3600,
    "rate_limit_hourly_window": 3600,
    "rate_limit_spike": 100,
    "rate_limit_spike_window": 10,
    # pagination
    "per_page_default": 100,
    "per_page_max": 1000,
    # downloads / uploads
    "storage_url_ttl": 300,
    "upload_start_window": 3600,       # storage upload must start within this (s)
    "upload_attach_window": 7 * 86400,  # must be attached within this (s)
    "upload_min_segment_size": 5 * 1024 * 1024,  # every segment but the last
    "upload_max_segment_size": 5 * 1024 ** 3,
    "max_request_bytes": 2 * 1024 ** 3,
    # fault injection
    "latency_ms": 0,
    "error_5xx_rate": 0.0,
    "error_503_rate": 0.0,
    "retry_after_503": 5,
    # storage side of direct uploads only (POST /_storage/uploads/…, PUT …/segments/…):
    "upload_storage_5xx_next": 0,      # the next N storage upload requests answer 500 (counts down)
    "upload_storage_5xx_rate": 0.0,    # probability of a 500 on a storage upload request
    # time
    "clock_offset": 0.0,               # seconds added to the wall clock (time travel)
    "webhook_time_scale": 1.0,         # used by the webhook module: >1 speeds up delays
    # webhooks (sandbox/webhooks*.py; see README "Webhooks")
    "webhooks_enabled": True,          # false: dispatcher paused (events wait, nothing is sent)
    "webhook_timeout": 5.0,            # s to wait for the receiver (real seconds, not scaled)
    "webhook_delay_ms": 0,             # extra delay before an event's first attempt (real ms)
    "webhook_duplicate_rate": 0.0,     # probability an event is delivered twice (same id/ulid)
    "webhook_drop_rate": 0.0,          # probability an event is silently never delivered
    "webhook_unreachable_domains": ["example.com", "example.org", "example.net", "invalid"],
    "webhook_allow_http": True,        # sandbox convenience: Procore documents HTTPS POSTs
    "webhook_unconfirmed_resources": True,  # list/accept "Drawing Revisions" (unconfirmed)
    "portal_url": "http://127.0.0.1:5000",  # seeded "right" hook = portal_url + receiver path
    "portal_namespace": "cbox-procore",
    # misc
    "control_token": None,             # if set, /_sandbox/* needs header X-Sandbox-Token
    "debug": False,
    # photos / drawings (sandbox/photos*.py, sandbox/drawings*.py)
    "photos_url_ttl": 3600,            # s; image url/thumbnail_url expire (0 = never); Bearer still needed
    "drawings_url_ttl": 3600,          # s; pdf_url/png_url expire (0 = never); Bearer still needed
    "drawing_upload_processing_seconds": 0.0,  # >0: drawing uploads stay "in_progress" this long
}

# Keys that cannot be changed at runtime via POST /_sandbox/config.
STATIC_KEYS = {"db_path", "blob_dir"}

_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def coerce(key: str, value):
    """Convert ``value`` to the type of DEFAULTS[key] (strings from env/JSON allowed)."""
    default = DEFAULTS.get(key)
    if value is None:
        return None
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in _BOOL_TRUE:
            return True
        if s in _BOOL_FALSE:
            return False
        raise ValueError(f"{key}: expected a boolean, got {value!r}")
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, str):
            value = float(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{key}: expected an integer, got {value!r}")
        return int(value)
    if isinstance(default, float):
        return float(value)
    if isinstance(default, list):
        if isinstance(value, str):
            value = value.strip()
            if value.startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return list(value)
    return value


def from_env(environ=None) -> dict:
    environ = os.environ if environ is None else environ
    out: dict = {}
    raw = environ.get("SANDBOX_CONFIG_JSON")
    if raw:
        for k, v in json.loads(raw).items():
            out[k] = v
    for key in DEFAULTS:
        env_key = "SANDBOX_" + key.upper()
        if env_key in environ:
            out[key] = environ[env_key]
    return out


def build(overrides: dict | None = None, environ=None) -> dict:
    cfg = dict(DEFAULTS)
    for source in (from_env(environ), overrides or {}):
        for k, v in source.items():
            if k not in DEFAULTS:
                raise KeyError(f"unknown sandbox config key: {k}")
            cfg[k] = coerce(k, v)
    return cfg


def validate_update(cfg: dict, update: dict) -> dict:
    """Return the coerced subset of ``update`` applicable at runtime (raises on bad keys)."""
    out = {}
    for k, v in update.items():
        if k not in DEFAULTS:
            raise KeyError(f"unknown sandbox config key: {k}")
        if k in STATIC_KEYS:
            raise KeyError(f"{k} cannot be changed at runtime")
        out[k] = coerce(k, v)
    return out
