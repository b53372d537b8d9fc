"""Guards on the aiortc internals rtcstate relies on (see src/rtcstate/_shims/).

If aiortc renames them, these fail loudly instead of states silently going wrong."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

import aiortc
import pytest
from aiortc import RTCPeerConnection
from aiortc.rtcicetransport import RTCIceGatherer

import rtcstate
from rtcstate import _shims
from rtcstate import _stun as stun
from rtcstate import _tap as tap
from rtcstate._guards import guard_connection
from rtcstate._shims import gather as gather_shim
from rtcstate._shims.mdns import _without_additional
from tests.support.turn import TurnServer


def test_aiortc_still_has_the_close_task_slot_and_uses_it_for_self_close() -> None:
    pc = RTCPeerConnection()
    assert getattr(pc, "_RTCPeerConnection__closeTask") is None  # noqa: B009
    source = inspect.getsource(RTCPeerConnection)
    assert "self.__closeTask is None" in source
    assert 'dtlsStates == set(["closed"])' in source


def test_aiortc_gatherer_still_records_remote_end_of_candidates() -> None:
    gatherer = RTCIceGatherer(iceServers=[])
    assert gatherer._remote_candidates_end is False
    assert "_remote_candidates_end = True" in inspect.getsource(aiortc.RTCIceTransport)


def test_missing_internal_is_a_loud_error() -> None:
    class Changed(RTCPeerConnection):
        pass

    pc = Changed()
    del pc._RTCPeerConnection__closeTask  # type: ignore[attr-defined]
    with pytest.raises(
        rtcstate.InternalsChangedError, match=r"verified with aiortc 1\.16"
    ):
        _shims.disable_self_close(pc)


def _self_close_disabled(pc: Any) -> bool:
    """aiortc's close-task slot holds rtcstate's stand-in."""
    slot = getattr(pc, "_RTCPeerConnection__closeTask")  # noqa: B009
    return type(slot).__name__ == "_SelfCloseDisabled"


def test_disable_self_close_is_applied() -> None:
    assert _self_close_disabled(rtcstate.PeerConnection())
    pc = RTCPeerConnection()
    rtcstate.watch(pc)
    assert _self_close_disabled(pc)


@pytest.mark.asyncio
async def test_aioice_still_has_what_the_liveness_driver_uses() -> None:
    import aioice.ice
    import aioice.stun

    connection = aioice.ice.Connection(ice_controlling=True)
    assert connection._nominated == {}
    assert connection.remote_password is None
    assert callable(connection.build_request)
    assert "_query_consent_task" in vars(connection)
    assert connection._closing is False
    assert connection.remote_is_lite is False  # aiortc sets it from a=ice-lite
    assert callable(connection.gather_candidates)
    assert callable(connection.query_consent)
    protocol = aioice.ice.StunProtocol(connection)
    assert protocol.transactions == {}
    assert callable(protocol.send_stun)
    assert callable(protocol.datagram_received)
    pair = aioice.ice.CandidatePair(
        protocol, aioice.Candidate("f", 1, "udp", 1, "127.0.0.1", 9, "host")
    )
    assert pair.protocol is protocol
    assert pair.remote_addr == ("127.0.0.1", 9)
    assert callable(aioice.stun.Message.add_fingerprint)


@pytest.mark.asyncio
async def test_the_hand_built_route_is_told_by_what_aioice_sends_on() -> None:
    import aioice.ice
    import aioice.turn

    # aioice's TURN allocation: a datagram transport's sendto(data, addr)
    assert list(inspect.signature(aioice.turn.TurnTransport.sendto).parameters) == [
        "self",
        "data",
        "addr",
    ]
    protocol = aioice.ice.StunProtocol(aioice.ice.Connection(ice_controlling=True))
    loop = asyncio.get_running_loop()
    socket, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
    )
    try:
        protocol.transport = socket
        assert _shims.hand_route(protocol) == "socket"
        assert not _shims.transport_closing(socket)
        allocation = aioice.turn.TurnTransport(
            aioice.turn.TurnClientUdpProtocol(
                ("127.0.0.1", 9), "user", "pass", lifetime=600, channel_refresh_time=300
            )
        )
        protocol.transport = allocation
        assert _shims.hand_route(protocol) == "turn"
        assert not _shims.transport_closing(allocation)  # its sendto checks itself
        protocol.transport = object()  # a transport of no kind rtcstate knows
        assert _shims.hand_route(protocol) is None
    finally:
        socket.close()
    assert _shims.transport_closing(socket)


class _Peer(asyncio.DatagramProtocol):
    """A relayed peer: what reaches it through the TURN server."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.received.put_nowait(data)


