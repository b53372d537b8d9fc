"""Every use of an aiortc or aioice private attribute, in one place.

rtcstate needs facts aiortc's public API does not give (the remote's end-of-candidates,
the selected candidate pair and its socket), and behaviour it cannot reach publicly
(switching off the self-close, sending a keepalive on the selected pair, ending
consent). Each is read or set here and nowhere else (the tap on the selected pair,
[`rtcstate.tap`][], reaches aioice only through the functions below), checked by
[`check`][rtcstate._shims.check] when a connection is wrapped and by
[`nominated_pair`][rtcstate._shims.nominated_pair] and
[`guard_connection`][rtcstate._shims.guard_connection] when a transport is, and covered
by `tests/test_internals.py`, so an aiortc or aioice release that renames them fails
loudly instead of silently giving wrong states. Verified with aiortc 1.16.0 and aioice
0.13.0 (the ranges pinned in pyproject.toml).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

from aiortc import RTCIceTransport, RTCPeerConnection

logger = logging.getLogger("rtcstate")

__all__ = [
    "DatagramReceived",
    "InternalsChangedError",
    "aioice_keepalive",
    "answers_only",
    "candidate_fields",
    "check",
    "check_list",
    "check_restart",
    "closing",
    "connection",
    "connection_in_use",
    "data_queue",
    "datagram_transport",
    "disable_self_close",
    "dtls_stats",
    "fresh_connection",
    "gathered",
    "guard_connection",
    "hand_route",
    "ice_closing",
    "install_connection",
    "local_username",
    "monitor_connections",
    "nominated",
    "nominated_pair",
    "nomination_changes_nothing",
    "pair_candidates",
    "pair_component",
    "pair_protocol",
    "pair_remote_addr",
    "pair_state",
    "reinstall_connection",
    "relay_protocol",
    "remote_end_of_candidates",
    "remote_parameters",
    "restore_consent",
    "send_stun",
    "set_data_queue",
    "set_datapath",
    "set_in_use",
    "set_native_state",
    "set_remote_end_of_candidates",
    "set_remote_parameters",
    "take_over_consent",
    "tie_breaker",
    "transport_closing",
    "wrap_datagram_received",
]


class InternalsChangedError(RuntimeError):
    """The installed aiortc no longer has an internal rtcstate relies on."""


# --- aiortc ------------------------------------------------------------------------

# aiortc's RTCPeerConnection starts close() by itself once every DTLS transport
# is closed (a remote hang-up), guarded by `self.__closeTask is None`. A browser
# does not: its state follows the transports. A non-None value in that slot turns
# the self-close off; close() never reads the slot.
_CLOSE_TASK = "_RTCPeerConnection__closeTask"
# aiortc's RTCIceGatherer records end-of-candidates from the remote here (set by
# addRemoteCandidate(None), from addIceCandidate(None) or a=end-of-candidates).
_REMOTE_END = "_remote_candidates_end"


class _SelfCloseDisabled:
    """Stands in aiortc's close-task slot so it never schedules its own close()."""

    def __repr__(self) -> str:
        return "<self-close disabled by rtcstate>"

    def done(self) -> bool:  # looks like a finished task to any reader
        return True


_SELF_CLOSE_DISABLED: Any = _SelfCloseDisabled()


def check(pc: RTCPeerConnection) -> None:
    """Raise [`InternalsChangedError`][rtcstate.InternalsChangedError] if `pc` lacks
    what rtcstate reads."""
    import aiortc

    # the close-task slot: without it the self-close cannot be switched off
    if not hasattr(pc, _CLOSE_TASK):
        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCPeerConnection has no {_CLOSE_TASK}; "
            "rtcstate was verified with aiortc 1.16 and cannot stop the connection "
            "from closing itself on a remote hang-up"
        )


def disable_self_close(pc: RTCPeerConnection) -> None:
    """Stop aiortc from calling `pc.close()` when every DTLS transport closed."""
    check(pc)
    # written: a browser's connection stays open on a remote hang-up
    setattr(pc, _CLOSE_TASK, _SELF_CLOSE_DISABLED)


