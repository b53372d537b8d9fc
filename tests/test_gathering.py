"""rtcstate's gathering on real peers: trickle ICE, every server of iceServers, a
silent server that delays nothing, address filters."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiortc
import pytest
import pytest_asyncio
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

import rtcstate
from rtcstate._gathering import host_addresses
from rtcstate.testing import negotiate
from tests.support.turn import Silent, TurnServer

pytestmark = pytest.mark.asyncio

# aiortc 1.14 has no iceTransportPolicy: the relay-only tests need 1.15
RELAY = getattr(aiortc, "RTCIceTransportPolicy", None)
needs_relay_policy = pytest.mark.skipif(
    RELAY is None, reason="aiortc 1.14 has no iceTransportPolicy"
)


class Trickle:
    """The application's signalling of trickled candidates: each side's
    `"icecandidate"` goes to the other's `addIceCandidate()` once the other has
    a remote description (held until then, as an application holds them)."""

    def __init__(self, a: RTCPeerConnection, b: RTCPeerConnection) -> None:
        self.told: dict[str, list[Any]] = {"a": [], "b": []}
        self.gathering: dict[str, list[str]] = {"a": [], "b": []}
        self._held: dict[str, list[Any]] = {"a": [], "b": []}
        self._tasks: list[asyncio.Task[None]] = []
        self._pcs = {"a": a, "b": b}
        for name, pc in self._pcs.items():
            pc.on("icecandidate", self._handler(name))
            pc.on("icegatheringstatechange", self._gathering_handler(name))

    def _handler(self, name: str) -> Any:
        other = "b" if name == "a" else "a"

        def on_candidate(candidate: Any) -> None:
            self.told[name].append(candidate)
            self._held[other].append(candidate)
            self.flush()

        return on_candidate

    def _gathering_handler(self, name: str) -> Any:
        def on_change() -> None:
            self.gathering[name].append(self._pcs[name].iceGatheringState)

        return on_change

    def flush(self) -> None:
        for name, pc in self._pcs.items():
            if pc.remoteDescription is not None:
                for candidate in self._held[name]:
                    self._tasks.append(
                        asyncio.ensure_future(pc.addIceCandidate(candidate))
                    )
                self._held[name].clear()

    async def settled(self) -> None:
        self.flush()
        await asyncio.gather(*self._tasks)


def _candidates(sdp: str) -> list[str]:
    return [line for line in sdp.splitlines() if line.startswith("a=candidate:")]


def _silent_stun(silent: Silent) -> RTCConfiguration:
    return RTCConfiguration(iceServers=[RTCIceServer(f"stun:127.0.0.1:{silent.port}")])


async def _offer_answer(
    a: RTCPeerConnection, b: RTCPeerConnection, trickle: Trickle
) -> None:
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await trickle.settled()


async def test_trickle_connects_while_a_silent_stun_server_is_still_asked(
    silent: Silent,
) -> None:
    """aiortc waits 5 s for the server in each setLocalDescription, 10 s in all;
    trickling, the description carries the host candidates at once and the
    connection does not wait for the server at all."""
    a = rtcstate.PeerConnection(_silent_stun(silent), trickle=True, gather_timeout=3)
    b = rtcstate.PeerConnection(_silent_stun(silent), trickle=True, gather_timeout=3)
    trickle = Trickle(a, b)
    a.createDataChannel("x")
    try:
        await a.setLocalDescription(await a.createOffer())
        assert a.iceGatheringState == "gathering"
        offer = a.localDescription.sdp
        assert _candidates(offer), "the host candidates go in the description"
        assert "a=end-of-candidates" not in offer
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        await asyncio.gather(
            a.wait_for_connection_state("connected", timeout=2.5),
            b.wait_for_connection_state("connected", timeout=2.5),
        )
        # connected before the server's 3 s were up
        assert (a.iceGatheringState, b.iceGatheringState) == ("gathering", "gathering")
        assert silent.received() > 0, "the silent server was asked"
        for _ in range(400):
            if trickle.told["a"] and trickle.told["b"]:
                break
            await asyncio.sleep(0.01)
        # the server gave nothing: the end is all that is told
        assert trickle.told == {"a": [None], "b": [None]}
        assert trickle.gathering == {
            "a": ["gathering", "complete"],
            "b": ["gathering", "complete"],
        }
        assert a.connectionState == "connected"
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_without_trickle_a_silent_server_holds_the_description_for_gather_timeout(
    silent: Silent,
) -> None:
    pc = rtcstate.PeerConnection(_silent_stun(silent), gather_timeout=0.4)
    pc.createDataChannel("x")
    loop = asyncio.get_running_loop()
    try:
        offer = await pc.createOffer()
        began = loop.time()
        await pc.setLocalDescription(offer)
        took = loop.time() - began
        assert 0.35 < took < 3.0, took
        assert pc.iceGatheringState == "complete"
        assert "a=end-of-candidates" in pc.localDescription.sdp
        assert _candidates(pc.localDescription.sdp)
    finally:
        await pc.close()


@pytest_asyncio.fixture
async def relay_pair(
    turn_server: TurnServer,
) -> AsyncIterator[Any]:
    made: list[RTCPeerConnection] = []

    def make(*servers: RTCIceServer, **keywords: Any) -> rtcstate.PeerConnection:
        pc = rtcstate.PeerConnection(
            RTCConfiguration(iceServers=list(servers), iceTransportPolicy=RELAY.RELAY),
            gather_timeout=2,
            **keywords,
        )
        made.append(pc)
        return pc

    yield make
    await asyncio.gather(*(pc.close() for pc in made))


def _turn(turn_server: TurnServer, url: str) -> RTCIceServer:
    return RTCIceServer(url, turn_server.username, turn_server.password)


async def _relay_protocol(pc: rtcstate.PeerConnection) -> str | None:
    pair = pc.get_selected_candidate_pair(pc.sctp.transport)
    assert pair is not None, "a selected pair"
    local = pair.local
    assert local.candidate_type == "relay"
    return local.relay_protocol


@needs_relay_policy
@pytest.mark.parametrize("working", ["tcp", "tls"])
async def test_relay_only_falls_back_to_the_next_turn_server(
    turn_server: TurnServer,
    relay_pair: Any,
    silent: Silent,
    working: str,
) -> None:
    """[silent TURN/UDP, working TURN/TCP or TLS], relay-only, as on a network
    that blocks UDP: aiortc uses the first server only and never connects."""
    if working == "tls" and not turn_server.tls:
        pytest.skip(f"coturn has no TLS listener: {turn_server.tls_unavailable}")
    tls = (
        ssl.create_default_context(cafile=str(turn_server.cert_path))
        if turn_server.tls
        else None
    )
    servers = [
        _turn(turn_server, f"turn:127.0.0.1:{silent.port}?transport=udp"),
        _turn(turn_server, turn_server.url(working)),  # type: ignore[arg-type]
    ]
    a = relay_pair(*servers, turn_tls_context=tls)
    b = relay_pair(*servers, turn_tls_context=tls)
    a.createDataChannel("x")
    await negotiate(a, b)
    for pc in (a, b):
        assert "typ relay" in pc.localDescription.sdp
        assert "typ host" not in pc.localDescription.sdp
    await asyncio.gather(
        a.wait_for_connection_state("connected", timeout=10),
        b.wait_for_connection_state("connected", timeout=10),
    )
    assert silent.received() > 0, "the first server was tried"
    assert await _relay_protocol(a) == working
    stats = await a.getStats()
    relayed = [
        s for s in stats.values() if getattr(s, "candidateType", None) == "relay"
    ]
    assert any(
        s.relayProtocol == working for s in relayed if s.type == "local-candidate"
    )


async def test_a_trickled_relay_candidate_names_its_m_line(
    turn_server: TurnServer,
) -> None:
    """All policy, trickling, with a TURN server: the host candidates go in the
    description, the relayed one comes as an event with sdpMid and
    sdpMLineIndex, then the end; a plain aiortc remote takes it."""
    config = RTCConfiguration(iceServers=turn_server.ice_servers("udp"))
    a = rtcstate.PeerConnection(config, trickle=True)
    b = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    trickle = Trickle(a, b)
    a.createDataChannel("x")
    try:
        await a.setLocalDescription(await a.createOffer())
        offer = a.localDescription.sdp  # at once: the host candidates only
        assert "typ relay" not in offer and "a=end-of-candidates" not in offer
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        for _ in range(500):
            if trickle.told["a"] and trickle.told["a"][-1] is None:
                break
            await asyncio.sleep(0.01)
        *relayed, end = trickle.told["a"]
        assert end is None
        assert [c.type for c in relayed] == ["relay"]
        assert (relayed[0].sdpMid, relayed[0].sdpMLineIndex) == ("0", 0)
        # as in a browser, localDescription shows every candidate gathered
        local = a.localDescription.sdp
        assert "typ relay" in local and "a=end-of-candidates" in local
        await trickle.settled()
        remote = b.sctp.transport.transport.getRemoteCandidates()
        assert "relay" in [c.type for c in remote], "the remote took it"
        await a.wait_for_connection_state("connected", timeout=10)
        assert trickle.gathering["a"] == ["gathering", "complete"]
    finally:
        await asyncio.gather(a.close(), b.close())


@needs_relay_policy
async def test_trickling_relay_only_waits_for_the_first_candidate(
    turn_server: TurnServer, relay_pair: Any, silent: Silent
) -> None:
    """No host candidate to start with: the description waits for the first
    relayed one (aiortc starts no checks without a local candidate); the
    silent server's end comes later."""
    servers = [
        _turn(turn_server, f"turn:127.0.0.1:{silent.port}?transport=udp"),
        _turn(turn_server, turn_server.url("tcp")),
    ]
    a = relay_pair(*servers, trickle=True)
    b = relay_pair(*servers, trickle=True)
    trickle = Trickle(a, b)
    a.createDataChannel("x")
    await _offer_answer(a, b, trickle)
    assert len(_candidates(a.localDescription.sdp)) == 1
    assert a.iceGatheringState == "gathering"
    await asyncio.gather(
        a.wait_for_connection_state("connected", timeout=10),
        b.wait_for_connection_state("connected", timeout=10),
    )


