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
    top += 22  # the notes' labels
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
    for t, text in notes:
        tooltip = _el("title", escape(f"{text} at {t:.3f} s"))
        line = {"x1": x(t), "y1": top - 16, "x2": x(t), "y2": y}
        parts.append(
            _el("line", tooltip, **line, stroke="#333", stroke_dasharray="4 3")
        )
        # near the right edge the label ends at the line instead of starting there
        near_edge = x(t) > _WIDTH - 200
        place = {"x": x(t) - 2, "text_anchor": "end"} if near_edge else {"x": x(t) + 2}
        parts.append(_el("text", escape(text[:60]), y=top - 8, font_size=10, **place))
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
