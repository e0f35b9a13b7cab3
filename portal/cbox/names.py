"""The one name sanitiser for every name that enters cBox: uploads, Procore, renames (RELIABILITY 29).

`safe_name(original)` returns a name that is safe as one path component on any common
filesystem and in a Content-Disposition header: NFC, no `/ \\` NUL or control characters, no
bidi overrides, never `.`/`..`/empty, no Windows reserved device name (CON.txt → _CON.txt), no
trailing dots/spaces, at most 255 UTF-8 BYTES with the extension kept. It is idempotent.
Blob paths never use names (they derive from the sha256), so this is defence in depth for
exports and downloads; the original is kept in `original_name`.

`unique_name(existing_names, wanted)` sanitises `wanted` and, when a sibling already has the
same name ignoring case, adds a deterministic " (2)", " (3)" … before the extension.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_BYTES = 255
FALLBACK = "_"
# Characters Windows refuses in names; replaced so downloads and exports work there too.
_WINDOWS_FORBIDDEN = set('<>:"|?*')
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
             *(f"COM{i}" for i in "123456789¹²³"), *(f"LPT{i}" for i in "123456789¹²³")}
_EXT_RE = re.compile(r"^(.+?)(\.[^.\s]{1,16})$")
_SUFFIX_RE = re.compile(r"^(.*) \((\d+)\)$")


def _clean_char(char: str) -> str:
    if char in "/\\" or char in _WINDOWS_FORBIDDEN or char in _BIDI_CONTROLS:
        return "_"
    # Cc: controls incl. NUL; Cs: lone surrogates (not encodable); Co/Cn: private/unassigned.
    if unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn"):
        return "_"
    if char.isspace():
        return " "  # tabs, NBSP, line separators… become plain spaces
    return char


def _truncate_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 form fits in `limit` bytes (never a split code point)."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def split_ext(name: str) -> tuple[str, str]:
    """("report", ".pdf") for "report.pdf"; ("", "") parts never: a dotfile keeps its name as stem."""
    match = _EXT_RE.match(name)
    return (match.group(1), match.group(2)) if match else (name, "")


def _fit(stem: str, ext: str, limit: int = MAX_BYTES) -> str:
    """Join stem and extension within `limit` bytes, cutting the stem first."""
    if len(ext.encode("utf-8")) > limit // 2:
        stem, ext = stem + ext, ""
    stem = _truncate_bytes(stem, limit - len(ext.encode("utf-8")))
    if not ext:
        stem = stem.rstrip(" .")  # the name's end: Windows drops trailing dots and spaces
    return (stem or FALLBACK) + ext


def _tidy(name: str) -> str:
    name = "".join(_clean_char(c) for c in unicodedata.normalize("NFC", name))
    name = unicodedata.normalize("NFC", name)  # replacements can expose new compositions
    return re.sub(r" {2,}", " ", name).strip().rstrip(" .")


def safe_name(original: str) -> str:
    """A safe single path component for `original` (see module docstring)."""
    if not isinstance(original, str):
        raise TypeError("a name must be a string")
    name = _tidy(original)
    if not name:
        return FALLBACK  # "", ".", "..", " . " … would name this folder, the parent or nothing
    stem, ext = split_ext(name)
    if stem.split(".")[0].rstrip(" ").upper() in _RESERVED:
        stem = "_" + stem
    return _fit(stem, ext)


def name_key(name: str) -> str:
    """The comparison key of a name: siblings may not share it (case-insensitive, NFC)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def unique_name(existing_names: Iterable[str], wanted: str) -> str:
    """`safe_name(wanted)`, suffixed " (n)" before the extension when a sibling already has it."""
    name = safe_name(wanted)
    taken = {name_key(existing) for existing in existing_names}
    if name_key(name) not in taken:
        return name
    stem, ext = split_ext(name)
    number = 2
    while True:
        suffix = f" ({number})"
        # Cut the stem so the suffixed name still fits in 255 bytes.
        base_stem, base_ext = split_ext(_fit(stem, ext, MAX_BYTES - len(suffix)))
        candidate = f"{base_stem}{suffix}{base_ext}"
        if name_key(candidate) not in taken:
            return candidate
        number += 1