@pytest.mark.asyncio
@pytest.mark.parametrize("over", ["udp", "tcp"])
async def test_hand_built_stun_takes_a_bound_turn_channel_at_once(
    turn_server: TurnServer, over: str
) -> None:
    """The direct ChannelData write reads aioice's TURN client's channel maps,
    its refresh times and its _send (which pads over TCP): a real allocation
    on coturn, to a peer on loopback."""
    import aioice.turn

    loop = asyncio.get_running_loop()
    peer_socket, peer = await loop.create_datagram_endpoint(
        _Peer, local_addr=("127.0.0.1", 0)
    )
    peer_addr = peer_socket.get_extra_info("sockname")
    allocation, _ = await aioice.turn.create_turn_endpoint(
        asyncio.DatagramProtocol,
        server_addr=(turn_server.host, turn_server.port),
        username=turn_server.username,
        password=turn_server.password,
        transport=over,
    )

    async def arrived() -> bytes:
        return await asyncio.wait_for(peer.received.get(), 2.0)

    try:
        allocation.sendto(b"bind", peer_addr)  # aioice binds a channel first
        assert await arrived() == b"bind"
        tasks = len(asyncio.all_tasks())
        # odd lengths: over TCP a frame unpadded would swallow the next one's start
        _shims.send_datagram(allocation, b"direct", peer_addr)
        _shims.send_datagram(allocation, b"odd", peer_addr)
        assert len(asyncio.all_tasks()) == tasks  # written at once, no task
        assert [await arrived(), await arrived()] == [b"direct", b"odd"]

        # a channel due for refresh is aioice's to refresh: its send_data
        inner = getattr(allocation, "_TurnTransport__inner_protocol")  # noqa: B009
        channel = inner.peer_to_channel[peer_addr]
        inner.channel_refresh_at[channel] = time.time() - 1
        _shims.send_datagram(allocation, b"refresh", peer_addr)
        assert len(asyncio.all_tasks()) == tasks + 1
        assert await arrived() == b"refresh"
        assert inner.channel_refresh_at[channel] > time.time()

        # a peer with no channel yet: aioice binds one
        other_socket, other = await loop.create_datagram_endpoint(
            _Peer, local_addr=("127.0.0.1", 0)
        )
        try:
            _shims.send_datagram(
                allocation, b"new", other_socket.get_extra_info("sockname")
            )
            assert len(asyncio.all_tasks()) == tasks + 1
            assert await asyncio.wait_for(other.received.get(), 2.0) == b"new"
        finally:
            other_socket.close()
    finally:
        allocation.close()
        # once closing, nothing is written, as aioice's sendto drops it
        _shims.send_datagram(allocation, b"late", peer_addr)
        await asyncio.sleep(0.2)
        peer_socket.close()
    assert peer.received.empty()


async def _answered(answers: list[int]) -> None:
    """Wait (1 s at most) for the answer to the one keepalive just sent."""
    for _ in range(100):
        if answers:
            break
        await asyncio.sleep(0.01)
    assert answers == [1]


def _unexpected(exc: Exception) -> None:
    raise AssertionError("the tap raised") from exc


async def _connected_transports() -> tuple[RTCPeerConnection, RTCPeerConnection]:
    from rtcstate.testing import negotiate
    from tests.support.peers import config

    a, b = RTCPeerConnection(config()), RTCPeerConnection(config())
    a.createDataChannel("x")
    await negotiate(a, b)
    for _ in range(250):
        # DTLS too: ICE completes a round trip or more before the handshake ends
        if {a.iceConnectionState, b.iceConnectionState} == {"completed"} and {
            a.connectionState,
            b.connectionState,
        } == {"connected"}:
            return a, b
        await asyncio.sleep(0.02)
    raise AssertionError("no connection")


