"""Peers on this machine: their configuration, what they fire, what they leave
behind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiortc import RTCConfiguration

import rtcstate


def config(**kwargs: object) -> RTCConfiguration:
    """No STUN/TURN server: peers only gather this machine's own addresses
    (``kwargs``: the configuration's other fields)."""
    return RTCConfiguration(iceServers=[], **kwargs)  # type: ignore[arg-type]


class Recorder:
    """Records (event, value) of the two state events, as a web-platform test does."""

    def __init__(self, emitter: object) -> None:
        self.events: list[tuple[str, str]] = []
        self.changes: list[rtcstate.StateChange] = []
        for name in ("iceconnectionstatechange", "connectionstatechange"):
            emitter.on(name, self._make(name))  # type: ignore[attr-defined]

    def _make(self, name: str) -> Callable[[rtcstate.StateChange], None]:
        def handler(change: rtcstate.StateChange) -> None:
            self.events.append((name, str(change.current)))
            self.changes.append(change)

        return handler

    def values(self, name: str) -> list[str]:
        return [value for event, value in self.events if event == name]


async def tasks_left(grace: float = 2.0) -> list[asyncio.Task[object]]:
    """Tasks other than the test's own still pending after `grace` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while True:
        left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not left or loop.time() > deadline:
            return left
        await asyncio.sleep(0.02)
