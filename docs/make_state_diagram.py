"""Draw the graph of connectionState changes for docs/concepts.md, from the rules.

python docs/make_state_diagram.py          # writes docs/img/connection-states.svg
python docs/make_state_diagram.py --check  # exit status 1 if that file is not current

The edges are `rtcstate.rules.CONNECTION_TRANSITIONS`, so the picture cannot drift
from the rules (tests/test_docs.py checks the committed file). Every state but
`closed` can become `closed` through `close()`: those edges are left out, as the
picture says, except where `closed` is the only way on (from `failed`). Only the
places of the states are chosen here. No script is needed to view it: the site
works offline.
"""

from __future__ import annotations

import math
import sys
from html import escape
from pathlib import Path

from rtcstate import PeerConnectionState as P
from rtcstate.rules import CONNECTION_TRANSITIONS
from rtcstate.tools.timeline import COLOURS

OUT = Path(__file__).resolve().parent / "img" / "connection-states.svg"

WIDTH, HEIGHT = 750, 420
BOX_W, BOX_H = 136, 42  # each state's box
FONT = 16  # px, the states' names
NOTE_FONT = 15  # px
PAIR_GAP = 6  # px each side of the centre line, for the two edges of a pair
ARROW_GAP = 3  # px between an arrow's tip and the box it points at

# the centre of each state's box: connecting, connected and failed make a
# triangle with disconnected (joined to all three) inside, so no edge crosses
# another; new on the left reaches connecting and failed
PLACES: dict[P, tuple[int, int]] = {
    P.NEW: (82, 185),
    P.CONNECTING: (282, 45),
    P.CONNECTED: (602, 45),
    P.DISCONNECTED: (442, 175),
    P.FAILED: (442, 345),
    P.CLOSED: (636, 345),
}
START = (82, 95)  # the initial state's dot, above new
# under closed, in place of the edges close() makes
NOTE = ("every state can also become", "closed through close()")


def edges() -> list[tuple[P, P]]:
    """The changes to draw, in the enum's order: all but close()'s."""
    states = list(P)
    for state in states:
        if state is not P.CLOSED and P.CLOSED not in CONNECTION_TRANSITIONS[state]:
            raise SystemExit(
                f"the picture says every state can become closed, but the rules "
                f"have no {state} -> closed"
            )
    out = []
    for state in states:
        following = CONNECTION_TRANSITIONS[state]
        for target in states:
            if target in following and (target is not P.CLOSED or len(following) == 1):
                out.append((state, target))
    return out


def _exit(
    point: tuple[float, float], centre: tuple[int, int], d: tuple[float, float]
) -> float:
    """How far along `d` (a unit vector) `point` leaves the box at `centre`."""
    limits = []
    for axis, half in ((0, BOX_W / 2), (1, BOX_H / 2)):
        if abs(d[axis]) > 1e-9:
            offset = point[axis] - centre[axis]
            limits.append((half - math.copysign(1, d[axis]) * offset) / abs(d[axis]))
    return min(limits)


def _arrow(a: tuple[int, int], b: tuple[int, int], side: float) -> str:
    """A line from box `a` to box `b`, moved `side` px to its right."""
    length = math.dist(a, b)
    d = ((b[0] - a[0]) / length, (b[1] - a[1]) / length)
    normal = (-d[1], d[0])
    p = (a[0] + normal[0] * side, a[1] + normal[1] * side)
    q = (b[0] + normal[0] * side, b[1] + normal[1] * side)
    start = _exit(p, a, d)
    end = _exit(q, b, (-d[0], -d[1])) + ARROW_GAP
    x1, y1 = p[0] + d[0] * start, p[1] + d[1] * start
    x2, y2 = q[0] - d[0] * end, q[1] - d[1] * end
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        'stroke="#37474f" stroke-width="2" marker-end="url(#arrow)"/>'
    )


def _luminance(colour: str) -> float:
    """WCAG relative luminance of `#rrggbb`."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _text_colour(fill: str) -> str:
    """Black or white, whichever contrasts more with `fill`."""
    light = _luminance(fill)
    return "#000000" if (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) else "#ffffff"


def render() -> str:
    """The SVG, as written to docs/img/connection-states.svg."""
    drawn = edges()
    pairs = {(a, b) for a, b in drawn if (b, a) in drawn}
    title = "connectionState: the changes the rules produce"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="title" '
        f'font-family="sans-serif" font-size="{FONT}">',
        f'<title id="title">{escape(title)}</title>',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse">',
        '<path d="M 0 0 L 10 5 L 0 10 z" fill="#37474f"/>',
        "</marker>",
        "</defs>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<circle cx="{START[0]}" cy="{START[1]}" r="8" fill="#37474f"/>',
    ]
    new = PLACES[P.NEW]
    parts.append(
        f'<line x1="{START[0]}" y1="{START[1] + 8}" x2="{new[0]}" '
        f'y2="{new[1] - BOX_H / 2 - ARROW_GAP:.1f}" stroke="#37474f" '
        'stroke-width="2" marker-end="url(#arrow)"/>'
    )
    for a, b in drawn:
        side = PAIR_GAP if (a, b) in pairs else 0
        parts.append(_arrow(PLACES[a], PLACES[b], side))
    for state in P:
        x, y = PLACES[state]
        fill = COLOURS[state.value]
        parts.append(
            f'<rect x="{x - BOX_W / 2:.0f}" y="{y - BOX_H / 2:.0f}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="8" fill="{fill}" stroke="#263238" '
            'stroke-width="1.5"/>'
        )
        parts.append(
            f'<text x="{x}" y="{y}" text-anchor="middle" dominant-baseline="central" '
            f'fill="{_text_colour(fill)}">{escape(state.value)}</text>'
        )
    closed = PLACES[P.CLOSED]
    for line, text in enumerate(NOTE):
        parts.append(
            f'<text x="{closed[0]}" y="{closed[1] + BOX_H / 2 + 22 + 18 * line:.0f}" '
            f'text-anchor="middle" font-size="{NOTE_FONT}" fill="#263238">'
            f"{escape(text)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    svg = render()
    if argv == ["--check"]:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != svg:
            print(
                f"{OUT} is not drawn from the current rules: "
                "run python docs/make_state_diagram.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(svg, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
