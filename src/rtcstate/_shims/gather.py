"""aioice's gathering, piece by piece: rtcstate's gatherer ([`rtcstate._gathering`][])
binds the host sockets, asks each STUN server and allocates on each TURN server
itself, and adds each candidate to the aioice `Connection` as it comes."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Collection, Iterable
from typing import Any

from aiortc import RTCIceCandidate, RTCIceGatherer, RTCIceServer

from .._ice_servers import ServerUrl
from ._base import _changed
from .pair import closing
from .restart import _GATHERER_STATE
from .stats import RELAY_PROTOCOL

__all__ = [
    "SERVER_ERRORS",
    "add_local",
    "aiortc_servers",
    "bind_host",
    "check_gathering",
    "close_protocol",
    "closing",
    "components",
    "connection_of",
    "describe_local",
    "end_local_candidates",
    "families",
    "gatherer_state",
    "has_address",
    "has_candidates",
    "hold_failure",
    "local_candidate",
    "poke_gatherer",
    "relay_only",
    "relayed",
    "release_failure",
    "replace_gather",
    "server_reflexive",
    "set_gatherer_state",
    "stun_protocols",
    "to_rtc",
    "when_closing",
]

# the Connection attributes and methods read or called below
_CONNECTION = (
    "_closing",
    "_components",
    "_protocols",
    "_local_candidates",
    "_local_candidates_start",
    "_local_candidates_end",
    "_remote_candidates",
    "_early_checks_done",
    "_check_list_done",
    "_remote_candidates_expected",
    "_check_list_maybe_fail",
    "_pair_remote_candidate",
    "_transport_policy",
    "_use_ipv4",
    "_use_ipv6",
    "sort_check_list",
)


def check_gathering(gatherer: RTCIceGatherer) -> None:
    """:raises InternalsChangedError: if aiortc's gatherer or aioice's
    `Connection` lacks what the functions below use."""
    import aioice.candidate
    import aioice.ice
    import aioice.turn

    missing = [
        name
        for name in _CONNECTION
        if not hasattr(gatherer._connection, name)  # RTCIceGatherer._connection
    ]
    missing += [
        f"aioice.ice.{name}"
        for name in (
            "StunProtocol",
            "relayed_candidate",
            "server_reflexive_candidate",
        )
        if not hasattr(aioice.ice, name)
    ]
    missing += [
        f"aioice.candidate.{name}"
        for name in ("candidate_foundation", "candidate_priority")
        if not hasattr(aioice.candidate, name)
    ]
    if not hasattr(aioice.turn, "UDP_SOCKET_BUFFER_SIZE"):
        missing.append("aioice.turn.UDP_SOCKET_BUFFER_SIZE")
    if not hasattr(gatherer, _GATHERER_STATE):
        missing.append("RTCIceGatherer." + _GATHERER_STATE)
    if missing:
        raise _changed("gathering needs " + ", ".join(missing))


def replace_gather(gatherer: RTCIceGatherer, gather: Callable[[], Any]) -> None:
    """`gather` is what `setLocalDescription` awaits from now on (aiortc calls
    `RTCIceGatherer.gather()` on each of its gatherers), restarts included."""
    gatherer.gather = gather  # type: ignore[method-assign]


def gatherer_state(gatherer: RTCIceGatherer) -> str:
    return str(gatherer.state)


def set_gatherer_state(gatherer: RTCIceGatherer, state: str) -> None:
    """Set `RTCIceGatherer.state` and tell the peer connection, as aiortc's own
    gathering does (it derives `iceGatheringState` from each gatherer's)."""
    if getattr(gatherer, _GATHERER_STATE) != state:
        setattr(gatherer, _GATHERER_STATE, state)
        gatherer.emit("statechange")


def poke_gatherer(gatherer: RTCIceGatherer) -> None:
    """Tell the gatherer's listeners to look again, its state unchanged (a
    trickled gathering's host phase is over: its connection may start)."""
    gatherer.emit("statechange")


def when_closing(conn: Any, callback: Callable[[], None]) -> None:
    """Call `callback` when the connection's `close()` begins (once)."""
    # Connection.close: wrapped on the instance, as the guards wrap others
    if conn._closing:
        callback()
        return
    original = conn.close

    async def close() -> None:
        callback()
        await original()

    conn.close = close


def connection_of(gatherer: RTCIceGatherer) -> Any:
    # RTCIceGatherer._connection: the aioice Connection it gathers for (a
    # restart installs a new one)
    return gatherer._connection


def relay_only(conn: Any) -> bool:
    """Whether the connection gathers relayed candidates only."""
    # Connection._transport_policy: iceTransportPolicy "relay"
    from aioice.ice import TransportPolicy

    return bool(conn._transport_policy == TransportPolicy.RELAY)


def families(conn: Any) -> tuple[bool, bool]:
    """Whether the connection gathers IPv4, IPv6 addresses."""
    return bool(conn._use_ipv4), bool(conn._use_ipv6)


def components(conn: Any) -> list[int]:
    return sorted(conn._components)


async def bind_host(conn: Any, address: str, component: int) -> Any:
    """A UDP socket on `address` for `component`, as aioice's gathering binds
    one, with its host candidate: the aioice protocol, not yet added.

    :raises OSError: if the address cannot be bound."""
    from aioice.candidate import Candidate, candidate_foundation, candidate_priority
    from aioice.ice import StunProtocol
    from aioice.turn import UDP_SOCKET_BUFFER_SIZE

    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: StunProtocol(conn), local_addr=(address, 0)
    )
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_SOCKET_BUFFER_SIZE)
    host, port = transport.get_extra_info("sockname")[:2]
    protocol.local_candidate = Candidate(
        foundation=candidate_foundation("host", "udp", host),
        component=component,
        transport="udp",
        priority=candidate_priority(component, "host"),
        host=host,
        port=port,
        type="host",
    )
    return protocol