def remote_end_of_candidates(transport: RTCIceTransport) -> bool:
    """Whether the remote signalled end-of-candidates to this ICE transport."""
    try:
        # read: the W3C ICE states tell "checking" from "failed" by it
        return bool(getattr(transport.iceGatherer, _REMOTE_END))
    except AttributeError:
        import aiortc

        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCIceGatherer has no {_REMOTE_END}; "
            "rtcstate was verified with aiortc 1.16"
        ) from None


def connection(transport: RTCIceTransport) -> Any:
    """aioice's Connection behind an aiortc ICE transport."""
    # RTCIceTransport._connection: aiortc has no public way to its ICE agent
    return transport._connection


# During an ICE restart the transport's Connection is the new one, still checking,
# while the old one carries the data: what the selected pair and getStats() read.
_IN_USE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def set_in_use(transport: RTCIceTransport, in_use: Any | None) -> None:
    """The Connection that carries the data while a restart checks (`None`: the
    transport's own)."""
    if in_use is None:
        _IN_USE.pop(transport, None)
    else:
        _IN_USE[transport] = in_use


def connection_in_use(transport: RTCIceTransport) -> Any:
    """The aioice Connection that carries the transport's data now."""
    in_use = _IN_USE.get(transport)
    return connection(transport) if in_use is None else in_use


# --- aioice: the selected pair -----------------------------------------------------
# aioice.Connection keeps its nominated pair per component in `_nominated`; each
# CandidatePair has the StunProtocol (socket) it uses and the remote address.
# aiortc multiplexes RTP and RTCP, so component 1 is the only one.


def _changed(what: str) -> InternalsChangedError:
    import aioice

    return InternalsChangedError(
        f"aioice {getattr(aioice, '__version__', '?')}: {what}; rtcstate was verified "
        "with aioice 0.13"
    )


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


def transport_closing(transport: Any) -> bool:
    """Whether a transport from `datagram_transport` no longer sends."""
    # a TURN allocation has no is_closing(): its sendto() drops data once closed
    is_closing = getattr(transport, "is_closing", None)
    return bool(is_closing()) if is_closing is not None else False


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


# --- aioice: the connection's life -------------------------------------------------


def guard_connection(transport: RTCIceTransport, loopback: str = "auto") -> None:
    """Make aioice's connection safe to close at any moment, and able to use
    loopback. Idempotent (the first call's `loopback` stays).

    Two races in aioice 0.13 leak on a `close()` at the wrong time:

    * its consent task starts when `connect()` returns; if `close()` ran
      while the check list was completing, the task starts after the close and
      runs forever;
    * a gathering adds its sockets to the connection only when it ends, so a
      `close()` before or during the gathering never closes them.

    The instance's `query_consent` and `gather_candidates` are wrapped: the
    first returns at once on a closing connection, the second does not start
    on one and closes the connection again (aioice's close is safe to repeat)
    if it was closed meanwhile.

    aioice never gathers loopback addresses, so on a host whose only interface
    is loopback it has no candidate and never connects. The gathering wrapper
    adds a 127.0.0.1 host candidate: with `loopback="auto"` when nothing else
    was gathered, with `"always"` in any case, never with `"never"`, and
    never under the relay-only policy (`iceTransportPolicy="relay"`).
    """
    aioice_connection = connection(transport)
    # Connection.query_consent, gather_candidates: wrapped on the instance (the
    # two leaks above); the names listed: read here and by the tap
    consent = getattr(aioice_connection, "query_consent", None)
    gather = getattr(aioice_connection, "gather_candidates", None)
    missing = [
        name
        for name in (
            "_closing",
            "_tie_breaker",
            "_local_candidates",
            "_components",
            "_early_checks_done",
            "local_password",
            "_check_list",
            "_check_list_done",
            "remote_is_lite",
            "_transport_policy",
        )
        if not hasattr(aioice_connection, name)
    ]
    if consent is None or gather is None or missing:
        raise _changed(
            "Connection lacks query_consent / gather_candidates or "
            + ", ".join(missing or ["-"])
        )
    if getattr(consent, "_rtcstate_guard", False):
        return

    async def query_consent() -> None:
        # Connection._closing: no consent task once close() has begun
        if not aioice_connection._closing:
            await consent()

    from aioice.ice import TransportPolicy

    # Connection._transport_policy: no host candidate under the relay-only policy
    relay_only = aioice_connection._transport_policy == TransportPolicy.RELAY

    async def gather_candidates() -> None:
        if aioice_connection._closing:
            return
        await gather()
        if aioice_connection._closing:
            await aioice_connection.close()
            return
        if relay_only:
            return  # iceTransportPolicy "relay": never a host candidate
        # Connection._local_candidates, _components, get_component_candidates:
        # aioice's own gathering, for the loopback address it leaves out
        if loopback == "always" or (
            loopback == "auto" and not aioice_connection._local_candidates
        ):
            try:
                for component in sorted(aioice_connection._components):
                    aioice_connection._local_candidates += (
                        await aioice_connection.get_component_candidates(
                            component=component, addresses=["127.0.0.1"]
                        )
                    )
            except Exception:  # an extra candidate is not worth a failed gathering
                logger.warning("no 127.0.0.1 candidate", exc_info=True)

    query_consent._rtcstate_guard = True  # type: ignore[attr-defined]
    aioice_connection.query_consent = query_consent
    aioice_connection.gather_candidates = gather_candidates


