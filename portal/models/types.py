"""Column types every model shares: the id, the UTC datetime and the status enum (issue 16, one definition
each)."""
from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Integer, String
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


class StrEnumType(TypeDecorator):
    """A StrEnum column stored as its value in a VARCHAR(length) (no database enum type, no migration)
    and read back as the member. Members are strings: they compare equal to the stored values, and
    templates, JSON and CSV show the value. A value outside the enum is stored and read back as the
    plain string, as before the enums (a row written by another version must not break a page)."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[StrEnum], length: int):
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect) -> StrEnum | str | None:
        if value is None:
            return None
        try:
            return self.enum_class(value)
        except ValueError:
            return value