def local_candidate(protocol: Any) -> Any:
    return protocol.local_candidate


def stun_protocols(conn: Any) -> list[Any]:
    """The connection's host sockets (aioice's protocols) a STUN server is
    asked from: IPv4 ones, as aioice asks, and not 127.0.0.1 (a server
    elsewhere cannot answer it)."""
    return [
        p
        for p in conn._protocols
        if p.local_candidate.type == "host"
        and ":" not in p.local_candidate.host
        and not p.local_candidate.host.startswith("127.")
    ]


def has_candidates(conn: Any) -> bool:
    return bool(conn._local_candidates)


def has_address(conn: Any, candidate: Any) -> bool:
    """Whether a local candidate of the connection has the same address."""
    return any(
        (c.host, c.port) == (candidate.host, candidate.port)
        for c in conn._local_candidates
    )


async def server_reflexive(protocol: Any, server: tuple[str, int]) -> Any:
    """The server-reflexive candidate the STUN server at `server` sees for the
    host socket of `protocol` (aioice's query: retransmitted until it answers
    or gives up, so bound it)."""
    from aioice.ice import server_reflexive_candidate

    candidate, _ = await server_reflexive_candidate(protocol, server)
    return candidate


async def relayed(
    conn: Any,
    component: int,
    server: tuple[str, int],
    username: str | None,
    password: str | None,
    transport: str,
    tls: ssl.SSLContext | None,
) -> tuple[Any, Any]:
    """An allocation on the TURN server at `server`, reached over `transport`
    (`"udp"` or `"tcp"`, with TLS when `tls` is given): its relayed candidate
    and the aioice protocol that owns it, not yet added."""
    from aioice.ice import StunProtocol, relayed_candidate

    candidate, protocol = await relayed_candidate(
        component=component,
        hide_related_address=relay_only(conn),
        protocol_factory=lambda: StunProtocol(conn),
        turn_server=server,
        turn_username=username,
        turn_password=password,
        turn_ssl=tls,  # type: ignore[arg-type]  # aioice passes it to create_connection
        turn_transport=transport,
    )
    return candidate, protocol


async def close_protocol(protocol: Any) -> None:
    await protocol.close()