def take_over_consent(transport: RTCIceTransport) -> None:
    """Stop aioice's own consent checks (one every 5 s, giving up after ~30 s):
    the liveness monitor's keepalives are the consent checks from now on, so the
    two do not add up on the wire."""
    aioice_connection = connection(transport)
    # Connection._query_consent_task: aioice's consent checks, cancelled here
    if not hasattr(aioice_connection, "_query_consent_task"):
        raise _changed("Connection has no _query_consent_task")
    task = aioice_connection._query_consent_task
    if task is not None and not task.done():
        task.cancel()
    aioice_connection._query_consent_task = None


def restore_consent(transport: RTCIceTransport) -> None:
    """Undo [`take_over_consent`][rtcstate._shims.take_over_consent]: aioice checks
    consent itself again (as with `liveness=None`), unless it is closing or already
    does."""
    aioice_connection = connection(transport)
    # Connection._query_consent_task, query_consent: started again as connect() does
    task = getattr(aioice_connection, "_query_consent_task", None)
    if aioice_connection._closing or aioice_connection.remote_password is None:
        return
    if task is None or task.done():
        aioice_connection._query_consent_task = asyncio.ensure_future(
            aioice_connection.query_consent()
        )


# --- getStats() ------------------------------------------------------------------
# What rtcstate.stats reads to report the ICE side of getStats(), which aiortc 1.16
# leaves out.


def dtls_stats(transport: Any) -> Any:
    """aiortc's own `RTCTransportStats` of a DTLS transport (its id, which the RTP
    stats name as `transportId`, and its DTLS packet and byte counts)."""
    # RTCDtlsTransport._get_stats(): aiortc adds it to getStats() only through its
    # senders and receivers, so a data-channel-only connection never shows it
    try:
        get_stats = transport._get_stats
    except AttributeError:
        raise _changed("aiortc's RTCDtlsTransport has no _get_stats") from None
    return get_stats().get(transport._stats_id)


def check_list(connection: Any) -> list[Any]:
    """A copy of aioice's check list: the candidate pairs it holds."""
    # Connection._check_list: the pairs aioice checks (and kept once checked)
    return list(connection._check_list)


def pair_candidates(pair: Any) -> tuple[Any, Any]:
    """The local and remote aioice `Candidate` of a CandidatePair."""
    # CandidatePair.local_candidate (the protocol's candidate), remote_candidate
    return pair.local_candidate, pair.remote_candidate


def pair_state(pair: Any) -> tuple[str, bool]:
    """A CandidatePair's check state as W3C's RTCStatsIceCandidatePairState
    (`"frozen"`, `"waiting"`, `"in-progress"`, `"succeeded"`, `"failed"`) and
    whether it is nominated."""
    # CandidatePair.state (an enum named as W3C's states, upper case) and nominated
    state: str = pair.state.name.lower().replace("_", "-")
    return state, bool(pair.nominated)


def candidate_fields(candidate: Any) -> tuple[str, str, int, str]:
    """An aioice `Candidate`'s type, host, port and transport protocol (lower case)."""
    # Candidate.type, host, port, transport: public attributes of aioice's class
    return (
        str(candidate.type),
        str(candidate.host),
        int(candidate.port),
        str(candidate.transport).lower(),
    )


