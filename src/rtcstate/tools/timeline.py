"""Render a recorded history as a self-contained SVG timeline (or an HTML page).

One lane per ICE and DTLS transport and one for each aggregate state, per peer,
coloured by state; hovering a segment shows its state, its span and the cause
of the change that began it. The input is what ``rtcstate demo --json`` prints,
or what :func:`records` makes from a connection's ``state_history`` and
``transport_history``.

    rtcstate demo --cut-after 2 --cut-for 4 --json > blip.jsonl
    rtcstate timeline blip.jsonl -o blip.html
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..api import StateAPI

__all__ = ["load", "records", "render_html", "render_svg"]

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
_LANE, _GAP, _LABEL, _WIDTH, _HEADING = 18, 6, 220, 1000, 28
_NOTE, _NOTE_ROW = 11, 15  # the notes' font size and row height


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
    """A generous estimate of the width of ``text`` drawn in ``sans-serif``.

    Arial's widths and 15 % more (25 % in bold): DejaVu Sans, the usual
    ``sans-serif`` on Linux, is about 13 % wider than Arial.
    """
    units = sum(_WIDTHS.get(c, 1000) for c in text)
    return units * size / 1000 * (1.25 if bold else 1.15)


def _luminance(colour: str) -> float:
    """The relative luminance of ``#rrggbb`` (WCAG 2)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    )
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one: str, other: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_colour(fill: str) -> str:
    """Black or white, whichever reads better on ``fill``."""
    return max(("#000000", "#ffffff"), key=lambda ink: contrast(ink, fill))


def records(
    pc: StateAPI, peer: str = "local", start: float | None = None
) -> list[dict[str, Any]]:
    """A connection's histories as timeline records (the demo's JSON format).

    :param start: the time that becomes t = 0 (default: the first change).
    """
    states = pc.state_history
    transports = pc.transport_history
    times = [c.time for c in states] + [c.time for c in transports]
    origin = start if start is not None else min(times, default=0.0)
    out: list[dict[str, Any]] = []
    for t in transports:
        out.append(
            {
                "type": "transport",
                "t": t.time - origin,
                "peer": peer,
                "kind": t.kind,
                "transport": t.transport,
                "previous": t.previous,
                "current": t.current,
                "detail": t.detail,
            }
        )
    for s in states:
        out.append(
            {
                "type": "state",
                "t": s.time - origin,
                "peer": peer,
                "attribute": s.attribute,
                "previous": str(s.previous),
                "current": str(s.current),
                "cause": {
                    "kind": s.cause.kind,
                    "transport": s.cause.transport,
                    "state": s.cause.state,
                    "detail": s.cause.detail,
                },
            }
        )
    return sorted(out, key=lambda r: float(r["t"]))


@dataclass
class _Lane:
    name: str
    initial: str
    changes: list[tuple[float, str, str]] = field(default_factory=list)  # t, state, why


def _lanes(
    items: Iterable[Mapping[str, Any]],
) -> tuple[list[tuple[str, list[_Lane]]], list[tuple[float, str]], float]:
    peers: dict[str, dict[str, _Lane]] = {}
    notes: list[tuple[float, str]] = []
    end = 0.0
    for record in items:
        kind = record.get("type")
        t = float(record.get("t", 0.0))
        end = max(end, t)
        if kind == "note":
            notes.append((t, str(record.get("text", ""))))
            continue
        if kind not in ("state", "transport"):
            continue
        peer = str(record.get("peer", "local"))
        name = str(record["attribute"] if kind == "state" else record["transport"])
        lanes = peers.setdefault(peer, {})
        lane = lanes.setdefault(name, _Lane(name, str(record.get("previous", "new"))))
        if kind == "transport":
            why = str(record.get("detail") or "")
        else:
            why = _cause_text(record.get("cause"))
        lane.changes.append((t, str(record["current"]), why))
    for lanes in peers.values():
        _close_with_the_connection(lanes)
    ordered = []
    for peer, lanes in peers.items():
        aggregate = [
            lanes[n] for n in ("connectionState", "iceConnectionState") if n in lanes
        ]
        rest = sorted(
            (
                lane
                for n, lane in lanes.items()
                if n not in ("connectionState", "iceConnectionState")
            ),
            key=lambda lane: lane.name,
        )
        ordered.append((peer, aggregate + rest))
    return ordered, notes, end


def _cause_text(cause: object) -> str:
    """A state record's cause as :class:`~rtcstate.events.Cause` prints it."""
    if not isinstance(cause, Mapping):
        return str(cause or "")
    if "text" in cause:  # older records() output
        return str(cause["text"])
    if cause.get("kind") == "close":
        return "close() called"
    text = (
        f"{cause['transport']} -> {cause.get('state')}"
        if cause.get("transport")
        else str(cause.get("kind") or "")
    )
    return f"{text} ({cause['detail']})" if cause.get("detail") else text