@pytest.mark.asyncio
async def test_keepalives_on_the_selected_pair_are_answered() -> None:
    # End to end through the internals: our binding request, with the session's
    # credentials, is answered by aiortc's ICE agent and recognised as an answer.
    a, b = await _connected_transports()
    try:
        transport = a.sctp.transport.transport
        pair = tap.selected_pair(transport)
        assert pair is not None
        answers: list[int] = []
        packets: list[int] = []
        pair.watch(
            lambda now: packets.append(1), lambda now: answers.append(1), _unexpected
        )
        assert pair.send_keepalive()
        await _answered(answers)
        pair.unwatch()
        assert "datagram_received" not in vars(pair._protocol)
        consent = transport._connection._query_consent_task
        assert consent is not None and not consent.done()  # aioice's own checks
        _shims.take_over_consent(transport)
        assert transport._connection._query_consent_task is None
        await asyncio.sleep(0)
        assert consent.cancelled()
    finally:
        await a.close()
        await b.close()
    assert tap.selected_pair(transport) is None  # nothing selected once closed


@pytest.mark.asyncio
async def test_a_watched_connection_closed_before_gathering_opens_no_socket() -> None:
    from tests.support.peers import config

    pc = RTCPeerConnection(config())
    rtcstate.watch(pc)
    pc.createDataChannel("x")
    gathering = asyncio.ensure_future(pc.setLocalDescription(await pc.createOffer()))
    await asyncio.sleep(0)  # the transports exist; gathering has not begun
    await pc.close()
    await gathering
    # plain aiortc opens (and leaks) its sockets here, after the close
    assert pc.sctp.transport.transport._connection._protocols == []


@pytest.mark.parametrize("nominate", [False, True])
@pytest.mark.parametrize("controlling", [True, False])
def test_hand_built_keepalive_is_byte_for_byte_what_aioice_builds(
    controlling: bool, nominate: bool
) -> None:
    import aioice.ice
    import aioice.stun

    connection = aioice.ice.Connection(ice_controlling=controlling)
    connection.remote_username, connection.remote_password = "remoteufrag", "p" * 24
    protocol = aioice.ice.StunProtocol.__new__(aioice.ice.StunProtocol)  # no socket
    candidate = aioice.Candidate("f", 1, "udp", 1, "127.0.0.1", 9, "host")
    protocol.local_candidate = candidate
    pair = aioice.ice.CandidatePair(protocol, candidate)
    theirs = connection.build_request(pair, nominate=nominate)
    theirs.add_message_integrity(connection.remote_password.encode())
    theirs.add_fingerprint()
    from aioice.candidate import candidate_priority

    ours = stun.binding_request(
        theirs.transaction_id,
        username=f"{connection.remote_username}:{connection.local_username}",
        priority=candidate_priority(1, "prflx"),
        controlling=controlling,
        tie_breaker=connection._tie_breaker,
        key=connection.remote_password.encode(),
        use_candidate=nominate,
    )
    assert ours == bytes(theirs)
    # and aioice reads it back, integrity and fingerprint included
    parsed = aioice.stun.parse_message(ours)
    assert parsed.check_message_integrity(connection.remote_password.encode())


