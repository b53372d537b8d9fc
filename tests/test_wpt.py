"""Ports of web-platform-tests webrtc/RTCPeerConnection-connectionState and
-iceConnectionState cases, titles kept, on real aiortc peers over loopback."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCBundlePolicy
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

import rtcstate
from rtcstate.testing import FAST_LIVENESS, connect, negotiate
from tests.support.peers import Recorder, config
from tests.support.sdp import strip_candidates

pytestmark = pytest.mark.asyncio


async def test_initial_connectionstate_should_be_new(pcs) -> None:
    pc = pcs()
    assert pc.connectionState == "new"
    assert pc.iceConnectionState == "new"


async def test_connection_with_one_data_channel_should_eventually_have_connected_state(
    connected_pair,
) -> None:
    a, _ = connected_pair
    dtls = a.sctp.transport
    assert dtls.state == "connected"
    assert a.get_ice_transport_state(dtls.transport) in ("connected", "completed")


async def test_connectionstate_transitions_to_connected_via_connecting(pcs) -> None:
    a, b = pcs(), pcs()
    rec = Recorder(a)
    a.createDataChannel("test")
    await connect(a, b)
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
    connected_pair,
) -> None:
    a, _ = connected_pair
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


# --- the remaining cases -----------------------------------------------------------

FAST = FAST_LIVENESS


async def test_connection_with_audio_track_should_eventually_have_connected_state(
    pcs,
) -> None:
    a, b = pcs(), pcs()
    a.addTrack(AudioStreamTrack())
    await connect(a, b)
    assert a.connectionState == "connected"


async def test_connection_with_audio_and_video_tracks_should_eventually_have_connected_state(  # noqa: E501 (WPT title)
    pcs,
) -> None:
    a, b = pcs(), pcs()
    a.addTrack(AudioStreamTrack())
    a.addTrack(VideoStreamTrack())
    await connect(a, b)
    assert a.connectionState == "connected"
    assert b.connectionState == "connected"


async def test_ice_can_connect_in_a_recvonly_usecase(pcs) -> None:
    caller, callee = pcs(), pcs()
    caller.addTransceiver("audio", direction="recvonly")
    await negotiate(caller, callee)
    assert await caller.wait_for_ice_connection_state(
        "connected", "completed", timeout=10
    )
    assert (
        await caller.wait_for_connection_state("connected", timeout=10) == "connected"
    )


@pytest.mark.parametrize("policy", ["balanced", "max-bundle", "max-compat"])
async def test_iceconnectionstate_changes_at_the_right_time_with_bundle_policy(
    pcs, policy: str
) -> None:
    bundle_policy = RTCBundlePolicy(policy)
    caller, callee = pcs(bundlePolicy=bundle_policy), pcs(bundlePolicy=bundle_policy)
    seen: list[tuple[str, str]] = []
    caller.on(
        "iceconnectionstatechange",
        lambda c: seen.append((str(c.current), caller.signalingState)),
    )
    caller.addTransceiver("audio")
    caller.addTransceiver("video")
    await caller.setLocalDescription(await caller.createOffer())
    assert seen == []  # nothing before the remote description
    await callee.setRemoteDescription(caller.localDescription)
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(callee.localDescription)
    await caller.wait_for_ice_connection_state("completed", timeout=10)
    states = [s for s, _ in seen]
    assert states == ["checking", "connected", "completed"]
    # checking only once the answer is applied (the signalling state is stable)
    assert seen[0][1] == "stable"


async def test_when_the_other_side_goes_away_state_is_disconnected_or_failed() -> None:
    a = rtcstate.PeerConnection(config(), liveness=FAST)
    b = rtcstate.PeerConnection(config(), liveness=FAST)
    try:
        a.createDataChannel("test")
        await connect(a, b)
        await b.close()
        assert await a.wait_for_ice_connection_state(
            "disconnected", "failed", timeout=5
        ) in ("disconnected", "failed")
        assert await a.wait_for_ice_connection_state("failed", timeout=5) == "failed"
    finally:
        await a.close()


# aiortc 1.16's getStats() reports no candidate-pair stats; rtcstate adds them
async def test_on_ice_connected_getstats_has_a_succeeded_candidate_pair(pcs) -> None:
    a, b = pcs(), pcs()
    a.createDataChannel("test")
    await negotiate(a, b)
    await a.wait_for_ice_connection_state("connected", "completed", timeout=10)
    report = await a.getStats()
    pairs = [s for s in report.values() if getattr(s, "type", None) == "candidate-pair"]
    assert any(getattr(p, "state", None) == "succeeded" for p in pairs)


async def test_closing_a_peerconnection_should_not_fire_iceconnectionstatechange(
    pcs,
) -> None:
    a, b = pcs(), pcs()
    a.createDataChannel("test")
    await negotiate(a, b)
    await a.wait_for_ice_connection_state("completed", timeout=10)
    fired: list[str] = []
    a.on("iceconnectionstatechange", lambda: fired.append(a.iceConnectionState))
    await a.close()
    assert a.iceConnectionState == "closed"
    await asyncio.sleep(0.1)
    assert fired == []
