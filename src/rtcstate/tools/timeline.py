"""Render a recorded history as a self-contained SVG timeline (or an HTML page).

One lane per ICE and DTLS transport and one for each aggregate state, per peer,
coloured by state; hovering a segment shows its state, its span and the cause
of the change that began it. Under them, an RTT lane for each ICE transport with
round-trip samples (`"rtt"` records: the selected pair's `currentRoundTripTime` at
each answered keepalive), where a mark shows each change of the selected pair
(`"pair"` records: the `selectedcandidatepairchange` event).
[`render_causes`][rtcstate.tools.timeline.render_causes] shows the causes as a table,
which the HTML page has under the picture. The input is what `rtcstate demo --json`
prints, or what [`records`][rtcstate.tools.timeline.records] makes from a connection's
`state_history` and `transport_history`.

```sh
rtcstate demo --cut-after 2 --cut-for 4 --json > blip.jsonl
rtcstate timeline blip.jsonl -o blip.html
```
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..api import StateAPI
from ..events import SelectedCandidatePair

__all__ = [
    "load",
    "pair_record",
    "records",
    "render_causes",
    "render_html",
    "render_svg",
]

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
_LANE, _GAP, _HEADING = 18, 6, 28  # heights
_NOTE, _NOTE_ROW = 11, 15  # the notes' font size and row height
_SEGMENT, _CALLOUT_ROW = 11, 14  # the states' font size; rows below a lane
_MOMENT = 0.005  # s: the changes one cause makes are recorded this close together


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


def pair_record(
    pair: SelectedCandidatePair, peer: str, origin: float, kind: str = "pair"
) -> dict[str, Any]:
    """A `"pair"` record (a change of the selected pair) or, with `kind="rtt"`,
    an `"rtt"` record (a round-trip sample) of a
    [`SelectedCandidatePair`][rtcstate.SelectedCandidatePair]."""
    record: dict[str, Any] = {
        "type": kind,
        "t": round(pair.time - origin, 4),
        "peer": peer,
        "transport": pair.transport,
        "rtt": pair.current_round_trip_time,
    }
    if kind == "pair":
        record["local"] = str(pair.local)
        record["remote"] = str(pair.remote)
    return record


def records(
    pc: StateAPI,
    peer: str = "local",
    start: float | None = None,
    *,
    selections: Iterable[SelectedCandidatePair] = (),
    round_trips: Iterable[SelectedCandidatePair | None] = (),
) -> list[dict[str, Any]]:
    """A connection's histories as timeline records (the demo's JSON format).

    :param start: the time that becomes t = 0 (default: the first change).
    :param selections: the records of its `"selectedcandidatepairchange"`
        events, which become `"pair"` records (the histories do not keep them).
    :param round_trips: readings of
        [`get_selected_candidate_pair`][rtcstate.api.StateAPI.get_selected_candidate_pair],
        which become `"rtt"` samples (those with a round trip; `None`, no
        pair selected, is skipped).
    """
    states = pc.state_history
    transports = pc.transport_history
    times = [c.time for c in states] + [c.time for c in transports]
    origin = start if start is not None else min(times, default=0.0)
    out: list[dict[str, Any]] = [pair_record(p, peer, origin) for p in selections]
    out += [
        pair_record(p, peer, origin, "rtt")
        for p in round_trips
        if p is not None and p.current_round_trip_time is not None
    ]
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


@dataclass
class _RttLane:
    """One ICE transport's round-trip samples and changes of its selected pair."""

    transport: str
    samples: list[tuple[float, float]] = field(default_factory=list)  # t, rtt
    pairs: list[tuple[float, str]] = field(default_factory=list)  # t, the pair

    @property
    def name(self) -> str:
        return f"{self.transport} RTT"


@dataclass
class _Peer:
    lanes: list[_Lane]
    rtt: list[_RttLane]


def _lanes(
    items: Iterable[Mapping[str, Any]],
) -> tuple[list[tuple[str, _Peer]], list[tuple[float, str]], float]:
    peers: dict[str, dict[str, _Lane]] = {}
    rtts: dict[str, dict[str, _RttLane]] = {}
    notes: list[tuple[float, str]] = []
    end = 0.0
    for record in items:
        kind = record.get("type")
        t = float(record.get("t", 0.0))
        end = max(end, t)
        if kind == "note":
            notes.append((t, str(record.get("text", ""))))
            continue
        if kind in ("rtt", "pair"):
            peer = str(record.get("peer", "local"))
            transport = str(record.get("transport", "ice"))
            peers.setdefault(peer, {})
            lane_rtt = rtts.setdefault(peer, {}).setdefault(
                transport, _RttLane(transport)
            )
            rtt = record.get("rtt")
            if kind == "pair":
                pair = f"{record.get('local')} -> {record.get('remote')}"
                lane_rtt.pairs.append((t, pair))
            elif isinstance(rtt, (int, float)) and math.isfinite(rtt):
                lane_rtt.samples.append((t, float(rtt)))
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
        extra = sorted(rtts.get(peer, {}).values(), key=lambda lane: lane.transport)
        ordered.append((peer, _Peer(aggregate + rest, extra)))
    return ordered, notes, end


