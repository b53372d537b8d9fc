"""What an ICE restart swaps in aiortc and aioice (see the package's docstring)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCIceTransport

from ._base import InternalsChangedError, _changed
from .peerconnection import _REMOTE_END, connection

# --- aiortc / aioice: ICE restart ------------------------------------------------
# aiortc 1.16 has no ICE restart: an RTCIceTransport starts once, on the one aioice
# Connection its gatherer made, with credentials fixed at construction. A restart
# (rtcstate._restart) gives the transport a fresh Connection, with new credentials and
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


def gather_again(transport: RTCIceTransport) -> None:
    """Have the next `setLocalDescription` gather the candidates of the
    transport's Connection, if that Connection has none yet while the gatherer
    reads `completed`.

    That happens when aiortc's gathering for an earlier Connection ends after a
    restart replaced it: `RTCIceGatherer.gather()` sets `completed` when its
    await returns, over the `new` the restart wrote, and the next description
    would carry no candidate at all."""
    gatherer = transport.iceGatherer
    if getattr(gatherer, _GATHERER_STATE) == "completed" and not gathered(
        gatherer._connection
    ):
        setattr(gatherer, _GATHERER_STATE, "new")


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


@dataclass(frozen=True)
class IceMedia:
    """One m-line of a description, as ICE reads it."""

    mid: str | None
    username: str | None
    password: str | None
    ice_lite: bool
    candidates: tuple[Any, ...]
    """aioice `Candidate`s"""
    end_of_candidates: bool


def ice_media(sdp: str) -> list[IceMedia]:
    """Each m-line of the description `sdp`, as aiortc's setRemoteDescription
    reads it."""
    # aiortc.sdp.SessionDescription.parse and rtcicetransport.candidate_to_aioice:
    # aiortc's own reading of a description (no public API gives the ICE
    # parameters and candidates of each m-line)
    from aiortc import sdp as aiortc_sdp
    from aiortc.rtcicetransport import candidate_to_aioice

    out = []
    for media in aiortc_sdp.SessionDescription.parse(sdp).media:
        ice = media.ice
        out.append(
            IceMedia(
                media.rtp.muxId,
                None
                if ice is None or not ice.usernameFragment
                else str(ice.usernameFragment),
                None if ice is None or not ice.password else str(ice.password),
                bool(ice is not None and ice.iceLite),
                tuple(candidate_to_aioice(c) for c in media.ice_candidates),
                bool(media.ice_candidates_complete),
            )
        )
    return out