class _Forwarder:
    """A datagram transport of a kind rtcstate does not know, which sends on
    the socket it wraps."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append(data)
        self.socket.sendto(data, addr)


@pytest.mark.asyncio
async def test_on_an_unknown_transport_keepalives_are_aioices_own_messages() -> None:
    a, b = await _connected_transports()
    try:
        transport = a.sctp.transport.transport
        protocol = transport._connection._nominated[1].protocol
        forwarder = _Forwarder(protocol.transport)
        protocol.transport = forwarder
        _shims.take_over_consent(transport)  # aioice's own checks send no more
        pair = tap.selected_pair(transport)
        assert pair is not None and pair.route is None and not pair.fast
        answers: list[int] = []
        pair.watch(lambda now: None, lambda now: answers.append(1), _unexpected)
        assert pair.send_keepalive()
        await _answered(answers)
        # aioice's own request went through the transport, and was answered
        requests = [d for d in forwarder.sent if d[:2] == stun.BINDING_REQUEST]
        assert len(requests) == 1
        assert pair.responses_received == 1
        pair.unwatch()
        protocol.transport = forwarder.socket
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_an_aioice_without_what_rtcstate_reads_is_a_loud_error() -> None:
    from tests.support.peers import config

    pc = RTCPeerConnection(config())
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    transport = pc.sctp.transport.transport
    del transport._connection._tie_breaker
    try:
        with pytest.raises(rtcstate.InternalsChangedError, match="_tie_breaker"):
            guard_connection(transport)
    finally:
        transport._connection._tie_breaker = 1
        await pc.close()


class _Asker:
    """Watches `pc`'s selected pair with a spy on its aioice connection, and
    sends it binding requests from `other`'s selected pair."""

    def __init__(self, pc: RTCPeerConnection, other: RTCPeerConnection) -> None:
        import aioice.stun

        self.ours = pc.sctp.transport.transport._connection
        self.theirs = other.sctp.transport.transport._connection
        pair = tap.selected_pair(pc.sctp.transport.transport)
        assert pair is not None
        self.pair = pair
        pair.watch(lambda now: None, lambda now: None, _unexpected)
        self.seen_by_aioice: list[aioice.stun.Message] = []
        original = self.ours.request_received

        def spy(message: aioice.stun.Message, *args: object) -> None:
            self.seen_by_aioice.append(message)
            original(message, *args)

        self.ours.request_received = spy
        self.their_pair = self.theirs._nominated[1]
        self.key = self.theirs.remote_password.encode()

    async def ask(self, nominate: bool = False, **attributes: object) -> Any:
        request = self.theirs.build_request(self.their_pair, nominate=nominate)
        for name, value in attributes.items():
            if value is False:
                del request.attributes[name]
            else:
                request.attributes[name] = value
        response, _ = await self.their_pair.protocol.request(
            request,
            self.their_pair.remote_addr,
            integrity_key=self.key,
            retransmissions=2,
        )
        return response