def _close_with_the_connection(lanes: Mapping[str, _Lane]) -> None:
    """End every lane at ``closed`` when the connection closes.

    ``close()`` closes every transport, but the histories record only the two
    aggregate states' change to ``closed``, no transport change; without this a
    closed connection's transports would go on showing ``connected``.
    """
    main = lanes.get("connectionState")
    if main is None or not main.changes or main.changes[-1][1] != "closed":
        return
    closed_at = main.changes[-1][0]
    for lane in lanes.values():
        last = lane.changes[-1] if lane.changes else (0.0, lane.initial, "")
        if last[1] != "closed" and last[0] <= closed_at:
            lane.changes.append((closed_at, "closed", "close() called"))


def _el(tag: str, text: str | None = None, **attrs: object) -> str:
    """One SVG element; ``font_size=`` gives ``font-size=``, ``class_=`` ``class=``."""
    rendered = " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"'
        for k, v in attrs.items()
    )
    if text is None:
        return f"<{tag} {rendered}/>"
    return f"<{tag} {rendered}>{text}</{tag}>"


def render_svg(
    items: Iterable[Mapping[str, Any]],
    title: str = "rtcstate timeline",
    *,
    heading: bool = True,
) -> str:
    """An SVG document of the timeline of ``items`` (timeline records).

    :param title: the document's title, and its heading.
    :param heading: whether to show the title as a heading (a page around the
        image may show it instead).
    """
    peers, notes, end = _lanes(list(items))
    end = max(end * 1.05, 0.5)

    def x(t: float) -> float:
        return round(_LABEL + (t / end) * (_WIDTH - _LABEL - 10), 1)

    parts: list[str] = []
    top = 8
    if heading:
        parts.append(
            _el("text", escape(title), x=4, y=20, font_size=16, font_weight="bold")
        )
        top += _HEADING
    notes.sort()
    note_labels = [text if len(text) <= 80 else text[:79] + "…" for _, text in notes]
    placed = _place_notes(
        [
            (x(t), text_width(label, _NOTE))
            for (t, _), label in zip(notes, note_labels, strict=True)
        ],
        _WIDTH - 4,
    )
    rows = max((note.row + 1 for note in placed), default=0)
    top += rows * _NOTE_ROW + 4
    y = top
    for peer, lanes in peers:
        parts.append(_el("text", escape(peer), x=4, y=y + 12, font_weight="bold"))
        y += _LANE + _GAP
        for lane in lanes:
            parts.append(_el("text", escape(lane.name), x=14, y=y + 13))
            segments = [(0.0, lane.initial, "before the first change"), *lane.changes]
            for index, (start, state, why) in enumerate(segments):
                stop = segments[index + 1][0] if index + 1 < len(segments) else end
                tip = f"{lane.name}: {state} from {start:.3f} s to {stop:.3f} s"
                if why:
                    tip += f"\nbecause {why}"
                width = max(x(stop) - x(start), 1)
                tooltip = _el("title", escape(tip))
                fill = COLOURS.get(state, "#9e9e9e")
                segment = [
                    _el(
                        "rect",
                        tooltip,
                        x=x(start),
                        y=y,
                        width=round(width, 1),
                        height=_LANE,
                        fill=fill,
                        stroke="#fff",
                        stroke_width=0.5,
                    )
                ]
                if width > 60:
                    segment.append(
                        _el(
                            "text",
                            escape(state),
                            x=x(start) + 3,
                            y=y + 13,
                            font_size=11,
                            fill=text_colour(fill),
                            pointer_events="none",
                        )
                    )
                parts.append(_el("g", "".join(segment), class_="segment"))
            y += _LANE + _GAP
        y += _GAP
    for (t, text), label, note in zip(notes, note_labels, placed, strict=True):
        tooltip = _el("title", escape(f"{text} at {t:.3f} s"))
        baseline = top - 7 - note.row * _NOTE_ROW
        line = {"x1": note.x, "y1": baseline - _NOTE, "x2": note.x, "y2": y}
        parts.append(
            _el("line", tooltip, **line, stroke="#333", stroke_dasharray="4 3")
        )
        parts.append(
            _el(
                "text",
                escape(label) + tooltip,
                y=baseline,
                font_size=_NOTE,
                class_="note",
                **note.anchor,
            )
        )
    step, tick = _tick(end), 0.0
    while tick <= end:  # the time axis
        label = f"{tick:g} s"
        parts.append(
            _el("text", label, x=x(tick), y=y + 14, font_size=10, text_anchor="middle")
        )
        tick += step
    legend_y = y + 24
    for index, (state, colour) in enumerate(COLOURS.items()):
        lx = _LABEL + index * 95
        parts.append(_el("rect", x=lx, y=legend_y, width=12, height=12, fill=colour))
        parts.append(_el("text", state, x=lx + 16, y=legend_y + 10, font_size=11))
    height = legend_y + 24
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" '
        f'viewBox="0 0 {_WIDTH} {height}" font-family="sans-serif" font-size="12">\n'
        f"<title>{escape(title)}</title>\n{body}\n</svg>\n"
    )


