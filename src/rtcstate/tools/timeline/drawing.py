"""The SVG: lanes of coloured segments, callouts, notes, RTT lanes, the time
axis and the legend, drawn where layout.py put them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from html import escape
from typing import Any

from .layout import (
    Lane,
    Note,
    Peer,
    RttLane,
    Segment,
    lay_out,
    place_callouts,
    place_notes,
    tick,
)
from .style import (
    CALLOUT_ROW,
    COLOURS,
    GAP,
    HEADING,
    LANE,
    NOTE,
    NOTE_ROW,
    SEGMENT,
    text_colour,
    text_width,
)

__all__ = ["render_svg"]


def _el(tag: str, text: str | None = None, /, **attrs: object) -> str:
    """One SVG element; `font_size=` gives `font-size=`, `class_=` `class=`."""
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
    peers, notes, end = lay_out(list(items))
    picture = _Picture(peers, max(end * 1.05, 0.5), width)
    top = 8
    if heading:
        picture.over.append(
            _el("text", escape(title), x=4, y=20, font_size=16, font_weight="bold")
        )
        top += HEADING
    notes.sort()
    labels = [text if len(text) <= 80 else text[:79] + "…" for _, text in notes]
    placed = place_notes(
        [
            (picture.x(t), text_width(label, NOTE))
            for (t, _), label in zip(notes, labels, strict=True)
        ],
        width - 4,
    )
    top += max((note.row + 1 for note in placed), default=0) * NOTE_ROW + 4
    y = top
    for peer, peer_lanes in peers:
        picture.over.append(
            _el("text", escape(peer), x=4, y=y + 13, font_weight="bold")
        )
        y += LANE + GAP
        for lane in peer_lanes.lanes:
            y = picture.state_lane(lane, y)
        for rtt_lane in peer_lanes.rtt:
            y = _rtt_lane(rtt_lane, y, picture.x, width, picture.under, picture.over)
        y += GAP
    for (t, text), label, note in zip(notes, labels, placed, strict=True):
        picture.note(t, text, label, note, top, y)
    height = picture.axis_and_legend(y)
    body = "\n".join(picture.under + picture.over)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">\n'
        f"<title>{escape(title)}</title>\n{body}\n</svg>\n"
    )


class _Picture:
    """The SVG being drawn: what goes under (segments, lines) and over (text),
    and the time scale."""

    def __init__(self, peers: list[tuple[str, Peer]], end: float, width: int) -> None:
        names = [
            text_width(name, 12) + 14
            for _, peer_lanes in peers
            for name in [
                *(lane.name for lane in peer_lanes.lanes),
                *(lane.name for lane in peer_lanes.rtt),
            ]
        ]
        names += [text_width(peer, 12, bold=True) + 4 for peer, _ in peers]
        self.plot_left = round(max(names, default=0) + 12)
        self.plot_right = width - 10
        self.end = end
        self.width = width
        self.under: list[str] = []  # segments
        self.over: list[str] = []  # what is written on them, over the notes' lines

    def x(self, t: float) -> float:
        span = self.plot_right - self.plot_left
        return round(self.plot_left + (t / self.end) * span, 1)

    def state_lane(self, lane: Lane, y: int) -> int:
        """One lane of states at `y`, with the callouts below it; returns the
        `y` of the next lane."""
        x, under, over = self.x, self.under, self.over
        over.append(_el("text", escape(lane.name), x=14, y=y + 13))
        changes = [(0.0, lane.initial, "before the first change"), *lane.changes]
        segments = [
            Segment(lane.name, start, stop, state, why, x(start), x(stop))
            for (start, state, why), (stop, _, _) in zip(
                changes, [*changes[1:], (self.end, "", "")], strict=True
            )
        ]
        inside, callouts = place_callouts(segments, self.plot_left, self.width - 4)
        for seg, fits in zip(segments, inside, strict=True):
            under.append(
                _el(
                    "rect",
                    _el("title", escape(seg.tip)),
                    x=seg.left,
                    y=y,
                    width=round(max(seg.right - seg.left, 1), 1),
                    height=LANE,
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
                        font_size=SEGMENT,
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
        bottom = y + LANE
        for run, text, note in callouts:
            baseline = bottom + 12 + note.row * CALLOUT_ROW
            line: dict[str, object] = {
                "x1": note.x,
                "y1": bottom,
                "x2": note.x,
                "y2": baseline - 3,
            }
            over.append(_el("line", **line, stroke="#555", stroke_width=1))
            tip = "\n".join(seg.tip for seg in run)
            over.append(_blank(note, baseline, SEGMENT))
            over.append(
                _el(
                    "text",
                    escape(text) + _el("title", escape(tip)),
                    y=baseline,
                    font_size=SEGMENT,
                    class_="callout",
                    **note.anchor,
                )
            )
        rows = max((note.row + 1 for _, _, note in callouts), default=0)
        return bottom + rows * CALLOUT_ROW + (3 if rows else 0) + GAP

    def note(
        self, t: float, text: str, label: str, note: Note, top: int, bottom: int
    ) -> None:
        """A note's label above the lanes and its line down through them."""
        tooltip = _el("title", escape(f"{text} at {t:.3f} s"))
        baseline = top - 7 - note.row * NOTE_ROW
        line = {"x1": note.x, "y1": baseline - NOTE, "x2": note.x, "y2": bottom}
        self.under.append(
            _el("line", tooltip, **line, stroke="#333", stroke_dasharray="4 3")
        )
        self.over.append(_blank(note, baseline, NOTE))
        self.over.append(
            _el(
                "text",
                escape(label) + tooltip,
                y=baseline,
                font_size=NOTE,
                class_="note",
                **note.anchor,
            )
        )

    def axis_and_legend(self, y: int) -> int:
        """The time axis at `y` and the colours' legend under it; returns the
        picture's height."""
        step = tick(self.end)
        for index in range(int(self.end / step + 1e-9) + 1):
            label = f"{index * step:g} s"
            self.over.append(
                _el(
                    "text",
                    label,
                    x=self.x(index * step),
                    y=y + 14,
                    font_size=11,
                    text_anchor="middle",
                )
            )
        legend_x, legend_y = self.plot_left, y + 26
        for state, colour in COLOURS.items():
            room = 16 + text_width(state, 11) + 16
            if legend_x + room > self.width and legend_x > self.plot_left:
                legend_x, legend_y = self.plot_left, legend_y + 18
            self.over.append(
                _el("rect", x=legend_x, y=legend_y, width=12, height=12, fill=colour)
            )
            self.over.append(
                _el("text", state, x=legend_x + 16, y=legend_y + 10, font_size=11)
            )
            legend_x += round(room)
        return legend_y + 22


RTT_LANE = 34  # height of an RTT lane
_PAIR_MARK = "#6a1b9a"  # a change of the selected pair


def _rtt_lane(
    lane: RttLane,
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
            height=RTT_LANE,
            fill="#f5f5f5",
            class_="rtt-lane",
        )
    )
    samples = lane.samples
    if samples:
        top = max(rtt for _, rtt in samples) or 1.0

        def level(rtt: float) -> float:
            return round(y + RTT_LANE - 3 - (rtt / top) * (RTT_LANE - 6), 1)

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
                font_size=NOTE,
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
                d=f"M{at},{y} l-4,-5 h8 z M{at},{y} v{RTT_LANE}",
                fill=_PAIR_MARK,
                stroke=_PAIR_MARK,
                stroke_width=1.5,
                class_="pair-change",
            )
        )
    return y + RTT_LANE + 2 * GAP


def _blank(label: Note, baseline: float, size: float) -> str:
    """White under a label, so that the notes' lines do not cross it."""
    return _el(
        "rect",
        x=round(label.left - 1, 1),
        y=round(baseline - size, 1),
        width=round(label.right - label.left + 2, 1),
        height=round(size * 1.3, 1),
        fill="#fff",
    )
