"""Frozen dataclasses for the Procore payloads the portal uses.

``from_api(dict)`` constructors validate the shape (``ProcoreBadResponse`` on a
missing required field), convert ids to ints (64-bit safe, string ids from v2/v4
accepted) and timestamps to aware UTC datetimes. The sync never indexes raw
dicts. Documents, media (photos, drawings) and webhook models live in sibling
modules and are re-exported here.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from . import _parse as p
from .errors import ProcoreBadResponse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    is_active: bool = True

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Company":
        d = p.as_mapping(d, "company")
        return cls(id=p.req_id(d, "id", "company"), name=p.req_str(d, "name", "company"),
                   is_active=p.flag(d.get("is_active", True)))


@dataclass(frozen=True)
class Me:
    id: int
    login: str | None
    name: str | None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Me":
        d = p.as_mapping(d, "me")
        return cls(id=p.req_id(d, "id", "me"), login=p.opt_str(d.get("login")),
                   name=p.opt_str(d.get("name")))


@dataclass(frozen=True)
class Project:
    id: int
    name: str
    display_name: str | None = None
    project_number: str | None = None
    company_id: int | None = None
    active: bool = True
    updated_at: datetime | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Project":
        d = p.as_mapping(d, "project")
        return cls(
            id=p.req_id(d, "id", "project"), name=p.req_str(d, "name", "project"),
            display_name=p.opt_str(d.get("display_name")),
            project_number=p.opt_str(d.get("project_number")),
            company_id=p.nested_id(d, "company", "project"),
            active=p.flag(d.get("active", True)),
            updated_at=p.opt_dt(d.get("updated_at"), "project.updated_at"))


# --- permissions -----------------------------------------------------------

LEVELS = ("None", "Read Only", "Standard", "Admin")

# Procore does not document the exact user_access_level strings (see
# procore-api.md, open question 2): normalise the spellings we can imagine and
# fail closed ("None") on anything else.
_LEVEL_ALIASES = {
    "none": "None", "no access": "None", "": "None",
    "read only": "Read Only", "readonly": "Read Only", "read": "Read Only",
    "standard": "Standard",
    "admin": "Admin", "administrator": "Admin",
}

# Tool names in settings/permissions are NOT confirmed by Procore either. We
# match case-insensitively on ``name`` or ``friendly_name`` against these
# aliases; the first alias that matches wins. Extend here if Procore differs.
TOOL_ALIASES: dict[str, tuple[str, ...]] = {
    "admin": ("admin", "project admin", "company admin"),
    "directory": ("directory", "company directory", "project directory"),
    "documents": ("documents", "document", "project documents", "company documents"),
    "photos": ("photos", "photo", "images", "image"),
    "drawings": ("drawings", "drawing", "drawing log"),
    "webhooks": ("webhooks", "webhooks api"),
}


def _norm(text: Any) -> str:
    return " ".join(str(text or "").replace("_", " ").replace("-", " ").lower().split())


def normalise_level(raw: Any) -> str:
    if isinstance(raw, Mapping):
        raw = raw.get("name")
    level = _LEVEL_ALIASES.get(_norm(raw))
    if level is None:
        log.warning("unknown Procore access level %r treated as None", raw)
        return "None"
    return level


@dataclass(frozen=True)
class ToolPermission:
    id: int | None
    name: str
    friendly_name: str | None
    level: str
    available_for_user: bool = True
    permitted_actions: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "ToolPermission":
        d = p.as_mapping(d, "tool permission")
        available = p.flag(d.get("available_for_user", True))
        level = normalise_level(d.get("user_access_level"))
        actions = tuple(str(a.get("action_name") or a.get("label") or "")
                        for a in p.mapping_list(d.get("permitted_actions"), "permitted_actions"))
        return cls(id=p.opt_id(d.get("id")), name=p.req_str(d, "name", "tool permission"),
                   friendly_name=p.opt_str(d.get("friendly_name")),
                   level=level if available else "None",
                   available_for_user=available, permitted_actions=actions)


@dataclass(frozen=True)
class PermissionManifest:
    tools: tuple[ToolPermission, ...]

    @classmethod
    def from_api(cls, d: Any) -> "PermissionManifest":
        # Documented as {"tools": [...]}; accept a bare list defensively.
        items = d.get("tools") if isinstance(d, Mapping) else d
        if items is None or not isinstance(items, list):
            raise ProcoreBadResponse("permission manifest: missing 'tools' list")
        return cls(tools=tuple(ToolPermission.from_api(t) for t in items))

    def find(self, tool: str) -> ToolPermission | None:
        aliases = TOOL_ALIASES.get(_norm(tool), (_norm(tool),))
        for alias in aliases:
            for t in self.tools:
                if _norm(t.name) == alias or _norm(t.friendly_name) == alias:
                    return t
        return None

    def level(self, tool: str) -> str:
        found = self.find(tool)
        return found.level if found else "None"

    def at_least(self, tool: str, level: str) -> bool:
        return LEVELS.index(self.level(tool)) >= LEVELS.index(level)

    def is_admin(self, tool: str) -> bool:
        return self.level(tool) == "Admin"


# --- OAuth tokens ----------------------------------------------------------

def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, repr=False)
class TokenPair:
    access_token: str
    refresh_token: str | None  # None for client-credentials (DMSA) tokens
    expires_at: datetime
    created_at: datetime

    def __repr__(self) -> str:  # never show the secrets
        rt = "None" if self.refresh_token is None else "'***'"
        return (f"TokenPair(access_token='***', refresh_token={rt}, "
                f"expires_at={self.expires_at.isoformat()}, "
                f"created_at={self.created_at.isoformat()})")

    __str__ = __repr__

    @classmethod
    def from_api(cls, d: Mapping[str, Any], *, now: datetime | None = None,
                 require_refresh: bool = True) -> "TokenPair":
        d = p.as_mapping(d, "token response")
        access = p.required(d, "access_token", "token response")
        expires_in = p.opt_int(p.required(d, "expires_in", "token response"), "expires_in")
        refresh = d.get("refresh_token")
        if require_refresh and not refresh:
            raise ProcoreBadResponse("token response: missing field 'refresh_token'")
        if not isinstance(access, str) or not access or expires_in is None or expires_in <= 0:
            raise ProcoreBadResponse("token response: invalid access_token or expires_in")
        # expires_at is computed from OUR clock: Procore's created_at may be
        # skewed relative to this host, and the refresh decision is local.
        now = now or _utcnow()
        # created_at is Procore's, but never later than now: a Procore clock ahead of ours would
        # shrink the lifetime (expires_at - created_at) that the refresh margin is a tenth of.
        created = min(p.opt_dt(d.get("created_at"), "created_at") or now, now)
        return cls(access_token=access, refresh_token=refresh or None,
                   expires_at=now + timedelta(seconds=expires_in), created_at=created)

    def expires_within(self, seconds: float, now: datetime | None = None) -> bool:
        return (self.expires_at - (now or _utcnow())).total_seconds() <= seconds

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the caller to encrypt and store."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": self.expires_at.isoformat(),
                "created_at": self.created_at.isoformat()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TokenPair":
        return cls(access_token=d["access_token"], refresh_token=d.get("refresh_token"),
                   expires_at=p.opt_dt(d["expires_at"]), created_at=p.opt_dt(d["created_at"]))


# --- uploads ---------------------------------------------------------------

@dataclass(frozen=True)
class UploadSegment:
    url: str
    headers: tuple[tuple[str, str], ...]
    size: int | None
    sha256: str | None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "UploadSegment":
        d = p.as_mapping(d, "upload segment")
        headers = d.get("headers") or {}
        if not isinstance(headers, Mapping):
            raise ProcoreBadResponse("upload segment: headers is not an object")
        return cls(url=p.req_str(d, "url", "upload segment"),
                   headers=tuple((str(k), str(v)) for k, v in headers.items()),
                   size=p.opt_int(d.get("size")), sha256=p.opt_str(d.get("sha256")))


@dataclass(frozen=True)
class Upload:
    uuid: str
    url: str | None                          # non-segmented: POST target
    fields: tuple[tuple[str, str], ...] = ()  # non-segmented: form fields, in order
    segments: tuple[UploadSegment, ...] = ()
    status: str | None = None

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> "Upload":
        d = p.as_mapping(d, "upload")
        if isinstance(d.get("data"), Mapping):  # v2-style envelope
            d = d["data"]
        fields = d.get("fields") or {}
        if not isinstance(fields, Mapping):
            raise ProcoreBadResponse("upload: fields is not an object")
        segments = tuple(UploadSegment.from_api(s)
                         for s in p.mapping_list(d.get("segments"), "upload.segments"))
        return cls(uuid=p.req_str(d, "uuid", "upload"), url=p.opt_str(d.get("url")),
                   fields=tuple((str(k), str(v)) for k, v in fields.items()),
                   segments=segments, status=p.opt_str(d.get("status")))


from .models_documents import DocumentIndexItem, File, FileVersion, Folder  # noqa: E402
from .models_media import (  # noqa: E402
    Drawing, DrawingArea, DrawingDiscipline, DrawingRevision, DrawingSet, Image, ImageCategory)
from .models_webhooks import (  # noqa: E402
    BulkTriggerResult, Delivery, Hook, Trigger, WebhookResource)

__all__ = [
    "Company", "Me", "Project", "ToolPermission", "PermissionManifest", "LEVELS",
    "TOOL_ALIASES", "TokenPair", "Upload", "UploadSegment", "Folder", "File", "FileVersion",
    "DocumentIndexItem", "ImageCategory", "Image", "DrawingArea", "DrawingDiscipline",
    "DrawingSet", "Drawing", "DrawingRevision", "Hook", "Trigger", "Delivery",
    "BulkTriggerResult", "WebhookResource",
]
