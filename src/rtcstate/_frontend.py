"""What [`PeerConnection`][rtcstate.PeerConnection] and
[`ConnectionWatcher`][rtcstate.ConnectionWatcher] share: one attach path
(`StateAPI._attach`, and the hooks both call from aiortc's signalling), and the state
surface they offer."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Any

from aiortc import (
    RTCDtlsTransport,
    RTCIceTransport,
    RTCPeerConnection,
    RTCSctpTransport,
)
from aiortc.stats import RTCStatsReport

from . import _shims
from ._events import Cause, SelectedCandidatePair, StateChange, TransportChange
from ._feed import StateChanges
from ._guards import guard_sctp
from ._observers import Observer
from ._options import Options
from ._tracker import Record, StateTracker
from ._transport_liveness import is_path_lost
from .states import IceConnectionState, IceTransportState, PeerConnectionState

logger = logging.getLogger("rtcstate")

# Every connection rtcstate tracks, weakly: what a metrics collector of every
# connection in the process reads (one weak reference per connection, made at
# attach; nothing else is kept).
_LIVE: weakref.WeakSet[StateAPI] = weakref.WeakSet()
# Told of each connection attached from now on, weakly held (bound methods):
# the metrics collectors of every connection. Empty unless an application makes one.
_FOLLOWERS: list[weakref.WeakMethod[Callable[[StateAPI], None]]] = []


def follow_new_connections(attached: Callable[[StateAPI], None]) -> None:
    """Call the bound method `attached` with each connection rtcstate attaches
    from now on, for as long as its object lives (it is held weakly); an
    exception of it is logged."""
    _FOLLOWERS.append(weakref.WeakMethod(attached))


def _announce(connection: StateAPI) -> None:
    """`connection` was attached: count it live, tell the followers."""
    _LIVE.add(connection)
    if _FOLLOWERS:
        _FOLLOWERS[:] = [ref for ref in _FOLLOWERS if ref() is not None]
        for ref in list(_FOLLOWERS):
            attached = ref()
            try:
                if attached is not None:
                    attached(connection)
            except Exception:
                logger.exception("a follower of new connections raised")


def _also_fires(change: Record) -> tuple[str, ...]:
    """rtcstate's own events a transport's change fires beside its own:
    `"pathlost"` (the operating system said its path is gone) and
    `"remotehangup"`."""
    if not isinstance(change, TransportChange):
        return ()
    lost = change.kind == "ice" and change.current == "disconnected"
    return ("pathlost",) * (lost and is_path_lost(change.detail)) + (
        "remotehangup",
    ) * change.remote_hangup


class Control:
    """What rtcstate's own policies ([`recover`][rtcstate.recover]) do to a
    connection beside its public API: record a note in its history, restart ICE
    giving the reason, close it saying why."""

    __slots__ = ("_tracker",)

    def __init__(self, connection: StateAPI) -> None:
        self._tracker = connection._tracker

    def note(self, detail: str) -> None:
        """Record `detail` in `transport_history` (no state changes)."""
        self._tracker.note(detail)

    def restart_ice(self, reason: str) -> bool:
        """`restartIce()` with `reason` in its causes; whether negotiation is
        needed now.

        :raises InternalsChangedError: as `restartIce()`."""
        return self._tracker.signalling.restart_ice(reason)

    def close(self, why: str) -> None:
        """`closed` at once, as `close()`, with `why` in its cause (aiortc's
        objects are for the caller to close)."""
        self._tracker.close(why)


def _tolerate_mdns_answers() -> None:
    """Once per process: aioice reads a browser's mDNS answers that dnspython 2.9
    refuses (see [`rtcstate._shims.tolerate_mdns_answers`][]); if aioice changed,
    say so once and go on without it (candidates then connect peer-reflexive)."""
    global _MDNS_TRIED
    if _MDNS_TRIED:
        return
    _MDNS_TRIED = True
    try:
        _shims.tolerate_mdns_answers()
    except Exception:
        logger.warning(
            "cannot make aioice read every mDNS answer; a browser's .local "
            "candidates may connect only as peer-reflexive ones",
            exc_info=True,
        )


_MDNS_TRIED = False


def live_connections() -> list[StateAPI]:
    """Every connection rtcstate tracks in this process and that is still
    referenced (a `PeerConnection`, or the `ConnectionWatcher` of a watched one),
    closed ones included."""
    return list(_LIVE)


class StateAPI:
    """The W3C states, their events' records, waiters, iterators, histories and
    ICE restart, as both [`PeerConnection`][rtcstate.PeerConnection] and
    [`ConnectionWatcher`][rtcstate.ConnectionWatcher] offer them."""

    _tracker: StateTracker
    _attached: Callable[[], RTCPeerConnection | None]
    _hangup_close: asyncio.Future[Any] | None = None
    _emit_own: Callable[[str], object]

    def _attach(
        self,
        pc: RTCPeerConnection,
        emit: Callable[[str, Record], object],
        options: Options,
    ) -> None:
        """Track `pc`: rtcstate's events go out through `emit`, and aiortc no
        longer closes `pc` by itself on a remote hang-up (its states follow
        the transports instead, as in a browser; `close_on_remote_hangup`
        closes it at once)."""
        _shims.disable_self_close(pc)
        _tolerate_mdns_answers()

        def on_change(change: Record) -> None:
            emit(change.event, change)
            for event in _also_fires(change):
                emit(event, change)
                if event == "remotehangup" and options.close_on_remote_hangup:
                    self._close_after_hangup(pc)

        self._tracker = StateTracker(pc, on_change, options)
        self._attached = weakref.ref(pc)
        self._emit_own = emit  # type: ignore[assignment]  # events with no record
        _announce(self)

    def _close_after_hangup(self, pc: RTCPeerConnection) -> None:
        # closed now (no event, as for close()), aiortc's objects stopped after
        self._tracker.close("the remote hung up")
        if self._hangup_close is None:
            self._hangup_close = asyncio.ensure_future(pc.close())

    def _signaling_changed(self, signaling_state: str) -> None:
        """`signalingstatechange`: descriptions were applied, so transports
        may have been created or bundled away; `closed` is aiortc's close()."""
        if signaling_state == "closed":
            self._tracker.close()
        else:
            self._tracker.sync_transports(f"signalingState {signaling_state}")

    def _description_applied(self, remote: bool) -> None:
        """`setLocalDescription()` / `setRemoteDescription()` returned."""
        guard_sctp(self._attached(), self._tracker)
        if self._tracker.signalling.description_applied(remote):
            self._negotiation_needed()

    def restartIce(self) -> None:
        """`RTCPeerConnection.restartIce()`: restart ICE at the next negotiation.

        The next `createOffer()` gives every ICE transport that has started new
        credentials (and `setLocalDescription` new candidates);
        `"negotiationneeded"` fires now if signalling is `"stable"`, else once it
        is back there (an answer given meanwhile keeps the old credentials, as
        webrtc-pc's `[[LocalIceCredentialsToReplace]]` says). Once the remote's
        answer is applied, the new checks run while the old pair keeps carrying
        the data; when they succeed, the DTLS transport, the data channels and the
        tracks carry on over the new pair, with no new DTLS handshake. Nothing is
        done once the connection is closed, or before a description was applied
        (the first credentials are new anyway).

        A remote that answers with its old credentials cannot restart (aiortc
        1.16 is one): the restart is abandoned and the old pair goes on. A
        restart whose checks fail leaves the old pair to liveness if it still
        works, and reads `failed` otherwise.

        The states while it runs follow webrtc-pc: a transport whose old pair
        still works stays `connected`; one that was `disconnected` or `failed`
        is `checking` until the new pair works. Each change's cause says
        `ICE restart (restartIce())`, then `checks succeeded on new pair ...`.
        A remote offer with new ICE credentials (a browser's `restartIce()`)
        restarts ICE the same way, with the cause `ICE restart (remote offer)`.

        :raises InternalsChangedError: if the installed aiortc or aioice lacks
            what a restart needs (nothing is changed then).
        """
        if self._tracker.signalling.restart_ice():
            self._negotiation_needed()

    def _negotiation_needed(self) -> None:
        # webrtc-pc queues the event, and fires it only if signalling is stable
        # by then
        asyncio.get_running_loop().call_soon(self._fire_negotiation_needed)

    def _fire_negotiation_needed(self) -> None:
        tracker = self._tracker
        if not tracker.closed and tracker.read.signaling_state == "stable":
            self._emit_own("negotiationneeded")

    def _remote_candidate_added(self) -> None:
        """A first remote candidate moves an ICE transport from new to checking."""
        self._tracker.update(Cause("ice", detail="remote candidate added"))

    def __repr__(self) -> str:
        transports = ", ".join(f"{k}: {v}" for k, v in self.transport_states().items())
        return (
            f"<{type(self).__name__} connectionState={self.connectionState} "
            f"iceConnectionState={self.iceConnectionState} transports=[{transports}]>"
        )

    @property
    def connectionState(self) -> PeerConnectionState:
        """`RTCPeerConnection.connectionState`, by the webrtc-pc rules.

        Changes fire `"connectionstatechange"`. Compares equal to the W3C string.
        """
        return self._tracker.read.connection_state

    @property
    def iceConnectionState(self) -> IceConnectionState:
        """`RTCPeerConnection.iceConnectionState`, by the webrtc-pc rules.

        Changes fire `"iceconnectionstatechange"`, before any
        `"connectionstatechange"` caused by the same transport change.
        """
        return self._tracker.read.ice_connection_state

    @property
    def state_history(self) -> list[StateChange]:
        """Every change of both states, oldest first, with its time and cause.

        Includes the change to `closed` made by `close()` (which fires no event).
        Bounded by `history_size`; the oldest entries are dropped first.
        """
        return self._tracker.feed.history

    @property
    def transport_history(self) -> list[TransportChange]:
        """Every change of every counted transport's state, oldest first: the
        ICE transports' `RTCIceTransportState` (as rtcstate derives it) and the
        DTLS transports' `RTCDtlsTransportState`. Bounded like
        [`state_history`][rtcstate._frontend.StateAPI.state_history]."""
        return self._tracker.feed.transport_history

    def get_ice_transport_state(self, transport: RTCIceTransport) -> IceTransportState:
        """The `RTCIceTransportState` rtcstate derives for one ICE transport of
        this connection (aiortc's `transport.state` lacks connected and
        disconnected).

        :raises ValueError: if the transport is not one this connection counts.
        """
        return self._tracker.read.ice_transport_state(transport)

    def get_selected_candidate_pair(
        self, transport: RTCIceTransport | RTCDtlsTransport | RTCSctpTransport
    ) -> SelectedCandidatePair | None:
        """The selected candidate pair of one ICE transport of this connection
        (`RTCIceTransport.getSelectedCandidatePair()`), with the round-trip time of
        rtcstate's latest answered keepalive; `None` while none is selected, and
        once the connection is closed.

        `"selectedcandidatepairchange"` fires with the same record when aioice
        selects a pair (the first, or another one later). webrtc-pc fires that
        event on the `RTCIceTransport`; rtcstate fires it on the connection, and
        the record's `transport` names the ICE transport.

        :param transport: the ICE transport, or the DTLS or SCTP transport over
            it (`pc.sctp`, `sender.transport`): the pair of the ICE transport
            under it.
        :raises ValueError: if the transport is not one this connection counts.
        :raises TypeError: for an object that is none of these transports.
        """
        ice: Any = transport
        if isinstance(ice, RTCSctpTransport):
            ice = ice.transport
        if isinstance(ice, RTCDtlsTransport):
            ice = ice.transport
        if not isinstance(ice, RTCIceTransport):
            raise TypeError(
                "get_selected_candidate_pair() takes an RTCIceTransport, "
                "RTCDtlsTransport or RTCSctpTransport, not "
                f"{type(transport).__name__}"
            )
        return self._tracker.read.selected_candidate_pair(ice)

    def _add_observer(self, observer: Observer) -> None:
        """Tell `observer` (`rtcstate.metrics`) of this connection's changes."""
        self._tracker.observers.add(observer)

    def _remove_observer(self, observer: Observer) -> None:
        self._tracker.observers.remove(observer)

    def _selected_pairs(self) -> list[SelectedCandidatePair]:
        """The selected pair of each counted ICE transport that has one."""
        return self._tracker.read.selected_pairs()

    def _add_stats(self, report: RTCStatsReport) -> RTCStatsReport:
        """Add the ICE side (rtcstate.stats) to a report of aiortc's."""
        self._tracker.read.add_stats(report)
        return report

    def transport_states(self) -> dict[str, str]:
        """A label -> state map of every counted transport, for logs."""
        return self._tracker.read.transport_states()

    async def wait_for_connection_state(
        self, *states: PeerConnectionState | str, timeout: float | None = None
    ) -> PeerConnectionState:
        """Wait until `connectionState` is one of `states`; return it.

        Returns at once if it already is.

        :raises asyncio.TimeoutError: when `timeout` seconds pass first.
        :raises UnreachableStateError: as soon as none of `states` can be reached
            any more (`closed` is final; `failed` can only become `closed`).
        :raises ValueError: for no state, or a value that is not a W3C state.
        """
        result: PeerConnectionState = await self._tracker.feed.wait_for(
            "connectionState", states, timeout
        )
        return result

    async def wait_for_ice_connection_state(
        self, *states: IceConnectionState | str, timeout: float | None = None
    ) -> IceConnectionState:
        """Wait until `iceConnectionState` is one of `states`; return it.

        Same contract as
        [`wait_for_connection_state`][rtcstate._frontend.StateAPI.wait_for_connection_state].
        """
        result: IceConnectionState = await self._tracker.feed.wait_for(
            "iceConnectionState", states, timeout
        )
        return result

    def connection_state_changes(self) -> StateChanges[PeerConnectionState]:
        """An async iterator of every `connectionState` change from now on.

        It misses none, however slowly it is consumed, and ends after the change
        to `closed`.
        """
        return self._tracker.feed.changes("connectionState")

    def ice_connection_state_changes(self) -> StateChanges[IceConnectionState]:
        """Like
        [`connection_state_changes`][rtcstate._frontend.StateAPI.connection_state_changes],
        for `iceConnectionState`."""
        return self._tracker.feed.changes("iceConnectionState")
