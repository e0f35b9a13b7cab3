"""Errors raised by the cBox store. Messages are shown to people: keep them clear."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


class CboxError(Exception):
    """A store operation that cannot be carried out; `str(error)` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidName(CboxError):
    """A name that is empty or not text."""


class NotFound(CboxError):
    """An item or blob that does not exist."""


class InvalidMove(CboxError):
    """A folder into itself or a descendant, or an item out of its categorized tree."""


class ProtectedItem(CboxError):
    """The categorized folders (Documentos, Imágenes, Planos) cannot be renamed, moved or deleted."""


class BlobSizeMismatch(CboxError):
    """The stream ended with a different size than announced (truncated download or upload)."""

    def __init__(self, expected: int, actual: int):
        super().__init__(_l("Expected %(expected)s bytes but received %(actual)s; nothing was stored.",
                            expected=expected, actual=actual))
        self.expected, self.actual = expected, actual


class StorageFull(CboxError):
    """The blob store ran out of space (ENOSPC/EDQUOT); the partial temp file was removed."""