def relay_protocol(connection: Any) -> str | None:
    """How aioice reaches its TURN server (`"udp"`, `"tcp"` or `"tls"`), or `None`
    without one."""
    # Connection.turn_server, turn_transport, turn_ssl: aioice's one TURN server
    if connection.turn_server is None:
        return None
    return "tls" if connection.turn_ssl else str(connection.turn_transport).lower()


def local_username(connection: Any) -> str:
    """The local ICE username fragment."""
    # Connection.local_username: a public property, read here with the rest
    username: str = connection.local_username
    return username


# --- aiortc / aioice: ICE restart ------------------------------------------------
# aiortc 1.16 has no ICE restart: an RTCIceTransport starts once, on the one aioice
# Connection its gatherer made, with credentials fixed at construction. A restart
# (rtcstate.restart) gives the transport a fresh Connection, with new credentials and
# new candidates, while the DTLS transport above keeps its association.

# RTCIceGatherer.__state: gather() only gathers from "new"
_GATHERER_STATE = "_RTCIceGatherer__state"
# RTCIceTransport.__monitor_task: the task that turns the Connection's closing into
# "failed"; it ends then, so a Connection after that one needs a new task
_MONITOR_TASK = "_RTCIceTransport__monitor_task"
# RTCIceTransport.__setState: sets the state and fires "statechange"
_SET_STATE = "_RTCIceTransport__setState"
# what a fresh Connection copies from the old one (its configuration)
_CONFIGURATION = (
    "stun_server",
    "turn_server",
    "turn_username",
    "turn_password",
    "turn_ssl",
    "turn_transport",
    "_use_ipv4",
    "_use_ipv6",
    "_transport_policy",
    "_components",
    "remote_is_lite",
)


def check_restart(transport: RTCIceTransport) -> None:
    """Raise [`InternalsChangedError`][rtcstate.InternalsChangedError] if the transport
    lacks what an ICE restart swaps or reads."""
    import aiortc

    missing = [
        name
        for owner, name in (
            (transport, "_connection"),
            (transport, "_recv"),
            (transport, "_send"),
            (transport, "_monitor"),
            (transport, _MONITOR_TASK),
            (transport, _SET_STATE),
            (transport.iceGatherer, "_connection"),
            (transport.iceGatherer, _GATHERER_STATE),
            (transport.iceGatherer, _REMOTE_END),
        )
        if not hasattr(owner, name)
    ]
    if missing:
        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCIceTransport / RTCIceGatherer lack "
            f"{', '.join(missing)}; ICE restart was verified with aiortc 1.16"
        )
    old = connection(transport)
    missing = [
        n
        for n in (
            *_CONFIGURATION,
            "_queue",
            "_local_candidates_end",
            "_remote_candidates_end",
            "_event_waiter",
        )
        if not hasattr(old, n)
    ]
    if missing:
        raise _changed("Connection lacks " + ", ".join(missing))


def fresh_connection(old: Any, controlling: bool) -> Any:
    """A new aioice Connection configured as `old` (servers, policy, address
    families), with new random credentials and no candidate yet."""
    from aioice import Connection

    # Connection's constructor arguments, read back from its attributes (aiortc
    # keeps no copy of its RTCConfiguration's ICE servers)
    new = Connection(
        ice_controlling=controlling,
        components=len(old._components),
        stun_server=old.stun_server,
        turn_server=old.turn_server,
        turn_username=old.turn_username,
        turn_password=old.turn_password,
        turn_ssl=old.turn_ssl,
        turn_transport=old.turn_transport,
        use_ipv4=old._use_ipv4,
        use_ipv6=old._use_ipv6,
        transport_policy=old._transport_policy,
    )
    return new


def install_connection(transport: RTCIceTransport, new: Any) -> None:
    """Make `new` the Connection the transport and its gatherer use: the next
    description carries its credentials and, once aiortc gathers again, its
    candidates; remote candidates go to it."""
    gatherer = transport.iceGatherer
    # RTCIceTransport._connection and RTCIceGatherer._connection: the ICE agent
    # both read (getLocalParameters, getLocalCandidates, addRemoteCandidate)
    transport._connection = new
    gatherer._connection = new
    # RTCIceGatherer.__state back to "new": setLocalDescription gathers again
    setattr(gatherer, _GATHERER_STATE, "new")
    # end-of-candidates belongs to the old credentials
    setattr(gatherer, _REMOTE_END, False)