@pytest.mark.asyncio
async def test_keepalives_from_the_remote_are_answered_by_hand_others_by_aioice() -> (
    None
):
    import aioice.stun

    a, b = await _connected_transports()
    try:
        asker = _Asker(a, b)
        seen = asker.seen_by_aioice
        # a keepalive as aioice's consent check sends it: answered by hand,
        # and aioice on the other side takes the answer as its own
        response = await asker.ask()
        assert seen == []
        assert response.check_message_integrity(asker.key)
        local = asker.their_pair.protocol.transport.get_extra_info("sockname")
        assert response.attributes["XOR-MAPPED-ADDRESS"] == (local[0], local[1])
        # a controlling agent ignores USE-CANDIDATE: answered by hand too
        assert asker.ours.ice_controlling
        await asker.ask(**{"USE-CANDIDATE": None})
        assert seen == []
        # the remote claims our role, with a lower tie-breaker: aioice's 487
        with pytest.raises(aioice.stun.TransactionFailed, match="487"):
            await asker.ask(**{"ICE-CONTROLLED": False, "ICE-CONTROLLING": 0})
        assert len(seen) == 1
        assert asker.ours.ice_controlling
        # a wrong password goes to aioice, whose unsigned 401 the asker ignores
        bad = asker.theirs.build_request(asker.their_pair, nominate=False)
        with pytest.raises(aioice.stun.TransactionTimeout):
            await asker.their_pair.protocol.request(
                bad,
                asker.their_pair.remote_addr,
                integrity_key=b"wrong",
                retransmissions=0,
            )
        assert len(seen) == 2
        asker.pair.unwatch()
        await asker.ask()  # unwatched: aioice answers again
        assert len(seen) == 3
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_a_nomination_is_answered_by_hand_only_where_it_changes_nothing() -> None:
    # A controlling browser puts USE-CANDIDATE on every keepalive. On the
    # controlled side's nominated pair that is a no-op for aioice, unless a
    # pair is still unchecked: aioice then removes it, so it must see that one.
    import aioice.ice

    a, b = await _connected_transports()
    try:
        asker = _Asker(b, a)  # b answers: the controlled side
        ours, seen = asker.ours, asker.seen_by_aioice
        assert not ours.ice_controlling
        response = await asker.ask(nominate=True)
        assert (
            "USE-CANDIDATE"
            in asker.theirs.build_request(asker.their_pair, nominate=True).attributes
        )
        assert seen == []
        assert response.check_message_integrity(asker.key)

        def unchecked() -> int:
            states = {"WAITING", "FROZEN"}
            return sum(p.state.name in states for p in ours._check_list)

        # an unchecked pair, as a remote candidate trickled in after the
        # nomination would leave behind (aiortc's SDP ended candidates here)
        late = aioice.Candidate("late", 1, "udp", 1, "127.0.0.1", 9, "host")
        ours._check_list.append(aioice.ice.CandidatePair(asker.pair._protocol, late))
        assert unchecked() == 1
        await asker.ask(nominate=True)
        assert len(seen) == 1  # aioice's, which prunes it
        assert unchecked() == 0
        await asker.ask(nominate=True)
        assert len(seen) == 1  # and by hand again
        assert ours._nominated[1] is asker.pair._pair
        assert b.iceConnectionState == "completed"
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_keepalives_follow_a_later_nomination_of_another_pair() -> None:
    # A controlling libwebrtc peer may nominate a second pair after the first;
    # aioice then sends on it, so the keepalives must go there too.
    import aioice.ice

    a, b = await _connected_transports()
    try:
        ours = a.sctp.transport.transport._connection
        pair = tap.selected_pair(a.sctp.transport.transport)
        assert pair is not None
        first = ours._nominated[1]
        others = [
            (protocol, candidate)
            for protocol in ours._protocols
            for candidate in ours._remote_candidates
            if protocol.local_candidate.can_pair_with(candidate)
            and (protocol, candidate.host, candidate.port)
            != (first.protocol, *first.remote_addr)
        ]
        if not others:
            pytest.skip("this host offers a single candidate pair")
        answers: list[int] = []
        pair.watch(lambda now: None, lambda now: answers.append(1), _unexpected)
        second = aioice.ice.CandidatePair(*others[0])
        second.state = aioice.ice.CandidatePair.State.SUCCEEDED
        second.nominated = second.remote_nominated = True
        ours._nominated[1] = second  # what check_complete does for a new nomination
        assert pair.send_keepalive()
        assert pair.remote_addr == second.remote_addr
        assert "datagram_received" not in vars(first.protocol) or (
            first.protocol is second.protocol
        )
        await _answered(answers)  # answered on the new pair, and seen there
        pair.unwatch()
        assert "datagram_received" not in vars(second.protocol)
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_what_get_stats_reads_of_aiortc_and_aioice() -> None:
    """rtcstate.stats: the DTLS transport's own stats, the check list, each pair's
    candidates and state, the TURN settings, the local username fragment."""
    import aioice.ice

    a, b = await _connected_transports()
    try:
        dtls = a.sctp.transport
        base = _shims.dtls_stats(dtls)
        assert base.type == "transport" and base.id == dtls._stats_id
        assert base.dtlsState == "connected"
        connection = _shims.connection(dtls.transport)
        pairs = _shims.check_list(connection)
        assert pairs and pairs == connection._check_list
        nominated = _shims.nominated_pair(dtls.transport)
        assert any(p is nominated for p in pairs)
        local, remote = _shims.pair_candidates(nominated)
        assert isinstance(local, aioice.Candidate)
        assert isinstance(remote, aioice.Candidate)
        assert _shims.pair_state(nominated) == ("succeeded", True)
        # aioice's enum names are W3C's RTCStatsIceCandidatePairState, upper case
        assert {s.name for s in aioice.ice.CandidatePair.State} == {
            "FROZEN",
            "WAITING",
            "IN_PROGRESS",
            "SUCCEEDED",
            "FAILED",
        }
        assert _shims.candidate_fields(local)[0] == "host"
        assert _shims.relay_protocol(connection, local) is None
        assert _shims.local_username(connection) == connection.local_username
        assert (connection.turn_transport, connection.turn_ssl) == ("udp", False)
    finally:
        await a.close()
        await b.close()


def test_a_dtls_transport_without_its_stats_is_a_loud_error() -> None:
    with pytest.raises(rtcstate.InternalsChangedError, match="_get_stats"):
        _shims.dtls_stats(object())


