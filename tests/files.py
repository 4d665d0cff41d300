"""Files as customers and agents send them: a real PNG and a minimal PDF."""
from __future__ import annotations

import random
import struct
import zlib

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png(width: int = 4, height: int = 3, noise: bool = False) -> bytes:
    """A real PNG, so a browser can show it: red, or (`noise`) random pixels, which do not
    compress, for a file as large as a phone's photo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixels = (lambda: random.randbytes(3 * width)) if noise else (lambda: b"\xcc\x22\x22" * width)
    rows = b"".join(b"\x00" + pixels() for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