def _cause_text(cause: object) -> str:
    """A state record's cause as [`Cause`][rtcstate.Cause] prints it."""
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
    """End every lane at `closed` when the connection closes.

    `close()` closes every transport, but the histories record only the two
    aggregate states' change to `closed`, no transport change; without this a
    closed connection's transports would go on showing `connected`.
    """
    main = lanes.get("connectionState")
    if main is None or not main.changes or main.changes[-1][1] != "closed":
        return
    closed_at = main.changes[-1][0]
    for lane in lanes.values():
        last = lane.changes[-1] if lane.changes else (0.0, lane.initial, "")
        if last[1] != "closed" and last[0] <= closed_at:
            lane.changes.append((closed_at, "closed", "close() called"))


def _el(tag: str, text: str | None = None, /, **attrs: object) -> str:
    """One SVG element; `font_size=` gives `font-size=`, `class_=` `class=`."""
    rendered = " ".join(
        f'{k.rstrip("_").replace("_", "-")}="{escape(str(v))}"'
        for k, v in attrs.items()
    )
    if text is None:
        return f"<{tag} {rendered}/>"
    return f"<{tag} {rendered}>{text}</{tag}>"


@dataclass
class _Segment:
    lane: str
    start: float
    stop: float
    state: str
    why: str
    left: float = 0.0  # in pixels
    right: float = 0.0

    @property
    def fill(self) -> str:
        return COLOURS.get(self.state, "#9e9e9e")

    @property
    def tip(self) -> str:
        tip = f"{self.lane}: {self.state} from {self.start:.3f} s to {self.stop:.3f} s"
        return f"{tip}\nbecause {self.why}" if self.why else tip


def _callouts(
    segments: list[_Segment], left_edge: float, right_edge: float
) -> tuple[list[bool], list[tuple[list[_Segment], str, _Note]]]:
    """Which segments have room for their state's name inside, and a label below
    the lane for each run of those that have not: `"new → checking"` beside a
    line from the run's middle, in rows that do not overlap."""
    inside = [
        seg.right - seg.left >= text_width(seg.state, _SEGMENT) + 6 for seg in segments
    ]
    runs: list[list[_Segment]] = []
    for index, seg in enumerate(segments):
        if inside[index]:
            continue
        if index and not inside[index - 1]:
            runs[-1].append(seg)  # the previous segment's run goes on
        else:
            runs.append([seg])
    texts = []
    for run in runs:
        text = " → ".join(seg.state for seg in run)
        if len(run) > 3 and text_width(text, _SEGMENT) > (right_edge - left_edge) / 2:
            # a flapping link: the first and last, the rest in the tooltip
            text = f"{run[0].state} → … {len(run) - 2} more … → {run[-1].state}"
        texts.append(text)
    placed = _place_notes(
        [
            ((run[0].left + run[-1].right) / 2, text_width(text, _SEGMENT))
            for run, text in zip(runs, texts, strict=True)
        ],
        right_edge,
        left_edge,
    )
    return inside, list(zip(runs, texts, placed, strict=True))


