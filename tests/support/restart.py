"""Faults injected into a real peer's ICE restart."""

from __future__ import annotations

import asyncio
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
