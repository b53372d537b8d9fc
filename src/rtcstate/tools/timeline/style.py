"""What the timeline looks like: the states' colours, the sizes of lanes and
text, and how wide text is drawn (for layout.py, which has no font to measure)."""

from __future__ import annotations

__all__ = ["COLOURS", "contrast", "text_colour", "text_width"]

COLOURS = {
    "new": "#cfd8dc",
    "checking": "#ffe082",
    "connecting": "#ffe082",
    "connected": "#66bb6a",
    "completed": "#2e7d32",
    "disconnected": "#ffa726",
    "failed": "#e53935",
    "closed": "#546e7a",
}
LANE, GAP, HEADING = 18, 6, 28  # heights
NOTE, NOTE_ROW = 11, 15  # the notes' font size and row height
SEGMENT, CALLOUT_ROW = 11, 14  # the states' font size; rows below a lane


# Arial's (and Helvetica's, Liberation Sans's) advance widths of " " to "~", in
# thousandths of the font size
_WIDTHS = dict(
    zip(
        map(chr, range(32, 127)),
        [
            *(278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333),
            *(278, 278, *[556] * 10, 278, 278, 584, 584, 584, 556, 1015),
            *(667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833),
            *(722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611),
            *(278, 278, 278, 469, 556, 333),
            *(556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833),
            *(556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500),
            *(334, 260, 334, 584),
        ],
        strict=True,
    )
)


def text_width(text: str, size: float, bold: bool = False) -> float:
    """A generous estimate of the width of `text` drawn in `sans-serif`.

    Arial's widths and 15 % more (25 % in bold): DejaVu Sans, the usual
    `sans-serif` on Linux, is about 13 % wider than Arial.
    """
    units = sum(_WIDTHS.get(c, 1000) for c in text)
    return units * size / 1000 * (1.25 if bold else 1.15)


def _luminance(colour: str) -> float:
    """The relative luminance of `#rrggbb` (WCAG 2)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    )
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two `#rrggbb` colours, from 1 to 21."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on `fill`."""
    return max(("#000000", "#ffffff"), key=lambda ink: contrast(ink, fill))