def add_local(
    conn: Any, candidate: Any, protocol: Any | None, relay_protocol: str | None = None
) -> bool:
    """Add a gathered candidate (with the socket or allocation it came from,
    if it has one of its own) to the connection; once its checks have begun,
    pair it with the remote candidates, as aioice pairs a remote candidate
    that came late. False, and nothing added, if the connection is closing
    (the caller closes the protocol). `relay_protocol`: how a relayed candidate
    reaches its TURN server."""
    if conn._closing:
        return False
    if relay_protocol is not None:  # read back by stats (relayProtocol)
        setattr(candidate, RELAY_PROTOCOL, relay_protocol)
    if protocol is not None:
        conn._protocols.append(protocol)
    conn._local_candidates.append(candidate)
    if protocol is not None and conn._early_checks_done and not conn._check_list_done:
        for remote in conn._remote_candidates:
            conn._pair_remote_candidate(remote)
        conn.sort_check_list()
    return True


def end_local_candidates(conn: Any) -> None:
    """What aioice's `gather_candidates` marks when it ends: `connect()` may
    run (with the candidates so far, when trickling)."""
    conn._local_candidates_start = True
    conn._local_candidates_end = True


def hold_failure(conn: Any, gathering: Callable[[], bool]) -> None:
    """While `gathering()`, the check list does not fail for want of pairs: a
    candidate still to come may pair yet, as a remote candidate still to come
    may (aioice waits for end-of-candidates the same way)."""
    expected = conn._remote_candidates_expected
    conn._remote_candidates_expected = lambda: expected() or gathering()


def release_failure(conn: Any) -> None:
    """The gathering is over: if every pair failed meanwhile, the check list
    fails now (aioice looks only when a check ends)."""
    if conn._early_checks_done and not conn._check_list_done and not conn._closing:
        conn._check_list_maybe_fail()


# RTCPeerConnection.__pendingLocalDescription / __currentLocalDescription: the
# parsed descriptions `localDescription` renders
_LOCAL_DESCRIPTIONS = (
    "_RTCPeerConnection__pendingLocalDescription",
    "_RTCPeerConnection__currentLocalDescription",
)


def _server_errors() -> tuple[type[BaseException], ...]:
    from aioice.stun import TransactionError

    return (asyncio.TimeoutError, OSError, ConnectionError, TransactionError)


#: what a STUN or TURN server that is down, refuses or fails TLS raises
#: (ssl.SSLError is an OSError); anything else is an error inside
SERVER_ERRORS = _server_errors()


def describe_local(
    pc: Any, mids: Collection[str], candidate: RTCIceCandidate | None
) -> bool:
    """Add a trickled `candidate` to the m-sections of `pc`'s local description
    whose mid is in `mids`, or with `None` mark its m-sections' candidates
    complete (`a=end-of-candidates`): what `localDescription` reads from now.
    The description is the pending one if there is one (a restart's offer),
    else the current one. False if the candidate was there already (gathered
    before the description was made)."""
    for name in _LOCAL_DESCRIPTIONS:
        if not hasattr(pc, name):
            raise _changed("RTCPeerConnection has no " + name)
    pending, current = (getattr(pc, name) for name in _LOCAL_DESCRIPTIONS)
    description = pending or current
    if description is None:
        return True
    added = candidate is None
    for media in description.media:
        if candidate is None:
            media.ice_candidates_complete = True
        elif media.rtp.muxId in mids:
            address = (candidate.ip, candidate.port, candidate.protocol)
            if any((c.ip, c.port, c.protocol) == address for c in media.ice_candidates):
                continue
            media.ice_candidates.append(candidate)
            added = True
    return added


def aiortc_servers(servers: Iterable[ServerUrl]) -> list[RTCIceServer]:
    """The URLs of `servers` aiortc's own gathering can use (it takes the first
    STUN and the first TURN of them), as aiortc's `RTCIceServer`s."""
    from aiortc.rtcicetransport import parse_stun_turn_uri

    usable: list[RTCIceServer] = []
    for server in servers:
        url = server.url if server.transport != "tls" else None
        try:
            if url is None or parse_stun_turn_uri(url)["host"] != server.host:
                continue
        except ValueError:
            continue
        usable.append(RTCIceServer(url, server.username, server.password))
    return usable


def to_rtc(candidate: Any, mid: str | None, index: int | None) -> RTCIceCandidate:
    """The aiortc form of an aioice candidate, with its m-line."""
    from aiortc.rtcicetransport import candidate_from_aioice

    rtc = candidate_from_aioice(candidate)
    rtc.sdpMid = mid
    rtc.sdpMLineIndex = index
    return rtc