def _interfaces() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, address in host_addresses(True, True, None):
        found.setdefault(name, []).append(address)
    return found


async def test_an_excluded_interface_is_in_no_candidate_restarts_included() -> None:
    interfaces = {
        name: addresses
        for name, addresses in _interfaces().items()
        if "127.0.0.1" not in addresses
    }
    if not interfaces:
        pytest.skip("this host has no interface but loopback")
    excluded = sorted(interfaces)[0]
    addresses = set(interfaces[excluded])
    seen: list[tuple[str, str]] = []

    def keep(name: str, address: str) -> bool:
        seen.append((name, address))
        return name != excluded

    a = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]), address_filter=keep)
    b = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]))
    a.createDataChannel("x")
    try:
        await negotiate(a, b)
        await a.wait_for_connection_state("connected", timeout=10)
        assert (excluded, sorted(addresses)[0]) in seen
        offers = [a.localDescription.sdp]
        a.restartIce()
        await negotiate(a, b)
        offers.append(a.localDescription.sdp)
        for sdp in offers:
            candidates = _candidates(sdp)
            assert candidates
            for line in candidates:
                assert line.split()[4] not in addresses, line
        await a.wait_for_connection_state("connected", timeout=10)
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_a_trickling_restart_gathers_and_trickles_again(silent: Silent) -> None:
    """restartIce() with trickle: the new offer carries the new host candidates
    at once, the restart succeeds while the silent server is still asked, and
    the new gathering ends with its own `None`."""
    a = rtcstate.PeerConnection(_silent_stun(silent), trickle=True, gather_timeout=2)
    b = rtcstate.PeerConnection(_silent_stun(silent), trickle=True, gather_timeout=2)
    trickle = Trickle(a, b)
    a.createDataChannel("x")
    try:
        await _offer_answer(a, b, trickle)
        await a.wait_for_connection_state("connected", timeout=2.5)
        for _ in range(400):  # the first gathering's end
            if trickle.told["a"] == [None] and trickle.told["b"] == [None]:
                break
            await asyncio.sleep(0.01)
        first = a.localDescription.sdp
        a.restartIce()
        await _offer_answer(a, b, trickle)
        assert a.localDescription.sdp != first
        assert _candidates(a.localDescription.sdp)
        assert a.iceGatheringState == "gathering"
        for _ in range(150):
            if any("checks succeeded" in str(c) for c in a.transport_history):
                break
            await asyncio.sleep(0.01)
        for _ in range(150):  # the answering side's restart too
            if any("checks succeeded" in str(c) for c in b.transport_history):
                break
            await asyncio.sleep(0.01)
        for pc in (a, b):
            history = [str(c) for c in pc.transport_history]
            assert any("checks succeeded" in line for line in history), history
        assert a.iceGatheringState == "gathering", "it did not wait for the server"
        assert b.iceGatheringState == "gathering", "it did not wait for the server"
        for _ in range(400):
            if trickle.told["a"] == [None, None] and trickle.told["b"] == [None, None]:
                break
            await asyncio.sleep(0.01)
        assert trickle.told == {"a": [None, None], "b": [None, None]}
        assert (a.connectionState, b.connectionState) == ("connected", "connected")
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_nothing_is_told_before_the_description_it_belongs_to(
    turn_server: TurnServer,
) -> None:
    """Three transports (audio, video, data; no BUNDLE yet), trickling: every
    candidate and the end come after setLocalDescription returns, each naming
    the m-line of its own transport."""
    config = RTCConfiguration(iceServers=turn_server.ice_servers("udp"))
    pc = rtcstate.PeerConnection(config, trickle=True)
    pc.addTransceiver("audio")
    pc.addTransceiver("video")
    pc.createDataChannel("x")
    returned = False
    told: list[tuple[bool, Any]] = []
    pc.on("icecandidate", lambda c: told.append((returned, c)))
    try:
        await pc.setLocalDescription(await pc.createOffer())
        returned = True
        for _ in range(500):
            if told and told[-1][1] is None:
                break
            await asyncio.sleep(0.01)
        assert told and told[-1][1] is None
        assert all(after for after, _ in told), "told before the description"
        sdp = pc.localDescription.sdp
        sections = sdp.split("\r\nm=")[1:]
        mids = [
            line.split(":", 1)[1]
            for line in sdp.splitlines()
            if line.startswith("a=mid:")
        ]
        relayed = [c for _, c in told if c is not None]
        assert sorted(c.sdpMLineIndex for c in relayed) == [0, 1, 2]
        for candidate in relayed:
            assert mids[candidate.sdpMLineIndex] == candidate.sdpMid
            section = sections[candidate.sdpMLineIndex]
            assert f" {candidate.port} typ relay" in section
    finally:
        await pc.close()


