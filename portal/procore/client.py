"""ProcoreClient: the one class that owns every HTTP request to Procore.

Request policy (see ``_send``):
* every request has a (connect, read) timeout and never follows redirects
  by itself; the bearer token goes only to ``allowed_hosts``;
* ``Procore-Company-Id`` is set whenever ``company_id`` is given (Procore
  requires it on nearly every call, even when company_id is also in the URL);
* connection errors, timeouts and 5xx are retried with exponential backoff
  and full jitter; 429 and 503 honour ``Retry-After`` (seconds or HTTP date)
  and ``X-Rate-Limit-Reset`` (unix seconds), whichever is longer. A wait
  longer than ``max_retry_wait`` is not slept: the typed error carries
  ``retry_after`` so the job can be re-queued;
* non-idempotent POSTs are retried only when Procore certainly did not act
  (connect timeout, 429, 503): re-sending a "create" whose response was lost
  would duplicate it. The sync reconciles by id instead;
* 401 -> one refresh (serialised per account) and one retry; a second 401
  marks the credential as needing a new login;
* 403/404/400/422 are permanent and raised at once.

``before_call(description)``, when given, runs before every attempt (API and storage), before
pacing and before a token refresh: the portal ends its database transaction there, so no lock is
held while Procore answers (portal/db_boundary.py). This package itself never touches a database.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable
from urllib.parse import urlsplit

import requests

from . import _http
from ._safety import HostPolicy, Resolver, hostname, system_resolver
from .api_core import CoreAPI
from .api_documents import DocumentsAPI
from .api_media import MediaAPI
from .api_webhooks import WebhooksAPI
from .auth import ProcoreOAuth
from .credentials import Credential
from .errors import (ProcoreAuthError, ProcoreBadResponse, ProcoreError, ProcoreNotFound,
                     ProcorePermissionError, ProcoreRateLimited, ProcoreUnavailable,
                     ProcoreValidationError)
from .pacing import Pacer
from .pagination import PaginationMixin
from .tokens import TokenManager
from .transfer import TransferMixin

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})


class ProcoreClient(CoreAPI, DocumentsAPI, MediaAPI, WebhooksAPI, TransferMixin,
                    PaginationMixin):
    def __init__(self, api_base_url: str, login_base_url: str, client_id: str,
                 client_secret: str, credential: Credential, *, redis: Any = None,
                 timeout: tuple[float, float] = (5, 60), max_retries: int = 4,
                 allowed_hosts: list[str] | None = None,
                 allow_private_redirects: bool = False,
                 max_download_bytes: int = 5 * 1024 ** 3,
                 sleep: Callable[[float], None] = time.sleep,
                 session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None,
                 max_retry_wait: float = 120.0,
                 requests_per_second: float | None = None, burst: int = 4,
                 interactive: bool = False, reserve_share: float = 0.1,
                 resolver: Resolver = system_resolver,
                 backoff_base: float = 1.0, backoff_cap: float = 30.0,
                 redis_prefix: str = "procore", token_cache_seconds: float = 0.0,
                 before_call: Callable[[str], None] | None = None) -> None:
        self.api_base_url = api_base_url.rstrip("/")
        self.before_call = before_call
        self.credential = credential
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_download_bytes = max_download_bytes
        self.max_retry_wait = max_retry_wait
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.session = session or _http.plain_session()
        self.sleep, self.clock = sleep, clock
        self.rng = rng or random.Random()
        hosts = allowed_hosts or [hostname(api_base_url), hostname(login_base_url)]
        self.hosts = HostPolicy(hosts, allow_private=allow_private_redirects,
                                resolver=resolver,
                                require_https=urlsplit(api_base_url).scheme == "https")
        self.oauth = ProcoreOAuth(login_base_url, client_id, client_secret,
                                  session=self.session, timeout=timeout, clock=clock)
        self.tokens = TokenManager(credential, self.oauth, redis, clock=clock,
                                   lock_timeout=sum(timeout) + 60, prefix=redis_prefix,
                                   cache_seconds=token_cache_seconds)
        self.pacer = Pacer(credential.account_key, redis, clock=clock, sleep=sleep,
                           rate=requests_per_second, burst=burst, max_wait=max_retry_wait,
                           interactive=interactive, reserve_share=reserve_share,
                           rng=self.rng, prefix=redis_prefix)

    def __repr__(self) -> str:
        return f"ProcoreClient({self.api_base_url!r}, account={self.credential.account_key!r})"

    # -- public entry point ------------------------------------------------

    def request(self, method: str, path: str, *, company_id: int | None = None,
                params: Any = None, json: Any = None, data: Any = None, files: Any = None,
                expect_json: bool = True) -> Any:
        """Send one API request; return decoded JSON (or the Response)."""
        method = method.upper()
        resp = self._send(method, path, company_id=company_id, params=params, json=json,
                          data=data, files=files)
        if resp.is_redirect:
            resp.close()
            raise ProcoreBadResponse("unexpected redirect from the Procore API",
                                     status=resp.status_code, method=method,
                                     path=_http.url_path(resp.url))
        if not expect_json:
            return resp
        with resp:
            return _http.decode_json(resp, method, _http.url_path(resp.url))

    # -- the retry loop ----------------------------------------------------

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.api_base_url}/{path_or_url.lstrip('/')}"

    def _send(self, method: str, path_or_url: str, *, company_id: int | None = None,
              params: Any = None, json: Any = None, data: Any = None, files: Any = None,
              stream: bool = False) -> requests.Response:
        """Return a 2xx/3xx response (never followed) or raise a typed error."""
        url = self._url(path_or_url)
        self.hosts.check_token_target(url, method)
        path = _http.url_path(url)
        idempotent = method in IDEMPOTENT
        attempt, refreshed = 0, False
        while True:
            if self.before_call is not None:
                self.before_call(f"{method} {path}")
            pair = self.tokens.current()
            self.pacer.before_request()
            headers = {"Authorization": f"Bearer {pair.access_token}",
                       "Accept": "application/json"}
            if company_id is not None:
                headers["Procore-Company-Id"] = str(company_id)
            _rewind(files)
            started = self.clock()
            try:
                if method == "GET" and json is None and data is None and files is None:
                    resp = _http.get(self.session, url, params=params, headers=headers, stream=stream,
                                     timeout=self.timeout)
                else:
                    resp = self.session.request(method, url, params=params, json=json, data=data,
                                                files=files, headers=headers, stream=stream,
                                                timeout=self.timeout, allow_redirects=False)
            except requests.RequestException as exc:
                _http.log_response(method, url, type(exc).__name__, started, self.clock(),
                                   attempt)
                safe = idempotent or isinstance(exc, requests.ConnectTimeout)
                if not safe or attempt >= self.max_retries:
                    raise ProcoreUnavailable(f"Procore unreachable ({type(exc).__name__})",
                                             method=method, path=path) from None
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            _http.log_response(method, resp.url or url, resp.status_code, started,
                               self.clock(), attempt)
            self.pacer.observe(resp.headers)
            status = resp.status_code
            if status == 401:
                resp.close()
                if refreshed:
                    reason = "Procore rejected a freshly refreshed token (401)"
                    self.tokens.forget()
                    self.credential.mark_needs_reauth(reason)
                    raise ProcoreAuthError(reason, needs_reauth=True, status=401,
                                           method=method, path=path)
                self.tokens.refresh(failed_access_token=pair.access_token)
                refreshed = True
                continue
            if status in (429, 503) or (status >= 500 and idempotent):
                wait = self._retry_wait(resp, attempt)
                resp.close()
                if attempt >= self.max_retries or wait > self.max_retry_wait:
                    raise _exhausted(status, wait, method, path)
                self.sleep(wait)
                attempt += 1
                continue
            if status >= 400:
                with resp:
                    raise _error_for(resp, method, path)
            return resp

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter in [delay/2, delay]."""
        delay = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        return delay / 2 + self.rng.uniform(0, delay / 2)

    def _retry_wait(self, resp: requests.Response, attempt: int) -> float:
        now = self.clock()
        hints = [_http.parse_retry_after(resp.headers.get("Retry-After"), now)]
        remaining = _http.header_int(resp.headers, "X-Rate-Limit-Remaining")
        # X-Rate-Limit-Reset is on every response; it only tells us how long to
        # wait when the limit is what failed (429 or Remaining == 0).
        if resp.status_code == 429 or remaining == 0:
            hints.append(_http.parse_reset(resp.headers.get("X-Rate-Limit-Reset"), now))
        known = [h for h in hints if h is not None]
        if not known:
            return self._backoff(attempt)
        wait = max(known)
        # Jitter so the workers sharing this account do not return in lockstep.
        return wait + self.rng.uniform(0, min(1.0, 0.1 * wait + 0.1))


