"""cbox-procore: the application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_login import AnonymousUserMixin

from config import BASE_DIR, load_config
from portal import db_boundary, redis_conn
from portal.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate, tune_sqlite


def create_app(overrides: dict | None = None) -> Flask:
    """Create the portal; `overrides` replaces configuration values (tests, scripts).

    Only builds it: logging, the embedded Redis and the Redis connections are start-up work
    (portal/startup.py), or made on first use (portal/redis_conn.py)."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    config = load_config((overrides or {}).get("PORTAL_ENV"))
    config.update(overrides or {})
    app.config.update(config)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    # Without REDIS_URL (a `flask` command, which serves no requests) the limiter counts in memory.
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_conn.limiter_storage_uri(redis_url) if redis_url else "memory://")

    _init_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)

    from portal import cli, errors

    errors.register(app)
    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    tune_sqlite(app)  # WAL + synchronous=NORMAL, SQLite only
    db_boundary.init_app(app)  # no transaction open across a network call
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page explains itself
    login_manager.session_protection = "strong"
    login_manager.anonymous_user = AnonymousUserMixin
    login_manager.user_loader(_load_user)


def _load_user(session_id: str):
    from portal.models import User

    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    # A rotated token (logout elsewhere, deactivation) invalidates old cookies.
    if user is None or user.session_token != token:
        return None
    return user


def _select_locale() -> str:
    if not has_request_context():
        return "en"  # CLI commands and jobs speak the code's language
    lang = session.get("lang")
    if lang in ("es", "en"):
        return lang
    return "es"  # SPEC D4: Spanish by default


def _register_blueprints(app: Flask) -> None:
    from portal import webhooks
    from portal.views import (alerts, audit, auth, cbox, companies, dashboard, exports, integrations, procore,
                              projects, runs, support, users)

    # runs and cbox last: their remove/delete routes must come after every route that uses their ids
    # (test_access walks in order).
    for module in (auth, dashboard, users, companies, procore, projects, support, audit, alerts, integrations,
                   exports, runs, cbox):
        app.register_blueprint(module.bp)
    webhooks.init_app(app)  # receiver, webhook pages, `flask webhooks`


def _register_hooks(app: Flask) -> None:
    from portal.security import apply_security_headers

    @app.after_request
    def security_headers(response):
        return apply_security_headers(response, app.config["PROCORE_LOGIN_URL"])

    @app.context_processor
    def layout_context():
        from flask import has_request_context
        from flask_babel import get_locale
        from flask_login import current_user

        if not has_request_context():  # a mail rendered by a job: no page layout
            return {}
        alert_count = 0
        if current_user and current_user.is_authenticated and current_user.company_id is not None:
            from portal.alerts import recent_count

            alert_count = recent_count(current_user.company_id)
        return {
            "alert_count": alert_count,
            "languages": app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
            "is_htmx": bool(request.htmx),
        }

    @app.template_filter("duration")
    def duration(seconds: float) -> str:
        """A run's length as people say it: "0,4 s", "12 s", "3 min 05 s", "2 h 04 min"."""
        from flask_babel import format_decimal

        seconds = max(float(seconds or 0), 0.0)
        if seconds < 10:
            return f"{format_decimal(round(seconds, 1))} s"
        whole = int(round(seconds))
        if whole < 60:
            return f"{whole} s"
        if whole < 3600:
            return f"{whole // 60} min {whole % 60:02d} s"
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"

    @app.template_filter("size")
    def size(count: float) -> str:
        """Bytes in human units with the locale's decimal mark: "950 B", "12,3 kB", "4,1 MB", "1,2 GB"."""
        from flask_babel import format_decimal

        count = max(float(count or 0), 0.0)
        for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
            if count >= scale:
                return f"{format_decimal(round(count / scale, 1))} {unit}"
        return f"{int(count)} B"