def reinstall_connection(transport: RTCIceTransport, old: Any) -> None:
    """Put back a Connection that was in use before a restart that did not
    succeed, with its gathering and the remote's end-of-candidates as they were."""
    gatherer = transport.iceGatherer
    transport._connection = old
    gatherer._connection = old
    setattr(gatherer, _GATHERER_STATE, "completed" if gathered(old) else "new")
    # Connection._remote_candidates_end: whether the remote's end-of-candidates
    # reached it
    setattr(gatherer, _REMOTE_END, bool(old._remote_candidates_end))


def data_queue(connection: Any) -> asyncio.Queue[Any]:
    """The queue aioice puts the datagrams it receives in (`None`: lost)."""
    # Connection._queue: recv() reads it; data_received() and close() write it
    queue: asyncio.Queue[Any] = connection._queue
    return queue


def set_data_queue(connection: Any, queue: Any) -> None:
    """Make `connection` deliver its datagrams (and its closing's `None`) to `queue`
    (an `asyncio.Queue`, or anything with its `put_nowait`)."""
    # Connection._queue: written by data_received(), protocol_lost() and close()
    connection._queue = queue


def set_datapath(
    transport: RTCIceTransport,
    recv: Callable[[], Any],
    send: Callable[[bytes], Any],
) -> None:
    """Put `recv` and `send` where the DTLS transport reads and writes datagrams."""
    # RTCIceTransport._recv / _send: bound to the first Connection's methods at
    # construction; RTCDtlsTransport looks them up on every datagram
    transport._recv = recv
    transport._send = send  # type: ignore[assignment]


def monitor_connections(transport: RTCIceTransport) -> None:
    """Run a monitor of rtcstate's in place of aiortc's (unless it already runs):
    like aiortc's, it turns the closing of the transport's Connection into
    "failed", but it follows the Connection in use, so that the closing of one a
    restart retired is not taken for the transport's."""
    task: asyncio.Future[Any] | None = getattr(transport, _MONITOR_TASK)
    if task is not None and not task.done():
        if getattr(task, "_rtcstate_monitor", False):
            return
        # aiortc's: it awaits the first Connection's event for good
        task.cancel()
    ours = asyncio.ensure_future(_monitor(transport))
    ours._rtcstate_monitor = True  # type: ignore[attr-defined]
    # RTCIceTransport.__monitor_task: stop() awaits it after closing the Connection
    setattr(transport, _MONITOR_TASK, ours)


async def _monitor(transport: RTCIceTransport) -> None:
    from aioice import ConnectionClosed

    while True:
        conn = connection(transport)
        # Connection._closed, _event_waiter: a Connection that closed before it
        # was awaited, and the event a cancelled monitor still awaits
        if conn._closed:
            if connection(transport) is conn:
                _closed_under(transport)
                return
            continue
        waiter = conn._event_waiter
        if waiter is not None and not waiter.done():
            event = await asyncio.shield(waiter)
        else:
            event = await conn.get_event()
        if isinstance(event, ConnectionClosed) and connection(transport) is conn:
            _closed_under(transport)
            return
        # a retired Connection closed: follow the one in use


def _closed_under(transport: RTCIceTransport) -> None:
    # as aiortc's _monitor: a selected pair lost reads "failed"; stop() reads "closed"
    if transport.state == "completed":
        set_native_state(transport, "failed")


def set_native_state(transport: RTCIceTransport, state: str) -> None:
    """Set aiortc's `RTCIceTransport.state` (and fire its "statechange"), for a
    Connection that aiortc's start() did not run."""
    getattr(transport, _SET_STATE)(state)


def set_remote_parameters(
    connection: Any, username: str, password: str, ice_lite: bool
) -> None:
    """The remote's ICE credentials for `connection`, as aiortc's start() sets them."""
    # Connection.remote_username / remote_password / remote_is_lite: public
    # attributes aiortc's start() writes
    connection.remote_username = username
    connection.remote_password = password
    connection.remote_is_lite = ice_lite


def remote_parameters(connection: Any) -> tuple[str | None, str | None]:
    """The remote username fragment and password `connection` uses."""
    return connection.remote_username, connection.remote_password


