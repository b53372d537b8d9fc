"""`rtcstate.watch()`: W3C states for an aiortc connection created elsewhere."""

from __future__ import annotations

import warnings
import weakref

from aiortc import RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.stats import RTCStatsReport
from pyee.asyncio import AsyncIOEventEmitter

from . import validation
from ._emitter import STATE_EVENTS, StateEventsMixin
from ._frontend import StateAPI
from ._options import DEFAULT_HISTORY_SIZE, Loopback, Options
from .liveness import LivenessConfig

__all__ = ["ConnectionWatcher", "watch"]

# the attribute of a watched connection that names its watcher (weakly)
_WATCHER = "_rtcstate_watcher"


class ConnectionWatcher(StateAPI, StateEventsMixin, AsyncIOEventEmitter):
    """W3C `connectionState` / `iceConnectionState` of an aiortc connection.

    It has the same states, events, history and helpers as
    [`PeerConnection`][rtcstate.PeerConnection]; listen on the watcher, not on the
    connection (whose own events keep aiortc's values). Create it with
    [`watch`][rtcstate.watch], which checks the options.

    To follow the transports, the watcher listens to the connection's
    `"signalingstatechange"` and wraps its `addIceCandidate`, `createOffer`,
    `setLocalDescription`, `setRemoteDescription` (for ICE restarts) and `close` on the
    instance
    (`close` then also waits for rtcstate's own clean-up); like
    [`PeerConnection`][rtcstate.PeerConnection] it also stops aiortc from closing the
    connection by itself on a remote hang-up.
    """

    def __init__(self, pc: RTCPeerConnection, options: Options) -> None:
        if not isinstance(pc, RTCPeerConnection):
            raise TypeError(
                f"watch() needs an aiortc RTCPeerConnection, not {type(pc).__name__}"
            )
        earlier = getattr(pc, _WATCHER, None)
        if earlier is not None and earlier() is not None:
            raise ValueError(
                "watch(): pc is already watched; use the watcher the first "
                "watch(pc) returned (a second one would wrap its methods again)"
            )
        super().__init__()
        # a weak reference: the watcher must not keep pc alive through it
        setattr(pc, _WATCHER, weakref.ref(self))
        self._pc = pc
        self._attach(pc, self.emit, options)
        pc.on("signalingstatechange", self._on_signalingstatechange)
        self._wrap_add_ice_candidate()
        self._wrap_negotiation()
        self._wrap_close()
        if pc.signalingState == "closed":
            self._tracker.close()

    @property
    def pc(self) -> RTCPeerConnection:
        """The watched connection."""
        return self._pc

    async def getStats(self) -> RTCStatsReport:
        """The watched connection's `getStats()` report, with the ICE stats
        aiortc 1.16 leaves out, as
        [`PeerConnection.getStats`][rtcstate.PeerConnection.getStats] adds them."""
        return self._add_stats(await self._pc.getStats())

    def _on_signalingstatechange(self) -> None:
        # aiortc's close() sets "closed" first, before any transport stops.
        self._signaling_changed(self._pc.signalingState)

    def _wrap_add_ice_candidate(self) -> None:
        original = self._pc.addIceCandidate
        added = self._remote_candidate_added

        async def addIceCandidate(candidate: RTCIceCandidate | None) -> None:
            await original(candidate)
            added()

        addIceCandidate.__doc__ = original.__doc__
        self._pc.addIceCandidate = addIceCandidate  # type: ignore[method-assign]

    def _wrap_negotiation(self) -> None:
        pc, tracker = self._pc, self._tracker
        set_local, set_remote = pc.setLocalDescription, pc.setRemoteDescription
        create_offer = pc.createOffer
        applied = self._description_applied

        async def setLocalDescription(
            description: RTCSessionDescription | None = None,
        ) -> None:
            if description is not None:
                validation.check_ice_credentials(description.sdp)
            tracker.signalling.before_local_description()
            await set_local(description)
            applied(False)

        async def setRemoteDescription(description: RTCSessionDescription) -> None:
            validation.check_ice_credentials(description.sdp)
            previous = pc.remoteDescription
            validation.check_fingerprint_kept(
                None if previous is None else previous.sdp, description.sdp
            )
            await set_remote(description)
            applied(True)

        async def createOffer() -> RTCSessionDescription:
            await tracker.signalling.before_offer()
            return await create_offer()

        for wrapper, original in (
            (setLocalDescription, set_local),
            (setRemoteDescription, set_remote),
            (createOffer, create_offer),
        ):
            wrapper.__doc__ = original.__doc__
            setattr(pc, original.__name__, wrapper)

    def _wrap_close(self) -> None:
        original = self._pc.close
        tracker = self._tracker

        async def close() -> None:
            await original()
            await tracker.drain()

        close.__doc__ = original.__doc__
        self._pc.close = close  # type: ignore[method-assign]


