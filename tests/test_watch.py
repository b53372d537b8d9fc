"""rtcstate.watch(): the same states for a plain aiortc RTCPeerConnection."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCIceCandidate, RTCPeerConnection
from aiortc.sdp import candidate_from_sdp

import rtcstate
from rtcstate.testing import connect, negotiate
from tests.support.peers import Recorder, config
from tests.support.sdp import strip_candidates

pytestmark = pytest.mark.asyncio


async def test_watch_reports_w3c_states_of_a_plain_aiortc_connection(pcs) -> None:
    a, b = pcs(RTCPeerConnection), pcs(RTCPeerConnection)
    watcher = rtcstate.watch(a)
    rec = Recorder(watcher)
    a.createDataChannel("x")
    await connect(watcher, b)
    assert watcher.connectionState == "connected"
    await watcher.wait_for_ice_connection_state("completed", timeout=5)
    assert rec.values("iceconnectionstatechange") == [
        "checking",
        "connected",
        "completed",
    ]
    assert rec.values("connectionstatechange") == ["connecting", "connected"]
    assert a.iceConnectionState == "completed"  # aiortc's own value is untouched
    await a.close()
    assert (watcher.connectionState, watcher.iceConnectionState) == ("closed", "closed")
    assert watcher.state_history[-1].cause.kind == "close"
    await asyncio.sleep(0.1)
    assert rec.values("connectionstatechange") == ["connecting", "connected"]


async def test_watch_stops_aiortc_closing_itself_on_remote_hang_up(pcs) -> None:
    a, b = pcs(RTCPeerConnection), pcs(RTCPeerConnection)
    watcher = rtcstate.watch(a)
    channel = a.createDataChannel("x")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    await connect(watcher, b)
    await asyncio.wait_for(opened.wait(), 5)
    closed = asyncio.Event()
    a.sctp.transport.on("statechange", closed.set)
    await b.close()
    await asyncio.wait_for(closed.wait(), 5)
    await asyncio.sleep(0.3)
    assert a.signalingState == "stable"  # plain aiortc would have closed itself
    assert watcher.connectionState == "connected"


async def test_watch_sees_trickled_candidates(pcs) -> None:
    a, b = pcs(RTCPeerConnection), pcs(RTCPeerConnection)
    watcher = rtcstate.watch(b)
    a.createDataChannel("x")
    await negotiate(a, b, mangle=strip_candidates)
    full_offer = a.localDescription
    await asyncio.sleep(0.2)
    assert watcher.iceConnectionState == "new"  # no remote candidate yet
    lines = [
        ln[2:] for ln in full_offer.sdp.splitlines() if ln.startswith("a=candidate:")
    ]
    candidate: RTCIceCandidate = candidate_from_sdp(lines[0].split(":", 1)[1])
    candidate.sdpMid = "0"
    await b.addIceCandidate(candidate)
    assert watcher.iceConnectionState == "checking"
    await watcher.wait_for_connection_state("connected", timeout=10)


async def test_watch_of_a_closed_connection_is_closed() -> None:
    pc = RTCPeerConnection(config())
    await pc.close()
    watcher = rtcstate.watch(pc)
    assert watcher.connectionState == "closed"
    with pytest.raises(rtcstate.UnreachableStateError):
        await watcher.wait_for_connection_state("connected")


async def test_watch_rejects_what_is_not_a_connection() -> None:
    with pytest.raises(TypeError, match="aiortc RTCPeerConnection"):
        rtcstate.watch(object())  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_connection_is_watched_once() -> None:
    """Before, a second watch(pc) silently gave a second watcher, which wrapped
    pc's methods again."""
    pc = RTCPeerConnection()
    try:
        watcher = rtcstate.watch(pc)
        with pytest.raises(ValueError, match="already watched"):
            rtcstate.watch(pc)
        assert watcher.connectionState == "new"
    finally:
        await pc.close()
