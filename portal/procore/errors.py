"""Typed errors raised by the Procore client.

Every error carries the HTTP status (None when no response arrived), a short
message that is safe to show to support staff and to log, and the request
method and path. The path never includes the query string: presigned storage
URLs carry signatures there, and we never put tokens in messages.
"""
from __future__ import annotations


class ProcoreError(Exception):
    """Base class: anything that went wrong talking to Procore or its storage."""

    #: True when retrying later may succeed (the caller's job schedule decides).
    transient = False

    def __init__(self, message: str, *, status: int | None = None,
                 method: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.path = path

    def __str__(self) -> str:
        where = f" [{self.method} {self.path}]" if self.method and self.path else ""
        code = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{self.message}{code}{where}"


class ProcoreAuthError(ProcoreError):
    """401 / invalid or revoked token / invalid_grant.

    ``needs_reauth`` is True when no automatic recovery is possible: the user
    must log into Procore again (the refresh token is dead or was rejected).
    """

    def __init__(self, message: str, *, needs_reauth: bool = False, **kw) -> None:
        super().__init__(message, **kw)
        self.needs_reauth = needs_reauth


class ProcorePermissionError(ProcoreError):
    """403 from the Procore API: the user lacks a tool permission."""


class ProcoreNotFound(ProcoreError):
    """404: the resource does not exist (or is invisible to this user)."""


class ProcoreValidationError(ProcoreError):
    """400/422 with Procore's own message (e.g. name taken)."""


class ProcoreRateLimited(ProcoreError):
    """429 still returned after our retries, or a wait longer than we will block."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProcoreUnavailable(ProcoreError):
    """5xx, 503, connection errors or timeouts after our retries."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProcoreBadResponse(ProcoreError):
    """HTML or garbage where JSON was expected, or required fields missing."""


class ProcoreSizeMismatch(ProcoreBadResponse):
    """A download's byte count differs from the size Procore announced."""


class ProcoreRedirectRefused(ProcoreError):
    """A URL or redirect pointed at a disallowed host or a private address."""


class ProcoreDownloadTooLarge(ProcoreError):
    """A download exceeded the configured maximum size."""


class ProcoreDownloadExpired(ProcoreError):
    """Storage answered 403: the presigned URL expired.

    The caller should re-fetch the file metadata (a fresh URL) and retry.
    """

    transient = True


class ProcoreUploadExpired(ProcoreError):
    """Storage refused an upload (403): the upload slot expired; create a new one."""

    transient = True


class PaginationIncomplete(ProcoreError):
    """A listing ended with fewer items than Procore's ``Total`` header said,
    or stopped at ``max_pages`` while more pages existed.

    The sync must treat the listing as unusable for deletions.
    """

    transient = True

    def __init__(self, message: str, *, seen: int, total: int | None,
                 pages: int, **kw) -> None:
        super().__init__(message, **kw)
        self.seen = seen
        self.total = total
        self.pages = pages
