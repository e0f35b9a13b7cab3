"""OAuth 2.0 against Procore's login host: HTTP only, no storage.

Refresh, client credentials (DMSA), revoke and token info, for the token manager and the
disconnect. The authorization-code flow (authorize URL, code exchange) is Authlib's, in
portal/connections/oauth_flow.py.

Token calls are made ONCE, never retried here: an authorization code and a
refresh token are single-use, and if a refresh response is lost on the way
back, re-sending the old refresh token can only fail (invalid_grant). Transient
failures surface as ProcoreUnavailable/ProcoreRateLimited and the caller's
job schedule decides when to try again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import requests

from . import _http
from . import _parse as p
from .errors import (ProcoreAuthError, ProcoreBadResponse, ProcoreError, ProcoreRateLimited,
                     ProcoreUnavailable, ProcoreValidationError)
from .models import TokenPair

TOKEN_PATH = "/oauth/token"
REVOKE_PATH = "/oauth/revoke"
INFO_PATH = "/oauth/token/info"


@dataclass(frozen=True)
class TokenInfo:
    resource_owner_id: int | None
    expires_in_seconds: int | None
    application_uid: str | None
    created_at: datetime | None

    @classmethod
    def from_api(cls, d: Any) -> "TokenInfo":
        d = p.as_mapping(d, "token info")
        app = d.get("application") if isinstance(d.get("application"), dict) else {}
        return cls(resource_owner_id=p.opt_id(d.get("resource_owner_id")),
                   expires_in_seconds=p.opt_int(d.get("expires_in_seconds")),
                   application_uid=p.opt_str(app.get("uid")),
                   created_at=p.opt_dt(d.get("created_at")))


class ProcoreOAuth:
    def __init__(self, login_base_url: str, client_id: str, client_secret: str, *,
                 session: requests.Session | None = None,
                 timeout: tuple[float, float] = (5, 60),
                 clock: Callable[[], float] = time.time) -> None:
        self.base = login_base_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock

    def __repr__(self) -> str:
        return f"ProcoreOAuth({self.base!r}, client_id={self.client_id!r})"

    def refresh(self, refresh_token: str) -> TokenPair:
        body = self._token_call({"grant_type": "refresh_token",
                                 "refresh_token": refresh_token})
        return TokenPair.from_api(body, now=self._now(), require_refresh=True)

    def client_credentials(self) -> TokenPair:
        body = self._token_call({"grant_type": "client_credentials"})
        return TokenPair.from_api(body, now=self._now(), require_refresh=False)

    def revoke(self, token: str) -> None:
        # Procore answers 200 even for an unknown token; revoking kills both
        # the access and the refresh token of the grant.
        self._post(REVOKE_PATH, {"token": token, "client_id": self.client_id,
                                 "client_secret": self._secret}, expect_json=False)

    def token_info(self, access_token: str) -> TokenInfo:
        url = self.base + INFO_PATH
        resp = self._send("GET", url, headers={"Authorization": f"Bearer {access_token}"})
        self._raise_for_status(resp, "GET", INFO_PATH)
        return TokenInfo.from_api(_http.decode_json(resp, "GET", INFO_PATH))

    # -- internals ---------------------------------------------------------

    def _now(self) -> datetime:
        """The same clock as the token manager's expiry decisions."""
        return datetime.fromtimestamp(self.clock(), tz=timezone.utc)

    def _token_call(self, fields: dict[str, str]) -> Any:
        fields = {**fields, "client_id": self.client_id, "client_secret": self._secret}
        return self._post(TOKEN_PATH, fields, expect_json=True)

    def _post(self, path: str, fields: dict[str, str], *, expect_json: bool) -> Any:
        # Form fields, as in Procore's own examples (curl -F / form-encoded).
        resp = self._send("POST", self.base + path, data=fields)
        self._raise_for_status(resp, "POST", path)
        if not expect_json:
            return None
        body = _http.decode_json(resp, "POST", path)
        if not isinstance(body, dict):
            raise ProcoreBadResponse("token response is not a JSON object",
                                     status=resp.status_code, method="POST", path=path)
        return body

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        started = self.clock()
        try:
            resp = self.session.request(method, url, timeout=self.timeout,
                                        allow_redirects=False, **kw)
        except requests.RequestException as exc:
            _http.log_response(method, url, type(exc).__name__, started, self.clock())
            raise ProcoreUnavailable(f"login host unreachable ({type(exc).__name__})",
                                     method=method, path=_http.url_path(url)) from None
        _http.log_response(method, url, resp.status_code, started, self.clock())
        return resp

    def _raise_for_status(self, resp: requests.Response, method: str, path: str) -> None:
        status = resp.status_code
        if 200 <= status < 300:
            return
        where = {"status": status, "method": method, "path": path}
        error = _oauth_error_code(resp)
        if error == "invalid_grant":
            raise ProcoreAuthError("Procore rejected the grant (expired, revoked or "
                                   "already used); the user must log in again",
                                   needs_reauth=True, **where)
        if error in ("invalid_client", "unauthorized_client") or status == 401:
            # Our client id/secret (configuration) or the bearer sent to
            # token/info: a new user login would not fix either by itself.
            raise ProcoreAuthError("Procore rejected the client credentials or token",
                                   needs_reauth=False, **where)
        if status == 429:
            retry = _http.parse_retry_after(resp.headers.get("Retry-After"), self.clock())
            raise ProcoreRateLimited("login host rate limited", retry_after=retry, **where)
        if status >= 500:
            raise ProcoreUnavailable("login host error", **where)
        if status in (400, 422):
            raise ProcoreValidationError(
                f"OAuth request rejected: {error or _http.procore_message(resp) or 'bad request'}",
                **where)
        raise ProcoreError("unexpected OAuth response", **where)


def _oauth_error_code(resp: requests.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return None
