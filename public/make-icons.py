#!/usr/bin/env python3
"""Draws the app's PNG icons from the shapes of public/favicon.svg.

Run once after changing the favicon (`python3 public/make-icons.py`); the PNGs are committed.
No SVG renderer is needed: the favicon is a rounded square, a circle and a polygon, drawn
here with 4x4 supersampling and written with zlib alone.

- icon-192.png, icon-512.png: the favicon as it is (transparent outside its rounded corners).
- icon-maskable-512.png: for launchers that cut their own shape. The background fills the
  square and the picture is shrunk into the central safe zone (a circle of 40% of the size),
  so no mask cuts into it.
"""

import pathlib
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent

BACKGROUND = (0x2B, 0x3A, 0x67)
SUN = (0xF6, 0xB9, 0x3B)
HILLS = (0x4F, 0xC3, 0xA1)
# favicon.svg, in its 64-unit viewBox.
CORNER_RADIUS = 14.0
SUN_CENTER, SUN_RADIUS = (22.0, 24.0), 9.0
HILL_POINTS = [(8.0, 52.0), (26.0, 32.0), (36.0, 43.0), (44.0, 35.0), (56.0, 52.0)]
SAMPLES = 4


def in_rounded_square(x, y):
    r = CORNER_RADIUS
    cx = min(max(x, r), 64.0 - r)
    cy = min(max(y, r), 64.0 - r)
    return 0.0 <= x <= 64.0 and 0.0 <= y <= 64.0 and (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def in_sun(x, y):
    return (x - SUN_CENTER[0]) ** 2 + (y - SUN_CENTER[1]) ** 2 <= SUN_RADIUS**2


def in_hills(x, y):
    # Even-odd rule, as for any simple polygon.
    inside = False
    points = HILL_POINTS
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def colour_at(x, y, maskable):
    """The favicon's colour at viewBox point (x, y), or None where it is transparent."""
    if maskable:
        # Shrunk by 3/4 about the centre, so the farthest corner of the hills (31 units
        # from the centre) lands at 23.4 units, inside the safe zone's 25.6.
        x, y = 32.0 + (x - 32.0) / 0.75, 32.0 + (y - 32.0) / 0.75
    elif not in_rounded_square(x, y):
        return None
    if in_sun(x, y):
        return SUN
    if in_hills(x, y):
        return HILLS
    return BACKGROUND


def render(size, maskable):
    rows = []
    step = 64.0 / size
    for py in range(size):
        row = bytearray([0])  # filter type 0 (none) for this scanline
        for px in range(size):
            r = g = b = a = 0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = (px + (sx + 0.5) / SAMPLES) * step
                    y = (py + (sy + 0.5) / SAMPLES) * step
                    colour = colour_at(x, y, maskable)
                    if colour is not None:
                        r += colour[0]
                        g += colour[1]
                        b += colour[2]
                        a += 1
            # Colour averaged over the covered samples (straight, not premultiplied, alpha).
            if a:
                row += bytes((r // a, g // a, b // a, a * 255 // (SAMPLES * SAMPLES)))
            else:
                row += bytes(4)
        rows.append(bytes(row))
    return b"".join(rows)


def png(size, pixels):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )


def main():
    for name, size, maskable in [
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ]:
        (HERE / name).write_bytes(png(size, render(size, maskable)))
        print(f"wrote public/{name}")


if __name__ == "__main__":
    main()