async def test_close_during_a_gathering_ends_it_at_once(
    silent: Silent, caplog: pytest.LogCaptureFixture
) -> None:
    """A silent server and no trickle: setLocalDescription waits for the
    server, until close(), which ends it (and its queries) at once."""
    pc = rtcstate.PeerConnection(_silent_stun(silent), gather_timeout=5)
    pc.createDataChannel("x")
    offer = await pc.createOffer()
    pending = asyncio.ensure_future(pc.setLocalDescription(offer))
    await asyncio.sleep(0.3)
    assert not pending.done()
    await pc.close()
    await asyncio.wait({pending}, timeout=1.0)
    assert pending.done(), "setLocalDescription still waits for the server"
    pending.exception()  # whatever aiortc says about a closed connection
    asked = silent.received()
    await asyncio.sleep(1.2)  # aioice's retransmissions would come by now
    assert silent.received() == 0, f"asked again after close ({asked} before)"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_an_address_filter_that_raises_fails_that_description_only() -> None:
    calls = 0

    def flaky(name: str, address: str) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the application's filter failed")
        return True

    pc = rtcstate.PeerConnection(RTCConfiguration(iceServers=[]), address_filter=flaky)
    pc.createDataChannel("x")
    try:
        with pytest.raises(RuntimeError, match="filter failed"):
            await pc.setLocalDescription(await pc.createOffer())
        await pc.setLocalDescription(await pc.createOffer())
        assert _candidates(pc.localDescription.sdp), "the next one gathers"
    finally:
        await pc.close()
