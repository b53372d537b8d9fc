"""Ports of web-platform-tests webrtc/RTCPeerConnection-connectionState and
-iceConnectionState cases, titles kept, on real aiortc peers over loopback."""

from __future__ import annotations

import asyncio

import pytest

from conftest import Recorder, negotiate, strip_candidates

pytestmark = pytest.mark.asyncio


async def test_initial_connectionstate_should_be_new(pcs) -> None:
    pc = pcs()
    assert pc.connectionState == "new"
    assert pc.iceConnectionState == "new"


async def test_connection_with_one_data_channel_should_eventually_have_connected_state(
    pcs,
) -> None:
    a, b = pcs(), pcs()
    a.createDataChannel("test")
    await negotiate(a, b)
    await a.wait_for_connection_state("connected", timeout=10)
    dtls = a.sctp.transport
    assert dtls.state == "connected"
    assert a.get_ice_transport_state(dtls.transport) in ("connected", "completed")


async def test_connectionstate_transitions_to_connected_via_connecting(pcs) -> None:
    a, b = pcs(), pcs()
    rec = Recorder(a)
    a.createDataChannel("test")
    await negotiate(a, b)
    await a.wait_for_connection_state("connected", timeout=10)
    assert rec.values("connectionstatechange") == ["connecting", "connected"]


async def test_connectionstate_remains_new_when_not_adding_remote_ice_candidates(
    pcs,
) -> None:
    a, b = pcs(), pcs()
    rec_a, rec_b = Recorder(a), Recorder(b)
    a.createDataChannel("test")
    await negotiate(a, b, mangle=strip_candidates)
    await asyncio.sleep(1)  # aiortc has started its ICE transports by now
    for pc, rec in ((a, rec_a), (b, rec_b)):
        assert (pc.connectionState, pc.iceConnectionState) == ("new", "new")
        assert rec.events == []
    # the underlying aiortc transport is already "checking": rtcstate reads W3C's
    # definition (no remote candidates) instead
    assert a.sctp.transport.transport.state == "checking"


async def test_closing_the_connection_should_set_connectionstate_to_closed(pcs) -> None:
    pc = pcs()
    await pc.close()
    assert pc.connectionState == "closed"
    assert pc.iceConnectionState == "closed"


async def test_closing_a_peerconnection_should_not_fire_connectionstatechange(
    pcs,
) -> None:
    a, b = pcs(), pcs()
    a.createDataChannel("test")
    await negotiate(a, b)
    await a.wait_for_connection_state("connected", timeout=10)
    rec = Recorder(a)
    await a.close()
    assert (a.connectionState, a.iceConnectionState) == ("closed", "closed")
    await asyncio.sleep(0.1)
    assert rec.events == []


async def test_responder_ice_connection_state_behaves_as_expected(pcs) -> None:
    caller, callee = pcs(), pcs()
    states = [callee.iceConnectionState]
    callee.on(
        "iceconnectionstatechange", lambda: states.append(callee.iceConnectionState)
    )
    caller.createDataChannel("test")
    await negotiate(caller, callee)
    await callee.wait_for_ice_connection_state("connected", "completed", timeout=10)
    await asyncio.sleep(0.1)
    assert states[:3] == ["new", "checking", "connected"]
    assert states[3:] in ([], ["completed"])