def render_svg(
    items: Iterable[Mapping[str, Any]],
    title: str = "rtcstate timeline",
    *,
    heading: bool = True,
    width: int = 1000,
) -> str:
    """An SVG document of the timeline of `items` (timeline records).

    Each state's name is written inside its segment, or, where the segment is
    too short for it, below the lane beside a line to the segment.

    :param title: the document's title, and its heading.
    :param heading: whether to show the title as a heading (a page around the
        image may show it instead).
    :param width: the picture's width in pixels.
    """
    peers, notes, end = _lanes(list(items))
    end = max(end * 1.05, 0.5)
    names = [
        text_width(name, 12) + 14
        for _, peer_lanes in peers
        for name in [
            *(lane.name for lane in peer_lanes.lanes),
            *(lane.name for lane in peer_lanes.rtt),
        ]
    ]
    names += [text_width(peer, 12, bold=True) + 4 for peer, _ in peers]
    plot_left = round(max(names, default=0) + 12)
    plot_right = width - 10

    def x(t: float) -> float:
        return round(plot_left + (t / end) * (plot_right - plot_left), 1)

    under: list[str] = []  # segments
    over: list[str] = []  # what is written on them, over the notes' lines
    top = 8
    if heading:
        over.append(
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
        width - 4,
    )
    rows = max((note.row + 1 for note in placed), default=0)
    top += rows * _NOTE_ROW + 4
    y = top
    for peer, peer_lanes in peers:
        over.append(_el("text", escape(peer), x=4, y=y + 13, font_weight="bold"))
        y += _LANE + _GAP
        for lane in peer_lanes.lanes:
            over.append(_el("text", escape(lane.name), x=14, y=y + 13))
            changes = [(0.0, lane.initial, "before the first change"), *lane.changes]
            segments = [
                _Segment(lane.name, start, stop, state, why, x(start), x(stop))
                for (start, state, why), (stop, _, _) in zip(
                    changes, [*changes[1:], (end, "", "")], strict=True
                )
            ]
            inside, callouts = _callouts(segments, plot_left, width - 4)
            for seg, fits in zip(segments, inside, strict=True):
                under.append(
                    _el(
                        "rect",
                        _el("title", escape(seg.tip)),
                        x=seg.left,
                        y=y,
                        width=round(max(seg.right - seg.left, 1), 1),
                        height=_LANE,
                        fill=seg.fill,
                        stroke="#fff",
                        stroke_width=0.5,
                        class_="segment",
                    )
                )
                if fits:
                    over.append(
                        _el(
                            "text",
                            escape(seg.state),
                            x=seg.left + 3,
                            y=y + 13,
                            font_size=_SEGMENT,
                            fill=text_colour(seg.fill),
                            # a halo of the segment's colour hides the notes' lines
                            stroke=seg.fill,
                            stroke_width=3,
                            stroke_linejoin="round",
                            paint_order="stroke",
                            pointer_events="none",
                            class_="label",
                        )
                    )
            bottom = y + _LANE
            for run, text, note in callouts:
                baseline = bottom + 12 + note.row * _CALLOUT_ROW
                line: dict[str, object] = {
                    "x1": note.x,
                    "y1": bottom,
                    "x2": note.x,
                    "y2": baseline - 3,
                }
                over.append(_el("line", **line, stroke="#555", stroke_width=1))
                tip = "\n".join(seg.tip for seg in run)
                over.append(_blank(note, baseline, _SEGMENT))
                over.append(
                    _el(
                        "text",
                        escape(text) + _el("title", escape(tip)),
                        y=baseline,
                        font_size=_SEGMENT,
                        class_="callout",
                        **note.anchor,
                    )
                )
            rows = max((note.row + 1 for _, _, note in callouts), default=0)
            y = bottom + rows * _CALLOUT_ROW + (3 if rows else 0) + _GAP
        for rtt_lane in peer_lanes.rtt:
            y = _rtt_lane(rtt_lane, y, x, width, under, over)
        y += _GAP
    for (t, text), label, note in zip(notes, note_labels, placed, strict=True):
        tooltip = _el("title", escape(f"{text} at {t:.3f} s"))
        baseline = top - 7 - note.row * _NOTE_ROW
        line = {"x1": note.x, "y1": baseline - _NOTE, "x2": note.x, "y2": y}
        under.append(
            _el("line", tooltip, **line, stroke="#333", stroke_dasharray="4 3")
        )
        over.append(_blank(note, baseline, _NOTE))
        over.append(
            _el(
                "text",
                escape(label) + tooltip,
                y=baseline,
                font_size=_NOTE,
                class_="note",
                **note.anchor,
            )
        )
    step = _tick(end)
    for index in range(int(end / step + 1e-9) + 1):  # the time axis
        label = f"{index * step:g} s"
        at = x(index * step)
        over.append(
            _el("text", label, x=at, y=y + 14, font_size=11, text_anchor="middle")
        )
    legend_x, legend_y = plot_left, y + 26
    for state, colour in COLOURS.items():
        room = 16 + text_width(state, 11) + 16
        if legend_x + room > width and legend_x > plot_left:
            legend_x, legend_y = plot_left, legend_y + 18
        over.append(
            _el("rect", x=legend_x, y=legend_y, width=12, height=12, fill=colour)
        )
        over.append(_el("text", state, x=legend_x + 16, y=legend_y + 10, font_size=11))
        legend_x += round(room)
    height = legend_y + 22
    body = "\n".join(under + over)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">\n'
        f"<title>{escape(title)}</title>\n{body}\n</svg>\n"
    )


