"""Query-parameter parsers shared by the tools (Photos, Drawings): booleans, ISO ranges,
integer lists. Errors are ``ApiError(400, ...)``.

The Documents index keeps its own ``_range``/``_bool`` in documents/index.py: their error
messages (``filters[name] ...``) and date handling differ, and the answers must not change.
"""
from __future__ import annotations

import json

from flask import request

from . import clock
from .api import ApiError


def parse_bool(value, name: str, status: int = 400) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise ApiError(status, f"{name} must be true or false")


def parse_range(value: str, name: str) -> tuple[float | None, float | None]:
    """ISO range "a...b" (either side may be empty). A date-only upper bound covers that
    whole day (sandbox reading of Procore's "YYYY-MM-DD...YYYY-MM-DD" filters)."""
    if "..." not in value:
        raise ApiError(400, f"{name} must be a range 'start...end'")
    a, b = (p.strip() for p in value.split("...", 1))
    try:
        lo = clock.parse_iso(a) if a else None
        hi = clock.parse_iso(b) if b else None
    except ValueError:
        raise ApiError(400, f"{name} must contain ISO-8601 dates") from None
    if hi is not None and len(b) == 10:
        hi += 86400 - 0.001
    return lo, hi


def in_range(ts, rng) -> bool:
    lo, hi = rng
    return ts is not None and (lo is None or ts >= lo) and (hi is None or ts <= hi)


def id_list(*names: str) -> list[int] | None:
    """Integer list from repeated params (``x[]=1&x[]=2``), "1,2" or "[1,2]"; None if absent."""
    raw = []
    for n in names:
        raw += request.args.getlist(n)
    if not raw:
        return None
    out = []
    for r in raw:
        r = r.strip()
        try:
            vals = json.loads(r) if r.startswith("[") else [p for p in r.split(",") if p.strip()]
            out += [int(v) for v in (vals if isinstance(vals, list) else [vals])]
        except (ValueError, TypeError):
            raise ApiError(400, f"{names[0]} must be a list of integers") from None
    return out
