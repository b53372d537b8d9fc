"""aioice's selected pair: its socket or TURN allocation, its state, sending on it."""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCIceTransport

from ._base import _changed
from .peerconnection import connection, connection_in_use

# --- aioice: the selected pair -----------------------------------------------------
# aioice.Connection keeps its nominated pair per component in `_nominated`; each
# CandidatePair has the StunProtocol (socket) it uses and the remote address.
# aiortc multiplexes RTP and RTCP, so component 1 is the only one.


def _pair_states() -> tuple[Any, frozenset[Any]]:
    # CandidatePair.State: a pair's check state, which aioice's answering depends on
    from aioice.ice import CandidatePair

    try:
        states = CandidatePair.State
        return states.SUCCEEDED, frozenset({states.WAITING, states.FROZEN})
    except AttributeError:
        raise _changed(
            "CandidatePair.State lacks SUCCEEDED / WAITING / FROZEN"
        ) from None


# a pair that has succeeded; pairs not checked yet
_SUCCEEDED, _UNCHECKED = _pair_states()

# what rtcstate reads of a CandidatePair (checked on each selected pair)
_PAIR_ATTRIBUTES = (
    "protocol",
    "remote_addr",
    "state",
    "component",
    "nominated",
    "remote_nominated",
    "task",
)


def nominated_pair(transport: RTCIceTransport) -> Any | None:
    """aioice's nominated CandidatePair of the transport's component 1, or `None` while
    there is none; [`InternalsChangedError`][rtcstate.InternalsChangedError] if aioice
    no longer keeps it, or it lacks what rtcstate reads."""
    try:
        # Connection._nominated: the selected pair, which aioice does not publish
        nominated_pairs = connection_in_use(transport)._nominated
    except AttributeError:
        raise _changed("Connection has no _nominated") from None
    pair = nominated_pairs.get(1)
    if pair is None:
        return None
    if not all(hasattr(pair, name) for name in _PAIR_ATTRIBUTES):
        raise _changed("CandidatePair lacks one of: " + ", ".join(_PAIR_ATTRIBUTES))
    return pair


def nominated(connection: Any, component: int) -> Any | None:
    """aioice's nominated pair of `component` now (a remote may nominate
    another one later)."""
    # Connection._nominated: aioice sends on the pair it holds here
    return connection._nominated.get(component)


def pair_protocol(pair: Any) -> Any:
    """The StunProtocol a CandidatePair sends on."""
    # CandidatePair.protocol: a socket of aioice's own, or a TURN allocation
    return pair.protocol


def pair_remote_addr(pair: Any) -> tuple[str, int]:
    """The remote address of a CandidatePair, as `(host, port)`."""
    # CandidatePair.remote_addr: where the pair's datagrams go and come from
    return (pair.remote_addr[0], pair.remote_addr[1])


def pair_component(pair: Any) -> int:
    """The ICE component of a CandidatePair (1: aiortc multiplexes RTP and RTCP)."""
    # CandidatePair.component: keys the nomination and a check's PRIORITY
    component: int = pair.component
    return component


def closing(connection: Any) -> bool:
    """Whether aioice's connection is closing or closed."""
    # Connection._closing: nothing may be sent once close() has begun
    closing: bool = connection._closing
    return closing


def ice_closing(transport: RTCIceTransport) -> bool:
    """Whether the ICE transport's aioice connection is closing or closed."""
    return closing(connection(transport))


def prflx_priority(component: int) -> int:
    """The PRIORITY a check carries on `component` (RFC 8445 7.1.1: a
    peer-reflexive candidate's), as aioice computes it."""
    # aioice.candidate.candidate_priority(component, type): aioice's formula
    from aioice.candidate import candidate_priority

    priority: int = candidate_priority(component, "prflx")
    return priority


def tie_breaker(connection: Any) -> int:
    """The connection's ICE tie-breaker (RFC 8445 7.3.1.1)."""
    # Connection._tie_breaker: a hand-built check carries it, as aioice's do
    tie_breaker: int = connection._tie_breaker
    return tie_breaker


def answers_only(connection: Any, pair: Any) -> bool:
    """Whether aioice would do nothing but answer a plain, authenticated check
    that arrives on `pair`: the connection is not closing, its early checks
    are done (before that aioice queues checks) and the pair has succeeded
    (otherwise aioice triggers a check of its own)."""
    # Connection._closing, _early_checks_done, CandidatePair.state: what
    # aioice's request_received and check_incoming branch on
    return (
        not connection._closing
        and connection._early_checks_done
        and pair.state is _SUCCEEDED
    )


def nomination_changes_nothing(connection: Any, pair: Any) -> bool:
    """Whether a USE-CANDIDATE on `pair` would change nothing in aioice.

    A controlling remote (a browser that sent the offer) puts USE-CANDIDATE
    on every keepalive. aioice's check_incoming then marks the pair
    nominated and calls check_complete, which is a no-op when the pair is
    already the nominated, remote-nominated pair of a completed check list
    and no pair of its component is left unchecked (otherwise it removes
    those).
    """
    # CandidatePair.nominated, remote_nominated, task and Connection's
    # _check_list_done, _nominated, _check_list: what check_complete reads
    component = pair.component
    return bool(
        pair.nominated
        and pair.remote_nominated
        and pair.task is None
        and connection._check_list_done
        and connection._nominated.get(component) is pair
        and not any(
            p.component == component and p.state in _UNCHECKED
            for p in connection._check_list
        )
    )


