"""Bad input: a clear error of the type aiortc users expect, states unchanged,
nothing left behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc import RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidStateError

import rtcstate
from rtcstate.testing import negotiate
from rtcstate.validation import (
    check_candidate,
    check_description,
    check_ice_credentials,
    parse_candidate,
)
from tests.support.peers import Recorder, config, tasks_left
from tests.support.sdp import set_ice, tamper_fingerprints, wrong_ice_password


async def offer_sdp() -> str:
    pc = rtcstate.PeerConnection(config())
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def without(sdp: str, prefix: str) -> str:
    return "\r\n".join(x for x in sdp.splitlines() if not x.startswith(prefix)) + "\r\n"


def candidate(**overrides: object) -> RTCIceCandidate:
    fields: dict[str, object] = dict(
        component=1,
        foundation="f",
        ip="127.0.0.1",
        port=5000,
        priority=1,
        protocol="udp",
        type="host",
        sdpMid="0",
    )
    fields.update(overrides)
    return RTCIceCandidate(**fields)  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda s: "garbage", "first line must be 'v=0'"),
        (lambda s: "", "it is empty"),
        (lambda s: s.replace("\r\nm=", "\r\nm"), "is not '<type>=<value>'"),
        (lambda s: s.replace("a=sctp-port:", "a=sctp-port:x"), "cannot parse it"),
        (lambda s: s.replace("a=setup:", "a=setup", 1), "no usable DTLS or ICE"),
        (
            lambda s: s.replace("UDP/DTLS/SCTP", "FOO/BAR"),
            "transport protocol 'FOO/BAR'",
        ),
        (lambda s: without(s, "a=ice-ufrag"), "has no a=ice-ufrag"),
        (lambda s: without(s, "a=fingerprint"), "has no a=fingerprint"),
        (
            lambda s: s.replace("a=candidate:", "a=candidate:zz ", 1),
            "'typ' as its 7th field",
        ),
        (lambda s: s.replace(" udp ", " sctp ", 1), "neither udp nor tcp"),
    ],
)
async def test_malformed_sdp_is_a_value_error_saying_why(mangle, message: str) -> None:
    sdp = mangle(await offer_sdp())
    pc = rtcstate.PeerConnection(config())
    rec = Recorder(pc)
    with pytest.raises(ValueError, match=message):
        await pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
    assert (pc.connectionState, pc.iceConnectionState, pc.signalingState) == (
        "new",
        "new",
        "stable",
    )
    assert pc.transport_states() == {}
    assert rec.events == []
    await pc.close()
    assert await tasks_left() == []


def test_check_description_accepts_what_aiortc_and_browsers_write() -> None:
    sdp = asyncio.run(offer_sdp())
    check_description(sdp)
    check_description(sdp.replace("\r\n", "\n"))
    # a rejected m-line (port 0) needs no transport
    check_description(sdp + "m=video 0 FOO/BAR 0\r\n")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sdpMid": None}, "either sdpMid or sdpMLineIndex"),
        ({"ip": "not-an-ip"}, "neither an IP address nor an mDNS name"),
        ({"port": 70000}, "port 70000 is outside"),
        ({"protocol": "sctp"}, "neither udp nor tcp"),
        ({"type": "weird"}, "type 'weird'"),
        ({"component": 0}, "component 0 is outside"),
        ({"sdpMid": "7"}, "the remote description has mids"),
    ],
)
def test_bad_candidates_are_value_errors(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_candidate(candidate(**overrides), mids=["0"])


def test_good_candidates_pass() -> None:
    check_candidate(candidate(), mids=["0"])
    check_candidate(
        candidate(ip="abcd-1234.local", sdpMid=None, sdpMLineIndex=0), mids=["0"]
    )
    check_candidate(candidate(ip="::1"))


def test_parse_candidate() -> None:
    parsed = parse_candidate(
        "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", sdpMid="0"
    )
    assert (parsed.ip, parsed.port, parsed.type, parsed.sdpMid) == (
        "127.0.0.1",
        5000,
        "host",
        "0",
    )
    assert parse_candidate("a=candidate:1 1 udp 1 ::1 9 typ host").ip == "::1"
    with pytest.raises(ValueError, match="7th field"):
        parse_candidate("garbage")  # aiortc's own parser: a bare AssertionError
    with pytest.raises(ValueError, match="priority 'x' is not a number"):
        parse_candidate("candidate:1 1 udp x 127.0.0.1 5000 typ host")


@pytest.mark.asyncio
async def test_bad_candidate_leaves_the_connection_as_it_was(connected_pair) -> None:
    a, _ = connected_pair
    before = a.state_history
    with pytest.raises(ValueError, match="remote description has mids"):
        await a.addIceCandidate(candidate(sdpMid="9"))
    assert a.state_history == before
    assert a.connectionState == "connected"


@pytest.mark.asyncio
async def test_calls_in_the_wrong_signaling_state_are_invalid_state_errors(pcs) -> None:
    a = pcs()
    with pytest.raises(InvalidStateError, match="Cannot create answer"):
        await a.createAnswer()
    sdp = await offer_sdp()
    with pytest.raises(InvalidStateError, match="Cannot handle answer"):
        await a.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
    assert (a.connectionState, a.iceConnectionState, a.signalingState) == (
        "new",
        "new",
        "stable",
    )


@pytest.mark.asyncio
async def test_wrong_ice_credentials_end_in_failed_not_closed() -> None:
    # aioice alone would check forever; libwebrtc fails after 15 s, and so does
    # rtcstate, after its failed_timeout (short here)
    liveness = rtcstate.LivenessConfig(failed_timeout=3)
    a = rtcstate.PeerConnection(config(), liveness=liveness)
    b = rtcstate.PeerConnection(config(), liveness=liveness)
    rec = Recorder(a)
    a.createDataChannel("x")
    try:
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        answer = b.localDescription
        loop = asyncio.get_running_loop()
        start = loop.time()
        await a.setRemoteDescription(
            RTCSessionDescription(wrong_ice_password(answer.sdp), "answer")
        )
        assert (
            await a.wait_for_connection_state("failed", "connected", timeout=10)
            == "failed"
        )
        assert loop.time() - start == pytest.approx(3, abs=0.5)
        assert rec.values("connectionstatechange") == ["connecting", "failed"]
        cause = a.state_history[-1].cause
        assert cause.detail == "no working candidate pair after 3.0 s of checks"
        # the remote, whose checks did succeed but were never nominated, fails too
        assert await b.wait_for_connection_state("failed", timeout=5) == "failed"
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_fingerprint_mismatch_fails_within_seconds(pcs) -> None:
    a, b = pcs(), pcs()
    a.createDataChannel("x")

    start = asyncio.get_running_loop().time()
    await negotiate(a, b, mangle=tamper_fingerprints)
    await a.wait_for_connection_state("failed", timeout=10)
    elapsed = asyncio.get_running_loop().time() - start
    assert elapsed < 5
    assert a.connectionState == "failed"


#: RFC 8839 5.4: a ufrag of 4-256 and a pwd of 22-256 ALPHA / DIGIT / + / /
BAD_CREDENTIALS = [
    ("ice-ufrag", "u" * 70_000, "70000 characters"),
    ("ice-ufrag", "ab:cd", "contains ':'"),
    ("ice-ufrag", "ab cd", "contains ' '"),
    ("ice-ufrag", "abcé", "contains 'é'"),
    ("ice-ufrag", "ab", "2 characters"),
    ("ice-pwd", "p", "1 characters"),
    ("ice-pwd", "p" * 257, "257 characters"),
    ("ice-pwd", "p" * 21 + "=", "contains '='"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_CREDENTIALS)
def test_ice_credentials_outside_rfc_8839_are_value_errors_naming_the_field(
    field: str, value: str, message: str
) -> None:
    sdp = set_ice(asyncio.run(offer_sdp()), field, value)
    with pytest.raises(ValueError, match=f"a={field} of m-line 0 .*{message}"):
        check_description(sdp)


def test_ice_credentials_at_the_rfc_8839_limits_pass() -> None:
    sdp = asyncio.run(offer_sdp())
    check_ice_credentials(set_ice(sdp, "ice-ufrag", "a+/9"))
    check_ice_credentials(set_ice(sdp, "ice-ufrag", "u" * 256))
    check_ice_credentials(set_ice(sdp, "ice-pwd", "P/+" * 7 + "x"))
    check_ice_credentials(set_ice(sdp, "ice-pwd", "p" * 256))


def _front(front: str) -> tuple[RTCPeerConnection, Any]:
    """A connection to apply descriptions to, and what reads its W3C states:
    an rtcstate PeerConnection (both), or a plain one and its watcher."""
    if front == "PeerConnection":
        pc = rtcstate.PeerConnection(config())
        return pc, pc
    plain = RTCPeerConnection(config())
    return plain, rtcstate.watch(plain)


@pytest.mark.asyncio
@pytest.mark.parametrize("front", ["PeerConnection", "watch"])
@pytest.mark.parametrize(("field", "value", "message"), BAD_CREDENTIALS[:5])
async def test_bad_initial_credentials_change_nothing(
    front: str, field: str, value: str, message: str
) -> None:
    sdp = set_ice(await offer_sdp(), field, value)
    plain, state = _front(front)
    try:
        with pytest.raises(ValueError, match=f"a={field}"):
            await plain.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
        assert plain.signalingState == "stable"
        assert plain.remoteDescription is None
        assert (state.connectionState, state.iceConnectionState) == ("new", "new")
    finally:
        await plain.close()
    assert await tasks_left() == []


@pytest.mark.asyncio
@pytest.mark.parametrize("front", ["PeerConnection", "watch"])
@pytest.mark.parametrize(("field", "value", "message"), BAD_CREDENTIALS[:6])
async def test_a_restart_offer_with_bad_credentials_changes_nothing(
    front: str, field: str, value: str, message: str
) -> None:
    """A hostile remote's restart offer: rejected before anything changes, and
    the connection carries on over its pair (before, aioice's checks died or
    ran for a minute, holding a socket)."""
    a, state = _front(front)
    b = rtcstate.PeerConnection(config())
    received: asyncio.Queue[str] = asyncio.Queue()
    b.on("datachannel", lambda ch: ch.on("message", received.put_nowait))
    channel = a.createDataChannel("x")
    opened = asyncio.Event()
    channel.on("open", opened.set)
    try:
        await negotiate(a, b)
        await asyncio.wait_for(opened.wait(), 10)
        offer = set_ice((await b.createOffer()).sdp, field, value)
        before = a.remoteDescription.sdp
        history = list(state.transport_history)
        with pytest.raises(ValueError, match=f"a={field}"):
            await a.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        assert a.signalingState == "stable"
        assert a.remoteDescription.sdp == before
        channel.send("still here")
        assert await asyncio.wait_for(received.get(), 5) == "still here"
        assert state.connectionState == "connected"
        assert state.transport_history == history  # no restart began
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("front", ["PeerConnection", "watch"])
async def test_a_renegotiation_that_changes_the_dtls_fingerprint_is_refused(
    front: str,
) -> None:
    a, state = _front(front)
    b = rtcstate.PeerConnection(config())
    a.createDataChannel("x")
    try:
        await negotiate(a, b)
        await state.wait_for_connection_state("connected", timeout=10)
        offer = (await b.createOffer()).sdp
        # the same fingerprint, written in lower case, is the same
        same = "".join(
            (line.lower() if line.startswith("a=fingerprint:") else line) + "\r\n"
            for line in offer.splitlines()
        )
        await a.setRemoteDescription(RTCSessionDescription(same, "offer"))
        await a.setLocalDescription(await a.createAnswer())  # b needs no answer
        before = a.remoteDescription.sdp
        offer = (await b.createOffer()).sdp
        with pytest.raises(ValueError, match="DTLS fingerprint for mid '0' changed"):
            await a.setRemoteDescription(
                RTCSessionDescription(tamper_fingerprints(offer), "offer")
            )
        assert (a.signalingState, a.remoteDescription.sdp) == ("stable", before)
        assert state.connectionState == "connected"
    finally:
        await a.close()
        await b.close()
