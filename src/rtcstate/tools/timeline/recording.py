"""Timeline records: made from a connection's histories, or read from JSON."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable
from typing import Any

from ..._events import SelectedCandidatePair
from ..._frontend import StateAPI

__all__ = ["load", "pair_record", "records"]


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
        [`get_selected_candidate_pair`][rtcstate._frontend.StateAPI.get_selected_candidate_pair],
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

    def record(type_: str, time: float, /, **fields: Any) -> None:
        out.append({"type": type_, "t": time - origin, "peer": peer, **fields})

    for t in transports:
        record(
            "transport",
            t.time,
            kind=t.kind,
            transport=t.transport,
            previous=t.previous,
            current=t.current,
            detail=t.detail,
        )
    for s in states:
        cause = s.cause
        record(
            "state",
            s.time,
            attribute=s.attribute,
            previous=str(s.previous),
            current=str(s.current),
            cause={
                "kind": cause.kind,
                "transport": cause.transport,
                "state": cause.state,
                "detail": cause.detail,
            },
        )
    return sorted(out, key=lambda r: float(r["t"]))


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