def _rewind(files: Any) -> None:
    """Retries must re-send multipart file objects from the start."""
    if not files:
        return
    values = files.values() if isinstance(files, dict) else (v for _, v in files)
    for value in values:
        obj = value[1] if isinstance(value, tuple) else value
        if hasattr(obj, "seek"):
            obj.seek(0)


def _exhausted(status: int, wait: float, method: str, path: str) -> ProcoreError:
    where = {"status": status, "method": method, "path": path}
    if status == 429:
        return ProcoreRateLimited("Procore rate limit exceeded", retry_after=wait, **where)
    return ProcoreUnavailable("Procore is unavailable", retry_after=wait, **where)


def _error_for(resp: requests.Response, method: str, path: str) -> ProcoreError:
    status = resp.status_code
    where = {"status": status, "method": method, "path": path}
    detail = _http.procore_message(resp)
    suffix = f": {detail}" if detail else ""
    if status == 403:
        return ProcorePermissionError(f"Procore denied access{suffix}", **where)
    if status == 404:
        return ProcoreNotFound("not found in Procore", **where)
    if status in (400, 409, 413, 422):
        return ProcoreValidationError(f"Procore rejected the request{suffix}", **where)
    if status >= 500:
        return ProcoreUnavailable("Procore server error", **where)
    return ProcoreError(f"unexpected Procore response{suffix}", **where)