def datagram_transport(protocol: Any) -> Any:
    """The transport aioice's StunProtocol sends on, or `None`: a socket's
    asyncio transport, or aioice's TURN allocation, which behaves as one."""
    # StunProtocol.transport: to send hand-built STUN on it
    return protocol.transport


def hand_route(protocol: Any) -> str | None:
    """How hand-built STUN reaches the remote from aioice's protocol object:
    `"socket"` (a socket of aioice's own: host, server-reflexive and
    peer-reflexive candidates), `"turn"` (aioice's TURN allocation, a relayed
    candidate), or `None` for a transport of any other kind, which only
    aioice's own messages may take."""
    # StunProtocol.transport: its type tells a socket from a TURN allocation
    transport = getattr(protocol, "transport", None)
    if isinstance(transport, asyncio.BaseTransport):
        return "socket"
    # aioice.turn.TurnTransport.sendto(data, addr): a datagram transport's
    # signature; it drops data once the allocation is closed or lost
    if isinstance(transport, _turn_transport()):
        return "turn"
    return None


def pair_local_address(pair: Any) -> str | None:
    """The address of this machine a CandidatePair's datagrams leave from: its
    socket's for a host or server-reflexive candidate, the TURN client's socket
    for a relayed one; `None` if it cannot be read."""
    transport: Any = getattr(pair.protocol, "transport", None)
    try:
        if type(transport) is _turn_transport():
            # TurnTransport's inner protocol: the TURN client, on a socket of
            # this machine's
            inner = getattr(transport, "_TurnTransport__inner_protocol")  # noqa: B009
            sockname = inner.transport.get_extra_info("sockname")
        else:
            sockname = transport.get_extra_info("sockname")
    except AttributeError:
        return None
    return None if not sockname else str(sockname[0])


def transport_closing(transport: Any) -> bool:
    """Whether a transport from `datagram_transport` no longer sends."""
    # a TURN allocation has no is_closing(): its sendto() drops data once closed
    is_closing = getattr(transport, "is_closing", None)
    return bool(is_closing()) if is_closing is not None else False


def send_datagram(transport: Any, data: bytes, addr: tuple[str, int]) -> None:
    """Send `data` to `addr` on a transport from `datagram_transport`.

    On a TURN allocation whose channel to `addr` is bound and fresh, the
    ChannelData goes out at once, as aioice's own `send_data` writes it;
    otherwise (a bind or refresh due or under way, the allocation closing)
    aioice's `sendto` takes it, which runs one task per datagram.
    """
    if type(transport) is _turn_transport() and _send_on_channel(transport, data, addr):
        return
    transport.sendto(data, addr)


def _send_on_channel(allocation: Any, data: bytes, addr: tuple[str, int]) -> bool:
    # TurnTransport's inner protocol (aioice's TURN client): its channel maps,
    # and its _send, which pads ChannelData over TCP and TLS; a channel's
    # refresh time is on time.time(), as aioice keeps it
    try:
        if allocation._TurnTransport__close_task is not None:
            return False
        inner = allocation._TurnTransport__inner_protocol
        channel = inner.peer_to_channel.get(addr)
        if (
            channel is None
            or addr in inner.peer_connect_waiters
            or time.time() > inner.channel_refresh_at[channel]
            or inner.transport.is_closing()
        ):
            return False
        write = inner._send
    except (AttributeError, KeyError):
        raise _changed("TurnTransport's TURN client changed") from None
    write(struct.pack("!HH", channel, len(data)) + data)
    return True


def _turn_transport() -> type:
    from aioice import turn

    cls: type = getattr(turn, "TurnTransport", _Nothing)
    return cls


class _Nothing:
    """Matches no transport (aioice without a TurnTransport class)."""


DatagramReceived = Callable[[Any, Any], None]
"""a StunProtocol's datagram_received(data, addr)"""


def wrap_datagram_received(
    protocol: Any, wrap: Callable[[DatagramReceived], DatagramReceived]
) -> Callable[[], None]:
    """Put `wrap(original)` in place of the protocol's datagram_received, on
    the instance; returns the function that takes it away again (if it is
    still there)."""
    # StunProtocol.datagram_received: asyncio's transport (and aioice's TURN
    # client) looks it up on the instance, so this sees every datagram first
    wrapped = wrap(protocol.datagram_received)
    protocol.datagram_received = wrapped

    def unwrap() -> None:
        if protocol.__dict__.get("datagram_received") is wrapped:
            del protocol.datagram_received

    return unwrap


def aioice_keepalive(
    connection: Any, pair: Any, transaction_id: bytes, password: str, nominate: bool
) -> Any:
    """aioice's own binding request for `pair`, signed and fingerprinted, as
    its consent checks are (for a route whose requests are not built by hand)."""
    # Connection.build_request: aioice's request for the pair, in its own form
    request = connection.build_request(pair, nominate=nominate)
    request.transaction_id = transaction_id
    request.add_message_integrity(password.encode("utf8"))
    request.add_fingerprint()
    return request


def send_stun(protocol: Any, message: Any, addr: tuple[str, int]) -> None:
    """Send an aioice STUN message through the protocol, without a transaction
    (the tap recognises the answer)."""
    # StunProtocol.send_stun: the one way to send on a TURN allocation
    protocol.send_stun(message, addr)
