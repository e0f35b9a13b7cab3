"""Where the bearer token may go, and which redirect targets we follow.

* The bearer token is attached only to URLs whose host is in ``allowed_hosts``
  (by default the hosts of the API and login base URLs).
* Storage URLs (presigned S3 etc.) and redirect targets get no token and must
  not resolve to loopback, private, link-local or otherwise non-global
  addresses (SSRF into our own network) unless ``allow_private`` is set for
  the local sandbox.

Known limit: the address check resolves the name before requests connects,
so a DNS answer that changes in between (rebinding) is not caught. Pinning
the resolved address into the connection would close that gap.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Callable, Iterable
from urllib.parse import urlsplit

from .errors import ProcoreRedirectRefused, ProcoreUnavailable

Resolver = Callable[[str], Iterable[str]]


def system_resolver(host: str) -> list[str]:
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return sorted({info[4][0] for info in infos})


def hostname(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class HostPolicy:
    def __init__(self, allowed_hosts: Iterable[str], *, allow_private: bool,
                 resolver: Resolver = system_resolver, require_https: bool = False) -> None:
        self.allowed = frozenset(h.lower().strip() for h in allowed_hosts if h)
        self.allow_private = allow_private
        self.resolver = resolver
        self.require_https = require_https

    def may_send_token(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return False
        if self.require_https and parts.scheme != "https":
            return False
        return (parts.hostname or "").lower() in self.allowed

    def check_token_target(self, url: str, method: str) -> None:
        if not self.may_send_token(url):
            raise ProcoreRedirectRefused("refusing to send the Procore token to a host that "
                                         "is not configured", method=method,
                                         path=urlsplit(url).path or "/")

    def check_public_target(self, url: str, method: str = "GET") -> None:
        """Refuse non-http(s) URLs and, unless allowed, non-global addresses."""
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProcoreRedirectRefused("refusing a non-http(s) URL", method=method, path=path)
        if self.allow_private:
            return
        for address in self._addresses(parts.hostname, method, path):
            if not _is_public(address):
                raise ProcoreRedirectRefused("refusing a URL that points to a private, "
                                             "loopback or link-local address",
                                             method=method, path=path)

    def _addresses(self, host: str, method: str, path: str) -> list[str]:
        try:
            ipaddress.ip_address(host)
            return [host]
        except ValueError:
            pass
        try:
            addresses = list(self.resolver(host))
        except OSError:
            raise ProcoreUnavailable("cannot resolve the storage host", method=method,
                                     path=path) from None
        if not addresses:
            raise ProcoreUnavailable("storage host has no address", method=method, path=path)
        return addresses


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # strip IPv6 zone ids
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_global and not ip.is_multicast
