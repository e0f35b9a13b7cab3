"""The webhook parser never raises anything but PayloadError (RELIABILITY 3, 30)."""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.webhooks.payload import PayloadError, parse_event
from tests.webhooks.conftest import v2_event, v4_event

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=10), inner, max_size=3), max_leaves=8)
keys = st.sampled_from(["id", "ulid", "event_type", "reason", "resource_name", "resource_type", "resource_id",
                        "company_id", "project_id", "api_version", "metadata", "timestamp"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=10))
def test_any_object_parses_or_is_refused_cleanly(body):
    try:
        event = parse_event(json.dumps(body).encode())
    except PayloadError:
        return
    assert event.key and event.event_type and event.resource_name


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_refused_cleanly(raw):
    try:
        parse_event(raw)
    except PayloadError:
        pass


def test_v2_and_v4_give_the_same_shape():
    v2 = parse_event(json.dumps(v2_event()).encode())
    v4 = parse_event(json.dumps(v4_event(resource="Project Files", reason="create")).encode())
    assert (v2.payload_version, v4.payload_version) == ("v2.0", "v4.0")
    assert v2.project_id == v4.project_id and v2.company_id == v4.company_id
    assert isinstance(v4.resource_id, int) and v4.key == "01HZX4000000000000000000B2"


def test_unicode_digits_are_not_ids():
    """Found by the fuzz test on the PostgreSQL pass: '²'.isdigit() is True but int('²') fails."""
    for bad in ("²", "٣", "１２"):
        body = v4_event()
        body["resource_id"] = bad
        try:
            parse_event(json.dumps(body).encode())
        except PayloadError:
            continue
        raise AssertionError(f"{bad!r} was accepted as an id")
