"""Liveness end to end: an rtcstate peer with short timers, through a
FaultyLink on loopback, against aiortc and libwebrtc remotes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import webrtc
from aiortc import RTCPeerConnection, RTCSessionDescription

import rtcstate
from rtcstate.testing import FAST_LIVENESS, FaultyLink
from tests.support.libwebrtc import wrtc_gathered_sdp
from tests.support.peers import Recorder, config

pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("wrtc_loopback")]

FAST = FAST_LIVENESS
TIMEOUT = 10


class Pair:
    def __init__(self, local: rtcstate.PeerConnection, link: FaultyLink) -> None:
        self.local = local
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
    await local.setLocalDescription(await local.createOffer())
    offer = link.offer_to_answerer(local.localDescription)
    remote_close = None
    try:
        if request.param == "aiortc":
            remote = RTCPeerConnection(config())
            remote_close = remote.close
            await remote.setRemoteDescription(offer)
            await remote.setLocalDescription(await remote.createAnswer())
            answer = remote.localDescription
        else:
            wremote = webrtc.RTCPeerConnection(webrtc.RTCConfiguration(ice_servers=[]))

            async def close_wrtc() -> None:
                wremote.close()

            remote_close = close_wrtc
            await wremote.set_remote_description(
                webrtc.RTCSessionDescriptionInit("offer", offer.sdp)
            )
            await wremote.set_local_description(await wremote.create_answer())
            answer = RTCSessionDescription(
                await wrtc_gathered_sdp(wremote, TIMEOUT), "answer"
            )
        await local.setRemoteDescription(link.answer_to_offerer(answer))
        result = Pair(local, link)
        result.remote_close = remote_close  # type: ignore[attr-defined]
        await local.wait_for_connection_state("connected", timeout=TIMEOUT)
        await asyncio.wait_for(opened.wait(), TIMEOUT)  # SCTP is up on both sides
        yield result
    finally:
        await local.close()
        if remote_close is not None:
            await remote_close()
        link.close()


async def test_cut_gives_disconnected_and_restore_gives_connected(pair: Pair) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    pair.link.cut()
    await pair.local.wait_for_connection_state("disconnected", timeout=TIMEOUT)
    assert loop.time() - start <= FAST.disconnected_timeout + 0.3
    change = pair.local.state_history[-1]
    assert change.cause.kind == "ice" and change.cause.state == "disconnected"
    assert change.cause.detail.startswith("no packet for")
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
    await pair.remote_close()  # type: ignore[attr-defined]
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
