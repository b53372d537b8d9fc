"""Data a channel queued during an outage moves as soon as the path is back, not
at SCTP's next retransmission timer."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

import rtcstate
from rtcstate import _resend, _shims
from rtcstate.testing import FAST_LIVENESS, FaultyLink, connect
from tests.support.peers import config

pytestmark = pytest.mark.asyncio

# disconnected after 0.6 s of silence, failed only after 10 s: the outage below
# ends connected, by liveness alone
LIVENESS = dataclasses.replace(FAST_LIVENESS, failed_timeout=10.0)


@pytest.mark.timeout(30)
async def test_what_was_sent_during_an_outage_arrives_within_a_round_trip() -> None:
    """aiortc's SCTP retransmits at its T3 timer, an RTO of at least 1 s after the
    last try: before, the messages of a 3.1 s outage arrived about 0.9 s after
    connected (the timer's next tick)."""
    a = rtcstate.PeerConnection(config(), liveness=LIVENESS)
    b = rtcstate.PeerConnection(config(), liveness=LIVENESS)
    received: list[str] = []
    arrived = asyncio.Event()
    channel = a.createDataChannel("queued")
    opened = asyncio.Event()
    channel.on("open", opened.set)

    @b.on("datachannel")
    def on_datachannel(remote: Any) -> None:
        @remote.on("message")
        def on_message(message: str) -> None:
            received.append(message)
            if len(received) == 10:
                arrived.set()

    loop = asyncio.get_running_loop()
    try:
        async with FaultyLink() as link:
            await connect(a, b, link=link)
            await asyncio.wait_for(opened.wait(), 10)
            link.cut()
            for i in range(10):  # into the outage: retransmitted at 1 s ticks
                channel.send(f"m{i}")
            await asyncio.sleep(3.1)  # between two ticks of the timer
            link.restore()
            await a.wait_for_connection_state("disconnected", "connected", timeout=1)
            await a.wait_for_connection_state("connected", timeout=5)
            back = loop.time()
            await asyncio.wait_for(arrived.wait(), 5)
            late = loop.time() - back
            print(f"\ndelivered {1000 * late:.0f} ms after connected")
            assert received == [f"m{i}" for i in range(10)]
            assert late < 0.5
            states = [
                c.current for c in a.state_history if c.attribute == "connectionState"
            ]
            assert states[-2:] == ["disconnected", "connected"]  # no restart
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_nothing_is_resent_when_nothing_waits(
    connected_pair: tuple[rtcstate.PeerConnection, rtcstate.PeerConnection],
) -> None:
    a, _ = connected_pair
    assert _shims.resend_sctp(a.sctp) is None


async def test_nothing_is_resent_over_a_dtls_transport_no_longer_connected(
    connected_pair: tuple[rtcstate.PeerConnection, rtcstate.PeerConnection],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiortc's retransmission over a DTLS transport already shut down fails in a
    task of its own ("protocol is shutdown"): the resend is not even tried."""
    a, _ = connected_pair
    assert a.sctp is not None
    transport = a.sctp.transport.transport
    tried: list[object] = []
    monkeypatch.setattr(
        _shims, "resend_sctp", lambda sctp, acked=None: tried.append(sctp)
    )
    errors: list[str] = []

    def resend() -> None:
        _resend.resend_after_outage(
            a, transport, lambda: False, lambda what, exc: errors.append(what)
        )

    resend()
    assert tried == [a.sctp]  # connected: it goes
    await a.sctp.transport.stop()
    for _ in range(50):  # aiortc reads closed once its receiving task ends
        if a.sctp.transport.state != "connected":
            break
        await asyncio.sleep(0.01)
    assert a.sctp.transport.state == "closed"
    resend()
    assert tried == [a.sctp]  # not again
    assert errors == []
