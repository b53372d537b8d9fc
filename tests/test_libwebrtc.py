"""libwebrtc (Chrome's engine, PyPI `wrtc`) as the real remote of an rtcstate peer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import webrtc

from rtcstate.testing import negotiate
from tests.support.libwebrtc import Libwebrtc, libwebrtc_peer, udp_ipv4_only
from tests.support.peers import Recorder

TIMEOUT = 10


pytestmark = [pytest.mark.asyncio, pytest.mark.usefixtures("wrtc_loopback")]


async def libwebrtc_offers(remote: webrtc.RTCPeerConnection, local: Any) -> None:
    """Negotiate with libwebrtc offering (a data channel) and ``local`` answering."""
    remote.create_data_channel("chat")
    await negotiate(Libwebrtc(remote), local, mangle_offer=udp_ipv4_only)


async def test_libwebrtc_offers_rtcstate_answers(pcs) -> None:
    remote = libwebrtc_peer()
    remote_states: list[str] = []
    remote.on(
        "connectionstatechange",
        lambda _e: remote_states.append(remote.connection_state.value),
    )
    local = pcs()
    rec = Recorder(local)
    try:
        await libwebrtc_offers(remote, local)
        assert (
            await local.wait_for_connection_state("connected", timeout=TIMEOUT)
            == "connected"
        )
        assert rec.values("connectionstatechange") == ["connecting", "connected"]
        # libwebrtc's SDP carries a=end-of-candidates, so rtcstate's side completes
        await local.wait_for_ice_connection_state("completed", timeout=TIMEOUT)
        assert rec.values("iceconnectionstatechange") == [
            "checking",
            "connected",
            "completed",
        ]
        for _ in range(100):
            if remote_states[-1:] == ["connected"]:
                break
            await asyncio.sleep(0.02)
        assert remote_states == ["connecting", "connected"]
    finally:
        remote.close()


async def test_rtcstate_offers_and_a_libwebrtc_hang_up_is_not_closed(pcs) -> None:
    remote = libwebrtc_peer()
    local = pcs()
    rec = Recorder(local)
    channel = local.createDataChannel("chat")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    try:
        await negotiate(local, Libwebrtc(remote), mangle_answer=udp_ipv4_only)
        await local.wait_for_connection_state("connected", timeout=TIMEOUT)
        await asyncio.wait_for(opened.wait(), TIMEOUT)
        dtls = local.sctp.transport
        dtls_closed = asyncio.Event()
        dtls.on("statechange", lambda: dtls.state == "closed" and dtls_closed.set())
    finally:
        remote.close()
    await asyncio.wait_for(dtls_closed.wait(), TIMEOUT)
    await asyncio.sleep(0.2)
    # plain aiortc reports "closed" here, 1 ms after the hang-up
    assert local.connectionState == "connected"
    assert "closed" not in rec.values("connectionstatechange")
    assert local.signalingState == "stable"


def ids(requests: list[bytes]) -> set[bytes]:
    return {r[8:20] for r in requests}


async def test_a_controlling_libwebrtc_peers_keepalives_are_answered_by_hand(
    pcs,
) -> None:
    # A browser that offers is controlling and puts USE-CANDIDATE on every
    # keepalive; once nominated, rtcstate answers them without aioice.
    remote = libwebrtc_peer()
    local = pcs()
    try:
        await libwebrtc_offers(remote, local)
        await local.wait_for_ice_connection_state("completed", timeout=TIMEOUT)
        # past the nomination, and past a move to another pair (libwebrtc may move
        # from IPv4 to IPv6 at once), which the next keepalive follows
        await asyncio.sleep(1.5)
        connection = local.sctp.transport.transport._connection
        by_aioice: list[Any] = []
        original = connection.request_received
        connection.request_received = lambda *args: (
            by_aioice.append(args[0]),
            original(*args),
        )
        protocol = connection._nominated[1].protocol
        watched = protocol.datagram_received  # rtcstate's wrapper
        requests: list[bytes] = []

        selected = connection._nominated[1].remote_addr

        def count(data: bytes, addr: tuple[str, int]) -> None:
            if data[:2] == b"\x00\x01" and (addr[0], addr[1]) == selected:
                requests.append(data)
            watched(data, addr)

        protocol.datagram_received = count
        for _ in range(100):  # libwebrtc pings every few seconds when stable
            if len(requests) >= 2:
                break
            await asyncio.sleep(0.1)
        assert len(requests) >= 2
        assert all(b"\x00\x25\x00\x00" in r for r in requests)  # USE-CANDIDATE
        # libwebrtc also checks its other candidate pairs: those are aioice's
        assert [m for m in by_aioice if m.transaction_id in ids(requests)] == []
        assert local.connectionState == "connected"
    finally:
        remote.close()


async def test_a_trickling_rtcstate_peer_and_a_trickling_libwebrtc_connect(
    turn_server: Any, silent: Any
) -> None:
    """Both trickle: rtcstate (a silent STUN server and a TURN server listed)
    offers with its host candidates only; each side's later candidates go to
    the other's addIceCandidate, and libwebrtc takes rtcstate's relayed one."""
    from aiortc import RTCConfiguration, RTCIceServer, RTCSessionDescription
    from aiortc.sdp import candidate_from_sdp, candidate_to_sdp

    import rtcstate

    config = RTCConfiguration(
        iceServers=[
            RTCIceServer(f"stun:127.0.0.1:{silent.port}"),
            *turn_server.ice_servers("udp"),
        ]
    )
    local = rtcstate.PeerConnection(config, trickle=True, gather_timeout=3)
    remote = libwebrtc_peer()
    answered = asyncio.Event()
    tasks: list[asyncio.Future[Any]] = []
    told: list[Any] = []

    async def to_local(init: Any) -> None:
        await answered.wait()
        if init is None or not init.candidate:
            await local.addIceCandidate(None)
            return
        fields = init.candidate.split()
        if fields[2].lower() != "udp" or ":" in fields[4]:
            return  # aioice takes UDP; IPv4 only here, as udp_ipv4_only
        candidate = candidate_from_sdp(init.candidate.split(":", 1)[1])
        candidate.sdpMid, candidate.sdpMLineIndex = init.sdp_mid, init.sdp_m_line_index
        await local.addIceCandidate(candidate)

    remote.on(
        "icecandidate",
        lambda event: tasks.append(asyncio.ensure_future(to_local(event.candidate))),
    )

    @local.on("icecandidate")
    def to_remote(candidate: Any) -> None:
        told.append(candidate)
        init = (
            None
            if candidate is None
            else webrtc.RTCIceCandidateInit(
                "candidate:" + candidate_to_sdp(candidate),
                candidate.sdpMid,
                candidate.sdpMLineIndex,
            )
        )

        async def add() -> None:
            await answered.wait()
            await remote.add_ice_candidate(init)

        tasks.append(asyncio.ensure_future(add()))

    local.createDataChannel("chat")
    try:
        await local.setLocalDescription(await local.createOffer())
        assert local.iceGatheringState == "gathering"
        await remote.set_remote_description(
            webrtc.RTCSessionDescriptionInit("offer", local.localDescription.sdp)
        )
        await remote.set_local_description(await remote.create_answer())
        await local.setRemoteDescription(
            RTCSessionDescription(str(remote.local_description.sdp), "answer")
        )
        answered.set()
        await local.wait_for_connection_state("connected", timeout=TIMEOUT)
        assert local.iceGatheringState == "gathering"  # the silent server's 3 s
        for _ in range(500):
            if told and told[-1] is None:
                break
            await asyncio.sleep(0.01)
        await asyncio.gather(*tasks)
        assert [c is None or c.type for c in told] == ["relay", True]
        report = await remote.get_stats()
        remote_types = [
            getattr(s, "candidate_type", None)
            for s in report.values()
            if getattr(s, "type", None) == "remote-candidate"
        ]
        assert "relay" in [str(getattr(t, "value", t)) for t in remote_types], (
            remote_types
        )
    finally:
        await local.close()
        remote.close()
