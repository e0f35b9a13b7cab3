"""The Procore authorization-code flow (Authlib's Flask client), with a single-use state.

Authlib keeps its own copy of the state in the session; we also keep, per state, when the
flow started and where to return, so a missing, unknown, reused or older-than-10-minutes
state is refused before any token exchange (RELIABILITY 20). No PKCE: Procore documents none.
"""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import current_app, session, url_for

from portal import db_boundary
from portal.procore import ProcoreBadResponse, ProcoreUnavailable, TokenPair

STATE_KEY = "procore_oauth_states"
STATE_MAX_AGE = 600  # seconds; Procore's own codes live 10 minutes too
MAX_PENDING_STATES = 5


class FlowError(Exception):
    """The callback cannot continue; `kind` picks the page shown to the person."""

    def __init__(self, kind: str, status: int, detail: str = ""):
        super().__init__(kind)
        self.kind, self.status, self.detail = kind, status, detail


def _client():
    config = current_app.config
    oauth = OAuth(current_app)  # a fresh registry: settings are read from the current config
    return oauth.register(
        "procore",
        client_id=config["PROCORE_CLIENT_ID"],
        client_secret=config["PROCORE_CLIENT_SECRET"],
        authorize_url=config["PROCORE_LOGIN_URL"] + "/oauth/authorize",
        access_token_url=config["PROCORE_LOGIN_URL"] + "/oauth/token",
        client_kwargs={"token_endpoint_auth_method": "client_secret_post", "timeout": 15},
    )


def redirect_uri() -> str:
    return current_app.config.get("PROCORE_REDIRECT_URI") or url_for("procore.callback", _external=True)


def start(next_url: str, account_id: int | None = None):
    """Return the redirect response to Procore's authorize page, remembering the state."""
    response = _client().authorize_redirect(redirect_uri())
    state = parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]
    states = dict(session.get(STATE_KEY, {}))
    states[state] = {"t": time.time(), "next": next_url, "account_id": account_id}
    # Keep only the newest few flows of this browser session.
    session[STATE_KEY] = dict(sorted(states.items(), key=lambda item: item[1]["t"])[-MAX_PENDING_STATES:])
    return response


def consume_state(state: str | None) -> dict:
    """Take the state out of the session (single use) and check its age."""
    states = dict(session.get(STATE_KEY, {}))
    data = states.pop(state, None) if state else None
    session[STATE_KEY] = states
    if data is None:
        raise FlowError("bad_state", 400)
    if time.time() - data["t"] > STATE_MAX_AGE:
        raise FlowError("expired_state", 400)
    return data


def exchange_code() -> TokenPair:
    """Turn the callback's code into a validated token pair."""
    db_boundary.before_network_call("POST /oauth/token (authorization code)")
    try:
        token = _client().authorize_access_token()
    except OAuthError as error:
        if error.error == "access_denied":
            raise FlowError("denied", 400) from error
        if error.error in {"invalid_grant", "mismatching_state"}:
            raise FlowError("code_expired", 400, error.error) from error
        raise FlowError("procore_refused", 502, error.error or "") from error
    except (requests.ConnectionError, requests.Timeout) as error:
        raise FlowError("procore_down", 503) from error
    except ValueError as error:  # HTML or garbage instead of JSON
        raise FlowError("procore_garbage", 502) from error
    try:
        return TokenPair.from_api(token)
    except ProcoreBadResponse as error:
        raise FlowError("procore_garbage", 502, str(error)) from error
    except ProcoreUnavailable as error:  # pragma: no cover - from_api does no I/O
        raise FlowError("procore_down", 503) from error
