"""rtcstate.testing: FaultyLink with plain UDP sockets on 127.0.0.1, and
negotiate()/connect() with real peers over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiortc import RTCPeerConnection, RTCSessionDescription

import rtcstate
from rtcstate.testing import FaultyLink, connect, negotiate
from tests.support.sdp import strip_candidates, tamper_fingerprints

pytestmark = pytest.mark.asyncio


class Endpoint(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: list[tuple[bytes, float]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received.append((data, asyncio.get_running_loop().time()))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])


def sdp(kind: str, *ports: int) -> RTCSessionDescription:
    lines = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0"]
    for port in ports:
        lines += [
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
            f"a=candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host",
            "a=candidate:2 1 tcp 1 127.0.0.1 9 typ host tcptype active",
        ]
    return RTCSessionDescription("\r\n".join(lines) + "\r\n", kind)


@pytest_asyncio.fixture
async def wired() -> AsyncIterator[tuple[FaultyLink, Endpoint, Endpoint, tuple, tuple]]:
    loop = asyncio.get_running_loop()
    _, offerer = await loop.create_datagram_endpoint(
        Endpoint, local_addr=("127.0.0.1", 0)
    )
    _, answerer = await loop.create_datagram_endpoint(
        Endpoint, local_addr=("127.0.0.1", 0)
    )
    link = await FaultyLink(seed=1, max_packets=500).start()
    # what each side is told of the other: the relay's address
    to_answerer = link.offer_to_answerer(sdp("offer", offerer.port))
    to_offerer = link.answer_to_offerer(sdp("answer", answerer.port))

    def relay_addr(description: RTCSessionDescription) -> tuple[str, int]:
        line = next(
            x for x in description.sdp.splitlines() if x.startswith("a=candidate")
        )
        fields = line.split()
        return fields[4], int(fields[5])

    yield link, offerer, answerer, relay_addr(to_offerer), relay_addr(to_answerer)
    link.close()
    offerer.transport.close()
    answerer.transport.close()


async def send(endpoint: Endpoint, addr: tuple, count: int) -> None:
    for i in range(count):
        endpoint.transport.sendto(b"%d" % i, addr)
    await asyncio.sleep(0.05)


async def test_rewrite_keeps_one_relay_candidate_per_mline(wired) -> None:
    link, *_ = wired
    rewritten = link.offer_to_answerer(sdp("offer", 5000, 5000)).sdp
    candidates = [x for x in rewritten.splitlines() if x.startswith("a=candidate")]
    assert len(candidates) == 2
    assert all(
        " 127.0.0.1 " in c and "typ host" in c and "udp" in c for c in candidates
    )
    assert "5000" not in rewritten


async def test_relays_both_ways_and_counts(wired) -> None:
    link, offerer, answerer, offerer_sends_to, answerer_sends_to = wired
    await send(offerer, offerer_sends_to, 5)
    await send(answerer, answerer_sends_to, 3)
    assert [d for d, _ in answerer.received] == [b"0", b"1", b"2", b"3", b"4"]
    assert len(offerer.received) == 3
    assert (link.to_answerer.forwarded, link.to_offerer.forwarded) == (5, 3)
    stun_request = b"\x00\x01" + bytes(18)
    offerer.transport.sendto(stun_request, offerer_sends_to)
    await asyncio.sleep(0.05)
    assert (link.to_answerer.stun_requests, link.to_offerer.stun_requests) == (1, 0)


async def test_cut_one_direction_and_restore(wired) -> None:
    link, offerer, answerer, offerer_sends_to, answerer_sends_to = wired
    link.cut("to_answerer")
    await send(offerer, offerer_sends_to, 4)
    await send(answerer, answerer_sends_to, 2)
    assert answerer.received == []
    assert len(offerer.received) == 2
    assert link.to_answerer.dropped == 4
    link.restore("to_answerer")
    await send(offerer, offerer_sends_to, 1)
    assert len(answerer.received) == 1


async def test_filter_drops_what_it_matches_in_its_direction(wired) -> None:
    link, offerer, answerer, offerer_sends_to, answerer_sends_to = wired
    link.set_filter(lambda data: data.startswith(b"1"), "to_answerer")
    await send(offerer, offerer_sends_to, 12)  # 1, 10 and 11 match
    await send(answerer, answerer_sends_to, 2)  # the other direction: no filter
    assert [d for d, _ in answerer.received] == [
        b"%d" % i for i in (0, 2, 3, 4, 5, 6, 7, 8, 9)
    ]
    assert len(offerer.received) == 2
    assert link.to_answerer.dropped == 3
    link.set_filter(None)
    await send(offerer, offerer_sends_to, 2)
    assert len(answerer.received) == 11


async def test_loss_is_random_at_the_rate_and_seeded(wired) -> None:
    link, offerer, _, offerer_sends_to, _ = wired
    link.set_loss(0.3)
    for _ in range(8):
        await send(offerer, offerer_sends_to, 50)
    direction = link.to_answerer
    assert direction.forwarded + direction.dropped == 400
    assert 0.2 < direction.dropped / 400 < 0.4


async def test_delay_holds_packets(wired) -> None:
    link, offerer, answerer, offerer_sends_to, _ = wired
    link.set_delay(0.2, "to_answerer")
    start = asyncio.get_running_loop().time()
    await send(offerer, offerer_sends_to, 2)
    assert answerer.received == []
    await asyncio.sleep(0.3)
    assert len(answerer.received) == 2
    assert all(t - start >= 0.2 for _, t in answerer.received)


async def test_relaying_is_bounded(wired) -> None:
    link, offerer, answerer, offerer_sends_to, _ = wired
    for _ in range(12):
        await send(offerer, offerer_sends_to, 50)
    assert len(answerer.received) == 500  # max_packets
    assert link.to_answerer.dropped == 100


async def test_close_closes_sockets_and_drops_held_packets(wired) -> None:
    link, offerer, answerer, offerer_sends_to, _ = wired
    link.set_delay(0.1)
    await send(offerer, offerer_sends_to, 3)
    link.close()
    await asyncio.sleep(0.2)
    assert answerer.received == []
    assert link._for_offerer.transport.is_closing()
    assert link._for_answerer.transport.is_closing()


async def test_bad_input_is_a_clear_error() -> None:
    link = FaultyLink()
    with pytest.raises(RuntimeError, match="not started"):
        link.offer_to_answerer(sdp("offer", 1))
    async with FaultyLink() as started:
        with pytest.raises(ValueError, match="no UDP IPv4 candidate"):
            started.offer_to_answerer(sdp("offer"))
        with pytest.raises(ValueError, match="bundle the session"):
            started.offer_to_answerer(sdp("offer", 5000, 5002))
        with pytest.raises(ValueError, match="between 0 and 1"):
            started.set_loss(1.5)
        with pytest.raises(ValueError, match="between 0 and 10"):
            started.set_delay(-1)
        with pytest.raises(ValueError, match="direction must be"):
            started.cut("sideways")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="callable"):
            started.set_filter(b"\x00\x01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        FaultyLink(max_packets=0)


# --- negotiate() and connect() ------------------------------------------------------


def front_end(kind: str, pcs) -> tuple[RTCPeerConnection, object]:
    """(the connection, what connect() is given) for each front end."""
    if kind == "rtcstate":
        pc = pcs()
        return pc, pc
    pc = pcs(RTCPeerConnection)
    return pc, rtcstate.watch(pc) if kind == "watch" else pc


def connection_state(peer: object) -> str:
    return str(peer.connectionState)  # type: ignore[attr-defined]


@pytest.mark.parametrize("answerer_kind", ["rtcstate", "aiortc", "watch"])
@pytest.mark.parametrize("offerer_kind", ["rtcstate", "aiortc", "watch"])
async def test_connect_leaves_both_peers_connected(
    pcs, offerer_kind: str, answerer_kind: str
) -> None:
    a, offerer = front_end(offerer_kind, pcs)
    b, answerer = front_end(answerer_kind, pcs)
    a.createDataChannel("x")
    await connect(offerer, answerer)
    # the W3C state where rtcstate reads it, aiortc's own for a plain peer
    assert (connection_state(offerer), connection_state(answerer)) == (
        "connected",
        "connected",
    )
    assert a.signalingState == b.signalingState == "stable"


async def test_connect_through_a_link_relays_the_session(pcs) -> None:
    a, b = pcs(), pcs()
    a.createDataChannel("x")
    async with FaultyLink() as link:
        await connect(a, b, link=link)
        assert (a.connectionState, b.connectionState) == ("connected", "connected")
        assert link.to_answerer.forwarded > 0 and link.to_offerer.forwarded > 0


async def test_negotiate_mangles_the_descriptions_it_is_asked_to(pcs) -> None:
    seen: list[str] = []

    def note(sdp: str) -> str:
        seen.append("offer" if "a=setup:actpass" in sdp else "answer")
        return sdp

    a, b = pcs(), pcs()
    a.createDataChannel("x")
    await negotiate(a, b, mangle=note)
    assert seen == ["offer", "answer"]
    c, d = pcs(), pcs()
    c.createDataChannel("x")
    await negotiate(c, d, mangle_answer=note)
    assert seen == ["offer", "answer", "answer"]
    # the offer without candidates: the answerer learns none of the offerer's
    e, f = pcs(), pcs()
    e.createDataChannel("x")
    await negotiate(e, f, mangle_offer=strip_candidates)
    assert f.sctp.transport.transport.getRemoteCandidates() == []
    assert e.sctp.transport.transport.getRemoteCandidates() != []


async def test_connect_times_out_when_nothing_gets_through(pcs) -> None:
    a, b = pcs(), pcs()
    a.createDataChannel("x")
    async with FaultyLink() as link:
        link.cut()
        with pytest.raises(asyncio.TimeoutError):
            await connect(a, b, link=link, timeout=0.5)
        assert a.connectionState in ("new", "connecting")


@pytest.mark.parametrize("kind", ["rtcstate", "aiortc"])
async def test_connect_gives_up_once_connected_is_out_of_reach(pcs, kind: str) -> None:
    a, offerer = front_end(kind, pcs)
    _, answerer = front_end(kind, pcs)
    a.createDataChannel("x")
    with pytest.raises(rtcstate.UnreachableStateError):
        await connect(offerer, answerer, mangle=tamper_fingerprints, timeout=20)
    assert connection_state(offerer) in ("failed", "closed")


async def test_bad_arguments_are_clear_errors(pcs) -> None:
    a, b = pcs(), pcs()
    with pytest.raises(TypeError, match="the offerer must be an aiortc"):
        await negotiate(object(), b)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="the answerer must be an aiortc"):
        await negotiate(a, "b")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not both"):
        await negotiate(a, b, mangle=str, mangle_answer=str)
    with pytest.raises(TypeError, match=r"not object \(the answerer\)"):
        await connect(a, object())  # type: ignore[arg-type]
    assert a.signalingState == b.signalingState == "stable"  # nothing was sent
    with pytest.raises(ValueError, match="no m-line"):
        await connect(a, b)  # no data channel, no track: nothing to connect


@pytest.mark.asyncio
async def test_the_old_pair_works_while_a_restart_waits_for_its_answer() -> None:
    """A restart's descriptions name new candidates; until its new pair works,
    the old pair's traffic must still reach the old sockets, as on a real
    network. Before, the link sent everything to the new candidates as soon as
    the offer was rewritten, so the answerer's keepalives on the old pair went
    to the offerer's new socket and it read disconnected."""
    from rtcstate.testing import FAST_LIVENESS

    async with FaultyLink() as link:
        a = rtcstate.PeerConnection(liveness=FAST_LIVENESS)
        b = rtcstate.PeerConnection(liveness=FAST_LIVENESS)
        a.createDataChannel("x")
        try:
            await connect(a, b, link=link)
            a.restartIce()
            await a.setLocalDescription(await a.createOffer())
            await b.setRemoteDescription(link.offer_to_answerer(a.localDescription))
            await b.setLocalDescription(await b.createAnswer())
            answer = link.answer_to_offerer(b.localDescription)
            await asyncio.sleep(3 * FAST_LIVENESS.disconnected_timeout)  # slow
            for pc in (a, b):
                states = [
                    c.current
                    for c in pc.state_history
                    if c.attribute == "connectionState"
                ]
                assert states[-1] == "connected" and "disconnected" not in states
            await a.setRemoteDescription(answer)
            for _ in range(200):
                if all(
                    any(
                        (c.detail or "").startswith("checks succeeded")
                        for c in pc.transport_history
                    )
                    for pc in (a, b)
                ):
                    break
                await asyncio.sleep(0.02)
            assert a.connectionState == "connected" == b.connectionState
        finally:
            await asyncio.gather(a.close(), b.close())
