"""Signed, time-limited media URLs shared by Photos and Drawings.

Media URLs (``url``, ``thumbnail_url``; drawings ``pdf_url``/``png_url``) point at
``/downloads/...`` on the sandbox, carry ``expires``+``sig`` (time-limited, knob
``photos_url_ttl`` / ``drawings_url_ttl``; 0 = no expiry) AND need the Bearer token;
they answer 302 to signed storage (stricter combination of open question 3).
"""
from __future__ import annotations

import hmac
from urllib.parse import urlencode

from flask import g, request
from sqlalchemy import select

from . import clock
from .api import READ_ONLY, ApiError, base_url, project_for
from .db import current_session
from .models import Company, CompanyUser, Project
from .state import cfg
from .storage import sign


def media_url(path: str, kind: str, rid: int, ttl_key: str) -> str:
    ttl = cfg(ttl_key)
    if not ttl or ttl <= 0:
        return f"{base_url()}{path}"
    expires = int(clock.now() + ttl)
    return f"{base_url()}{path}?" + urlencode({"expires": expires, "sig": sign(kind, rid, expires)})


def check_media_url(kind: str, rid: int, ttl_key: str) -> None:
    """403 unless the URL's expires/sig are valid (when URLs are time-limited)."""
    ttl = cfg(ttl_key)
    if not ttl or ttl <= 0:
        return
    try:
        expires = int(request.args.get("expires", ""))
    except ValueError:
        raise ApiError(403, "This URL is missing its signature; fetch the resource again for a fresh URL") from None
    if not hmac.compare_digest(request.args.get("sig", ""), sign(kind, rid, expires)):
        raise ApiError(403, "Invalid URL signature")
    if clock.now() > expires:
        raise ApiError(403, "This URL has expired; fetch the resource again for a fresh URL")


def authorize_download(project_id: int | None, tool: str) -> Project:
    """For ``@require_auth(company=False)`` download views: the URL carries no company header,
    so the company is derived from the project; then the usual project/tool checks apply."""
    s = current_session()
    project = s.get(Project, project_id) if project_id else None
    if project is None:
        raise ApiError(404, "Not found")
    member = s.scalars(select(CompanyUser).where(CompanyUser.company_id == project.company_id,
                                                 CompanyUser.user_id == g.user.id,
                                                 CompanyUser.is_active.is_(True))).first()
    if member is None:
        raise ApiError(403, "You do not have access to this file")
    g.company = s.get(Company, project.company_id)
    return project_for(project.id, tool=tool, level=READ_ONLY)