_RTT_LANE = 34  # height of an RTT lane
_PAIR_MARK = "#6a1b9a"  # a change of the selected pair


def _rtt_lane(
    lane: _RttLane,
    y: int,
    x: Callable[[float], float],
    width: int,
    under: list[str],
    over: list[str],
) -> int:
    """Draw one RTT lane at `y`: the samples as a line scaled to the lane's
    largest, its range written at the right, and a mark at each change of the
    selected pair; return the `y` of the next lane."""
    over.append(_el("text", escape(lane.name), x=14, y=y + 13))
    left, right = x(0.0), width - 4
    under.append(
        _el(
            "rect",
            x=left,
            y=y,
            width=round(right - left, 1),
            height=_RTT_LANE,
            fill="#f5f5f5",
            class_="rtt-lane",
        )
    )
    samples = lane.samples
    if samples:
        top = max(rtt for _, rtt in samples) or 1.0

        def level(rtt: float) -> float:
            return round(y + _RTT_LANE - 3 - (rtt / top) * (_RTT_LANE - 6), 1)

        points = " ".join(f"{x(t)},{level(rtt)}" for t, rtt in samples)
        values = sorted(rtt for _, rtt in samples)
        median = values[len(values) // 2]
        summary = (
            f"RTT {1000 * values[0]:.1f} to {1000 * values[-1]:.1f} ms, median "
            f"{1000 * median:.1f} ms, {len(values)} samples"
        )
        under.append(
            _el(
                "polyline",
                _el("title", escape(f"{lane.transport}: {summary}")),
                points=points,
                fill="none",
                stroke="#1565c0",
                stroke_width=1.5,
                class_="rtt",
            )
        )
        label = f"max {1000 * values[-1]:.1f} ms"
        over.append(
            _el(
                "text",
                escape(label) + _el("title", escape(summary)),
                x=round(right - 3, 1),
                y=y + 11,
                font_size=_NOTE,
                text_anchor="end",
                class_="rtt-max",
            )
        )
    for t, pair in lane.pairs:
        at = x(t)
        tip = f"{lane.transport}: selected pair {pair} at {t:.3f} s"
        over.append(
            _el(
                "path",
                _el("title", escape(tip)),
                d=f"M{at},{y} l-4,-5 h8 z M{at},{y} v{_RTT_LANE}",
                fill=_PAIR_MARK,
                stroke=_PAIR_MARK,
                stroke_width=1.5,
                class_="pair-change",
            )
        )
    return y + _RTT_LANE + 2 * _GAP


@dataclass
class _Note:
    """A note's line (at `x`) and its label's row (0 is nearest the lanes) and
    box, from `left` to `right`."""

    x: float
    row: int
    left: float
    right: float

    @property
    def anchor(self) -> dict[str, object]:
        if self.left > self.x:
            return {"x": round(self.left, 1)}
        return {"x": round(self.right, 1), "text_anchor": "end"}


def _place_notes(
    notes: list[tuple[float, float]], right_edge: float, left_edge: float = 2
) -> list[_Note]:
    """Rows and sides for labels of widths `w` beside lines at `x` for each
    `(x, w)` in `notes`, so that no two labels overlap and, where it can be
    had, no line crosses a label.

    A label sits right of its line, or left of it when it would pass
    `right_edge`; in the lowest row where it fits. A line runs from its label's
    row down to the lanes, through the rows below.
    """
    placed: list[_Note] = []

    def fits(note: _Note, strict: bool) -> bool:
        if note.left < left_edge or note.right > right_edge:
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


def _blank(label: _Note, baseline: float, size: float) -> str:
    """White under a label, so that the notes' lines do not cross it."""
    return _el(
        "rect",
        x=round(label.left - 1, 1),
        y=round(baseline - size, 1),
        width=round(label.right - label.left + 2, 1),
        height=round(size * 1.3, 1),
        fill="#fff",
    )


def _tick(end: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600):
        if end / step <= 12:
            return float(step)
    return end / 10


def render_html(
    items: Iterable[Mapping[str, Any]], title: str = "rtcstate timeline"
) -> str:
    """A self-contained HTML page: the SVG timeline of `items`, and under it
    the table of what happened
    ([`render_causes`][rtcstate.tools.timeline.render_causes])."""
    items = list(items)
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>\n<style>{_PAGE_STYLE}</style></head>\n"
        f"<body>\n<h1>{escape(title)}</h1>\n"
        "<p>Hover a segment for its state, span and cause.</p>\n"
        f"{render_svg(items, title, heading=False)}"
        f"<h2>What happened</h2>\n{render_causes(items)}</body></html>\n"
    )