def watch(
    pc: RTCPeerConnection,
    *,
    liveness: LivenessConfig | None = LivenessConfig(),  # noqa: B008 (frozen)
    loopback: Loopback = "auto",
    history_size: int = DEFAULT_HISTORY_SIZE,
    close_on_remote_hangup: bool = False,
) -> ConnectionWatcher:
    """Track the W3C states of an existing aiortc `RTCPeerConnection`.

    ```pycon
    >>> watcher = rtcstate.watch(pc)
    >>> await watcher.wait_for_connection_state("connected")
    ```

    Call it before `setLocalDescription` / `setRemoteDescription` to see every
    change; called later, it starts from the transports' current states.
    `liveness`, `loopback`, `history_size` and `close_on_remote_hangup`
    are as for [`PeerConnection`][rtcstate.PeerConnection].

    The watcher changes the connection it watches:

    - aiortc no longer closes it by itself when the remote hangs up (so that its
      states can follow the transports, as in a browser), so aiortc's own
      `connectionState` on `pc` no longer reads `closed` then. Handlers on `pc`
      keep seeing aiortc's values and no longer see that `closed`: listen on the
      watcher instead, or pass `close_on_remote_hangup=True` to keep aiortc's
      quick close. A `RuntimeWarning` says so when `pc` already has state
      listeners;
    - after an ICE restart (which aiortc lacks), aiortc's own
      `iceConnectionState` on `pc` follows the new pair: it reads `completed`
      once the new checks succeed;
    - `addIceCandidate`, `createOffer`, `setLocalDescription`,
      `setRemoteDescription` and `close` are wrapped on the instance (see
      [`ConnectionWatcher`][rtcstate.ConnectionWatcher]).

    A connection is watched once: a second `watch(pc)` raises `ValueError`.

    Unlike [`PeerConnection`][rtcstate.PeerConnection], the watcher checks only what
    could wedge the connection before aiortc applies a description: ICE
    credentials that RFC 8839 does not allow
    ([`rtcstate.validation.check_ice_credentials`][]) and a remote DTLS fingerprint
    changed by a renegotiation
    ([`rtcstate.validation.check_fingerprint_kept`][]) raise `ValueError`. The rest
    of the SDP and the candidates follow signalling done by code it does not own;
    call [`rtcstate.validation.check_description`][] and
    [`rtcstate.validation.check_candidate`][] there for the same errors as
    `PeerConnection`'s.
    """
    options = Options(liveness, loopback, history_size, close_on_remote_hangup)
    watcher = ConnectionWatcher(pc, options)
    events = [e for e in sorted(STATE_EVENTS) if pc.listeners(e)]
    if events and not close_on_remote_hangup:
        warnings.warn(
            f"watch(pc): pc already has {' and '.join(events)} listeners. They "
            "keep seeing aiortc's values, and aiortc no longer closes pc on a "
            "remote hang-up, so they will not see that 'closed'. Listen on the "
            "watcher, or pass close_on_remote_hangup=True.",
            RuntimeWarning,
            stacklevel=2,
        )
    return watcher
