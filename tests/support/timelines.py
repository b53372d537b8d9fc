"""Timeline inputs shared by the renderer's tests (test_timeline.py) and its
in-browser checks (test_timeline_browser.py)."""

from __future__ import annotations

#: the demo scenarios recorded for the docs (docs/make_timelines.py)
SCENARIOS = ["blip", "connect", "permanent-cut", "recovered-move", "remote-hang-up"]


def lane(name: str, *changes: tuple[float, str]) -> list[dict[str, object]]:
    """State records of one lane of peer "p", each change a (t, state)."""
    states = ["new", *(state for _, state in changes)]
    return [
        {
            "type": "state",
            "t": t,
            "peer": "p",
            "attribute": name,
            "previous": states[index],
            "current": state,
            "cause": {"kind": "ice", "transport": "ice#0", "state": state},
        }
        for index, (t, state) in enumerate(changes)
    ]


def flapping() -> list[dict[str, object]]:
    flaps = [
        (2 + 0.3 * n, "disconnected" if n % 2 == 0 else "connected") for n in range(20)
    ]
    return [
        *lane("connectionState", (0.02, "connecting"), (0.05, "connected"), *flaps),
        *lane("iceConnectionState", (0.02, "checking"), (0.04, "connected")),
        {"type": "note", "t": 20.0, "text": "done"},
    ]
