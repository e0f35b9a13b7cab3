"""``before_call``: the portal's hook before every Procore request (it ends the database transaction
there, portal/db_boundary.py; issue 10, RELIABILITY 19)."""
from __future__ import annotations

import io
import json

import responses

from portal.procore import InMemoryCredential

from .conftest import API, LOGIN, make_pair

TOKEN = f"{LOGIN}/oauth/token"
ME = f"{API}/rest/v1.0/me"


def test_before_call_runs_before_every_attempt_and_before_the_refresh(make_client, rsps, clock):
    events: list = []
    cred = InMemoryCredential("acct-bc", make_pair(clock.time(), expires_in=-5))  # expired: refresh first
    pc = make_client(credential=cred, before_call=lambda what: events.append(("before", what)))
    answers = iter([503, 200])

    def token(request):
        events.append("refresh")
        return 200, {}, json.dumps({"access_token": "access-2", "refresh_token": "refresh-2", "expires_in": 5400})

    def api(request):
        events.append("api")
        return next(answers), {"Retry-After": "1"}, json.dumps({"id": 1})

    rsps.add_callback(responses.POST, TOKEN, callback=token)
    rsps.add_callback(responses.GET, ME, callback=api)
    pc.me()
    assert events == [("before", "GET /rest/v1.0/me"), "refresh", "api", ("before", "GET /rest/v1.0/me"), "api"]
    rsps.get("https://storage.example.com/blob/1", body=b"abc")
    events.clear()
    pc.download("https://storage.example.com/blob/1", io.BytesIO())
    assert events == [("before", "GET /blob/1 (storage)")]