_PAGE_STYLE = (
    "body{font-family:sans-serif}"
    "table{border-collapse:collapse;font-size:14px}"
    "th,td{text-align:left;vertical-align:top;padding:3px 10px;"
    "border-bottom:1px solid #ddd}"
)


@dataclass
class _Moment:
    """A row of the table of causes: one cause, at one moment, at one peer."""

    t: float
    peer: str
    key: tuple[object, ...] | None
    what: str
    changed: list[str] = field(default_factory=list)


def render_causes(items: Iterable[Mapping[str, Any]]) -> str:
    """An HTML table of what happened: the notes, and each transport change or
    `close()` with the changes of `connectionState` and
    `iceConnectionState` it caused, one row for each.

    The timeline shows the same on hover; the table shows it all at once.
    """
    moments: list[_Moment] = []
    with_transports = set()
    ordered = sorted(
        (
            item
            for item in items
            if item.get("type") in ("note", "state", "transport", "pair")
        ),
        key=lambda item: float(item.get("t", 0.0)),
    )
    for item in ordered:
        t = float(item.get("t", 0.0))
        if item["type"] == "note":
            moments.append(_Moment(t, "", None, str(item.get("text", ""))))
            continue
        if item["type"] == "pair":
            what = (
                f"{item.get('transport')}: selected pair {item.get('local')} -> "
                f"{item.get('remote')}"
            )
            peer = str(item.get("peer", "local"))
            moments.append(_Moment(t, peer, (peer, "pair", t), what))
            continue
        peer = str(item.get("peer", "local"))
        change = None
        if item["type"] == "transport":
            with_transports.add(peer)
            cause: Mapping[str, Any] = {
                "transport": item.get("transport"),
                "state": item.get("current"),
                "detail": item.get("detail"),
            }
        else:
            found = item.get("cause")
            cause = found if isinstance(found, Mapping) else {"text": str(found)}
            change = f"{item['attribute']} → {item['current']}"
        if cause.get("kind") == "close":
            key: tuple[object, ...] = (peer, "close")
            what = "close() called"
        elif cause.get("transport"):
            key = (peer, cause["transport"], cause.get("state"), cause.get("detail"))
            what = f"{cause['transport']} → {cause.get('state')}"
            what += f": {cause['detail']}" if cause.get("detail") else ""
        else:
            key = (peer, _cause_text(cause))
            what = _cause_text(cause)
        moment = next(
            (m for m in reversed(moments) if m.t >= t - _MOMENT and m.key == key),
            None,
        )
        if moment is None:
            moment = _Moment(t, peer, key, what)
            moments.append(moment)
        if change:
            moment.changed.append(change)
    rows = []
    for m in moments:
        at = f"<td style='white-space:nowrap'>{m.t:.3f} s</td>"
        if m.key is None:
            rows.append(
                f"<tr>{at}<td></td><td colspan='2'><em>{escape(m.what)}</em></td></tr>"
            )
            continue
        changed = list(m.changed)
        if m.key[1:] == ("close",) and m.peer in with_transports:
            changed.append("every transport → closed")
        rows.append(
            f"<tr>{at}<td>{escape(m.peer)}</td><td>{escape(m.what)}</td>"
            f"<td>{escape(', '.join(changed)) or '—'}</td></tr>"
        )
    return (
        "<table>\n<thead><tr><th>t</th><th>peer</th><th>what happened</th>"
        "<th>what it changed</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>\n"
    )


def load(path: str) -> list[dict[str, Any]]:
    """Read timeline records: JSON lines (the demo's `--json`) or a JSON list.

    :param path: a file, or `-` for standard input.
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
    needed = {
        "state": ("attribute", "current"),
        "transport": ("transport", "current"),
        "rtt": ("transport",),
        "pair": ("transport",),
    }
    for key in needed.get(str(kind), ()):
        if not isinstance(record.get(key), str):
            return f'a "{kind}" record needs "{key}" (a string)'
    rtt = record.get("rtt")
    if kind == "rtt" and (
        isinstance(rtt, bool)
        or not isinstance(rtt, (int, float))
        or not math.isfinite(rtt)
    ):
        return (
            f'an "rtt" record needs "rtt", a number of seconds, not {json.dumps(rtt)}'
        )
    return None