@dataclass
class _Note:
    """A note's line (at ``x``) and its label's row (0 is nearest the lanes) and
    box, from ``left`` to ``right``."""

    x: float
    row: int
    left: float
    right: float

    @property
    def anchor(self) -> dict[str, object]:
        if self.left > self.x:
            return {"x": round(self.left, 1)}
        return {"x": round(self.right, 1), "text_anchor": "end"}


def _place_notes(notes: list[tuple[float, float]], right_edge: float) -> list[_Note]:
    """Rows and sides for labels of widths ``w`` beside lines at ``x`` for each
    ``(x, w)`` in ``notes``, so that no two labels overlap and, where it can be
    had, no line crosses a label.

    A label sits right of its line, or left of it when it would pass
    ``right_edge``; in the lowest row where it fits. A line runs from its label's
    row down to the lanes, through the rows below.
    """
    placed: list[_Note] = []

    def fits(note: _Note, strict: bool) -> bool:
        if note.left < 2 or note.right > right_edge:
            return False
        for other in placed:
            if other.row == note.row and not (
                note.right + 8 <= other.left or other.right + 8 <= note.left
            ):
                return False
            if not strict:
                continue
            if other.row >= note.row and note.left - 3 <= other.x <= note.right + 3:
                return False  # the other's line would cross this label
            if other.row < note.row and other.left - 3 <= note.x <= other.right + 3:
                return False  # this line would cross the other's label
        return True

    for x, width in notes:
        sides = [(x + 3, x + 3 + width), (x - 3 - width, x - 3)]
        for strict in (True, False):
            found = next(
                (
                    note
                    for row in range(len(notes) + 1)
                    for note in (_Note(x, row, *side) for side in sides)
                    if fits(note, strict)
                ),
                None,
            )
            if found is not None:
                break
        if found is None:  # wider than the picture: a row of its own
            found = _Note(x, len(notes) + 1, *sides[0])
        placed.append(found)
    return placed


def _tick(end: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600):
        if end / step <= 12:
            return float(step)
    return end / 10


def render_html(
    items: Iterable[Mapping[str, Any]], title: str = "rtcstate timeline"
) -> str:
    """A self-contained HTML page with the SVG timeline of ``items``."""
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head>\n<body>\n<h1>{escape(title)}</h1>\n"
        "<p>Hover a segment for its state, span and cause.</p>\n"
        f"{render_svg(items, title, heading=False)}</body></html>\n"
    )


def load(path: str) -> list[dict[str, Any]]:
    """Read timeline records: JSON lines (the demo's ``--json``) or a JSON list.

    :param path: a file, or ``-`` for standard input.
    :raises ValueError: when the text is not timeline records; the message names
        the file and the line (or the list item) that is wrong.
    :raises OSError: when the file cannot be read.
    """
    name = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not UTF-8 text") from None
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{name}:{error.lineno}: not JSON ({error.msg})") from None
        if not isinstance(data, list):  # pragma: no cover (a "[" starts a list)
            raise ValueError(f"{name}: expected a JSON list of records")
        for number, record in enumerate(data, start=1):
            problem = _problem(record)
            if problem:
                raise ValueError(f"{name}: item {number}: {problem}")
        return data
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{name}:{number}: not JSON ({error.msg})") from None
        problem = _problem(record)
        if problem:
            raise ValueError(f"{name}:{number}: {problem}")
        out.append(record)
    return out


def _problem(record: object) -> str | None:
    """What is wrong with one timeline record, or None."""
    if not isinstance(record, dict):
        return f"expected a JSON object, not {type(record).__name__}"
    t = record.get("t", 0.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t):
        return f'"t" must be a number of seconds, not {json.dumps(t)}'
    kind = record.get("type")
    needed = {"state": ("attribute", "current"), "transport": ("transport", "current")}
    for key in needed.get(str(kind), ()):
        if not isinstance(record.get(key), str):
            return f'a "{kind}" record needs "{key}" (a string)'
    return None
