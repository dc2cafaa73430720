"""A small bar chart as PNG bytes, with the standard library only (zlib + struct).

The quarterly report needs one picture; matplotlib would add ~40 MB of
dependencies for it. Labels are not drawn into the image (no fonts needed): the
HTML around it carries the legend and the numbers, which also reads well in
mail clients that block images.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
AXIS: Color = (90, 90, 90)
PALETTE: tuple[Color, ...] = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40))


def bar_chart(groups: Sequence[Sequence[float]], colors: Sequence[Color] = PALETTE, width: int = 480,
              height: int = 200, margin: int = 12) -> bytes:
    """Grouped vertical bars: one group per x position, one bar per series, scaled to the largest value."""
    pixels = [[WHITE] * width for _ in range(height)]
    top = max((v for group in groups for v in group), default=0) or 1
    base = height - margin
    for x in range(margin, width - margin):
        pixels[base][x] = AXIS
    slot = (width - 2 * margin) / max(len(groups), 1)
    for index, group in enumerate(groups):
        bar = max(1, int(slot * 0.8 / max(len(group), 1)))
        left = margin + int(index * slot + slot * 0.1)
        for series, value in enumerate(group):
            rise = int((height - 2 * margin) * value / top)
            color = colors[series % len(colors)]
            for y in range(base - rise, base):
                row = pixels[y]
                for x in range(left + series * bar, left + (series + 1) * bar - 1):
                    row[x] = color
    return encode_png(pixels)


def encode_png(pixels: Sequence[Sequence[Color]]) -> bytes:
    """RGB rows → a PNG file (8-bit truecolour, no filtering)."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
