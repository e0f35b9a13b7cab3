"""OAuth helpers (refresh, client credentials, revoke, token info) and the 401 -> refresh -> retry path.

The authorization-code flow is Authlib's: tests/portal/test_procore_oauth_flow.py."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import requests
import responses

from portal.procore import (InMemoryCredential, ProcoreAuthError, ProcoreBadResponse,
                            ProcoreOAuth, ProcoreUnavailable)

from .conftest import API, LOGIN, make_pair

TOKEN = f"{LOGIN}/oauth/token"
ME = f"{API}/rest/v1.0/me"
NEW = {"access_token": "access-2", "refresh_token": "refresh-2", "token_type": "bearer",
       "expires_in": 5400, "created_at": 1_700_000_000}


def form(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


@pytest.fixture
def oauth(clock):
    return ProcoreOAuth(LOGIN, "client-id", "client-secret", clock=clock.time)


@pytest.mark.parametrize("body", [{"access_token": "a", "expires_in": 5400},
                                  {"refresh_token": "r", "expires_in": 5400},
                                  {"access_token": "a", "refresh_token": "r"}, ["x"]])
def test_token_response_missing_fields(oauth, rsps, body):
    rsps.post(TOKEN, json=body)
    with pytest.raises(ProcoreBadResponse):
        oauth.refresh("refresh-1")


def test_refresh_invalid_grant_needs_reauth(oauth, rsps):
    rsps.post(TOKEN, status=400, json={"error": "invalid_grant",
                                       "error_description": "The provided grant is invalid"})
    with pytest.raises(ProcoreAuthError) as err:
        oauth.refresh("refresh-1")
    assert err.value.needs_reauth and err.value.status == 400
    assert form(rsps.calls[0])["refresh_token"] == "refresh-1"
    assert "refresh-1" not in str(err.value)


def test_refresh_is_not_retried_on_network_errors(oauth, rsps):
    # A lost refresh response may already have consumed the single-use token.
    rsps.post(TOKEN, body=requests.ReadTimeout("slow"))
    with pytest.raises(ProcoreUnavailable):
        oauth.refresh("refresh-1")
    assert len(rsps.calls) == 1


def test_client_credentials_has_no_refresh_token(oauth, rsps):
    rsps.post(TOKEN, json={"access_token": "svc", "expires_in": 5400})
    pair = oauth.client_credentials()
    assert pair.refresh_token is None and form(rsps.calls[0])["grant_type"] == (
        "client_credentials")


def test_revoke_and_token_info(oauth, rsps):
    rsps.post(f"{LOGIN}/oauth/revoke", body="")
    rsps.get(f"{LOGIN}/oauth/token/info", json={"resource_owner_id": 2 ** 40,
                                                "expires_in_seconds": 100,
                                                "application": {"uid": "client-id"}})
    oauth.revoke("access-1")
    assert form(rsps.calls[0]) == {"token": "access-1", "client_id": "client-id",
                                   "client_secret": "client-secret"}
    info = oauth.token_info("access-1")
    assert info.resource_owner_id == 2 ** 40 and info.application_uid == "client-id"
    assert rsps.calls[1].request.headers["Authorization"] == "Bearer access-1"


class RecordingCredential(InMemoryCredential):
    def __init__(self, *a, events: list, **kw):
        super().__init__(*a, **kw)
        self.events = events

    def save(self, pair):
        self.events.append(("save", pair.access_token))
        super().save(pair)


def test_401_refreshes_once_saves_before_retry(make_client, rsps, clock):
    events: list = []
    cred = RecordingCredential("acct-401", make_pair(clock.time()), events=events)
    pc = make_client(credential=cred)

    def api(request):
        token = request.headers["Authorization"]
        events.append(("api", token))
        if token == "Bearer access-1":
            return 401, {}, json.dumps({"error": "invalid_token"})
        assert cred.load().access_token == "access-2"  # saved before this call
        return 200, {}, json.dumps({"id": 1})

    rsps.add_callback(responses.GET, ME, callback=api)
    rsps.post(TOKEN, json=NEW)
    assert pc.me().id == 1
    assert events == [("api", "Bearer access-1"), ("save", "access-2"),
                      ("api", "Bearer access-2")]
    assert form(rsps.calls[1])["refresh_token"] == "refresh-1"
    assert cred.needs_reauth_reason is None


def test_401_after_refresh_marks_needs_reauth(make_client, credential, rsps):
    pc = make_client()
    rsps.get(ME, status=401)
    rsps.post(TOKEN, json=NEW)
    with pytest.raises(ProcoreAuthError) as err:
        pc.me()
    assert err.value.needs_reauth
    assert credential.needs_reauth_reason and "401" in credential.needs_reauth_reason
    assert [c.request.url for c in rsps.calls].count(TOKEN) == 1  # no second refresh
    assert len(rsps.calls) == 3


def test_401_then_refresh_invalid_grant_marks_needs_reauth(make_client, credential, rsps):
    pc = make_client()
    rsps.get(ME, status=401)
    rsps.post(TOKEN, status=400, json={"error": "invalid_grant"})
    with pytest.raises(ProcoreAuthError) as err:
        pc.me()
    assert err.value.needs_reauth and credential.needs_reauth_reason
    assert len(rsps.calls) == 2


def test_proactive_refresh_when_expiring_within_60s(make_client, rsps, clock):
    cred = InMemoryCredential("acct-exp", make_pair(clock.time() - 5370))  # a 90-min token in its last 30 s
    pc = make_client(credential=cred)
    rsps.post(TOKEN, json=NEW)
    rsps.get(ME, json={"id": 1})
    pc.me()
    assert rsps.calls[0].request.url == TOKEN
    assert rsps.calls[1].request.headers["Authorization"] == "Bearer access-2"
    assert cred.saved[-1].access_token == "access-2"


def test_dmsa_credential_uses_client_credentials(make_client, rsps, clock):
    cred = InMemoryCredential("acct-dmsa", make_pair(clock.time(), refresh=None,
                                                     expires_in=-1))
    pc = make_client(credential=cred)
    rsps.post(TOKEN, json={"access_token": "svc-2", "expires_in": 5400})
    rsps.get(ME, json={"id": 1})
    pc.me(company_id=4)
    assert form(rsps.calls[0])["grant_type"] == "client_credentials"
    assert rsps.calls[1].request.headers["Procore-Company-Id"] == "4"
