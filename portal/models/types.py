"""Column types every model shares: the id and the UTC datetime (issue 16, one definition each)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.types import TypeDecorator

# Ids: BIGINT everywhere but SQLite, whose autoincrementing key must be INTEGER.
ID = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator):
    """A point in time, stored and read back as an aware UTC datetime whatever the database.

    The column stays DATETIME WITH TIME ZONE (no migration). PostgreSQL keeps the zone and hands
    back the session's; SQLite keeps none and hands back naive values, which are UTC because only
    UTC is ever written. A naive value given to us is taken as UTC too (what SQLite always did)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        return _utc(value)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return _utc(value)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