def set_remote_end_of_candidates(transport: RTCIceTransport) -> None:
    """Record the remote's end-of-candidates as aiortc's addRemoteCandidate(None)
    does, for candidates given to the Connection directly."""
    setattr(transport.iceGatherer, _REMOTE_END, True)


def gathered(connection: Any) -> bool:
    """Whether `connection` finished gathering its candidates."""
    # Connection._local_candidates_end: set when gather_candidates() ends
    return bool(connection._local_candidates_end)


# --- aiortc: SCTP after an outage ----------------------------------------------------
# RTCSctpTransport keeps the DATA chunks sent but not acknowledged in `_sent_queue`,
# and retransmits them when its T3 timer (`_t3_handle`, `_t3_expired`) fires, one RTO
# (at least 1 s) after the last retransmission.


def resend_sctp(sctp: Any, acked: int | None = None) -> int | None:
    """Retransmit at once what SCTP sent during an outage and is waiting on its T3
    timer for (RFC 9260 6.3.3, as if the timer had fired), unless the remote's
    cumulative acknowledgement moved on from `acked` (the acknowledgements are
    driving the retransmissions then). Returns the cumulative acknowledgement
    now, to pass next time, or `None` when nothing waits.

    :raises InternalsChangedError: if the transport lacks what this reads.
    """
    missing = [
        name
        for name in ("_sent_queue", "_t3_handle", "_t3_expired", "_last_sacked_tsn")
        if not hasattr(sctp, name)
    ]
    if missing:
        import aiortc

        raise InternalsChangedError(
            f"aiortc {aiortc.__version__}: RTCSctpTransport lacks "
            f"{', '.join(missing)}; verified with aiortc 1.16"
        )
    if not sctp._sent_queue:
        return None
    # RTCSctpTransport._last_sacked_tsn: the cumulative TSN of the latest SACK
    now: int = sctp._last_sacked_tsn
    handle = sctp._t3_handle
    if acked in (None, now) and handle is not None:
        handle.cancel()
        sctp._t3_expired()  # clears _t3_handle; _transmit() restarts the timer
    return now


# --- aioice: mDNS answers dnspython refuses -------------------------------------------
# aioice's MDnsProtocol.datagram_received parses each datagram with
# dns.message.from_wire and drops what fails to parse. dnspython 2.9 refuses a
# compressed name inside an NSEC record (RFC 3597's rule for unicast DNS), which
# mDNS allows (RFC 6762 18.14) and Chromium's answers carry in their additional
# section: aioice then never resolves a browser's .local candidate.

_MDNS_PATCHED = "_rtcstate_mdns"


def tolerate_mdns_answers() -> None:
    """Let aioice's mDNS resolver read answers whose additional section dnspython
    refuses: such a datagram is handed to aioice again without that section (the
    answers, all aioice reads, are kept). Idempotent; a datagram that parses is
    untouched.

    :raises InternalsChangedError: if aioice's mDNS protocol is not as verified.
    """
    import dns.exception
    import dns.message
    from aioice import mdns

    protocol = getattr(mdns, "MDnsProtocol", None)
    original = getattr(protocol, "datagram_received", None)
    if protocol is None or original is None:
        raise _changed("aioice.mdns has no MDnsProtocol.datagram_received")
    if getattr(original, _MDNS_PATCHED, False):
        return

    def datagram_received(self: Any, data: bytes | str, addr: tuple[Any, ...]) -> None:
        if isinstance(data, bytes) and len(data) >= 12 and data[10:12] != b"\0\0":
            try:
                dns.message.from_wire(data)
            except dns.exception.FormError:
                data = _without_additional(data)
        original(self, data, addr)

    datagram_received._rtcstate_mdns = True  # type: ignore[attr-defined]
    protocol.datagram_received = datagram_received


def _without_additional(data: bytes) -> bytes:
    """The DNS message `data` without its additional section (ARCOUNT 0), or
    `data` unchanged if even that does not parse."""
    import dns.exception
    import dns.message

    try:
        message = dns.message.from_wire(
            data[:10] + b"\0\0" + data[12:], ignore_trailing=True
        )
        return bytes(message.to_wire())  # parsed again by aioice
    except (dns.exception.DNSException, ValueError):
        return data
