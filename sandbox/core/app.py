"""Flask app factory for the Procore sandbox.

Feature modules are listed in MODULES. Each module may expose ``bp`` (a Blueprint)
and ``init_app(app)``; importing it also registers its ORM models on
``sandbox.core.db.Base`` and its seeders in ``sandbox.core.seed``.  To add a module, append its
dotted name to MODULES (see README "Extension contract").
"""
from __future__ import annotations

import importlib
import logging
import os
import secrets
import time

from flask import Flask, g, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from . import config as config_mod
from .api import ApiError, add_response_headers
from .db import close_session, create_schema, get_meta, make_engine, open_session, session_scope, set_meta
from .state import SandboxState
from .storage import s3_error

log = logging.getLogger("sandbox")

# sandbox/ (templates/ and static/ live there, beside the packages)
SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODULES = [
    "sandbox.core.oauth",
    "sandbox.core.routes",
    "sandbox.documents.routes",
    "sandbox.documents.index",
    "sandbox.documents.seed",
    "sandbox.core.uploads",
    "sandbox.core.storage",
    "sandbox.core.control",
    "sandbox.photos.routes",
    "sandbox.photos.seed",
    "sandbox.drawings.routes",
    "sandbox.drawings.revisions",
    "sandbox.drawings.seed",
    "sandbox.ui.routes",         # web UI under /ui/ (shows a tab only for tools whose module exists)
    "sandbox.webhooks.routes",   # webhooks API v1.0 + outbound dispatcher thread
    "sandbox.webhooks.control",  # /_sandbox/webhooks/*
    "sandbox.webhooks.seed",
]

_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_JSON_PREFIXES = ("/rest/", "/downloads/", "/oauth/token", "/oauth/revoke", "/_sandbox/", "/_storage/")


def blob_dir_for(cfg: dict) -> str:
    if cfg.get("blob_dir"):
        return cfg["blob_dir"]
    root, _ext = os.path.splitext(os.path.abspath(cfg["db_path"]))
    return root + "_blobs"


def create_app(config: dict | None = None, role: str = "main") -> Flask:
    """``role="storage"``: one of the storage processes (sandbox/core/shared.py): it serves only ``/_storage/``,
    sends no webhooks and seeds nothing; the caller attaches the shared store."""
    cfg = config_mod.build(config)
    app = Flask("sandbox", template_folder=os.path.join(SANDBOX_DIR, "templates"))
    app.config["MAX_CONTENT_LENGTH"] = cfg["max_request_bytes"]
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    app.json.ensure_ascii = False

    engine = make_engine(cfg["db_path"])
    blob_dir = blob_dir_for(cfg)
    os.makedirs(blob_dir, exist_ok=True)
    st = SandboxState(cfg, engine, blob_dir)
    st.role = role
    app.extensions["sandbox"] = st

    for name in MODULES:
        mod = importlib.import_module(name)
        if getattr(mod, "bp", None) is not None:
            app.register_blueprint(mod.bp)
        if hasattr(mod, "init_app"):
            mod.init_app(app)

    create_schema(engine)
    with app.app_context():
        with session_scope(engine) as s:
            secret = get_meta(s, "storage_secret")
            if secret is None:
                secret = secrets.token_hex(32)
                set_meta(s, "storage_secret", secret)
        st.secret = secret.encode()
        if role == "main" and cfg["seed_on_empty"] and database_is_empty(engine):
            from . import seed
            seed.run_all()

    _install_hooks(app)
    return app


def database_is_empty(engine) -> bool:
    from .models import Company
    with session_scope(engine, write=False) as s:
        return s.scalars(select(Company.id).limit(1)).first() is None


def _inject_latency():
    # Latency applies to every request (REST, /downloads, /_storage, OAuth, UI, control),
    # BEFORE the view runs, as a slow network in front of the server would add it.
    # So a storage URL is signed (and its `expires` computed) after the /downloads
    # request's latency, and `/_storage/...` checks the expiry after its own latency
    # (sandbox/README.md "Latency and signed URLs"; tests/sandbox/test_sandbox_storage.py).
    # Injected 5xx/503 faults happen in api.require_auth (after the rate-limit check, so
    # they carry X-Rate-Limit-* too).
    from .state import state
    ms = state().config["latency_ms"]
    if ms:
        time.sleep(ms / 1000.0)
    return None


def _install_hooks(app: Flask) -> None:
    from .state import state

    @app.before_request
    def _shared_state():
        # Only with storage processes (sandbox/core/shared.py): like a storage host, a storage process knows
        # nothing but /_storage/; every process starts a request on the config the others last set.
        st = state()
        if st.shared is None:
            return None
        if st.role == "storage" and not request.path.startswith("/_storage/"):
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        st.refresh_config()
        return None

    @app.before_request
    def _open_session():
        s, tokens = open_session(state().engine, write=request.method in _WRITE_METHODS)
        g._sandbox_session = (s, tokens)

    app.before_request(_inject_latency)

    @app.after_request
    def _finish(resp):
        resp = add_response_headers(resp)
        pair = g.pop("_sandbox_session", None)
        if pair:
            s, tokens = pair
            try:
                if resp.status_code < 400:
                    s.commit()
                else:
                    s.rollback()
            finally:
                close_session(s, tokens)
        state().stats.status(resp.status_code)
        state().flush_stats()
        return resp

    @app.teardown_request
    def _teardown(_exc):
        pair = g.pop("_sandbox_session", None)
        if pair:
            s, tokens = pair
            s.rollback()
            close_session(s, tokens)

    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        resp = jsonify(e.body)
        resp.status_code = e.status
        for k, v in e.headers.items():
            resp.headers[k] = v
        return resp

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        if request.path.startswith(_JSON_PREFIXES):
            resp = jsonify({"errors": e.description or e.name})
            resp.status_code = e.code or 500
            return resp
        return e

    @app.errorhandler(Exception)
    def _unhandled(e: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        resp = jsonify({"errors": "Internal Server Error", "detail": repr(e)})
        resp.status_code = 500
        return resp
