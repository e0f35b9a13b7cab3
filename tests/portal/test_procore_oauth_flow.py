"""The authorization-code flow as the portal runs it (Authlib, portal/connections/oauth_flow.py): the
authorize URL and the code exchange Procore sees. Procore is played by `responses`.

These were tests of a hand-written authorize URL and code exchange in portal/procore/auth.py that only
tests called; that copy is gone (issue 16), so they now test the one flow production uses."""
from __future__ import annotations

import pytest
import responses
from flask import session

from portal.connections import oauth_flow
from tests.procore.conftest import LOGIN
from tests.procore.test_procore_auth import NEW, TOKEN, form


@pytest.fixture
def rsps(app, monkeypatch):
    for key, value in {"PROCORE_LOGIN_URL": LOGIN, "PROCORE_CLIENT_ID": "client-id",
                       "PROCORE_CLIENT_SECRET": "client-secret", "PROCORE_REDIRECT_URI": "https://portal/cb"}.items():
        monkeypatch.setitem(app.config, key, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def start_flow(app) -> tuple[str, str, dict]:
    """Start the flow in one request; return the authorize URL, its state and the session it left."""
    with app.test_request_context("/procore/connect"):
        url = oauth_flow.start("/connections").headers["Location"]
        [state] = session[oauth_flow.STATE_KEY]
        return url, state, dict(session)


def test_authorize_url(app, rsps):
    url, state, _session = start_flow(app)
    assert url.startswith(f"{LOGIN}/oauth/authorize?") and f"state={state}" in url


def test_exchange_code_sends_form_and_validates(app, rsps):
    _url, state, saved = start_flow(app)
    rsps.post(TOKEN, json=NEW)
    with app.test_request_context(f"/procore/callback?code=the-code&state={state}"):
        session.update(saved)
        oauth_flow.consume_state(state)
        pair = oauth_flow.exchange_code()
    assert pair.access_token == "access-2" and pair.refresh_token == "refresh-2"
    sent = form(rsps.calls[0])
    assert sent == {"grant_type": "authorization_code", "code": "the-code",
                    "redirect_uri": "https://portal/cb", "client_id": "client-id",
                    "client_secret": "client-secret"}
