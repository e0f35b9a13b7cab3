"""The one name sanitiser (portal/cbox/names.py): RELIABILITY 29 cases and a fuzz test (RELIABILITY 30)."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.cbox.names import MAX_BYTES, name_key, safe_name, unique_name

RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def assert_safe(name: str) -> None:
    assert name and name not in (".", "..")
    assert "/" not in name and "\\" not in name
    assert not any(unicodedata.category(c) in ("Cc", "Cs") for c in name)
    assert len(name.encode("utf-8")) <= MAX_BYTES
    assert name == unicodedata.normalize("NFC", name)
    assert name == name.rstrip(" .") and name == name.strip()
    assert name.split(".")[0].upper().rstrip() not in RESERVED


@pytest.mark.parametrize("original, expected", [
    ("../../etc/passwd", ".._.._etc_passwd"),
    ("a/b", "a_b"),
    ("a\\b", "a_b"),
    ("..", "_"),
    (".", "_"),
    ("", "_"),
    ("CON.txt", "_CON.txt"),
    ("con", "_con"),
    ("lpt1.tar.gz", "_lpt1.tar.gz"),
    ("a\x00b.pdf", "a_b.pdf"),
    ("line\nbreak\t.txt", "line_break_.txt"),  # controls, like NUL
    ("trailing dots...", "trailing dots"),
    ("  spaced  ", "spaced"),
    ("Informe: final?.pdf", "Informe_ final_.pdf"),
    ("\u202egpj.exe", "_gpj.exe"),  # a right-to-left override cannot disguise the extension
    ("e\u0301xito.pdf", "éxito.pdf"),  # NFD → NFC
])
def test_reliability_29_cases(original, expected):
    assert safe_name(original) == expected
    assert_safe(safe_name(original))


def test_300_bytes_keep_the_extension():
    name = safe_name("ñ" * 150 + ".pdf")  # 304 bytes
    assert name.endswith(".pdf") and len(name.encode()) <= MAX_BYTES
    assert name.encode().decode("utf-8") == name  # no code point cut in half


def test_nfd_and_nfc_are_the_same_name():
    nfd, nfc = unicodedata.normalize("NFD", "Planta baja á.dwg"), "Planta baja á.dwg"
    assert nfd != nfc and safe_name(nfd) == nfc
    assert unique_name([nfc], nfd) == "Planta baja á (2).dwg"


def test_two_names_that_sanitise_alike_get_deterministic_suffixes():
    taken: list[str] = []
    for original in ("a/b.txt", "a\\b.txt", "A_B.TXT", "a:b.txt"):
        taken.append(unique_name(taken, original))
    assert taken == ["a_b.txt", "a_b (2).txt", "A_B (3).TXT", "a_b (4).txt"]
    assert unique_name([], "a/b.txt") == "a_b.txt"  # same input, same answer


def test_suffix_stays_within_255_bytes():
    long = "x" * 300 + ".pdf"
    first = safe_name(long)
    second = unique_name([first], long)
    assert second.endswith(" (2).pdf") and len(second.encode()) <= MAX_BYTES
    assert name_key(second) != name_key(first)


def test_non_text_is_refused():
    with pytest.raises(TypeError):
        safe_name(None)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=400))
def test_fuzz_safe_name(original):
    """RELIABILITY 30: any text gives a safe, idempotent, single path component."""
    name = safe_name(original)
    assert_safe(name)
    assert safe_name(name) == name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=6), st.text(max_size=300))
def test_fuzz_unique_name(existing, wanted):
    taken = [safe_name(name) for name in existing]
    name = unique_name(taken, wanted)
    assert_safe(name)
    assert name_key(name) not in {name_key(t) for t in taken}
