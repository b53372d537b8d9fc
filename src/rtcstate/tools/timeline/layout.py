"""Where things go: records into lanes of segments, text widths, labels placed so
that none overlaps, and the time axis's step. No drawing here."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .style import COLOURS, SEGMENT, text_width


@dataclass
class Lane:
    name: str
    initial: str
    changes: list[tuple[float, str, str]] = field(default_factory=list)  # t, state, why


@dataclass
class RttLane:
    """One ICE transport's round-trip samples and changes of its selected pair."""

    transport: str
    samples: list[tuple[float, float]] = field(default_factory=list)  # t, rtt
    pairs: list[tuple[float, str]] = field(default_factory=list)  # t, the pair

    @property
    def name(self) -> str:
        return f"{self.transport} RTT"


@dataclass
class Peer:
    lanes: list[Lane]
    rtt: list[RttLane]


def lay_out(
    items: Iterable[Mapping[str, Any]],
) -> tuple[list[tuple[str, Peer]], list[tuple[float, str]], float]:
    peers: dict[str, dict[str, Lane]] = {}
    rtts: dict[str, dict[str, RttLane]] = {}
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
                transport, RttLane(transport)
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
        lane = lanes.setdefault(name, Lane(name, str(record.get("previous", "new"))))
        if kind == "transport":
            why = str(record.get("detail") or "")
        else:
            why = cause_text(record.get("cause"))
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
        ordered.append((peer, Peer(aggregate + rest, extra)))
    return ordered, notes, end


def cause_text(cause: object) -> str:
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


def _close_with_the_connection(lanes: Mapping[str, Lane]) -> None:
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


@dataclass
class Segment:
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


def place_callouts(
    segments: list[Segment], left_edge: float, right_edge: float
) -> tuple[list[bool], list[tuple[list[Segment], str, Note]]]:
    """Which segments have room for their state's name inside, and a label below
    the lane for each run of those that have not: `"new → checking"` beside a
    line from the run's middle, in rows that do not overlap."""
    inside = [
        seg.right - seg.left >= text_width(seg.state, SEGMENT) + 6 for seg in segments
    ]
    runs: list[list[Segment]] = []
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
        if len(run) > 3 and text_width(text, SEGMENT) > (right_edge - left_edge) / 2:
            # a flapping link: the first and last, the rest in the tooltip
            text = f"{run[0].state} → … {len(run) - 2} more … → {run[-1].state}"
        texts.append(text)
    placed = place_notes(
        [
            ((run[0].left + run[-1].right) / 2, text_width(text, SEGMENT))
            for run, text in zip(runs, texts, strict=True)
        ],
        right_edge,
        left_edge,
    )
    return inside, list(zip(runs, texts, placed, strict=True))


@dataclass
class Note:
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


def place_notes(
    notes: list[tuple[float, float]], right_edge: float, left_edge: float = 2
) -> list[Note]:
    """Rows and sides for labels of widths `w` beside lines at `x` for each
    `(x, w)` in `notes`, so that no two labels overlap and, where it can be
    had, no line crosses a label.

    A label sits right of its line, or left of it when it would pass
    `right_edge`; in the lowest row where it fits. A line runs from its label's
    row down to the lanes, through the rows below.
    """
    placed: list[Note] = []

    def fits(note: Note, strict: bool) -> bool:
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
                    for note in (Note(x, row, *side) for side in sides)
                    if fits(note, strict)
                ),
                None,
            )
            if found is not None:
                break
        if found is None:  # wider than the picture: a row of its own
            found = Note(x, len(notes) + 1, *sides[0])
        placed.append(found)
    return placed


def tick(end: float) -> float:
    for step in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600):
        if end / step <= 12:
            return float(step)
    return end / 10