@pytest.mark.asyncio
async def test_aiortc_and_aioice_still_have_what_an_ice_restart_swaps() -> None:
    from tests.support.peers import config

    pc = RTCPeerConnection(config())
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    transport = pc.sctp.transport.transport
    try:
        _shims.check_restart(transport)  # all there
        # what aiortc's own monitor does, which rtcstate's replaces
        source = inspect.getsource(type(transport)._monitor)
        assert "self._connection.get_event()" in source
        assert "ConnectionClosed" in source
        # a fresh connection copies the configuration and has new credentials
        old = _shims.connection(transport)
        new = _shims.fresh_connection(old, controlling=True)
        assert (new.stun_server, new.turn_server) == (old.stun_server, old.turn_server)
        assert new.local_username != old.local_username
        assert new.ice_controlling and _shims.data_queue(new) is not None
        # anything missing is a loud error, before a restart changes anything
        _each_missing_is_loud(
            [(transport.iceGatherer, "_RTCIceGatherer__state"), (old, "_event_waiter")],
            lambda: _shims.check_restart(transport),
        )
        assert _shims.connection(transport) is old
    finally:
        await pc.close()


@pytest.mark.asyncio
async def test_aiortc_sctp_still_has_what_resending_after_an_outage_reads() -> None:
    from tests.support.peers import config

    pc = RTCPeerConnection(config())
    pc.createDataChannel("x")
    await pc.setLocalDescription(await pc.createOffer())
    sctp = pc.sctp
    try:
        assert _shims.resend_sctp(sctp) is None  # all there, nothing waits
        # what the T3 timer's expiry does, which the resend calls early
        source = inspect.getsource(type(sctp)._t3_expired)
        assert "self._t3_handle = None" in source and "_transmit()" in source
        _each_missing_is_loud(
            [(sctp, "_sent_queue"), (sctp, "_t3_handle"), (sctp, "_last_sacked_tsn")],
            lambda: _shims.resend_sctp(sctp),
        )
    finally:
        await pc.close()


def _each_missing_is_loud(
    attributes: list[tuple[object, str]], call: Callable[[], object]
) -> None:
    """`call()` raises InternalsChangedError naming each attribute, deleted in
    turn (and put back)."""
    for owner, name in attributes:
        saved = getattr(owner, name)
        delattr(owner, name)
        try:
            with pytest.raises(rtcstate.InternalsChangedError, match=name):
                call()
        finally:
            setattr(owner, name, saved)


def _chromium_mdns_answer() -> bytes:
    """An mDNS answer as Chromium sends one: `<uuid>.local` A 10.0.0.7 (class IN
    with the cache-flush bit), and in the additional section an NSEC record whose
    next-domain name is compressed (a pointer to the answer's name)."""
    import struct

    name = b"\x24" + b"1f0e8a52-6b3c-4d3e-9c1b-2a7f5e9d8c01" + b"\x05local\x00"
    header = struct.pack("!6H", 0, 0x8400, 0, 1, 0, 1)
    answer = name + struct.pack("!HHIH", 1, 0x8001, 120, 4) + bytes([10, 0, 0, 7])
    nsec_rdata = b"\xc0\x0c" + b"\x00\x01\x40"  # next: pointer; bitmap: A
    nsec = b"\xc0\x0c" + struct.pack("!HHIH", 47, 0x8001, 120, len(nsec_rdata))
    return header + answer + nsec + nsec_rdata


