"""Tiny media helpers in pure Python (no PIL): real PNG/JPEG generation, image sniffing.

* ``make_png(w, h, color_fn, text=None)``: an RGB PNG (zlib), optional tEXt chunk.
* ``make_jpeg(w, h, color_fn, comment=None)``: a baseline JFIF JPEG made of solid 8x8
  blocks (only DC coefficients, so the encoder stays tiny); a COM segment makes
  otherwise equal pictures differ.
* ``sniff_image(head)`` -> (content_type, ext) or None, from magic bytes.
* ``image_size(head)`` -> (width, height) or (None, None) for PNG, JPEG and GIF.
Used by the Photos tool, its seeder and the Drawings tool (PNG renderings).
"""
from __future__ import annotations

import struct
import zlib

# --- PNG ------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png(width: int, height: int, color_fn, text: str | None = None) -> bytes:
    """RGB PNG; ``color_fn(x, y) -> (r, g, b)``."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type None
        for x in range(width):
            rows.extend(bytes(color_fn(x, y)))
    out = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if text:
        out += _png_chunk(b"tEXt", b"Comment\x00" + text.encode("latin-1", "replace"))
    return out + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _png_chunk(b"IEND", b"")


# --- JPEG (baseline, DC-only blocks) ------------------------------------------------

# Standard luminance DC table (ITU T.81 Annex K.3): code-length counts and symbols.
_DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
_DC_VALS = list(range(12))
# AC table with a single symbol: EOB (0x00) coded as "0" (every AC coefficient is 0).
_AC_BITS = [1] + [0] * 15
_AC_VALS = [0]


def _huff_codes(bits, vals) -> dict:
    codes, code, k = {}, 0, 0
    for length, count in enumerate(bits, 1):
        for _ in range(count):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


class _BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc, self.n = 0, 0

    def write(self, value: int, length: int):
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc, self.n = 0, 0

    def flush(self) -> bytes:
        if self.n:
            self.write((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with 1 bits
        return bytes(self.out)


def _seg(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


def make_jpeg(width: int, height: int, color_fn, comment: str | None = None) -> bytes:
    """Baseline JPEG; ``color_fn(bx, by) -> (r, g, b)`` gives the colour of 8x8 block (bx, by).

    width and height are rounded up to multiples of 8.
    """
    width, height = -(-width // 8) * 8, -(-height // 8) * 8
    dc = _huff_codes(_DC_BITS, _DC_VALS)
    eob = _huff_codes(_AC_BITS, _AC_VALS)[0]
    bw = _BitWriter()
    prev = [0, 0, 0]
    for by in range(height // 8):
        for bx in range(width // 8):
            r, g, b = color_fn(bx, by)
            ycc = (0.299 * r + 0.587 * g + 0.114 * b,
                   128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
                   128 + 0.5 * r - 0.418688 * g - 0.081312 * b)
            for c, v in enumerate(ycc):
                # Uniform block: F(0,0) = 8 * (v - 128); quantised with Q=8 -> v - 128.
                q = max(-127, min(127, int(round(v - 128))))
                diff, prev[c] = q - prev[c], q
                cat = abs(diff).bit_length()
                code, length = dc[cat]
                bw.write(code, length)
                if cat:
                    bw.write(diff if diff > 0 else diff + (1 << cat) - 1, cat)
                bw.write(*eob)
    out = b"\xff\xd8" + _seg(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if comment:
        out += _seg(0xFFFE, comment.encode("utf-8")[:60000])
    out += _seg(0xFFDB, b"\x00" + bytes([8] * 64))
    out += _seg(0xFFC0, struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00")
    out += _seg(0xFFC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALS))
    out += _seg(0xFFC4, b"\x10" + bytes(_AC_BITS) + bytes(_AC_VALS))
    out += _seg(0xFFDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
    return out + bw.flush() + b"\xff\xd9"


# --- sniffing -----------------------------------------------------------------------

def sniff_image(head: bytes) -> tuple[str, str] | None:
    """(content_type, extension) of an image from its first bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff", "tif"
    if head[:2] == b"BM" and len(head) >= 26:
        return "image/bmp", "bmp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"heif"):
        return "image/heic", "heic"
    return None


def image_size(head: bytes) -> tuple[int | None, int | None]:
    """(width, height) from PNG IHDR, GIF screen descriptor or the JPEG SOFn segment."""
    try:
        if head.startswith(b"\x89PNG") and len(head) >= 24:
            return struct.unpack(">II", head[16:24])
        if head[:4] == b"GIF8" and len(head) >= 10:
            return struct.unpack("<HH", head[6:10])
        if head.startswith(b"\xff\xd8"):
            i = 2
            while i + 9 < len(head):
                if head[i] != 0xFF:
                    i += 1
                    continue
                marker = head[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                length = struct.unpack(">H", head[i + 2:i + 4])[0]
                if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                    h, w = struct.unpack(">HH", head[i + 5:i + 9])
                    return w, h
                i += 2 + length
    except struct.error:
        pass
    return None, None
