"""Small, strict converters used by the ``from_api`` constructors.

Procore payloads are trusted for shape only as far as we check them here:
a missing required field or a value of the wrong kind raises
``ProcoreBadResponse`` instead of leaking a KeyError/TypeError into the sync.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Mapping

from .errors import ProcoreBadResponse

_MISSING = object()


def as_mapping(payload: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ProcoreBadResponse(f"{what}: expected a JSON object")
    return payload


def required(d: Mapping[str, Any], key: str, what: str) -> Any:
    value = d.get(key, _MISSING)
    if value is _MISSING or value is None:
        raise ProcoreBadResponse(f"{what}: missing field {key!r}")
    return value


def to_id(value: Any, what: str = "id") -> int:
    """Parse a Procore id as a Python int (64-bit safe).

    v4 webhook payloads and v2 endpoints send ids as strings: accept decimal
    strings. Booleans are ints in Python but never ids.
    """
    if isinstance(value, bool):
        raise ProcoreBadResponse(f"{what}: not an id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ProcoreBadResponse(f"{what}: not an id")


def opt_id(value: Any, what: str = "id") -> int | None:
    return None if value in (None, "") else to_id(value, what)


def req_id(d: Mapping[str, Any], key: str, what: str) -> int:
    return to_id(required(d, key, what), f"{what}.{key}")


def nested_id(d: Mapping[str, Any], key: str, what: str) -> int | None:
    """``{"drawing_area": {"id": 5}}`` -> 5; also accepts ``drawing_area_id``."""
    obj = d.get(key)
    if isinstance(obj, Mapping) and obj.get("id") is not None:
        return to_id(obj["id"], f"{what}.{key}.id")
    return opt_id(d.get(f"{key}_id"), f"{what}.{key}_id")


def opt_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def req_str(d: Mapping[str, Any], key: str, what: str) -> str:
    value = required(d, key, what)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ProcoreBadResponse(f"{what}: field {key!r} is not text")
    return str(value)


def opt_int(value: Any, what: str = "number") -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ProcoreBadResponse(f"{what}: not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ProcoreBadResponse(f"{what}: not a number")


def flag(value: Any) -> bool:
    """Booleans arrive as true/false, sometimes as "true"/"false" or null."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def opt_dt(value: Any, what: str = "datetime") -> datetime | None:
    """ISO 8601 (with Z or an offset) or unix seconds -> aware UTC datetime.

    A naive timestamp is assumed to be UTC (Procore documents UTC).
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ProcoreBadResponse(f"{what}: not an ISO 8601 datetime") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    raise ProcoreBadResponse(f"{what}: not a datetime")


def opt_date(value: Any, what: str = "date") -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ProcoreBadResponse(f"{what}: not a date") from None
    raise ProcoreBadResponse(f"{what}: not a date")


def mapping_list(value: Any, what: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, Mapping) for x in value):
        raise ProcoreBadResponse(f"{what}: expected a list of objects")
    return value


def mask_secret(value: Any, keep: int = 5) -> str | None:
    """Keep the last ``keep`` characters, as Procore does for hook headers."""
    if value is None:
        return None
    text = str(value)
    if len(text) <= keep:
        return "*" * len(text)
    return "*" * 8 + text[-keep:]
