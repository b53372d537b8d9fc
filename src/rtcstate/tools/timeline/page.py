"""The HTML page: the SVG timeline and, under it, the table of causes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

from .drawing import render_svg
from .layout import cause_text

__all__ = ["render_causes", "render_html"]

_MOMENT = 0.005  # s: the changes one cause makes are recorded this close together


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
            key = (peer, cause_text(cause))
            what = cause_text(cause)
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
