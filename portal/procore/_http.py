"""HTTP helpers shared by the OAuth helper and the client: safe logging,
JSON decoding, Procore error messages and Retry-After parsing."""
from __future__ import annotations

import json
import logging
import os
import re
import urllib.request
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import select_proxy

from .errors import ProcoreBadResponse

log = logging.getLogger("portal.procore.http")

# Query parameters whose values must never reach a log line: storage
# signatures, tokens, and anything credential-like.
_SECRET_PARAM = re.compile(r"(sig|signature|token|secret|key|credential|policy|auth|code)",
                           re.IGNORECASE)


class _Session(requests.Session):
    """requests' Session without the redirect it would never send.

    Every call of ours passes ``allow_redirects=False`` (downloads follow their redirect by hand,
    without the token: transfer.py); requests would still prepare the next request of each 3xx answer
    for ``Response.next`` (a copy of the request, cookies, proxies from the environment), which we
    never read. GETs skip Session.request altogether (``get`` below); this covers the other methods
    (uploads, webhook writes). Redirects that are followed (``allow_redirects=True``) go through
    requests' own code unchanged."""

    def resolve_redirects(self, resp, req, *args, yield_requests=False, **kwargs):
        if yield_requests:  # only Response.next is being computed
            return iter(())
        return super().resolve_redirects(resp, req, *args, yield_requests=yield_requests, **kwargs)


class _PoolCachingAdapter(HTTPAdapter):
    """requests' adapter, remembering the connection pool of each (scheme, host, port, verify, cert).

    For every request requests asks urllib3's PoolManager for the pool, and the PoolManager builds a
    20-field pool key from a normalised copy of the request's context to look it up: about a fourteenth of
    an import's Python time for two requests per file (py-spy, issue 13). A session of ours talks to two or
    three hosts (Procore's API, its storage), so the answer is kept here, for up to MAX_POOLS hosts (then
    forgotten, and asked for again). Proxied requests take requests' own path; the adapter's close()
    (Session.close) forgets them all, as the PoolManager's clear() does its own."""

    MAX_POOLS = 32

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pools: dict = {}

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        if proxies and select_proxy(request.url, proxies):
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        parts = urlsplit(request.url)
        key = (parts.scheme, parts.hostname, parts.port, verify, tuple(cert) if isinstance(cert, list) else cert)
        pool = self._pools.get(key)
        if pool is None:
            if len(self._pools) >= self.MAX_POOLS:
                self._pools.clear()
            pool = self._pools[key] = super().get_connection_with_tls_context(request, verify, proxies, cert)
        return pool

    def close(self):
        self._pools.clear()
        super().close()


def plain_session() -> requests.Session:
    """A requests Session that does not re-read the environment on every request.

    With ``trust_env`` requests looks up proxy variables, ``no_proxy`` and ~/.netrc for each
    request (CPU on every call), and a .netrc entry for Procore's host would even replace our
    bearer header. When
    no proxy is configured we read the CA bundle variables once and switch that off; behind a
    proxy the session keeps requests' defaults, so ``no_proxy`` still works.
    """
    session = _Session()
    for prefix in ("https://", "http://"):
        session.mount(prefix, _PoolCachingAdapter())
    if not urllib.request.getproxies():
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
    return session


def get(session: requests.Session, url: str, *, headers: dict, params: Any = None, stream: bool = False,
        timeout: Any = None) -> requests.Response:
    """``session.get(url, allow_redirects=False, ...)`` without what a Procore GET never needs.

    ``Session.request`` merges the session's cookies, auth, hooks and params into every request,
    reads .netrc and the environment when ``trust_env`` is on, and stores the answer's cookies: about a
    sixth of an import's CPU for two GETs per file. Our sessions carry none of those (the token is a
    header; Procore's API needs no cookies), so the GET is prepared from the session's headers (a
    header given as None removes one) and handed to its adapter with its verify, cert and proxies (and,
    behind a proxy, the environment's, as requests would). Same exceptions, same Response; redirects are
    never followed. ``responses`` (the unit tests) still sees it: it stands in for the adapter."""
    merged = CaseInsensitiveDict(session.headers)
    merged.update(headers)
    prepared = requests.PreparedRequest()
    prepared.prepare(method="GET", url=url, params=params,
                     headers={name: value for name, value in merged.items() if value is not None})
    settings = {"proxies": dict(session.proxies or {}), "verify": session.verify, "cert": session.cert}
    if session.trust_env:
        settings = session.merge_environment_settings(prepared.url, settings["proxies"], stream,
                                                      settings["verify"], settings["cert"])
        settings.pop("stream", None)
    resp = session.get_adapter(prepared.url).send(prepared, stream=stream, timeout=timeout, **settings)
    if not stream:
        resp.content  # noqa: B018 - read the body now, as requests does, so the connection goes back to the pool
    return resp


def url_path(url: str) -> str:
    return urlsplit(url).path or "/"


def safe_url(url: str) -> str:
    """host + path + query with secret-looking values replaced by ***."""
    parts = urlsplit(url)
    pairs = [(k, "***" if _SECRET_PARAM.search(k) else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = f"?{urlencode(pairs)}" if pairs else ""
    return f"{parts.hostname or ''}{parts.path or '/'}{query}"


def log_response(method: str, url: str, status: int | str, started: float, now: float,
                 attempt: int = 0) -> None:
    """One line per Procore call: at DEBUG when it answered below 400 (an import makes two per file; at
    INFO they were most of a worker's log and a twentieth of its CPU), at INFO for an error status, a
    connection failure or a retry."""
    level = logging.DEBUG if isinstance(status, int) and status < 400 and not attempt else logging.INFO
    if not log.isEnabledFor(level):
        return  # parsing and redacting the URL costs CPU on every request: only when it is logged
    log.log(level, "procore %s %s -> %s in %.0f ms%s", method, safe_url(url), status,
            (now - started) * 1000, f" (retry {attempt})" if attempt else "")


def decode_json(resp: requests.Response, method: str, path: str) -> Any:
    """Parse a JSON body or raise ProcoreBadResponse (HTML error pages, proxies)."""
    if resp.status_code == 204 or not resp.content:
        return None
    ctype = resp.headers.get("Content-Type", "").lower()
    if "html" in ctype:
        raise ProcoreBadResponse("HTML received where JSON was expected",
                                 status=resp.status_code, method=method, path=path)
    try:
        return json.loads(resp.content)
    except ValueError:
        raise ProcoreBadResponse("invalid JSON in response", status=resp.status_code,
                                 method=method, path=path) from None


def procore_message(resp: requests.Response, limit: int = 300) -> str | None:
    """Procore's own error text ({"errors": ...}, {"error": ...}, {"message": ...})."""
    try:
        body = json.loads(resp.content or b"null")
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for key in ("errors", "error_description", "message", "error"):
        value = body.get(key)
        if value:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            return text[:limit]
    return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Retry-After as delta seconds or an HTTP date -> seconds to wait (>= 0)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


def parse_reset(value: str | None, now: float) -> float | None:
    """X-Rate-Limit-Reset (unix seconds) -> seconds to wait (>= 0)."""
    if not value:
        return None
    try:
        return max(0.0, float(value) - now)
    except ValueError:
        return None


def header_int(headers: Any, name: str) -> int | None:
    try:
        return int(headers.get(name))
    except (TypeError, ValueError):
        return None
