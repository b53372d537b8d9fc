"""Liveness end to end: an rtcstate peer with short timers, through a
FaultyLink on loopback, against aiortc and libwebrtc remotes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection

import rtcstate
from rtcstate.testing import FAST_LIVENESS, FaultyLink, negotiate
from tests.support.libwebrtc import Libwebrtc, libwebrtc_peer
from tests.support.peers import Recorder, config

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("wrtc_loopback")]

FAST = FAST_LIVENESS
TIMEOUT = 10


class Pair:
    def __init__(
        self, local: rtcstate.PeerConnection, remote: Any, link: FaultyLink
    ) -> None:
        self.local = local
        self.remote = remote  # an aiortc peer, or Libwebrtc
        self.link = link
        self.recorder = Recorder(local)

    def sequence(self) -> list[str]:
        return self.recorder.values("connectionstatechange")


@pytest_asyncio.fixture(params=["aiortc", "libwebrtc"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """An rtcstate offerer connected through a FaultyLink to a remote of each kind."""
    link = await FaultyLink(seed=7).start()
    local = rtcstate.PeerConnection(config(), liveness=FAST)
    channel = local.createDataChannel("x")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    if request.param == "aiortc":
        remote: Any = RTCPeerConnection(config())
    else:
        remote = Libwebrtc(libwebrtc_peer(), gather_timeout=TIMEOUT)
    try:
        await negotiate(local, remote, link=link)
        result = Pair(local, remote, link)
        await local.wait_for_connection_state("connected", timeout=TIMEOUT)
        await asyncio.wait_for(opened.wait(), TIMEOUT)  # SCTP is up on both sides
        yield result
    finally:
        await local.close()
        await remote.close()
        link.close()


async def test_cut_gives_disconnected_and_restore_gives_connected(pair: Pair) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    pair.link.cut()
    await pair.local.wait_for_connection_state("disconnected", timeout=TIMEOUT)
    assert loop.time() - start <= FAST.disconnected_timeout + 0.3
    change = pair.local.state_history[-1]
    assert change.cause.kind == "ice" and change.cause.state == "disconnected"
    assert change.cause.detail.startswith("no answer for")
    restored = loop.time()
    pair.link.restore()
    await pair.local.wait_for_connection_state("connected", timeout=TIMEOUT)
    assert loop.time() - restored <= 0.5
    assert pair.local.state_history[-1].cause.detail.startswith("answers again")
    assert pair.sequence() == ["connecting", "connected", "disconnected", "connected"]


async def test_long_cut_gives_failed_which_stays(pair: Pair) -> None:
    loop = asyncio.get_running_loop()
    pair.link.cut()
    start = loop.time()
    await pair.local.wait_for_connection_state("failed", timeout=TIMEOUT)
    assert loop.time() - start == pytest.approx(FAST.failed_timeout, abs=0.5)
    assert "consent expired" in pair.local.state_history[-1].cause.detail
    pair.link.restore()
    await asyncio.sleep(FAST.disconnected_timeout)
    assert pair.local.connectionState == "failed"
    assert pair.sequence() == ["connecting", "connected", "disconnected", "failed"]
    # RFC 7675: nothing more is sent to the remote once consent expired
    forwarded = pair.link.to_answerer.forwarded
    await asyncio.sleep(0.3)
    assert pair.link.to_answerer.forwarded == forwarded


@pytest.mark.parametrize("which", ["to_answerer", "to_offerer"])
async def test_cut_in_one_direction_gives_disconnected(pair: Pair, which: str) -> None:
    pair.link.cut(which)  # type: ignore[arg-type]
    await pair.local.wait_for_connection_state("disconnected", timeout=TIMEOUT)
    pair.link.restore(which)  # type: ignore[arg-type]
    await pair.local.wait_for_connection_state("connected", timeout=TIMEOUT)


async def test_idle_peer_never_looks_disconnected(pair: Pair) -> None:
    # no data, no media: only keepalives, which the remote answers
    await asyncio.sleep(FAST.failed_timeout * 2)
    assert pair.sequence() == ["connecting", "connected"]
    assert pair.link.to_offerer.forwarded > 0


async def test_thirty_percent_loss_gives_no_false_disconnect(pair: Pair) -> None:
    pair.link.set_loss(0.3)
    await asyncio.sleep(FAST.failed_timeout * 2)
    assert pair.sequence() == ["connecting", "connected"]
    assert pair.link.to_answerer.dropped > 0 and pair.link.to_offerer.dropped > 0


async def test_remote_close_gives_disconnected_then_failed_never_closed(
    pair: Pair,
) -> None:
    await pair.remote.close()
    await pair.local.wait_for_connection_state("failed", timeout=TIMEOUT)
    assert pair.sequence() == ["connecting", "connected", "disconnected", "failed"]
    disconnected = next(
        c for c in pair.local.state_history if c.current == "disconnected"
    )
    assert disconnected.cause.detail.endswith("after the remote closed DTLS"), (
        pair.local.transport_states(),
        disconnected,
    )


async def test_a_blocked_event_loop_is_not_a_false_disconnect(pair: Pair) -> None:
    await asyncio.sleep(0.3)
    time.sleep(3)  # noqa: ASYNC251 (the application blocks the loop on purpose)
    await asyncio.sleep(FAST.disconnected_timeout * 2)
    assert pair.sequence() == ["connecting", "connected"]
