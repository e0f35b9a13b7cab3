"""The counters a test uses to check that every refresh token was presented once (issue 10)."""
from __future__ import annotations

import requests


def _refresh(sb, refresh_token):
    return requests.post(sb.url + "/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": "demo-client", "client_secret": "demo-secret"}, timeout=30)


def test_refresh_grants_and_reused_refresh_tokens_are_counted(sb):
    first = sb.token("admin@constructora.test")
    assert sb.stats().get("refresh_token_reused", 0) == 0
    second = _refresh(sb, first["refresh_token"])
    assert second.status_code == 200
    assert _refresh(sb, second.json()["refresh_token"]).status_code == 200
    stats = sb.stats()
    assert stats["tokens_refreshed"] == 2 and stats.get("refresh_token_reused", 0) == 0
    again = _refresh(sb, first["refresh_token"])  # already used: Procore answers invalid_grant
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert _refresh(sb, "never-issued").status_code == 400  # unknown: not a reuse
    stats = sb.stats()
    assert stats["tokens_refreshed"] == 2 and stats["refresh_token_reused"] == 1
