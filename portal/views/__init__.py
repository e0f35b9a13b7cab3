"""One blueprint per page area."""
from urllib.parse import urlsplit

from flask import request, url_for


def safe_next(default_endpoint: str = "dashboard.index") -> str:
    """A same-site relative redirect target from ?next= or the form, else the default."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return url_for(default_endpoint)