def test_aioice_mdns_reads_answers_dnspython_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The end-to-end proof, with Chromium, is in test_mdns.py."""
    import dns.exception
    import dns.message
    from aioice import mdns

    data = _chromium_mdns_answer()
    try:
        dns.message.from_wire(data)
    except dns.exception.FormError:
        pass  # dnspython 2.9: what the workaround is for
    kept = dns.message.from_wire(_without_additional(data))
    assert [rrset.to_text() for rrset in kept.answer] == [
        "1f0e8a52-6b3c-4d3e-9c1b-2a7f5e9d8c01.local. 120 CLASS32769 A \\# 4 0a000007"
    ]
    assert not kept.additional
    # a datagram that does not parse even so is handed on as it was
    truncated = bytes(5) + b"\x01" + bytes(6)  # a question it does not have
    assert _without_additional(truncated) == truncated
    # the wrap is in place and idempotent
    _shims.tolerate_mdns_answers()
    wrapped = mdns.MDnsProtocol.datagram_received
    _shims.tolerate_mdns_answers()
    assert mdns.MDnsProtocol.datagram_received is wrapped
    assert getattr(wrapped, "_rtcstate_mdns", False)
    # an aioice whose protocol changed is a loud error
    monkeypatch.setattr(mdns, "MDnsProtocol", type("MDnsProtocol", (), {}))
    with pytest.raises(rtcstate.InternalsChangedError, match="MDnsProtocol"):
        _shims.tolerate_mdns_answers()


# --- the gathering (rtcstate._shims.gather) ---------------------------------------


def test_aioice_still_has_what_rtcstate_gathers_with() -> None:
    gatherer = RTCIceGatherer(iceServers=[])
    gather_shim.check_gathering(gatherer)  # raises if not
    del gatherer._connection._local_candidates_end
    with pytest.raises(rtcstate.InternalsChangedError, match="_local_candidates_end"):
        gather_shim.check_gathering(gatherer)


async def _ice_pair() -> tuple[Any, Any, Any]:
    """Two aioice Connections with each other's credentials; the second has a
    host candidate on 127.0.0.1, the first none yet."""
    from aioice import Connection

    a, b = Connection(ice_controlling=True), Connection(ice_controlling=False)
    protocol = await gather_shim.bind_host(b, "127.0.0.1", 1)
    assert gather_shim.add_local(b, gather_shim.local_candidate(protocol), protocol)
    for conn in (a, b):
        gather_shim.end_local_candidates(conn)
    a.remote_username, a.remote_password = b.local_username, b.local_password
    b.remote_username, b.remote_password = a.local_username, a.local_password
    await a.add_remote_candidate(gather_shim.local_candidate(protocol))
    await a.add_remote_candidate(None)
    return a, b, protocol


@pytest.mark.asyncio
async def test_a_local_candidate_added_after_checks_began_is_paired_and_checked() -> (
    None
):
    """What trickling relies on: aioice pairs a late local candidate with the
    remote's candidates and checks it, and does not fail meanwhile."""
    a, b, _ = await _ice_pair()
    gathering = True
    gather_shim.hold_failure(a, lambda: gathering)
    tasks = [asyncio.ensure_future(conn.connect()) for conn in (a, b)]
    try:
        await asyncio.sleep(0.3)
        assert not tasks[0].done(), "no pair yet, and no failure while gathering"
        protocol = await gather_shim.bind_host(a, "127.0.0.1", 1)
        assert gather_shim.add_local(a, gather_shim.local_candidate(protocol), protocol)
        assert [p.local_candidate for p in a._check_list] == [protocol.local_candidate]
        gathering = False
        gather_shim.release_failure(a)
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(a.close(), b.close())


@pytest.mark.asyncio
async def test_a_gathering_that_ends_with_nothing_fails_the_checks() -> None:
    a, b, _ = await _ice_pair()
    gathering = True
    gather_shim.hold_failure(a, lambda: gathering)
    task = asyncio.ensure_future(a.connect())
    try:
        await asyncio.sleep(0.1)
        assert not task.done()
        gathering = False
        gather_shim.release_failure(a)
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(task, 2)
    finally:
        await asyncio.gather(a.close(), b.close())


@pytest.mark.asyncio
async def test_a_candidate_gathered_after_close_is_not_added() -> None:
    a, b, _ = await _ice_pair()
    await a.close()
    protocol = await gather_shim.bind_host(a, "127.0.0.1", 1)
    assert not gather_shim.add_local(a, gather_shim.local_candidate(protocol), protocol)
    assert a.local_candidates == []
    await gather_shim.close_protocol(protocol)
    await b.close()


def test_aiortc_still_keeps_the_local_descriptions_trickling_adds_to() -> None:
    pc = RTCPeerConnection()
    gather_shim.describe_local(pc, None, None)  # no description yet: nothing
    del pc._RTCPeerConnection__pendingLocalDescription  # type: ignore[attr-defined]
    with pytest.raises(rtcstate.InternalsChangedError, match="pendingLocalDescription"):
        gather_shim.describe_local(pc, None, None)


def test_an_sctp_transport_without_send_chunk_is_a_loud_error() -> None:
    with pytest.raises(rtcstate.InternalsChangedError, match="_send_chunk"):
        _shims.guard_sends(object(), lambda: True)
