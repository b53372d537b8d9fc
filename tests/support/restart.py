"""Faults injected into a real peer's ICE restart."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

import rtcstate
from rtcstate import _shims


def checks_fail_at(
    monkeypatch: pytest.MonkeyPatch, failing: rtcstate.PeerConnection
) -> None:
    """The next restart's own checks at `failing` end in failure after 0.3 s,
    while its new Connection answers the remote's checks meanwhile, as aioice
    does whatever its own checks find: the remote's nominated check succeeds,
    and the restart succeeds there only (what a one-way path, or aioice's
    "source address mismatch" on the remote's candidates, does)."""
    original = _shims.fresh_connection
    ice = failing.sctp.transport.transport

    def fresh(old: Any, controlling: bool) -> Any:
        new = original(old, controlling)
        if old is _shims.connection(ice):
            real = new.connect

            async def connect() -> None:
                task = asyncio.ensure_future(real())
                await asyncio.sleep(0.3)
                task.cancel()
                raise ConnectionError("ICE negotiation failed (injected)")

            new.connect = connect
        return new

    monkeypatch.setattr(_shims, "fresh_connection", fresh)


@dataclass
class Peers:
    """Two rtcstate peers with a data channel each way, and the numbered messages
    sent on it."""

    a: rtcstate.PeerConnection  # offered first
    b: rtcstate.PeerConnection
    channel_a: Any = None
    channel_b: Any = None
    at_a: list[str] = field(default_factory=list)  # what a received
    at_b: list[str] = field(default_factory=list)
    sent: int = 0

    def send(self, n: int) -> None:
        """`n` numbered messages each way."""
        for _ in range(n):
            self.channel_a.send(f"m{self.sent}")
            self.channel_b.send(f"m{self.sent}")
            self.sent += 1

    async def delivered(self, timeout: float = 10.0) -> None:
        """Wait until every message sent arrived, both ways, in order."""
        expected = [f"m{i}" for i in range(self.sent)]
        for _ in range(int(timeout / 0.02)):
            if self.at_a == expected and self.at_b == expected:
                return
            await asyncio.sleep(0.02)
        assert self.at_b == expected
        assert self.at_a == expected
