"""Parse a Procore webhook body (v2.0/v3.0 and v4.0) into one small frozen shape.

Pure functions, no Flask and no database, so a hypothesis test can fuzz them
(RELIABILITY 30). v2: integer ids, `event_type`, `resource_name`, a `ulid`;
v4: string ids, `reason`, `resource_type` and a ULID `id` (procore-api.md §6).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from portal.procore.resources import HANDLED as HANDLED_RESOURCES  # one list for receiver, hooks and router

KEY_MAX = 100


class PayloadError(ValueError):
    """The body is not a webhook event we can read; the message says why."""


@dataclass(frozen=True)
class ParsedEvent:
    key: str  # dedupe key: the v2 ulid or the v4 id
    payload_version: str
    event_type: str
    resource_name: str
    resource_id: int | None
    company_id: int | None
    project_id: int | None
    timestamp: str | None
    source_application_id: str | None

    @property
    def handled(self) -> bool:
        return self.resource_name in HANDLED_RESOURCES


def _id(value: Any, what: str) -> int | None:
    """v2 sends integers, v4 strings of digits; both become int (ids exceed 2^32)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError(f"{what} is not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    raise PayloadError(f"{what} is not an id")


def _text(value: Any, what: str, limit: int = 100) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise PayloadError(f"{what} is missing or not text")
    return value.strip()


def _key(body: Mapping[str, Any]) -> tuple[str, str]:
    """(dedupe key, payload version). v2/v3 carry `ulid`; v4 has a string ULID as `id`."""
    version = body.get("api_version") or body.get("payload_version")
    if "reason" in body or "resource_type" in body or version == "v4.0":
        return _text(body.get("id"), "id", KEY_MAX), "v4.0"
    ulid = body.get("ulid")
    if isinstance(ulid, str) and ulid.strip():
        return _text(ulid, "ulid", KEY_MAX), str(version or "v2.0")[:16]
    return f"id:{_id(body.get('id'), 'id')}", str(version or "v2.0")[:16]


def parse_event(raw: bytes) -> ParsedEvent:
    """Raise PayloadError for anything that is not one JSON event object."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise PayloadError(f"not JSON: {str(error)[:120]}") from None
    if not isinstance(body, dict):
        raise PayloadError("the body is not a JSON object")
    key, version = _key(body)
    if key in ("id:None", ""):
        raise PayloadError("no event id or ulid")
    v4 = version == "v4.0"
    metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    source_app = metadata.get("source_application_id")
    return ParsedEvent(
        key=key, payload_version=version,
        event_type=_text(body.get("reason" if v4 else "event_type"), "event type", 40).lower(),
        resource_name=_text(body.get("resource_type" if v4 else "resource_name"), "resource name"),
        resource_id=_id(body.get("resource_id"), "resource_id"),
        company_id=_id(body.get("company_id"), "company_id"),
        project_id=_id(body.get("project_id"), "project_id"),
        timestamp=str(body["timestamp"])[:40] if body.get("timestamp") else None,
        source_application_id=str(source_app)[:200] if source_app not in (None, "") else None)
