"""Ports of web-platform-tests webrtc/RTCPeerConnection-connectionState,
-iceConnectionState and -restartIce cases and of RTCDataChannel-iceRestart, titles
kept, on real aiortc peers over loopback."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCBundlePolicy, RTCDataChannel, RTCSessionDescription
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


# --- webrtc/RTCPeerConnection-restartIce.https.html ----------------------------------
# The ufrags of each description, as the WPT reads them, plus what rtcstate adds:
# the connection states through each restart. aiortc has no rollback and no
# createOffer options, so "restartIce() survives rollback" and "restartIce() trumps
# {iceRestart: false}" have no port.


def ufrags(description: RTCSessionDescription | None) -> list[str]:
    assert description is not None
    found = [
        line for line in description.sdp.splitlines() if line.startswith("a=ice-ufrag:")
    ]
    assert found, "one or more a=ice-ufrag: in the SDP"
    return found


async def handshake_end_on_first(
    pc1: rtcstate.PeerConnection, pc2: rtcstate.PeerConnection
) -> None:
    await pc1.setLocalDescription(await pc1.createOffer())
    await pc2.setRemoteDescription(pc1.localDescription)
    await pc2.setLocalDescription(await pc2.createAnswer())
    await pc1.setRemoteDescription(pc2.localDescription)  # end on pc1


async def handshake_end_on_second(
    pc1: rtcstate.PeerConnection, pc2: rtcstate.PeerConnection
) -> None:
    # the WPT hands pc1 the answer from createAnswer(); aiortc's has its
    # candidates only once setLocalDescription gathered them, so pc2 sets it first
    await pc1.setLocalDescription(await pc1.createOffer())
    await pc2.setRemoteDescription(pc1.localDescription)
    await pc2.setLocalDescription(await pc2.createAnswer())
    await pc1.setRemoteDescription(pc2.localDescription)


def negotiation_needed(pc: rtcstate.PeerConnection) -> asyncio.Future[None]:
    """Resolved at the next "negotiationneeded" (the WPT's onnegotiationneeded)."""
    fired: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def handler() -> None:
        if not fired.done():
            fired.set_result(None)

    pc.once("negotiationneeded", handler)
    return fired


async def assert_no_negotiation_needed(pc: rtcstate.PeerConnection) -> None:
    assert pc.signalingState == "stable"
    fired = negotiation_needed(pc)
    await asyncio.sleep(0.05)  # the WPT waits 10 ms; rtcstate queues the event
    assert not fired.done(), "no negotiationneeded event"
    pc.remove_all_listeners("negotiationneeded")


async def both_connected(*pcs: rtcstate.PeerConnection) -> None:
    for pc in pcs:
        assert await pc.wait_for_connection_state("connected", timeout=10)
        assert pc.iceConnectionState in ("connected", "completed")


def restart_causes(pc: rtcstate.PeerConnection) -> list[str]:
    """What each ICE transport change a restart made says, "new pair" for
    the checks that succeeded on it."""
    return [
        "new pair"
        if change.detail.startswith("checks succeeded on new pair")
        else change.detail
        for change in pc.transport_history
        if change.detail is not None
        and ("ICE restart" in change.detail or "on new pair" in change.detail)
    ]


async def test_restartice_does_not_trigger_negotiation_ahead_of_initial_negotiation(
    pcs,
) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.restartIce()
    await assert_no_negotiation_needed(pc1)
    # aiortc fires no negotiationneeded for addTransceiver (the WPT waits for
    # one here): negotiate instead, and the restart has nothing left to do
    pc1.addTransceiver("audio")
    await assert_no_negotiation_needed(pc1)
    await handshake_end_on_first(pc1, pc2)
    await assert_no_negotiation_needed(pc1)
    await both_connected(pc1, pc2)
    assert restart_causes(pc1) == restart_causes(pc2) == []


async def test_restartice_has_no_effect_on_initial_negotiation(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.addTransceiver("audio")
    pc1.restartIce()
    await handshake_end_on_first(pc1, pc2)
    await assert_no_negotiation_needed(pc1)
    await both_connected(pc1, pc2)
    states = [
        str(c.current) for c in pc1.state_history if c.attribute == "connectionState"
    ]
    assert states == ["connecting", "connected"]
    assert restart_causes(pc1) == restart_causes(pc2) == []


async def test_restartice_fires_negotiationneeded_after_initial_negotiation(
    pcs,
) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.addTransceiver("audio")
    await handshake_end_on_first(pc1, pc2)
    fired = negotiation_needed(pc1)
    pc1.restartIce()
    await asyncio.wait_for(fired, 2)


async def test_restartice_causes_fresh_ufrags(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.addTransceiver("audio")
    await handshake_end_on_first(pc1, pc2)
    await both_connected(pc1, pc2)
    [old_ufrag1] = ufrags(pc1.localDescription)
    [old_ufrag2] = ufrags(pc2.localDescription)
    await handshake_end_on_first(pc1, pc2)
    assert ufrags(pc1.localDescription)[0] == old_ufrag1, "control 1"
    assert ufrags(pc2.localDescription)[0] == old_ufrag2, "control 2"
    assert restart_causes(pc1) == restart_causes(pc2) == []

    fired = negotiation_needed(pc1)
    pc1.restartIce()
    await asyncio.wait_for(fired, 2)
    await handshake_end_on_first(pc1, pc2)
    [new_ufrag1] = ufrags(pc1.localDescription)
    [new_ufrag2] = ufrags(pc2.localDescription)
    assert new_ufrag1 != old_ufrag1, "ufrag 1 changed"
    assert new_ufrag2 != old_ufrag2, "ufrag 2 changed"
    await assert_no_negotiation_needed(pc1)

    await handshake_end_on_first(pc1, pc2)
    assert ufrags(pc1.localDescription)[0] == new_ufrag1, "Unchanged 1"
    assert ufrags(pc2.localDescription)[0] == new_ufrag2, "Unchanged 2"
    # rtcstate: a restart from connected keeps both peers connected, and the
    # new pair takes over
    await both_connected(pc1, pc2)
    for pc, why in (
        (pc1, "ICE restart (restartIce())"),
        (pc2, "ICE restart (remote offer)"),
    ):
        await _new_pair(pc)
        assert restart_causes(pc) == [why, "new pair"]
        states = [
            str(c.current) for c in pc.state_history if c.attribute == "connectionState"
        ]
        assert states == ["connecting", "connected"]


async def _new_pair(pc: rtcstate.PeerConnection, timeout: float = 10) -> None:
    """Wait until a restart's checks succeeded on `pc`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while "new pair" not in restart_causes(pc):
        assert loop.time() < deadline, f"no new pair: {restart_causes(pc)}"
        await asyncio.sleep(0.05)


async def test_restartice_works_in_have_local_offer(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.addTransceiver("audio")
    await handshake_end_on_first(pc1, pc2)
    await both_connected(pc1, pc2)
    [old_ufrag1] = ufrags(pc1.localDescription)
    [old_ufrag2] = ufrags(pc2.localDescription)

    await pc1.setLocalDescription(await pc1.createOffer())
    pc1.restartIce()
    await pc2.setRemoteDescription(pc1.localDescription)
    await pc2.setLocalDescription(await pc2.createAnswer())
    fired = negotiation_needed(pc1)
    await pc1.setRemoteDescription(pc2.localDescription)
    assert ufrags(pc1.localDescription)[0] == old_ufrag1, "Unchanged 1"
    assert ufrags(pc2.localDescription)[0] == old_ufrag2, "Unchanged 2"
    await asyncio.wait_for(fired, 2)
    await handshake_end_on_first(pc1, pc2)
    [new_ufrag1] = ufrags(pc1.localDescription)
    [new_ufrag2] = ufrags(pc2.localDescription)
    assert new_ufrag1 != old_ufrag1, "ufrag 1 changed"
    assert new_ufrag2 != old_ufrag2, "ufrag 2 changed"
    await assert_no_negotiation_needed(pc1)
    await _new_pair(pc1)
    await _new_pair(pc2)
    await both_connected(pc1, pc2)
    assert restart_causes(pc1) == ["ICE restart (restartIce())", "new pair"]
    assert restart_causes(pc2) == ["ICE restart (remote offer)", "new pair"]


async def test_restartice_works_in_initial_have_local_offer(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.addTransceiver("audio")
    await pc1.setLocalDescription(await pc1.createOffer())
    pc1.restartIce()
    await pc2.setRemoteDescription(pc1.localDescription)
    await pc2.setLocalDescription(await pc2.createAnswer())
    fired = negotiation_needed(pc1)
    await pc1.setRemoteDescription(pc2.localDescription)
    [old_ufrag1] = ufrags(pc1.localDescription)
    [old_ufrag2] = ufrags(pc2.localDescription)
    await asyncio.wait_for(fired, 2)
    await handshake_end_on_first(pc1, pc2)
    [new_ufrag1] = ufrags(pc1.localDescription)
    [new_ufrag2] = ufrags(pc2.localDescription)
    assert new_ufrag1 != old_ufrag1, "ufrag 1 changed"
    assert new_ufrag2 != old_ufrag2, "ufrag 2 changed"
    await assert_no_negotiation_needed(pc1)
    await _new_pair(pc1)
    await _new_pair(pc2)
    await both_connected(pc1, pc2)


async def test_restartice_works_in_have_remote_offer(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.addTransceiver("audio")
    await handshake_end_on_first(pc1, pc2)
    await both_connected(pc1, pc2)
    [old_ufrag1] = ufrags(pc1.localDescription)
    [old_ufrag2] = ufrags(pc2.localDescription)

    await pc2.setLocalDescription(await pc2.createOffer())
    await pc1.setRemoteDescription(pc2.localDescription)
    pc1.restartIce()
    fired = negotiation_needed(pc1)
    await pc1.setLocalDescription(await pc1.createAnswer())
    await pc2.setRemoteDescription(pc1.localDescription)
    assert ufrags(pc1.localDescription)[0] == old_ufrag1, "Unchanged 1"
    assert ufrags(pc2.localDescription)[0] == old_ufrag2, "Unchanged 2"
    await asyncio.wait_for(fired, 2)
    await handshake_end_on_first(pc1, pc2)
    [new_ufrag1] = ufrags(pc1.localDescription)
    [new_ufrag2] = ufrags(pc2.localDescription)
    assert new_ufrag1 != old_ufrag1, "ufrag 1 changed"
    assert new_ufrag2 != old_ufrag2, "ufrag 2 changed"
    await assert_no_negotiation_needed(pc1)
    await _new_pair(pc1)
    await _new_pair(pc2)
    await both_connected(pc1, pc2)


async def test_restartice_does_nothing_in_initial_have_remote_offer(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    pc2.addTransceiver("audio")
    await pc2.setLocalDescription(await pc2.createOffer())
    await pc1.setRemoteDescription(pc2.localDescription)
    pc1.restartIce()
    await pc1.setLocalDescription(await pc1.createAnswer())
    await pc2.setRemoteDescription(pc1.localDescription)
    await assert_no_negotiation_needed(pc1)
    await both_connected(pc1, pc2)
    assert restart_causes(pc1) == restart_causes(pc2) == []


async def test_restartice_survives_remote_offer(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.addTransceiver("audio")
    await handshake_end_on_first(pc1, pc2)
    await both_connected(pc1, pc2)
    [old_ufrag1] = ufrags(pc1.localDescription)
    [old_ufrag2] = ufrags(pc2.localDescription)

    fired = negotiation_needed(pc1)
    pc1.restartIce()
    await asyncio.wait_for(fired, 2)
    fired = negotiation_needed(pc1)
    await handshake_end_on_second(pc2, pc1)
    assert ufrags(pc1.localDescription)[0] == old_ufrag1, "nothing yet 1"
    assert ufrags(pc2.localDescription)[0] == old_ufrag2, "nothing yet 2"
    await asyncio.wait_for(fired, 2)
    await handshake_end_on_first(pc1, pc2)
    [new_ufrag1] = ufrags(pc1.localDescription)
    [new_ufrag2] = ufrags(pc2.localDescription)
    assert new_ufrag1 != old_ufrag1, "ufrag 1 changed"
    assert new_ufrag2 != old_ufrag2, "ufrag 2 changed"
    await assert_no_negotiation_needed(pc1)
    await _new_pair(pc1)
    await both_connected(pc1, pc2)


async def test_restartice_is_satisfied_by_remote_ice_restart(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    pc1.addTransceiver("audio")
    await handshake_end_on_first(pc1, pc2)
    await both_connected(pc1, pc2)
    [old_ufrag1] = ufrags(pc1.localDescription)
    [old_ufrag2] = ufrags(pc2.localDescription)

    fired = negotiation_needed(pc1)
    pc1.restartIce()
    pc2.restartIce()
    await asyncio.wait_for(fired, 2)
    await handshake_end_on_second(pc2, pc1)
    [new_ufrag1] = ufrags(pc1.localDescription)
    [new_ufrag2] = ufrags(pc2.localDescription)
    assert new_ufrag1 != old_ufrag1, "ufrag 1 changed"
    assert new_ufrag2 != old_ufrag2, "ufrag 2 changed"
    await assert_no_negotiation_needed(pc1)

    await handshake_end_on_first(pc1, pc2)
    assert ufrags(pc1.localDescription)[0] == new_ufrag1, "Unchanged 1"
    assert ufrags(pc2.localDescription)[0] == new_ufrag2, "Unchanged 2"
    await assert_no_negotiation_needed(pc1)
    await _new_pair(pc1)
    await _new_pair(pc2)
    await both_connected(pc1, pc2)


# --- webrtc/RTCDataChannel-iceRestart.html ------------------------------------------


async def data_channel_pair(
    pc1: rtcstate.PeerConnection, pc2: rtcstate.PeerConnection
) -> tuple[RTCDataChannel, RTCDataChannel]:
    """The WPT's createDataChannelPair: a channel from pc1, open on both sides."""
    arrived: asyncio.Future[RTCDataChannel] = asyncio.get_running_loop().create_future()
    pc2.once("datachannel", arrived.set_result)
    channel1 = pc1.createDataChannel("")
    await connect(pc1, pc2)
    channel2 = await asyncio.wait_for(arrived, 10)
    for channel in (channel1, channel2):
        for _ in range(200):
            if channel.readyState == "open":
                break
            await asyncio.sleep(0.01)
        assert channel.readyState == "open"
    return channel1, channel2


async def await_message(channel: RTCDataChannel) -> object:
    message: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    channel.once("message", message.set_result)
    return await asyncio.wait_for(message, 10)


async def check_can_pass_data(
    channel1: RTCDataChannel, channel2: RTCDataChannel
) -> None:
    channel1.send("hello")
    assert await await_message(channel2) == "hello"


async def ping_pong_data(
    channel1: RTCDataChannel, channel2: RTCDataChannel, size: int = 1
) -> None:
    channel1.send("hello")
    assert await await_message(channel2) == "hello"
    response = "x" * size
    channel2.send(response)
    assert await await_message(channel1) == response


def no_errors(*channels: RTCDataChannel) -> list[object]:
    errors: list[object] = []
    for channel in channels:
        channel.on("error", errors.append)
    return errors


async def test_data_channel_remains_usable_after_ice_restart(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    channel1, channel2 = await data_channel_pair(pc1, pc2)
    errors = no_errors(channel1, channel2)
    await check_can_pass_data(channel1, channel2)
    await check_can_pass_data(channel2, channel1)
    ice = pc1.sctp.transport.transport
    before = pc1.get_selected_candidate_pair(ice)

    pc1.restartIce()
    await handshake_end_on_first(pc1, pc2)
    await check_can_pass_data(channel1, channel2)
    await check_can_pass_data(channel2, channel1)
    # rtcstate: the data went over the new pair once its checks succeeded
    await _new_pair(pc1)
    await _new_pair(pc2)
    after = pc1.get_selected_candidate_pair(ice)
    assert before is not None and after is not None
    assert (after.local, after.remote) != (before.local, before.remote)
    await check_can_pass_data(channel1, channel2)
    await check_can_pass_data(channel2, channel1)
    assert errors == []
    assert (pc1.connectionState, pc2.connectionState) == ("connected", "connected")
    channel1.close()
    channel2.close()


async def test_data_channel_remains_usable_at_each_step_of_an_ice_restart(pcs) -> None:
    pc1, pc2 = pcs(), pcs()
    channel1, channel2 = await data_channel_pair(pc1, pc2)
    errors = no_errors(channel1, channel2)
    states: list[tuple[str, str]] = []
    for pc, name in ((pc1, "pc1"), (pc2, "pc2")):
        pc.on(
            "connectionstatechange",
            lambda c, n=name: states.append((n, str(c.current))),
        )

    await ping_pong_data(channel1, channel2)
    pc1.restartIce()
    await pc1.setLocalDescription(await pc1.createOffer())
    await ping_pong_data(channel1, channel2)
    await pc2.setRemoteDescription(pc1.localDescription)
    await ping_pong_data(channel1, channel2)
    await pc2.setLocalDescription(await pc2.createAnswer())
    await ping_pong_data(channel1, channel2)
    await pc1.setRemoteDescription(pc2.localDescription)
    await ping_pong_data(channel1, channel2)
    # rtcstate: and once the new pair carries the data
    await _new_pair(pc1)
    await _new_pair(pc2)
    await ping_pong_data(channel1, channel2, size=1000)
    assert errors == []
    # a restart from connected: no connectionState change on either side
    assert states == []
    channel1.close()
    channel2.close()
