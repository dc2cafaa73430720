"""A small bar chart as PNG bytes, with the standard library only (zlib + struct).

The periodic review needs one picture; matplotlib would add ~40 MB of
dependencies for it. The image carries what a chart needs to be read on its
own (issue 14): an x axis with the severities 1–4 under their bars, a y axis
with a scale (ticks, grid lines and their counts drawn with a built-in 3×5
digit font, so no fonts are needed). The words (axis titles, legend) are in the
HTML around it, in the customer's language, which also reads well in mail
clients that block images.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
AXIS: Color = (60, 60, 60)
GRID: Color = (225, 225, 225)
PALETTE: tuple[Color, ...] = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40))

# 3×5 digits, one string of 15 cells per digit, row by row.
_DIGITS = ("111101101101111", "010110010010111", "111001111100111", "111001111001111", "101101111001001",
           "111100111001111", "111100111101111", "111001001001001", "111101111101111", "111101111001111")
_SCALE = 2  # each font cell is 2×2 pixels: digits are 6×10
LEFT, BOTTOM, TOP, RIGHT = 40, 26, 12, 12  # room for the scale and the severity labels


def scale_step(largest: float) -> int:
    """Tick spacing 1, 2, 5, 10, 20, 50 …: at most 5 intervals up to the largest value."""
    step = 1
    while largest / step > 5:
        for factor in (2, 5 / 2, 2):
            step = int(step * factor)
            if largest / step <= 5:
                break
    return step


def _text(pixels: list[list[Color]], digits: str, x: int, y: int, color: Color = AXIS) -> None:
    """Draw decimal digits with their top-left corner at (x, y)."""
    for n, char in enumerate(digits):
        glyph = _DIGITS[int(char)]
        for cell, on in enumerate(glyph):
            if on == "1":
                cx, cy = x + n * 4 * _SCALE + cell % 3 * _SCALE, y + cell // 3 * _SCALE
                for dy in range(_SCALE):
                    for dx in range(_SCALE):
                        if 0 <= cy + dy < len(pixels) and 0 <= cx + dx < len(pixels[0]):
                            pixels[cy + dy][cx + dx] = color


def _text_width(digits: str) -> int:
    return len(digits) * 4 * _SCALE - _SCALE


def bar_chart(groups: Sequence[Sequence[float]], colors: Sequence[Color] = PALETTE, width: int = 480,
              height: int = 220, labels: Sequence[str] | None = None) -> bytes:
    """Grouped vertical bars: one group per x position (labelled `labels`, default 1, 2, …), one bar per series."""
    pixels = [[WHITE] * width for _ in range(height)]
    largest = max((v for group in groups for v in group), default=0)
    step = scale_step(largest)
    top = max(step, -(-int(largest) // step) * step)  # the scale's top tick, at least one step
    base, plot_height = height - BOTTOM, height - BOTTOM - TOP
    for tick in range(0, top + 1, step):
        y = base - round(plot_height * tick / top)
        for x in range(LEFT, width - RIGHT):
            pixels[y][x] = GRID if tick else AXIS
        for x in range(LEFT - 4, LEFT):
            pixels[y][x] = AXIS
        text = str(tick)
        _text(pixels, text, LEFT - 6 - _text_width(text), y - 5 * _SCALE // 2)
    for y in range(TOP, base + 1):
        pixels[y][LEFT] = AXIS
    slot = (width - LEFT - RIGHT) / max(len(groups), 1)
    names = list(labels) if labels is not None else [str(n + 1) for n in range(len(groups))]
    for index, group in enumerate(groups):
        bar = max(1, int(slot * 0.8 / max(len(group), 1)))
        left = LEFT + 1 + int(index * slot + slot * 0.1)
        for series, value in enumerate(group):
            rise = round(plot_height * value / top)
            color = colors[series % len(colors)]
            for y in range(base - rise, base):
                row = pixels[y]
                for x in range(left + series * bar, left + (series + 1) * bar - 1):
                    row[x] = color
        centre = LEFT + 1 + int(index * slot + slot / 2)
        for y in range(base, base + 4):
            pixels[y][centre] = AXIS
        name = names[index] if index < len(names) else ""
        if name.isdigit():
            _text(pixels, name, centre - _text_width(name) // 2, base + 8)
    return encode_png(pixels)


def encode_png(pixels: Sequence[Sequence[Color]]) -> bytes:
    """RGB rows → a PNG file (8-bit truecolour, no filtering)."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
